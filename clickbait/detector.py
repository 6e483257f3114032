"""`ClickbaitDetector`: the whole pipeline as a scikit-learn style estimator.

text -> ids (text.py) -> pretrained vectors (vectors.py) -> metric embedding (model.py, losses.py)
-> nearest cases (cases.py) -> P(clickbait) and a label.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split

from . import __version__
from .cases import USER_ID_OFFSET, CaseBase, layered_kneighbors, layered_predict_proba
from .errors import ArtifactError
from .files import replace_dir, sha256_file
from .losses import check_collapse, get_loss
from .model import build_encoder, build_text_model, set_embedding_trainable, vectorizer_layer
from .text import PAD, UNK, build_vocabulary, encode, make_vectorizer
from .vectors import embedding_matrix, read_vectors

DEFAULT_VECTORS = "pretrained/glove.6B.50d.txt"
log = logging.getLogger("clickbait")
FORMAT_VERSION = 1
_ARTIFACTS = ("model.keras", "cases.npz", "cases.parquet")


def _texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("expected a list of headlines, got one string; wrap it in a list")
    return ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in texts]


def _sources(sources, n: int, default: str) -> list[str]:
    """One provenance tag per row: `default` for None, a string repeated, or a sequence of n."""
    if sources is None or isinstance(sources, str):
        return [sources or default] * n
    sources = [str(s) for s in sources]
    if len(sources) != n:
        raise ValueError(f"got {len(sources)} sources for {n} headlines")
    return sources


def data_hash(texts: Sequence[str], labels: Sequence[int]) -> str:
    """sha256 of the training data, recorded with the model."""
    h = hashlib.sha256()
    for t, y in zip(texts, labels, strict=True):
        h.update(f"{int(y)}\t{t}\n".encode())
    return h.hexdigest()


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
    unfreezes them at `fine_tune_learning_rate`. `k` and `temperature` set the vote.
    """

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
        texts, labels = _texts(texts), np.asarray(labels).astype("int64")
        if len(texts) != len(labels):
            raise ValueError(f"got {len(texts)} texts but {len(labels)} labels")
        tagged, sources = sources is not None, _sources(sources, len(texts), "train")
        if validation is None:
            texts, val_texts, labels, val_labels, sources, val_sources = train_test_split(
                texts, labels, sources, test_size=0.1, stratify=labels, random_state=self.seed)
            val_sources = val_sources if tagged else None
        else:
            val_texts, val_labels = _texts(validation[0]), np.asarray(validation[1]).astype("int64")
            val_sources = validation[2] if len(validation) > 2 else None
        val_sources = _sources(val_sources, len(val_texts), "validation")
        started = time.perf_counter()
        keras.utils.set_random_seed(self.seed)
        tf.config.experimental.enable_op_determinism()

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
        if not hasattr(self, "model_"):
            raise RuntimeError("this ClickbaitDetector is not fitted yet: call fit() or load() first")

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
        return (p >= (self.threshold_ if threshold is None else threshold)).astype("int64")

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
        ids, labels = np.asarray(list(case_ids), "int64"), np.asarray(labels)
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
                    user_weight: float | None = None):
        """Use user `name`'s overlay from `MODEL_DIR/users/NAME/` (a new, empty one if it does
        not exist yet): their cases join retrieval and `retain` adds to them."""
        from .overlay import UserOverlay, user_dir

        self._check_fitted()
        model_dir = model_dir or getattr(self, "model_dir_", None)
        self.model_dir_ = None if model_dir is None else Path(model_dir)  # where save_user writes
        base_sha = getattr(self, "config_", {}).get("sha256", {}).get("model.keras")
        if model_dir is not None and (user_dir(model_dir, name) / "overlay.json").is_file():
            overlay = UserOverlay.load(model_dir, name)
            if base_sha and overlay.base_model_sha256 not in (None, base_sha) and len(overlay):
                # Made with another network: its stored texts are re-embedded with this one.
                texts = overlay.cases.meta["text"].tolist()
                overlay.cases.embeddings = np.ascontiguousarray(self.transform(texts), "float32")
                overlay.cases._index = None
                overlay.base_model_sha256 = base_sha
        else:
            overlay = UserOverlay.new(name, self.dim, base_model_sha256=base_sha)
        if user_weight is not None:
            overlay.user_weight = float(user_weight)
        self.overlay_ = overlay
        return overlay

    def detach_user(self) -> None:
        """Back to the shared case base alone."""
        self.overlay_ = None

    def save_user(self, model_dir: str | os.PathLike | None = None) -> Path:
        """Save the attached overlay under `MODEL_DIR/users/NAME/` (base files untouched)."""
        overlay = getattr(self, "overlay_", None)
        if overlay is None:
            raise RuntimeError("no user overlay attached: call attach_user(name) first")
        model_dir = model_dir or getattr(self, "model_dir_", None)
        if model_dir is None:
            raise ValueError("where is the model? pass model_dir (the base model's directory)")
        return overlay.save(model_dir)

    # -- persistence ----------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike, *, force: bool = False) -> Path:
        """Write everything needed to score into `directory` (model.keras, cases.npz,
        cases.parquet, config.json with checksums). Written beside and renamed into place."""
        self._check_fitted()
        directory = Path(directory)
        if directory.exists() and not force:
            raise FileExistsError(f"{directory} exists; pass force=True (--force) to overwrite it")
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = directory.with_name(f".{directory.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            self.model_.save(tmp / "model.keras")
            self.cases_.save(tmp)
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
                "sha256": {name: sha256_file(tmp / name) for name in _ARTIFACTS},
            }
            (tmp / "config.json").write_text(json.dumps(config, indent=2, default=str))
            if (directory / "users").is_dir():  # user overlays live on with the model
                shutil.copytree(directory / "users", tmp / "users")
            replace_dir(tmp, directory)  # renames only: a crash leaves one complete copy
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike, user: str | None = None) -> ClickbaitDetector:
        """Load a saved detector. No pickle: the Keras file loads in safe mode (no code runs from
        it), and each file's checksum must match config.json. `user` attaches that user's
        overlay from `directory/users/` (see attach_user)."""
        directory = Path(directory)
        config_path = directory / "config.json"
        if not config_path.is_file():
            raise ArtifactError(f"{directory} is not a saved ClickbaitDetector (no config.json)")
        config = json.loads(config_path.read_text())
        if config.get("format") != FORMAT_VERSION:
            raise ArtifactError(f"{config_path}: format {config.get('format')!r}, expected {FORMAT_VERSION}")
        for name in _ARTIFACTS:
            path = directory / name
            if not path.is_file():
                raise ArtifactError(f"{directory}: {name} is missing")
            if sha256_file(path) != config["sha256"].get(name):
                raise ArtifactError(f"{path} does not match the checksum in config.json: "
                                    "it was modified after saving; refusing to load it")
        self = cls(**config["params"])
        self.model_ = keras.saving.load_model(directory / "model.keras", safe_mode=True)
        self.network_ = self.model_.get_layer(index=-1)
        self.vocabulary_ = vectorizer_layer(self.model_).get_vocabulary()[2:]
        self.cases_ = CaseBase.load(directory)
        self.threshold_ = float(config["threshold"])
        self.validation_accuracy_ = config.get("validation_accuracy")
        self.data_hash_ = config.get("training_data_sha256")
        self.metrics_ = config.get("metrics", {})
        self.fit_seconds_ = config.get("fit_seconds", 0.0)
        self.coverage_ = config.get("coverage")
        self.config_ = config
        self.classes_ = np.array([0, 1])
        self.model_dir_ = directory
        if user is not None:
            self.attach_user(user)
        return self

    def _log(self, message: str) -> None:
        """Printed with `verbose` (a notebook); always sent to the `clickbait` logger (the CLI)."""
        if self.verbose:
            print(message, flush=True)
        log.info(message)
