"""The errors a user of the package may want to catch, in one light module (no TensorFlow), so
that `except clickbait.InputError` works before any model is loaded."""

from __future__ import annotations


class ClickbaitError(Exception):
    """Base class of this package's own errors."""


class InputError(ClickbaitError, ValueError):
    """The input cannot be read as asked: a clear message naming the file and what to do."""


class ArtifactError(ClickbaitError, ValueError):
    """A saved detector is incomplete, from an unknown format, or was modified after saving."""


class VectorFormatError(ClickbaitError, ValueError):
    """The file does not look like GloVe/word2vec text with the expected dimension."""


class CollapseError(ClickbaitError, RuntimeError):
    """Training mapped (nearly) every headline to the same point."""
