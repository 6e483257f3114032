"""`ClickbaitDetector`: the whole pipeline as a scikit-learn style estimator.

text -> ids (text.py) -> pretrained vectors (vectors.py) -> metric embedding (model.py, losses.py)
-> nearest cases (cases.py) -> P(clickbait) and a label.

TensorFlow and Keras are imported where they are used (fit, save, and the Keras model, which a
loaded detector reads on first use): batch scoring runs without them (clickbait/inference.py),
and tests/test_inference.py checks that loading and scoring never import TensorFlow.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import platform
import time
from collections.abc import Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions

from . import __version__
from .cases import USER_ID_OFFSET, CaseBase, _check_labels, layered_kneighbors, layered_predict_proba
from .errors import VectorFormatError
from .files import ArtifactError, VersionedFolder, read_retrying, sha256_file
from .seeding import seeded
from .validation import check_probability

DEFAULT_VECTORS = "pretrained/glove.6B.50d.txt"
LOSS_NAMES = ("contrastive", "triplet", "triplet-all", "triplet-soft")  # losses.LOSSES (tested)
log = logging.getLogger("clickbait")
FORMAT_VERSION = 2  # 2: versioned folder, manifest.json checksums every file (config.json too)
_REQUIRED = ("model.keras", "cases.npz", "cases.parquet", "config.json")


def _texts(texts) -> list[str]:
    """Headlines as strings. A missing one (None, NaN, pd.NA) is an error naming its position:
    scoring it as "" would give a confident answer about nothing (score_frame and score_csv keep
    such rows with empty outputs instead)."""
    if isinstance(texts, str):
        raise TypeError("expected a list of headlines, got one string; wrap it in a list")
    if texts is None:
        raise TypeError("expected a list of headlines, got None")
    out = []
    for i, t in enumerate(texts):
        if t is None or (not isinstance(t, str) and np.ndim(t) == 0 and pd.isna(t)):
            raise ValueError(f"headline {i} is missing ({t!r}); drop or fill missing headlines first")
        out.append(str(t))
    return out


def _sources(sources, n: int, default: str) -> list[str]:
    """One provenance tag per row: `default` for None, a string repeated, or a sequence of n."""
    if sources is None or isinstance(sources, str):
        return [sources or default] * n
    sources = [str(s) for s in sources]
    if len(sources) != n:
        raise ValueError(f"got {len(sources)} sources for {n} headlines")
    return sources


def check_model_target(directory: str | os.PathLike, force: bool = False) -> None:
    """Raise now if `save(directory, force=force)` would refuse: a folder clickbait did not
    write (or one holding other things), or an existing model without `force`."""
    VersionedFolder(directory, "model").check_replaceable(force, allowed=("users",))


def data_hash(texts: Sequence[str], labels: Sequence[int]) -> str:
    """sha256 of the training data, recorded with the model."""
    h = hashlib.sha256()
    for t, y in zip(texts, labels, strict=True):
        h.update(f"{int(y)}\t{t}\n".encode())
    return h.hexdigest()


def _refuse_code(model: bytes, path: Path) -> None:
    """Refuse a model.keras that carries code (a lambda, as in a Lambda layer) at load time, as
    Keras' safe mode would: the Keras model itself is read later, on first use (safe mode)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(model)) as z:
            config = json.loads(z.read("config.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise ArtifactError(f"{path} is not a Keras model file ({e})") from None
    stack = [config]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if x.get("class_name") in ("__lambda__", "Lambda"):
                raise ValueError(f"{path} carries code (a lambda); refused, as Keras' safe_mode "
                                 "refuses to deserialize it")
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)


def best_threshold(proba: np.ndarray, labels: np.ndarray) -> float:
    """The threshold on P(clickbait) with the best accuracy (ties: the one nearest 0.5)."""
    cuts = np.unique(proba)
    candidates = np.concatenate([[0.5], (cuts[:-1] + cuts[1:]) / 2]) if len(cuts) > 1 else np.array([0.5])
    acc = np.array([((proba >= c) == labels).mean() for c in candidates])
    best = np.flatnonzero(acc >= acc.max() - 1e-12)
    return float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])


