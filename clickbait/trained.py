"""`TrainedDetector`: a trained clickbait detector without scikit-learn: loading and saving,
prediction, explanations and its cases (retain, revise, forget, users' overlays).

`ClickbaitDetector` (clickbait.detector) is this class plus fitting and scikit-learn's estimator
API. Importing scikit-learn costs about 0.6 s (scipy.stats comes with it), which every
`clickbait score` run and every Spark or Dask worker paid at start-up for nothing: they load a
`TrainedDetector` (benchmarks/results/score.json, start-up).

text -> ids (text.py) -> pretrained vectors (vectors.py) -> metric embedding (model.py, losses.py)
-> nearest cases (cases.py) -> P(clickbait) and a label (vote.py).

TensorFlow and Keras are imported where they are used (save, and the Keras model, which a loaded
detector reads on first use): batch scoring runs without them (clickbait/inference.py), and
tests/test_inference.py checks that loading and scoring never import TensorFlow.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
from collections.abc import Sequence
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import index as fast_index
from . import persistence, retained
from .artifacts import INT_BOUNDS
from .cases import USER_ID_OFFSET, CaseBase, _check_labels, class_neighbours
from .retained import text_keys
from .validation import check_probability
from .validation import check_texts as _texts
from .vote import Combiner, Decision, decide, evidence, summary_evidence

if TYPE_CHECKING:  # pragma: no cover
    from typing import Self

DEFAULT_VECTORS = "pretrained/glove.6B.50d.txt"
log = logging.getLogger("clickbait")
_KERAS_LOADING = threading.Lock()  # scoring's model workers may all ask for the model at once


class TrainedDetector:
    """A trained detector (see `ClickbaitDetector` for the parameters): what batch scoring, and
    anything else that only predicts or edits cases, needs. Load one with
    `TrainedDetector.load(folder)`; `ClickbaitDetector.load` gives the same model with fitting
    and scikit-learn's estimator API on top."""

    def __init__(
        self,
        vectors: str = DEFAULT_VECTORS,
        *,
        encoder: str = "cnn",
        loss: str = "contrastive",
        margin: float | None = None,
        positive_margin: float = 0.8,
        dim: int = 32,
        length: int = 32,
        hidden: int = 128,
        filters: int = 128,
        dropout: float = 0.3,
        trainable: bool = True,
        epochs: int = 10,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        fine_tune_epochs: int = 0,
        fine_tune_learning_rate: float = 1e-4,
        patience: int = 2,
        k: int = 100,
        pretrained_top_n: int = 20000,
        min_coverage: float = 0.5,
        retain_validation: bool = True,
        seed: int = 0,
        retrieval: str = "fast",
        cache_dir: str | None = None,
        verbose: int = 0,
    ):
        self.vectors = vectors
        self.encoder = encoder
        self.loss = loss
        self.margin = margin
        self.positive_margin = positive_margin
        self.dim = dim
        self.length = length
        self.hidden = hidden
        self.filters = filters
        self.dropout = dropout
        self.trainable = trainable
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.fine_tune_epochs = fine_tune_epochs
        self.fine_tune_learning_rate = fine_tune_learning_rate
        self.patience = patience
        self.k = k
        self.pretrained_top_n = pretrained_top_n
        self.min_coverage = min_coverage
        self.retain_validation = retain_validation
        self.seed = seed
        self.retrieval = retrieval
        self.cache_dir = cache_dir
        self.verbose = verbose

    # -- inference ------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if "model_" not in self.__dict__ and "_keras_bytes" not in self.__dict__:
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit() or load() first")
        self._check_params()  # parameters changed after fitting (det.k = 0) are caught too

    def _check_params(self) -> None:
        """The parameters prediction reads, each refused with its name and the value received
        (`ClickbaitDetector` checks them all, scikit-learn style)."""
        for name in ("k", "length", "dim"):
            low, high = INT_BOUNDS[name]
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Integral) or not low <= value <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high:,}; got {value!r}")
        if self.retrieval not in fast_index.RETRIEVALS:
            raise ValueError(f"retrieval must be one of {fast_index.RETRIEVALS}; got {self.retrieval!r}")

    def _param_dict(self) -> dict:
        """The parameters, by name (what `get_params` gives; saved in config.json)."""
        return {name: getattr(self, name) for name in inspect.signature(TrainedDetector).parameters}

    @property
    def predictor_(self):
        """The one prediction path (clickbait.predictor.Predictor: the text model in numpy, the
        vote), built on first use and again whenever the network's weights change."""
        predictor = self.__dict__.get("_predictor")
        if predictor is None or predictor.detector is not self:  # new weights, or a copy
            from .predictor import Predictor

            predictor = self.__dict__["_predictor"] = Predictor(self)
        return predictor

    def _embed_ids(self, ids: np.ndarray) -> np.ndarray:
        """Embeddings of token ids (the predictor's encoder)."""
        return self.predictor_.embed(ids)
    # The vote in use: the fast retrieval's (its own combiner and threshold, fitted on the same
    # held-out headlines) unless `retrieval="exact"` or the model has none (see `retrieval_`).
    @property
    def retrieval_(self) -> str:
        """The retrieval in use: "fast" when asked for and the model has its vote (and faiss is
        installed), else "exact"."""
        return "fast" if self.retrieval == "fast" and "fast" in self.votes_ and fast_index.available() \
            else "exact"

    @property
    def combiner_(self) -> Combiner:
        return self.votes_[self.retrieval_]["combiner"]

    @property
    def threshold_(self) -> float:
        return self.votes_[self.retrieval_]["threshold"]

    @property
    def validation_accuracy_(self) -> float | None:
        return self.votes_[self.retrieval_]["validation_accuracy"]

    def _cluster_index(self) -> fast_index.ClusterIndex:
        """The fast retrieval's index over the training cases, rebuilt when they change; from
        the saved centroids, or (a model saved without them) new ones, said in the log."""
        key = (id(self.cases_), self.cases_.version, self.retained_from_id_)
        cached = self.__dict__.get("_cluster_cache")
        if cached is None or cached[0] != key:
            cases = self._trained_cases()
            if self.centroids_ is None:
                log.info("this model has no saved clusters for the fast retrieval: fitting them now")
                self.centroids_ = fast_index.ClusterIndex.fit_centroids(
                    cases.embeddings, cases.labels, self.seed)
            cached = self.__dict__["_cluster_cache"] = (
                key, fast_index.ClusterIndex(cases.embeddings, cases.labels, self.centroids_))
        return cached[1]

    def _ids(self, texts: Sequence[str]) -> np.ndarray:
        """Token ids (n x length) as the model's own vectorizer makes them (the predictor's)."""
        return self.predictor_.ids(texts)

    def _layers(self) -> tuple[list[CaseBase], list[float]]:
        overlay = getattr(self, "overlay_", None)
        if overlay is not None and len(overlay.cases):  # a user's cases join the vote
            return [self.cases_, overlay.cases], [1.0, overlay.user_weight]
        return [self.cases_], [1.0]

    def _stamp(self) -> tuple:
        layers, weights = self._layers()
        return (*((id(layer), layer.version) for layer in layers), tuple(weights))

    def _cached(self, name: str, build):
        """`build()` cached until a case base (or the user's weight) changes."""
        stamp = self._stamp()
        cached = self.__dict__.get(name)
        if cached is None or cached[0] != stamp:
            cached = self.__dict__[name] = (stamp, build())
        return cached[1]

    def _trained_cases(self) -> CaseBase:
        """The training cases (ids below `retained_from_id_`): the only ones the base evidence
        reads. Ids only grow, so they are a prefix of the shared case base."""
        def build():
            n = int((self.cases_.ids < self.retained_from_id_).sum())
            return self.cases_ if n == len(self.cases_) else self.cases_.subset(np.arange(n))
        return self._cached("_trained_cache", build)

    def _retained(self) -> dict | None:
        """Retained cases in the adaptation space (clickbait.retained), cached."""
        return self._cached("_retained_cache", lambda: retained.retained_cases(self))

    def _retained_neighbours(self, ids: np.ndarray, embeddings: np.ndarray):
        return retained.retained_neighbours(self, ids, embeddings)

    def _decide(self, ids: np.ndarray, embeddings: np.ndarray, texts: Sequence[str] | None = None,
                retrieval: str | None = None) -> Decision:
        """The vote for headlines given as token ids and their embeddings: the one place where
        neighbours become a probability. The base evidence reads the training cases only, by
        the fast index or the exact scan (`retrieval`, default `retrieval_`), each with its own
        combiner; retained cases (and a user's) enter through the adapter, and a headline that
        was retained with a label (same normalised `texts`) gets that label."""
        mode = self.retrieval_ if retrieval is None else retrieval
        if mode == "fast" and "fast" in self.votes_ and fast_index.available():
            cn = self._cluster_index().neighbours(embeddings)
            feats, support = summary_evidence(cn), cn.support
        else:
            mode = "exact"
            nb = class_neighbours([self._trained_cases()], [1.0], embeddings, self.k)
            feats, support = evidence(nb), nb.support
        near = self._retained_neighbours(ids, embeddings)
        d = decide(feats, support, self.votes_[mode]["combiner"], self.headline_check_.proba(ids),
                   self.prior_, self.support_cut_, None if near is None else near[0], self.adapter_)
        retained = self._retained()
        if retained is not None and texts is not None and len(ids):
            found = pd.Series(text_keys(texts)).map(retained["keys"]).to_numpy("float64", na_value=np.nan)
            hit = ~np.isnan(found)
            d.proba[hit] = d.cases_proba[hit] = found[hit]
            d.user_label = np.where(hit, found, np.nan)
        return d

    def _decide_texts(self, texts) -> Decision:
        self._check_fitted()
        return self.predictor_.decide(_texts(texts))

    def transform(self, texts) -> np.ndarray:
        """Metric embeddings (n x dim, unit length) of the headlines."""
        self._check_fitted()
        texts = _texts(texts)
        if not texts:
            return np.zeros((0, self.dim), "float32")
        return self._embed_ids(self._ids(texts))

    def predict_proba(self, texts) -> np.ndarray:
        """n x 2 probabilities; column 1 is P(clickbait), from the evidence of the nearest cases
        of each class (clickbait.vote)."""
        p = self._decide_texts(texts).proba
        return np.column_stack([1.0 - p, p])

    def predict(self, texts, threshold: float | None = None) -> np.ndarray:
        """1 for clickbait, 0 otherwise: P(clickbait) >= `threshold` (default: the one chosen
        in `fit`), for text that reads as a headline (see clickbait.vote)."""
        return self._decide_texts(texts).label(
            self.threshold_ if threshold is None else check_probability(threshold))

    def assess(self, texts, threshold: float | None = None) -> pd.DataFrame:
        """One row per headline: `clickbait_probability`, `clickbait` (the label `predict`
        gives), `support` (similarity of the nearest case), `headline` (P(the text is a
        headline at all)) and `low_support` (too far from the cases, or not a headline)."""
        texts = _texts(texts)
        d = self._decide_texts(texts)
        threshold = self.threshold_ if threshold is None else check_probability(threshold)
        return pd.DataFrame({
            "headline_text": texts, "clickbait_probability": d.proba,
            "clickbait": d.label(threshold),
            "support": d.support, "headline": d.headline, "low_support": d.low_support})

    def explain(self, texts, k: int | None = None) -> pd.DataFrame:
        """The cases behind each prediction, one row per (query, case), most relevant first
        (clickbait.explanation.explain: columns, and the space they are ranked in)."""
        from .explanation import explain

        return explain(self, texts, k)

    def evidence(self, texts) -> pd.DataFrame:
        """The evidence behind each probability, one row per headline (clickbait.explanation)."""
        from .explanation import evidence_frame

        return evidence_frame(self, texts)

    def retain(self, texts, labels, source: str | None = None) -> np.ndarray:
        """Add labelled headlines as cases, without retraining; the next predict uses them.
        They go to the attached user overlay if there is one (source `user:NAME`), else to the
        shared case base (source "user"). Returns the new case ids."""
        self._check_fitted()
        texts = _texts(texts)
        overlay = getattr(self, "overlay_", None)
        target = overlay.cases if overlay is not None else self.cases_
        if source is None:
            source = overlay.source if overlay is not None else "user"
        return target.add(self.transform(texts), labels, texts, source=source)

    def revise(self, case_ids, labels) -> None:
        """Correct stored cases' labels; ids from USER_ID_OFFSET on are the overlay's."""
        self._check_fitted()
        ids, labels = np.asarray(list(case_ids), "int64"), _check_labels(labels)
        if len(labels) != len(ids):
            raise ValueError(f"revise() needs one label per case id; got {len(ids)} ids and "
                             f"{len(labels)} labels")
        user = ids >= USER_ID_OFFSET
        if user.any():
            self._overlay_cases().revise(ids[user], labels[user])
        if (~user).any():
            self.cases_.revise(ids[~user], labels[~user])

    def forget(self, case_ids=None, source: str | None = None) -> int:
        """Remove cases by id and/or by source (from the base and the overlay); returns the count."""
        self._check_fitted()
        ids = None if case_ids is None else np.asarray(list(case_ids), "int64")
        overlay = getattr(self, "overlay_", None)
        removed = 0
        if overlay is not None:
            removed += overlay.cases.forget(None if ids is None else ids[ids >= USER_ID_OFFSET], source)
        elif ids is not None and (ids >= USER_ID_OFFSET).any():
            self._overlay_cases()  # raises: no overlay attached
        removed += self.cases_.forget(None if ids is None else ids[ids < USER_ID_OFFSET], source)
        return removed

    def _overlay_cases(self) -> CaseBase:
        overlay = getattr(self, "overlay_", None)
        if overlay is None:
            raise KeyError("those case ids belong to a user overlay, and none is attached")
        return overlay.cases

    def attach_user(self, name: str, model_dir: str | os.PathLike | None = None,
                    user_weight: float | None = None, *, create: bool = True):
        """Use user `name`'s overlay from `MODEL_DIR/users/NAME/` (with `create`, a new, empty
        one if it does not exist yet; without, a missing user is an error naming the known
        ones): their cases join retrieval and `retain` adds to them."""
        from .overlay import attach_user

        return attach_user(self, name, model_dir, user_weight, create=create)

    def detach_user(self) -> None:
        """Back to the shared case base alone."""
        self.overlay_ = None

    def save_user(self, model_dir: str | os.PathLike | None = None) -> Path:
        """Save the attached overlay under `MODEL_DIR/users/NAME/` (base files untouched), as
        it is in memory: the last writer wins. `retain_and_save` adds without losing others'."""
        from .overlay import save_user

        return save_user(self, model_dir)

    def retain_and_save(self, texts, labels, source: str | None = None,
                        model_dir: str | os.PathLike | None = None) -> np.ndarray:
        """`retain` straight into the saved model folder, safe with concurrent writers: under
        the folder's lock, the stored cases (the attached overlay's, else the shared base's) are
        read again, the new ones added (fresh, unique ids) and a new version saved. The
        in-memory cases become the stored ones. Returns the new case ids."""
        self._check_fitted()
        return persistence.retain_and_save(self, _texts(texts), labels, source, model_dir)

    # -- persistence (clickbait/persistence.py) -------------------------------------------------
    def save(self, directory: str | os.PathLike, *, force: bool = False) -> Path:
        """Write everything needed to score into `directory` as a new version (model.keras,
        cases.npz, cases.parquet, config.json, and manifest.json with the SHA-256 of each),
        behind one atomic pointer; user overlays in `directory/users/` are kept. `force`
        replaces only a model folder clickbait wrote, holding nothing else."""
        return persistence.save(self, directory, force=force)

    @classmethod
    def load(cls, directory: str | os.PathLike, user: str | None = None, *,
             new_user: bool = False) -> Self:
        """Load a saved detector. No pickle: the Keras file loads in safe mode (no code runs from
        it), and every file, config.json included, must match its checksum in manifest.json.
        `user` attaches that user's overlay from `directory/users/`; a user with no overlay is
        an error (naming the known users) unless `new_user`."""
        return persistence.load(cls, directory, user, new_user=new_user)

    # The Keras model of a loaded detector is read on first use: scoring does not need it.
    _LAZY = frozenset({"model_", "network_", "vocabulary_"})

    def __getattr__(self, name: str):
        if name in TrainedDetector._LAZY and "_keras_bytes" in self.__dict__:
            with _KERAS_LOADING:
                if name not in self.__dict__:
                    self._load_keras()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _load_keras(self) -> None:
        """Load the Keras model from the bytes `load` verified (safe mode: no code runs)."""
        persistence.load_keras(self)

    def __repr__(self) -> str:
        """What it is: encoder, dim, cases, user, retrieval, threshold and folder."""
        if "cases_" not in self.__dict__ or "votes_" not in self.__dict__:
            return f"{type(self).__name__}(not fitted)"
        parts = [f"encoder={self.encoder!r}", f"dim={self.dim}", f"cases={len(self.cases_):,}"]
        overlay = self.__dict__.get("overlay_")
        if overlay is not None:
            parts.append(f"user={overlay.name!r} ({len(overlay):,} cases)")
        parts.append(f"retrieval={self.retrieval_!r}")
        parts.append(f"threshold={self.threshold_:.2f}")
        if self.__dict__.get("model_dir_") is not None:
            parts.append(f"path={str(self.model_dir_)!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def _log(self, message: str) -> None:
        """Printed with `verbose` (a notebook); always sent to the `clickbait` logger (the CLI)."""
        if self.verbose:
            print(message, flush=True)
        log.info(message)
