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
import os
import re
import sys
from collections.abc import Callable, Sequence

from .commands import cases, scoring, training
from .commands.common import (  # noqa: F401 (re-exported: tests and scripts use cli.EXIT_* etc.)
    DEFAULT_VECTORS,
    EXIT_BROKEN_PIPE,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    FORMATS,
    _Formatter,
    _verbosity,
)
from .commands.quiet import quiet_tensorflow, setup_logging
from .errors import ClickbaitError
from .version import __version__


def build_parser(command_name: str | None = None) -> argparse.ArgumentParser:
    """The command line. `command_name`, when known, is the command about to run: `train` and
    `compare` read their model options from ClickbaitDetector (which imports scikit-learn), so
    they get them only when one of them runs (or when `command_name` is None: all commands)."""
    parser = argparse.ArgumentParser(prog="clickbait", description=__doc__, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _verbosity(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, formatter_class=_Formatter)
        _verbosity(p, top=False)
        p.set_defaults(func=func)
        return p

    training.add_parsers(command, model_options=command_name is None
                         or command_name in training.MODEL_COMMANDS)
    cases.add_parsers(command)
    scoring.add_parsers(command)
    return parser


def _command_name(argv: Sequence[str] | None) -> str:
    """The command word: the first argument that is not an option (the top-level options take
    no value); '' when there is none (`clickbait --help`)."""
    args = sys.argv[1:] if argv is None else argv
    return next((str(x) for x in args if not str(x).startswith("-")), "")


# The library's errors name Python arguments (text_column=NAME); the CLI's name its flags.
_FLAGS = {"text_column": "--text-column", "text_col": "--text-column", "label_column": "--label-column",
          "format": "--format", "input_format": "--input-format", "output_format": "--output-format",
          "encoding": "--encoding", "encoding_errors": "--encoding-errors",
          "tsv_quoting": "--tsv-quoting", "force": "--force", "processes": "--processes",
          "workers": "--workers"}
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
    parser = build_parser(_command_name(argv))
    try:
        a = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version (0) or a usage error (2)
        return int(e.code or 0) if isinstance(e.code, int) else EXIT_USAGE
    tty = sys.stderr.isatty()  # before fd 2 is redirected
    a.progress = (tty or a.verbose > 0) and not a.quiet
    setup_logging(a, tty)
    undo = quiet_tensorflow(a.verbose)
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
