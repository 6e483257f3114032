"""clickbait: a clickbait-headline detector built on GloVe vectors, a metric-learning head and a
nearest-case (case-based reasoning) classifier.

    import clickbait
    det = clickbait.load("models/default")            # or clickbait.ClickbaitDetector(...).fit(...)
    det.predict_proba(["You Won't Believe What This Dog Did"])
    clickbait.score_frame(det, frame)                 # a DataFrame with the scores added

Importing the package is cheap: TensorFlow, pandas and the rest are imported on first use of a
name that needs them (PEP 562 module `__getattr__`), so `import clickbait` and `clickbait --help`
start fast.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from .errors import ArtifactError, ClickbaitError, CollapseError, InputError, VectorFormatError

__version__ = "0.1.0"

# name -> (submodule, attribute): imported on first access.
_LAZY = {
    "ClickbaitDetector": ("detector", "ClickbaitDetector"),
    "read_vectors": ("vectors", "read_vectors"),
    "score_frame": ("scoring", "score_frame"),
    "score_csv": ("scoring", "score_csv"),
    "evaluate": ("scoring", "evaluate"),
    "evaluate_csv": ("scoring", "evaluate_csv"),
    "load_split": ("data", "load_split"),
}

__all__ = [
    "ArtifactError",
    "ClickbaitDetector",
    "ClickbaitError",
    "CollapseError",
    "InputError",
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
    from .data import load_split
    from .detector import ClickbaitDetector
    from .scoring import evaluate, evaluate_csv, score_csv, score_frame
    from .vectors import read_vectors


def load(path: str | os.PathLike, user: str | None = None) -> ClickbaitDetector:
    """Load a saved detector (`ClickbaitDetector.load`); `user` attaches that user's overlay."""
    from .detector import ClickbaitDetector

    return ClickbaitDetector.load(path, user=user)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attribute)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
