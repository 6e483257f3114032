"""Checks of values a user hands in (thresholds, weights), shared by the library functions the
CLI calls, so that a bad value is refused with its name and the value received, wherever it
comes from. Estimator parameters are checked scikit-learn style (`_parameter_constraints` in
detector.py); labels by `cases._check_labels`."""

from __future__ import annotations

import math
from numbers import Integral, Real


def check_probability(value, name: str = "threshold") -> float:
    """A cut on P(clickbait): a finite number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number between 0 and 1; got {value!r}")
    return float(value)


def check_positive(value, name: str) -> float:
    """A finite number > 0 (a weight, a temperature)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return float(value)


def check_count(value, name: str, minimum: int = 1) -> int:
    """A whole number >= `minimum` (k nearest cases, lists probed, rows per chunk)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}; got {value!r}")
    return int(value)


def check_texts(texts) -> list[str]:
    """Headlines as strings. A missing one (None, NaN, pd.NA) is an error naming its position:
    scoring it as "" would give a confident answer about nothing (score_frame and score_csv keep
    such rows with empty outputs instead)."""
    import numpy as np
    import pandas as pd

    if isinstance(texts, str):
        raise TypeError("expected a list of headlines, got one string; wrap it in a list")
    if texts is None:
        raise TypeError("expected a list of headlines, got None")
    shape = getattr(texts, "shape", None)
    if shape is not None and len(shape) != 1:  # each row's repr would be scored as one text
        raise ValueError(f"texts= must be one-dimensional (one headline per row); got an array of "
                         f"shape {tuple(shape)}: pass one column, e.g. frame['headline'] or x[:, 0]")
    out = []
    for i, t in enumerate(texts):
        if t is None or (not isinstance(t, str) and np.ndim(t) == 0 and pd.isna(t)):
            raise ValueError(f"headline {i} is missing ({t!r}); drop or fill missing headlines first")
        if isinstance(t, (list, tuple, dict, set, np.ndarray, pd.Series)):
            raise ValueError(f"headline {i} is a {type(t).__name__}, not a text: texts= must be "
                             "one headline per item, not rows of several")
        out.append(str(t))
    return out


def check_sources(sources, n: int, default: str) -> list[str]:
    """One provenance tag per row: `default` for None, a string repeated, or a sequence of n."""
    if sources is None or isinstance(sources, str):
        return [sources or default] * n
    sources = [str(s) for s in sources]
    if len(sources) != n:
        raise ValueError(f"got {len(sources)} sources for {n} headlines")
    return sources
