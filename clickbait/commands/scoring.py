"""Scoring commands: `score` (a file, streaming), `score-spark`, `evaluate` and `evaluate-sources`.

Each command is a thin layer over a library function; heavy modules are imported inside it."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable

from .common import (
    EXIT_OK,
    FORMATS,
    _say,
    _scoring_options,
)


def _check_input(path: str, format: str | None) -> None:
    """A missing input or an unknown format fails before TensorFlow and the model load."""
    from pathlib import Path

    from ..formats import detect, is_stdio

    detect(path, format)
    if not is_stdio(path) and not Path(path).exists():
        raise FileNotFoundError(f"{path}: no such file")


def cmd_score(a: argparse.Namespace) -> int:
    _check_input(a.input, a.input_format)
    from ..files import check_output
    from ..formats import detect

    detect(a.output, a.output_format)
    check_output(a.output, a.force)
    from ..scoring import score_csv
    from ..trained import TrainedDetector  # no scikit-learn: 0.6 s less start-up

    det = TrainedDetector.load(a.model_dir, user=a.user)
    summary = score_csv(
        det, a.input, a.output, text_column=a.text_column, batch_size=a.batch_size,
        threshold=a.threshold, explain=a.explain, encoding=a.encoding,
        encoding_errors=a.encoding_errors, force=a.force, retrieval=a.retrieval,
        dedup=a.dedup, progress=a.progress, input_format=a.input_format,
        output_format=a.output_format, workers=a.workers, tsv_quoting=a.tsv_quoting,
        processes=a.processes)
    _say(a, summary.line(), file=sys.stderr)  # stdout may be the scored rows
    return EXIT_OK


def cmd_score_spark(a: argparse.Namespace) -> int:
    if not a.verbose:  # pyspark's own warning about the pandas version: noise to a user
        warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
    try:
        from ..spark import score_files
    except ImportError as e:  # pyspark missing
        raise RuntimeError(f"score-spark needs pyspark: pip install 'clickbait[spark]' ({e})") from None
    r = score_files(a.model_dir, a.input, a.output, text_col=a.text_column, input_format=a.input_format,
                    output_format=a.output_format, master=a.master, partitions=a.partitions,
                    force=a.force, threshold=a.threshold, retrieval=a.retrieval,
                    log_level="WARN" if a.verbose else "FATAL")  # Spark's JVM log: quiet unless -v
    # (a failed job's cause comes back as one line: clickbait.spark._job_error)
    _say(a, f"scored {r['rows']:,} rows into {a.output} ({r['partitions']} partitions) in "
            f"{r['seconds']:.1f} s", file=sys.stderr)
    return EXIT_OK


def cmd_evaluate(a: argparse.Namespace) -> int:
    _check_input(a.input, a.input_format)
    from ..detector import ClickbaitDetector
    from ..evaluation import evaluate_csv

    det = ClickbaitDetector.load(a.model_dir)
    m = evaluate_csv(det, a.input, label_column=a.label_column, text_column=a.text_column,
                     reports=a.reports, threshold=a.threshold, batch_size=a.batch_size,
                     encoding=a.encoding, encoding_errors=a.encoding_errors,
                     retrieval=a.retrieval, input_format=a.input_format,
                     tsv_quoting=a.tsv_quoting)
    (tn, fp), (fn, tp) = m["confusion_matrix"]
    auc = "n/a (one class)" if m["roc_auc"] is None else f"{m['roc_auc']:.4f}"
    _say(a, f"{m['rows']:,} rows ({m['skipped_rows']:,} skipped: no text or label), threshold "
            f"{m['threshold']:.3f}\naccuracy {m['accuracy']:.4f}  precision {m['precision']:.4f}  "
            f"recall {m['recall']:.4f}  F1 {m['f1']:.4f}  ROC-AUC {auc}\n"
            f"confusion (rows: true 0/1, columns: predicted 0/1): [[{tn}, {fp}], [{fn}, {tp}]]\n"
            f"wrote {a.reports}/metrics.json, roc.png, confusion.png")
    return EXIT_OK


def cmd_evaluate_sources(a: argparse.Namespace) -> int:
    from ..cross_source import evaluate_sources, markdown

    results = evaluate_sources(a.model_dirs, a.data or (), data_dir=a.data_dir, downs=a.downs,
                               reports=a.reports, nonsense=a.nonsense, seed=a.seed, user=a.user,
                               force=a.force)
    _say(a, markdown(results))
    return EXIT_OK


def add_parsers(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add these commands' parsers (`command(name, help, func)` makes one)."""
    p = command("score", "score a file of headlines (streaming; - for stdin/stdout)", cmd_score)
    p.add_argument("model_dir", help="a saved model directory")
    p.add_argument("input", help=".csv, .tsv, .jsonl (each optionally .gz), .parquet, or - for stdin")
    p.add_argument("-o", "--output", required=True, help="the same choices, or - for stdout")
    p.add_argument("--output-format", default=None, choices=FORMATS,
                   help="output format (default: from OUTPUT's extension; csv for stdout)")
    _scoring_options(p)
    p.add_argument("--explain", type=int, default=0, metavar="K",
                   help="add the K nearest cases of each row as a JSON column")
    p.add_argument("--dedup", action=argparse.BooleanOptionalAction, default=True,
                   help="score repeated headlines within a chunk once")
    p.add_argument("--workers", type=int, default=None,
                   help="chunks encoded and voted on at once, 1 to 64 (default: one per usable core, "
                        "at most 8; memory holds workers + 2 chunks)")
    p.add_argument("--processes", action=argparse.BooleanOptionalAction, default=None,
                   help="workers as forked processes (default: where they can run: Linux, no "
                        "--explain, 2+ workers; --no-processes: threads in this process)")
    p.add_argument("--force", action="store_true", help="overwrite an existing OUTPUT")
    p.add_argument("--user", default=None, help="include this user's overlay cases (MODEL_DIR/users/NAME)")

    p = command("score-spark", "score a CSV/Parquet file or folder with Apache Spark "
                "(pip install 'clickbait[spark]')", cmd_score_spark)
    p.add_argument("model_dir", help="a saved model directory, readable by every worker")
    p.add_argument("input", help="a .csv/.tsv (header row, RFC 4180 quotes) or .parquet file or folder")
    p.add_argument("output", help="a folder of part files: .parquet or .csv by its name")
    p.add_argument("--input-format", default=None, choices=["csv", "parquet"])
    p.add_argument("--output-format", default=None, choices=["csv", "parquet"])
    p.add_argument("--text-column", default=None,
                   help="column with the headlines (default: headline/title/text, or the only column)")
    p.add_argument("--master", default=None,
                   help="Spark master, e.g. local[4] (default: spark-submit's, else local[*])")
    p.add_argument("--partitions", type=int, default=None, help="default: 2 per core")
    p.add_argument("--threshold", type=float, default=None, help="P(clickbait) cut (default: the model's)")
    p.add_argument("--retrieval", default=None, choices=["fast", "exact"],
                   help="nearest-case search (see clickbait score --help)")
    p.add_argument("--force", action="store_true", help="overwrite an existing OUTPUT")

    p = command("evaluate", "metrics and plots on your own labelled headlines", cmd_evaluate)
    p.add_argument("model_dir", help="a saved model directory")
    p.add_argument("input", help="labelled .csv, .tsv, .jsonl (optionally .gz), .parquet, or - "
                                 "(labels 0/1; 1 = clickbait)")
    p.add_argument("--label-column", default=None, help="default: label/clickbait/is_clickbait")
    p.add_argument("--reports", default="build/evaluation", help="folder for metrics.json and plots")
    _scoring_options(p)

    p = command("evaluate-sources", "cross-source report: corpus test, downs2014 and your labelled "
                "CSVs, next to a TF-IDF baseline fitted in the same run", cmd_evaluate_sources)
    p.add_argument("model_dirs", nargs="+", metavar="MODEL_DIR",
                   help="one model, or several (e.g. one per seed: a row each and their median)")
    p.add_argument("--data", action="append", default=None, metavar="CSV",
                   help="a further labelled CSV (headline,label); repeat for several")
    p.add_argument("--data-dir", default=None, help="folder with the corpus splits and downs2014.csv")
    p.add_argument("--downs", default=None, help="downs2014.csv (default: DATA_DIR/downs2014.csv)")
    p.add_argument("--reports", default="build/reports",
                   help="folder for cross_source.md/.json and the reliability diagram")
    p.add_argument("--force", action="store_true", help="overwrite existing cross_source files")
    p.add_argument("--nonsense", type=int, default=1000, help="rows of generated unrelated text")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated text")
    p.add_argument("--user", default=None, help="include this user's overlay cases")
