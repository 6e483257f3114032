"""What the commands share: exit codes, defaults, the help formatter, shared options, `say`."""

from __future__ import annotations

import argparse
import logging
import sys

from . import quiet

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


def _verbosity(parser: argparse.ArgumentParser, top: bool) -> None:
    """-v/-q, accepted before and after the command name (`clickbait -q score ...` or
    `clickbait score ... -q`); the copies on the commands must not reset the top-level value."""
    keep = {} if top else {"default": argparse.SUPPRESS}
    g = parser.add_argument_group("output")
    g.add_argument("-v", "--verbose", action="count", help="more detail: progress always, and "
                   "TensorFlow's own log lines (-vv: debug)", **({"default": 0} if top else keep))
    g.add_argument("-q", "--quiet", action="store_true", help="errors only",
                   **({"default": False} if top else keep))


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
    p.add_argument("--retrieval", default="exact", choices=["exact", "ivf"],
                   help="nearest-case search: exact (predict_proba's answers), or a "
                        "faiss IVF index per class (approximate; see README for its agreement)")
    p.add_argument("--nprobe", type=int, default=32,  # scoring.NPROBE (not imported: the CLI stays light)
                   help="IVF lists searched per class and headline (with --retrieval ivf)")


def _say(a: argparse.Namespace, message: str, file=None) -> None:
    """A command's result line; -q silences it. Progress lines written before it go first."""
    if not a.quiet:
        quiet.sync()
        print(message, file=file or sys.stdout, flush=True)
