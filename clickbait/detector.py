"""`ClickbaitDetector`: the whole pipeline as a scikit-learn estimator, a `TrainedDetector`
(clickbait.trained: prediction, cases, saving and loading) plus fitting, the vote's refitting,
learned adaptation and scikit-learn's parameter validation.

TensorFlow and Keras are imported where they are used (fit, save, and the Keras model, which a
loaded detector reads on first use).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions

from . import persistence, vote_fit
from .artifacts import MAX_DIM, MAX_K, MAX_LENGTH
from .cases import _check_labels
from .files import ArtifactError  # noqa: F401 (re-exported: clickbait.detector.ArtifactError)
from .persistence import check_model_target, data_hash  # noqa: F401 (check_model_target: re-exported)
from .seeding import seeded
from .trained import DEFAULT_VECTORS, TrainedDetector  # noqa: F401 (DEFAULT_VECTORS: re-exported)
from .validation import check_sources as _sources
from .validation import check_texts as _texts
from .vote_fit import HARM_TOLERANCE, best_threshold  # noqa: F401 (re-exported)

LOSS_NAMES = ("contrastive", "triplet", "triplet-all", "triplet-soft")  # losses.LOSSES (tested)


class ClickbaitDetector(ClassifierMixin, BaseEstimator, TrainedDetector):
    """Clickbait detector: a metric-learning encoder over pretrained word vectors, and a
    nearest-case classifier over its embeddings.

    Parameters are stored as given (scikit-learn convention); fitted state ends in `_`.
    `vectors` is any GloVe-format file (plain, .gz, .zip, word2vec header). `trainable` lets the
    word vectors change during the first phase; `fine_tune_epochs` > 0 adds a second phase that
    unfreezes them at `fine_tune_learning_rate`. `k` is how many nearest cases of each class
    the vote weighs (see clickbait.vote). Training stops when a smaller share than
    `min_coverage` of the training text's tokens has a pretrained vector (the wrong vectors file,
    or a damaged one).
    """

    # Checked at fit, at load and before predicting (scikit-learn's own validation): a bad value
    # is refused with its name and the value received, e.g. k=0.
    _parameter_constraints: ClassVar[dict] = {
        "vectors": [str, os.PathLike],
        "encoder": [StrOptions({"cnn", "gru"})],
        "loss": [StrOptions(set(LOSS_NAMES))],
        "margin": [Interval(Real, 0, None, closed="neither"), None],
        "positive_margin": [Interval(Real, 0, 2, closed="both")],
        "dim": [Interval(Integral, 1, MAX_DIM, closed="both")],
        "length": [Interval(Integral, 1, MAX_LENGTH, closed="both")],
        "hidden": [Interval(Integral, 1, None, closed="left")],
        "filters": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "trainable": ["boolean"],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "fine_tune_epochs": [Interval(Integral, 0, None, closed="left")],
        "fine_tune_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "patience": [Interval(Integral, 0, None, closed="left")],
        "k": [Interval(Integral, 1, MAX_K, closed="both")],
        "pretrained_top_n": [Interval(Integral, 0, None, closed="left")],
        "min_coverage": [Interval(Real, 0, 1, closed="both")],
        "retain_validation": ["boolean"],
        "seed": [Interval(Integral, 0, None, closed="left")],
        "retrieval": [StrOptions({"fast", "exact"})],
        "cache_dir": [str, os.PathLike, None],
        "verbose": ["verbose"],
    }


    # -- fitting --------------------------------------------------------------------------------
    def fit(self, texts, labels, validation: tuple | None = None, sources=None,
            adaptation: Sequence[tuple] = ()) -> ClickbaitDetector:
        """Train the encoder on (texts, labels) with the metric loss, store the training headlines
        as cases, and choose the decision threshold on `validation` (texts, labels[, sources]).
        Without `validation`, a stratified 10% of the training rows is held out for it.
        `sources` (one tag per row, or one for all) is kept as each case's provenance.
        `adaptation`: labelled development sources, each (texts, labels), on which (beside the
        validation split) the weights of retained cases' evidence are fitted (vote.Adapter)."""
        from sklearn.model_selection import train_test_split

        self._validate_params()
        texts, labels = _texts(texts), _check_labels(labels).astype("int64")
        if len(texts) != len(labels):
            raise ValueError(f"got {len(texts)} texts but {len(labels)} labels")
        tagged, sources = sources is not None, _sources(sources, len(texts), "train")
        if validation is None:
            texts, val_texts, labels, val_labels, sources, val_sources = train_test_split(
                texts, labels, sources, test_size=0.1, stratify=labels, random_state=self.seed)
            val_sources = val_sources if tagged else None
        else:
            val_texts, val_labels = _texts(validation[0]), _check_labels(validation[1]).astype("int64")
            val_sources = validation[2] if len(validation) > 2 else None
        val_sources = _sources(val_sources, len(val_texts), "validation")
        self._adaptation_sources = [(_texts(t), _check_labels(y)) for t, y in adaptation]
        started = time.perf_counter()
        with seeded(self.seed):  # reproducible, and the caller's random state is left as it was
            return self._fit(texts, labels, sources, val_texts, val_labels, val_sources, started)

    def _fit(self, texts, labels, sources, val_texts, val_labels, val_sources,
             started: float) -> ClickbaitDetector:
        from .fitting import fit

        return fit(self, texts, labels, sources, val_texts, val_labels, val_sources, started)

    def _fit_vote(self, ids: np.ndarray, embeddings: np.ndarray, labels: np.ndarray,
                  own: np.ndarray, headline_cut: float = 0.01, fit_adapter: bool = True) -> None:
        vote_fit.fit_vote(self, ids, embeddings, labels, own, headline_cut, fit_adapter)

    def refit_vote(self, texts, labels, *, refit_adapter: bool = False) -> ClickbaitDetector:
        """Refit the vote (combiner, headline check, threshold) on labelled held-out headlines,
        each queried against the present case base without itself: after the case base changed
        in bulk (condensing, a new source). The network is untouched."""
        return vote_fit.refit_vote(self, texts, labels, refit_adapter=refit_adapter)

    def learn(self, texts, labels, *, epochs: int = 3, replay: int = 4000,
              learning_rate: float | None = None, source: str = "learned") -> ClickbaitDetector:
        """Learned adaptation (clickbait.learning.learn): fine-tune the encoder on new labelled
        headlines plus replayed training cases, re-embed the cases, refit the vote, keep the
        rows as retained cases. The network changes in memory: `save` (or `clickbait adapt
        --learn`) writes it as a new version."""
        from .learning import learn

        return learn(self, texts, labels, epochs=epochs, replay=replay, learning_rate=learning_rate,
                     source=source)

    def save_learned(self, directory: str | os.PathLike) -> Path:
        """Write a `learn`ed detector back into the folder it was loaded from, as a new version
        (users' overlays are kept and re-embedded when they are next loaded), under the folder's
        lock; refused if another writer changed the folder since this detector was loaded."""
        return persistence.save_learned(self, directory)

    def _check_params(self) -> None:
        self._validate_params()  # every parameter, scikit-learn style

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:  # scikit-learn's signature
        """Fitted or loaded: what it is (`TrainedDetector`'s repr); unfitted: scikit-learn's
        repr of the parameters set."""
        if "cases_" not in self.__dict__ or "votes_" not in self.__dict__:
            return BaseEstimator.__repr__(self, N_CHAR_MAX)
        return TrainedDetector.__repr__(self)
