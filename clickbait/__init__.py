"""clickbait: a clickbait-headline detector built on GloVe vectors, a metric-learning head and a
nearest-case (case-based reasoning) classifier.

    import clickbait
    det = clickbait.load()        # models/default, or $CLICKBAIT_MODEL; or clickbait.load("path")
    det.predict_proba(["You Won't Believe What This Dog Did"])
    clickbait.score_frame(det, frame)                 # a DataFrame with the scores added

Importing the package is cheap: TensorFlow, pandas and the rest are imported on first use of a
name that needs them (PEP 562 module `__getattr__`), so `import clickbait` and `clickbait --help`
start fast.
"""

from __future__ import annotations

import importlib as _importlib
import os as _os
from typing import TYPE_CHECKING

from .errors import ArtifactError, ClickbaitError, CollapseError, InputError, VectorFormatError
from .version import __version__

# name -> (submodule, attribute): imported on first access.
_LAZY = {
    "ClickbaitDetector": ("detector", "ClickbaitDetector"),
    "TrainedDetector": ("trained", "TrainedDetector"),
    "read_vectors": ("vectors", "read_vectors"),
    "score_frame": ("scoring", "score_frame"),
    "score_csv": ("scoring", "score_csv"),
    "evaluate": ("evaluation", "evaluate"),
    "evaluate_csv": ("evaluation", "evaluate_csv"),
    "load_split": ("data", "load_split"),
}

__all__ = [
    "ArtifactError",
    "ClickbaitDetector",
    "ClickbaitError",
    "CollapseError",
    "InputError",
    "TrainedDetector",
    "VectorFormatError",
    "__version__",
    "evaluate",
    "evaluate_csv",
    "load",
    "load_split",
    "read_vectors",
    "score_csv",
    "score_frame",
]

if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

    from .data import load_split
    from .detector import ClickbaitDetector
    from .evaluation import evaluate, evaluate_csv
    from .scoring import score_csv, score_frame
    from .trained import TrainedDetector
    from .vectors import read_vectors


_DEFAULT_MODEL = "models/default"  # where `make train` writes the model
_MODEL_ENV = "CLICKBAIT_MODEL"  # the model folder `load()` uses when given no path


def load(path: str | _os.PathLike | None = None, user: str | None = None, *,
         new_user: bool = False) -> ClickbaitDetector:
    """Load a saved detector (`ClickbaitDetector.load`, same arguments). Without `path`: the
    folder named by $CLICKBAIT_MODEL, else `models/default` under the current directory."""
    from .detector import ClickbaitDetector

    if path is None:
        path = _os.environ.get(_MODEL_ENV) or _DEFAULT_MODEL
        if not _os.path.isdir(path):
            where = f"${_MODEL_ENV}={path}" if _os.environ.get(_MODEL_ENV) else (
                f"{_DEFAULT_MODEL} (under {_os.getcwd()})")
            raise ArtifactError(f"no saved model at {where}: run `make train` to train one, or "
                                "pass a path, e.g. clickbait.load(path='models/mine')")
    return ClickbaitDetector.load(path, user=user, new_user=new_user)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(_importlib.import_module(f".{module}", __name__), attribute)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
