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