class ClickbaitDetector(ClassifierMixin, BaseEstimator):
    """Clickbait detector: a metric-learning encoder over pretrained word vectors, and a
    nearest-case classifier over its embeddings.

    Parameters are stored as given (scikit-learn convention); fitted state ends in `_`.
    `vectors` is any GloVe-format file (plain, .gz, .zip, word2vec header). `trainable` lets the
    word vectors change during the first phase; `fine_tune_epochs` > 0 adds a second phase that
    unfreezes them at `fine_tune_learning_rate`. `k` and `temperature` set the vote. Training
    stops when a smaller share than `min_coverage` of the training text's tokens has a
    pretrained vector (the wrong vectors file, or a damaged one).
    """

    # Checked at fit, at load and before predicting (scikit-learn's own validation): a bad value
    # is refused with its name and the value received, e.g. temperature=0 (NaN votes).
    _parameter_constraints: ClassVar[dict] = {
        "vectors": [str, os.PathLike],
        "encoder": [StrOptions({"cnn", "gru"})],
        "loss": [StrOptions(set(LOSS_NAMES))],
        "margin": [Interval(Real, 0, None, closed="neither"), None],
        "positive_margin": [Interval(Real, 0, 2, closed="both")],
        "dim": [Interval(Integral, 1, None, closed="left")],
        "length": [Interval(Integral, 1, None, closed="left")],
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
        "k": [Interval(Integral, 1, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "pretrained_top_n": [Interval(Integral, 0, None, closed="left")],
        "min_coverage": [Interval(Real, 0, 1, closed="both")],
        "retain_validation": ["boolean"],
        "seed": [Interval(Integral, 0, None, closed="left")],
        "cache_dir": [str, os.PathLike, None],
        "verbose": ["verbose"],
    }

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
        k: int = 25,
        temperature: float = 0.01,
        pretrained_top_n: int = 20000,
        min_coverage: float = 0.5,
        retain_validation: bool = True,
        seed: int = 0,
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
        self.temperature = temperature
        self.pretrained_top_n = pretrained_top_n
        self.min_coverage = min_coverage
        self.retain_validation = retain_validation
        self.seed = seed
        self.cache_dir = cache_dir
        self.verbose = verbose

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, texts, labels, validation: tuple | None = None, sources=None) -> ClickbaitDetector:
        """Train the encoder on (texts, labels) with the metric loss, store the training headlines
        as cases, and choose the decision threshold on `validation` (texts, labels[, sources]).
        Without `validation`, a stratified 10% of the training rows is held out for it.
        `sources` (one tag per row, or one for all) is kept as each case's provenance."""
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
        started = time.perf_counter()
        with seeded(self.seed):  # reproducible, and the caller's random state is left as it was
            return self._fit(texts, labels, sources, val_texts, val_labels, val_sources, started)

    def _fit(self, texts, labels, sources, val_texts, val_labels, val_sources,
             started: float) -> ClickbaitDetector:
        """`fit`'s work, run inside `seeded(self.seed)`."""
        from .losses import check_collapse
        from .model import build_encoder, build_text_model
        from .text import PAD, UNK, build_vocabulary, encode, make_vectorizer
        from .vectors import embedding_matrix, read_vectors

        train_words, counts = build_vocabulary(texts)
        vectors = read_vectors(self.vectors, train_words, top_n=self.pretrained_top_n,
                               cache_dir=self.cache_dir)
        # Training words first; then pretrained words the training set lacks, so that unseen
        # words in new headlines still land on their GloVe vectors instead of [UNK].
        words, _ = build_vocabulary(counts, extra=vectors.words)
        tokens = [PAD, UNK, *words]
        matrix, coverage = embedding_matrix(tokens, vectors, seed=self.seed, counts=counts)
        self.vectors_stats_ = vectors.stats
        self.coverage_ = coverage
        self.vocabulary_ = words
        self._log(f"{coverage}")
        if (coverage.token_coverage or 0.0) < self.min_coverage:
            raise VectorFormatError(
                f"{self.vectors}: {coverage}; that is below min_coverage={self.min_coverage:.0%} of "
                "the training text, so training stopped: wrong vectors file, another language, or a "
                "damaged file?")

        vectorizer = make_vectorizer(words, self.length)
        x_train, x_val = encode(vectorizer, texts), encode(vectorizer, val_texts)
        self.network_ = build_encoder(
            matrix, length=self.length, encoder=self.encoder, dim=self.dim, hidden=self.hidden,
            filters=self.filters, dropout=self.dropout, trainable=self.trainable)
        self.history_ = self._train(x_train, labels, x_val, val_labels)
        self.model_ = build_text_model(vectorizer, self.network_)

        train_embeddings = self._embed_ids(x_train)
        self.spread_ = check_collapse(train_embeddings, self.loss)
        self.cases_ = CaseBase.empty(self.dim)
        self.cases_.add(train_embeddings, labels, texts, source=sources)
        val_proba = self._vote(self._embed_ids(x_val))
        self.threshold_ = best_threshold(val_proba, val_labels)
        self.validation_accuracy_ = float(((val_proba >= self.threshold_) == val_labels).mean())
        if self.retain_validation:
            self.cases_.add(self._embed_ids(x_val), val_labels, val_texts, source=val_sources)
        self.classes_ = np.array([0, 1])
        self.data_hash_ = data_hash(texts + val_texts, np.concatenate([labels, val_labels]))
        self.fit_seconds_ = time.perf_counter() - started
        self._log(f"validation accuracy {self.validation_accuracy_:.4f} at threshold "
                  f"{self.threshold_:.3f}; {len(self.cases_)} cases; {self.fit_seconds_:.0f} s")
        return self

    def _train(self, x, y, x_val, y_val) -> dict:
        import keras

        from .losses import get_loss
        from .model import set_embedding_trainable

        def phase(epochs: int, lr: float) -> dict:
            self.network_.compile(optimizer=keras.optimizers.Adam(lr),
                                  loss=get_loss(self.loss, self.margin, self.positive_margin))
            stop = keras.callbacks.EarlyStopping(patience=self.patience, restore_best_weights=True)
            progress = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: log.info(
                f"epoch {epoch + 1}/{epochs}: " + ", ".join(f"{k} {v:.4f}" for k, v in logs.items())))
            hist = self.network_.fit(
                x, y, validation_data=(x_val, y_val), epochs=epochs, batch_size=self.batch_size,
                shuffle=True, callbacks=[stop, progress], verbose=self.verbose)
            return hist.history

        history = {"phase1": phase(self.epochs, self.learning_rate)}
        if self.fine_tune_epochs:
            # Second phase: unfreeze the word vectors at a low rate; trainable needs a recompile.
            set_embedding_trainable(self.network_, True)
            history["fine_tune"] = phase(self.fine_tune_epochs, self.fine_tune_learning_rate)
        return history

    # -- inference ------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if "model_" not in self.__dict__ and "_keras_bytes" not in self.__dict__:
            raise RuntimeError("this ClickbaitDetector is not fitted yet: call fit() or load() first")
        self._validate_params()  # parameters changed after fitting (det.k = 0) are caught too

    def _embed_ids(self, ids: np.ndarray) -> np.ndarray:
        return self.network_.predict(ids, batch_size=2048, verbose=0)

    def _vote(self, embeddings: np.ndarray, search=None) -> np.ndarray:
        """P(clickbait) of metric embeddings: the one place where neighbours become a probability.
        `search(queries, k) -> (similarities, positions)` over the base cases may stand in for the
        exact scan (the batch scorer passes its IVF index); a user overlay is always searched
        exactly."""
        overlay = getattr(self, "overlay_", None)
        if overlay is not None and len(overlay.cases):  # a user's cases join the vote
            return layered_predict_proba([self.cases_, overlay.cases], [1.0, overlay.user_weight],
                                         embeddings, self.k, self.temperature)
        if search is not None:
            sims, pos = search(embeddings, min(self.k, len(self.cases_)))
            return self.cases_.vote(sims, pos, self.temperature)
        return self.cases_.predict_proba(embeddings, self.k, self.temperature)

    def transform(self, texts) -> np.ndarray:
        """Metric embeddings (n x dim, unit length) of the headlines."""
        self._check_fitted()
        texts = _texts(texts)
        if not texts:
            return np.zeros((0, self.dim), "float32")
        return self.model_.predict(np.asarray(texts, dtype=object), batch_size=2048, verbose=0)

    def predict_proba(self, texts) -> np.ndarray:
        """n x 2 probabilities; column 1 is P(clickbait), from the k nearest cases."""
        p = self._vote(self.transform(texts))
        return np.column_stack([1.0 - p, p])

    def predict(self, texts, threshold: float | None = None) -> np.ndarray:
        """1 for clickbait, 0 otherwise, at `threshold` (default: the one chosen in `fit`)."""
        p = self.predict_proba(texts)[:, 1]
        return (p >= (self.threshold_ if threshold is None else check_probability(threshold))).astype("int64")

    def explain(self, texts, k: int | None = None) -> pd.DataFrame:
        """The nearest cases behind each prediction, one row per (query, neighbour): query index
        and text, rank, case id, similarity, the case's label, text, source and time added, and
        the case's vote weight multiplier (1, or the overlay's user_weight for a user's case)."""
        self._check_fitted()
        texts = _texts(texts)
        k = self.k if k is None else k
        overlay = getattr(self, "overlay_", None)
        layers = [self.cases_] + ([overlay.cases] if overlay is not None else [])
        parts = list(layered_kneighbors(layers, self.transform(texts), k))
        if parts:
            sims, which, pos = (np.concatenate([p[i] for p in parts]) for i in range(3))
        else:
            sims = which = pos = np.zeros((0, min(k, sum(map(len, layers)))), "int64")
        k = sims.shape[1]
        which, pos = which.ravel(), pos.ravel()
        meta = {"case_id": np.zeros(len(pos), "int64"), "text": np.empty(len(pos), object),
                "source": np.empty(len(pos), object), "added": np.zeros(len(pos))}
        labels = np.zeros(len(pos), "int8")
        for i, layer in enumerate(layers):
            m = which == i
            sub = layer.meta.iloc[pos[m]]
            for col, values in meta.items():
                values[m] = sub[col].to_numpy()
            labels[m] = layer.labels[pos[m]]
        weights = np.where(which == 1, overlay.user_weight if overlay is not None else 1.0, 1.0)
        return pd.DataFrame({
            "query": np.repeat(np.arange(len(texts)), k),
            "headline": np.repeat(np.asarray(texts, dtype=object), k),
            "rank": np.tile(np.arange(1, k + 1), len(texts)),
            "case_id": meta["case_id"],
            "similarity": sims.ravel(),
            "label": labels,
            "case_text": meta["text"],
            "source": meta["source"],
            "added": pd.to_datetime(meta["added"], unit="s", utc=True),
            "weight": weights,
        })

    # -- retain / revise / forget, and per-user overlays (clickbait/overlay.py) ----------------
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
        from .overlay import UserOverlay, check_user_weight, user_exists

        self._check_fitted()
        if user_weight is not None:
            user_weight = check_user_weight(user_weight)
        model_dir = model_dir or getattr(self, "model_dir_", None)
        self.model_dir_ = None if model_dir is None else Path(model_dir)  # where save_user writes
        if model_dir is not None and (not create or user_exists(model_dir, name)):
            overlay = self._fit_overlay(UserOverlay.load(model_dir, name))
        else:
            overlay = UserOverlay.new(name, self.dim, base_model_sha256=self._model_sha())
        if user_weight is not None:
            overlay.user_weight = user_weight
        self.overlay_ = overlay
        return overlay

    def _model_sha(self) -> str | None:
        return getattr(self, "config_", {}).get("sha256", {}).get("model.keras")

    def _fit_overlay(self, overlay):
        """An overlay made with another network has its stored texts re-embedded with this one."""
        base_sha = self._model_sha()
        if base_sha and overlay.base_model_sha256 not in (None, base_sha) and len(overlay):
            texts = overlay.cases.meta["text"].tolist()
            overlay.cases.embeddings = np.ascontiguousarray(self.transform(texts), "float32")
            overlay.cases._index = None
            overlay.base_model_sha256 = base_sha
        return overlay

    def detach_user(self) -> None:
        """Back to the shared case base alone."""
        self.overlay_ = None

    def _model_dir(self, model_dir=None) -> Path:
        model_dir = model_dir or getattr(self, "model_dir_", None)
        if model_dir is None:
            raise ValueError("where is the model? pass model_dir (the base model's directory)")
        return Path(model_dir)

    def save_user(self, model_dir: str | os.PathLike | None = None) -> Path:
        """Save the attached overlay under `MODEL_DIR/users/NAME/` (base files untouched), as
        it is in memory: the last writer wins. `retain_and_save` adds without losing others'."""
        overlay = getattr(self, "overlay_", None)
        if overlay is None:
            raise RuntimeError("no user overlay attached: call attach_user(name) first")
        return overlay.save(self._model_dir(model_dir))

    def retain_and_save(self, texts, labels, source: str | None = None,
                        model_dir: str | os.PathLike | None = None) -> np.ndarray:
        """`retain` straight into the saved model folder, safe with concurrent writers: under
        the folder's lock, the stored cases (the attached overlay's, else the shared base's) are
        read again, the new ones added (fresh, unique ids) and a new version saved. The
        in-memory cases become the stored ones. Returns the new case ids."""
        from .overlay import UserOverlay

        self._check_fitted()
        texts = _texts(texts)
        labels = _check_labels(labels)
        if len(labels) != len(texts):
            raise ValueError(f"got {len(texts)} headlines but {len(labels)} labels")
        model_dir = self._model_dir(model_dir)
        embeddings = self.transform(texts)  # the slow part, outside the lock
        overlay = getattr(self, "overlay_", None)
        folder = VersionedFolder(model_dir, "model")
        if overlay is not None:
            if source is None:
                source = overlay.source
            with UserOverlay.update(model_dir, overlay.name, self.dim, self._model_sha()) as stored:
                self._fit_overlay(stored)
                stored.user_weight = overlay.user_weight
                ids = stored.cases.add(embeddings, labels, texts, source=source)
            self.overlay_ = stored
            return ids
        with folder.lock():
            version, manifest = folder.read(required=_REQUIRED)
            if manifest["files"]["model.keras"] != self._model_sha():
                raise RuntimeError(f"the network in {model_dir} was replaced after this detector "
                                   "was loaded; load it again and retry")
            cases = CaseBase.load(version)
            ids = cases.add(embeddings, labels, texts, source=source or "user")
            self.cases_ = cases
            self._write(folder, model_from=version)
        return ids

    # -- persistence ----------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike, *, force: bool = False) -> Path:
        """Write everything needed to score into `directory` as a new version (model.keras,
        cases.npz, cases.parquet, config.json, and manifest.json with the SHA-256 of each),
        behind one atomic pointer; user overlays in `directory/users/` are kept. `force`
        replaces only a model folder clickbait wrote, holding nothing else."""
        self._check_fitted()
        folder = VersionedFolder(directory, "model")
        folder.check_replaceable(force, allowed=("users",))  # before the lock creates anything
        with folder.lock():
            folder.check_replaceable(force, allowed=("users",))  # another writer may have been first
            self._write(folder)
        return folder.path

    def _write(self, folder: VersionedFolder, model_from: Path | None = None) -> None:
        """Write a new version into `folder` (the caller holds its lock); `model_from` is a
        version whose model.keras is reused byte for byte (its checksum stays the same)."""
        with folder.new_version(locked=True) as version:
            if model_from is not None:
                version.copy_from(model_from, "model.keras")
            else:
                self.model_.save(version.path("model.keras"))  # inside a private (0700) folder
            self.cases_.save(version)
            import keras
            import tensorflow as tf

            config = {
                "format": FORMAT_VERSION,
                "params": self.get_params(),
                "threshold": self.threshold_,
                "validation_accuracy": self.validation_accuracy_,
                "vocabulary_size": len(self.vocabulary_) + 2,
                "coverage": str(self.coverage_),
                "training_data_sha256": self.data_hash_,
                "fit_seconds": round(self.fit_seconds_, 1),
                "metrics": getattr(self, "metrics_", {}),
                "versions": {"clickbait": __version__, "tensorflow": tf.__version__,
                             "keras": keras.__version__, "numpy": np.__version__,
                             "python": platform.python_version()},
                "sha256": {"model.keras": sha256_file(version.path("model.keras"))},
            }
            version.write("config.json", json.dumps(config, indent=2, default=str) + "\n")
        self.config_ = config
        self.model_dir_ = folder.path

    @classmethod
    def load(cls, directory: str | os.PathLike, user: str | None = None, *,
             new_user: bool = False) -> ClickbaitDetector:
        """Load a saved detector. No pickle: the Keras file loads in safe mode (no code runs from
        it), and every file, config.json included, must match its checksum in manifest.json.
        `user` attaches that user's overlay from `directory/users/`; a user with no overlay is
        an error (naming the known users) unless `new_user`."""
        directory = Path(directory)
        folder = VersionedFolder(directory, "model")
        if not folder.exists():
            if (directory / "config.json").is_file():
                raise ArtifactError(f"{directory} was saved by an older clickbait (no manifest: "
                                    "config.json has no checksum); train or save it again")
            raise ArtifactError(f"{directory} is not a saved ClickbaitDetector (no "
                                f"{directory / 'current'})")

        def read():
            version, manifest = folder.read(required=_REQUIRED)
            path = version / "config.json"
            try:
                config = json.loads(path.read_text())
            except ValueError as e:
                raise ArtifactError(f"{path} is not valid JSON ({e})") from None
            if not isinstance(config, dict) or config.get("format") != FORMAT_VERSION:
                found = config.get("format") if isinstance(config, dict) else None
                raise ArtifactError(f"{path}: format {found!r}, expected {FORMAT_VERSION}")
            try:
                self = cls(**config["params"])
                self._validate_params()
                self.threshold_ = check_probability(config["threshold"])
            except (KeyError, TypeError, ValueError) as e:
                raise ArtifactError(f"{path}: {e}") from None
            model = (version / "model.keras").read_bytes()  # Keras reads it on first use
            if hashlib.sha256(model).hexdigest() != manifest["files"]["model.keras"]:
                raise ArtifactError(f"{version / 'model.keras'} changed while it was read")
            _refuse_code(model, version / "model.keras")
            return self, config, manifest, model, CaseBase.load(version)

        self, config, manifest, model, cases = read_retrying(read, folder)
        self._keras_bytes = model
        self.cases_ = cases
        if cases.dim != self.dim:
            raise ArtifactError(f"{directory}: cases of dimension {cases.dim}, network of {self.dim}")
        self.validation_accuracy_ = config.get("validation_accuracy")
        self.data_hash_ = config.get("training_data_sha256")
        self.metrics_ = config.get("metrics", {})
        self.fit_seconds_ = config.get("fit_seconds", 0.0)
        self.coverage_ = config.get("coverage")
        config["sha256"] = {"model.keras": manifest["files"]["model.keras"]}
        self.config_ = config
        self.classes_ = np.array([0, 1])
        self.model_dir_ = directory
        if user is not None:
            self.attach_user(user, create=new_user)
        return self

    # The Keras model of a loaded detector is read on first use: scoring does not need it.
    _LAZY = frozenset({"model_", "network_", "vocabulary_"})

    def __getattr__(self, name: str):
        if name in ClickbaitDetector._LAZY and "_keras_bytes" in self.__dict__:
            self._load_keras()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _load_keras(self) -> None:
        """Load the Keras model from the bytes `load` verified (safe mode: no code runs)."""
        import tempfile

        import keras

        from . import losses, text  # noqa: F401 (they register the model's custom objects)
        from .model import vectorizer_layer

        with tempfile.TemporaryDirectory(prefix="clickbait-") as tmp:
            path = Path(tmp) / "model.keras"
            path.write_bytes(self._keras_bytes)  # inside a private temporary folder
            model = keras.saving.load_model(path, safe_mode=True)
        self.model_ = model
        self.network_ = model.get_layer(index=-1)
        self.vocabulary_ = vectorizer_layer(model).get_vocabulary()[2:]

    def _log(self, message: str) -> None:
        """Printed with `verbose` (a notebook); always sent to the `clickbait` logger (the CLI)."""
        if self.verbose:
            print(message, flush=True)
        log.info(message)
