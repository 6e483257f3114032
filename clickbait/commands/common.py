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


# The model options of `train` and `compare`: ClickbaitDetector's own parameters, with their
# defaults and choices read from the estimator (its __init__ and _parameter_constraints), so
# that they are written once. Parameter -> (flags, help).
MODEL_OPTIONS = {
    "vectors": (("--vectors",), "GloVe-format file (.txt, .gz, .zip)"),
    "encoder": (("--encoder",), "headline encoder"),
    "loss": (("--loss",), "metric loss"),
    "positive_margin": (("--positive-margin",),
                        "contrastive: stop pulling same-class pairs closer than this (0 = Hadsell)"),
    "dim": (("--dim",), "metric embedding size"),
    "length": (("--length",), "tokens per headline (pad/truncate)"),
    "epochs": (("--epochs",), "training epochs (early stopping may end sooner)"),
    "trainable": (("--trainable",), "let the word vectors change in training"),
    "fine_tune_epochs": (("--fine-tune-epochs",),
                         "second phase with unfrozen vectors at a low learning rate"),
    "k": (("-k", "--k"), "nearest cases of each class whose evidence the vote weighs"),
    "seed": (("--seed",), "seed of the weights, shuffling and splits"),
}


def _argument_kind(constraints: list) -> dict:
    """argparse's type/choices/action for a parameter from its scikit-learn constraints (values
    out of range are left to the estimator, which refuses them by name: exit status 1)."""
    from numbers import Integral

    from sklearn.utils._param_validation import Interval, StrOptions

    for c in constraints:
        if c == "boolean":
            return {"action": argparse.BooleanOptionalAction}
        if isinstance(c, StrOptions):
            return {"choices": sorted(c.options)}
        if isinstance(c, Interval):
            return {"type": int if c.type is Integral else float}
    return {"type": str}


def _model_options(p: argparse.ArgumentParser) -> None:
    """`MODEL_OPTIONS` on `p`, from ClickbaitDetector (imports scikit-learn, not TensorFlow)."""
    import inspect

    from ..detector import ClickbaitDetector

    defaults = {name: q.default for name, q in inspect.signature(ClickbaitDetector).parameters.items()}
    g = p.add_argument_group("model")
    for name, (flags, text) in MODEL_OPTIONS.items():
        kind = _argument_kind(ClickbaitDetector._parameter_constraints[name])
        g.add_argument(*flags, dest=name, default=defaults[name], help=text, **kind)


def _params(a: argparse.Namespace) -> dict:
    return {**{name: getattr(a, name) for name in MODEL_OPTIONS},
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
        quiet.sync()
        print(message, file=file or sys.stdout, flush=True)
