"""`ClickbaitDetector`: the whole pipeline as a scikit-learn style estimator.

text -> ids (text.py) -> pretrained vectors (vectors.py) -> metric embedding (model.py, losses.py)
-> nearest cases (cases.py) -> P(clickbait) and a label.
"""

from __future__ import annotations

import hashlib
import json
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
from .cases import USER_ID_OFFSET, CaseBase, _check_labels, class_neighbours, layered_kneighbors
from .files import replace_dir, sha256_file
from .losses import check_collapse, get_loss
from .model import (
    build_encoder,
    build_text_model,
    embedding_layer,
    set_embedding_trainable,
    vectorizer_layer,
)
from .text import PAD, UNK, build_vocabulary, encode, make_vectorizer
from .vectors import embedding_matrix, read_vectors
from .vote import Combiner, Decision, HeadlineCheck, decide, evidence, non_headlines, row_keys

DEFAULT_VECTORS = "pretrained/glove.6B.50d.txt"
FORMAT_VERSION = 2
_ARTIFACTS = ("model.keras", "cases.npz", "cases.parquet", "vote.npz")
# Cases from the training data; any other case was retained later, and its label wins when the
# very same headline is scored (a user's correction must not be outvoted by its neighbours).
_TRAINING_SOURCES = ("train", "validation")


class ArtifactError(ValueError):
    """A saved detector is incomplete, from an unknown format, or was modified after saving."""


def _texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("expected a list of headlines, got one string; wrap it in a list")
    return ["" if t is None or (isinstance(t, float) and np.isnan(t)) else str(t) for t in texts]


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
    unfreezes them at `fine_tune_learning_rate`. `k` is how many nearest cases of each class
    the vote weighs (see clickbait.vote).
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
        k: int = 100,
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
        self.pretrained_top_n = pretrained_top_n
        self.retain_validation = retain_validation
        self.seed = seed
        self.cache_dir = cache_dir
        self.verbose = verbose

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, texts, labels, validation: tuple | None = None) -> ClickbaitDetector:
        """Train the encoder on (texts, labels) with the metric loss, store the training headlines
        as cases, and choose the decision threshold on `validation` (texts, labels). Without
        `validation`, a stratified 10% of the training rows is held out for it."""
        texts, labels = _texts(texts), np.asarray(labels).astype("int64")
        if len(texts) != len(labels):
            raise ValueError(f"got {len(texts)} texts but {len(labels)} labels")
        if validation is None:
            texts, val_texts, labels, val_labels = train_test_split(
                texts, labels, test_size=0.1, stratify=labels, random_state=self.seed)
        else:
            val_texts, val_labels = _texts(validation[0]), np.asarray(validation[1]).astype("int64")
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
        self.cases_.add(train_embeddings, labels, texts, source="train")
        val_embeddings = self._embed_ids(x_val)
        own = np.full(len(val_texts), -1)
        if self.retain_validation:
            own = len(self.cases_) + np.arange(len(val_texts))
            self.cases_.add(val_embeddings, val_labels, val_texts, source="validation")
        self.headline_check_ = HeadlineCheck.from_training(
            x_train, tokens, len(train_words), embedding_layer(self.network_).get_weights()[0])
        self._fit_vote(x_val, val_embeddings, val_labels, own)
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
            hist = self.network_.fit(
                x, y, validation_data=(x_val, y_val), epochs=epochs, batch_size=self.batch_size,
                shuffle=True, callbacks=[stop], verbose=self.verbose)
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

    def _fit_vote(self, ids: np.ndarray, embeddings: np.ndarray, labels: np.ndarray,
                  own: np.ndarray) -> None:
        """Fit the vote on held-out headlines (token ids, embeddings, labels) queried against the
        case base without themselves (`own`: each one's own position in it, or -1): the
        combiner, the headline check (against generated non-headlines), the prior, the support
        cut and the decision threshold."""
        nb = class_neighbours([self.cases_], [1.0], embeddings, self.k, exclude=own)
        self.combiner_ = Combiner.fit(evidence(nb), labels)
        others = non_headlines(self.vocabulary_[:self.headline_check_.n_train_words],
                               max(len(ids), 1000), self.seed)
        self.headline_check_ = self.headline_check_.fit(ids, self._ids(others))
        self.prior_ = float(self.cases_.labels.mean())
        self.support_cut_ = float(np.quantile(nb.support, 0.01))
        d = decide(nb, self.combiner_, self.headline_check_.proba(ids), self.prior_, self.support_cut_)
        self.threshold_ = best_threshold(d.proba, labels)
        self.validation_accuracy_ = float(((d.proba >= self.threshold_) == labels).mean())

    def refit_vote(self, texts, labels) -> ClickbaitDetector:
        """Refit the vote (combiner, headline check, threshold) on labelled held-out headlines,
        each queried against the present case base without itself: after the case base changed
        in bulk (condensing, a new source). The network is untouched."""
        self._check_fitted()
        texts, labels = _texts(texts), _check_labels(labels)
        if len(texts) != len(labels):
            raise ValueError(f"got {len(texts)} texts but {len(labels)} labels")
        ids = self._ids(texts)
        where = pd.Series(np.arange(len(self.cases_)), index=self.cases_.meta["text"].to_numpy())
        where = where[~where.index.duplicated()]
        own = where.reindex(texts).fillna(-1).to_numpy("int64")
        self._fit_vote(ids, self._embed_ids(ids), labels.astype("int64"), own)
        return self

    def _ids(self, texts: Sequence[str]) -> np.ndarray:
        """Token ids (n x length) as the model's own vectorizer makes them."""
        return encode(vectorizer_layer(self.model_) if hasattr(self, "model_") else
                      make_vectorizer(self.vocabulary_, self.length), texts)

    def _layers(self) -> tuple[list[CaseBase], list[float]]:
        overlay = getattr(self, "overlay_", None)
        if overlay is not None and len(overlay.cases):  # a user's cases join the vote
            return [self.cases_, overlay.cases], [1.0, overlay.user_weight]
        return [self.cases_], [1.0]

    def _retained_labels(self) -> dict:
        """token-sequence key -> label of every case retained after training (a user's overlay
        last, so it wins), cached until a case base changes."""
        layers, _ = self._layers()
        stamp = tuple((id(layer), layer.version) for layer in layers)
        cached = getattr(self, "_retained_cache", None)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        table: dict = {}
        for i, layer in enumerate(layers):
            mask = np.ones(len(layer), bool) if i else \
                ~layer.meta["source"].isin(_TRAINING_SOURCES).to_numpy()
            if mask.any():
                texts = layer.meta["text"].to_numpy()[mask].tolist()
                table.update(zip(row_keys(self._ids(texts)).tolist(),
                                 layer.labels[mask].tolist(), strict=True))
        self._retained_cache = (stamp, table)
        return table

    def _decide(self, ids: np.ndarray, embeddings: np.ndarray, search=None) -> Decision:
        """The vote for headlines given as token ids and their embeddings: the one place where
        neighbours become a probability. `search(queries, k, label) -> (similarities,
        positions)` over the base cases may stand in for the exact scan (a faster index)."""
        layers, weights = self._layers()
        nb = class_neighbours(layers, weights, embeddings, self.k, search=search)
        d = decide(nb, self.combiner_, self.headline_check_.proba(ids), self.prior_, self.support_cut_)
        table = self._retained_labels()
        if table and len(ids):
            found = pd.Series(row_keys(ids)).map(table).to_numpy(dtype="float64", na_value=np.nan)
            hit = ~np.isnan(found)
            d.proba[hit] = d.cases_proba[hit] = found[hit]
        return d

    def _decide_texts(self, texts) -> Decision:
        self._check_fitted()
        ids = self._ids(_texts(texts))
        return self._decide(ids, self._embed_ids(ids) if len(ids) else np.zeros((0, self.dim), "float32"))

    def transform(self, texts) -> np.ndarray:
        """Metric embeddings (n x dim, unit length) of the headlines."""
        self._check_fitted()
        texts = _texts(texts)
        if not texts:
            return np.zeros((0, self.dim), "float32")
        return self.model_.predict(np.asarray(texts, dtype=object), batch_size=2048, verbose=0)

    def predict_proba(self, texts) -> np.ndarray:
        """n x 2 probabilities; column 1 is P(clickbait), from the evidence of the nearest cases
        of each class (clickbait.vote)."""
        p = self._decide_texts(texts).proba
        return np.column_stack([1.0 - p, p])

    def predict(self, texts, threshold: float | None = None) -> np.ndarray:
        """1 for clickbait, 0 otherwise: P(clickbait) >= `threshold` (default: the one chosen
        in `fit`), for text that reads as a headline (see clickbait.vote)."""
        return self._decide_texts(texts).label(self.threshold_ if threshold is None else threshold)

    def assess(self, texts, threshold: float | None = None) -> pd.DataFrame:
        """One row per headline: `clickbait_probability`, `clickbait` (the label `predict`
        gives), `support` (similarity of the nearest case), `headline` (P(the text is a
        headline at all)) and `low_support` (too far from the cases, or not a headline)."""
        texts = _texts(texts)
        d = self._decide_texts(texts)
        threshold = self.threshold_ if threshold is None else threshold
        return pd.DataFrame({
            "headline_text": texts, "clickbait_probability": d.proba,
            "clickbait": d.label(threshold),
            "support": d.support, "headline": d.headline, "low_support": d.low_support})

    def evidence(self, texts) -> pd.DataFrame:
        """The evidence behind each probability, one row per headline: each feature of the
        nearest cases (clickbait.vote.FEATURES), its contribution to the logit (weight x value),
        the intercept, what the cases alone say, P(headline), the prior, support and the
        final P(clickbait)."""
        d = self._decide_texts(texts)
        frame = pd.DataFrame(d.features, columns=[f"{f}" for f in self.combiner_.to_dict()["features"]])
        contrib = pd.DataFrame(d.features * self.combiner_.coef,
                               columns=[f"{c}_contribution" for c in frame.columns])
        return pd.concat([frame, contrib], axis=1).assign(
            intercept=self.combiner_.intercept, cases_probability=d.cases_proba,
            headline=d.headline, prior=self.prior_, support=d.support,
            low_support=d.low_support, clickbait_probability=d.proba)

    def score_frame(self, frame: pd.DataFrame, text_column: str | None = None, **options) -> pd.DataFrame:
        """`frame` plus `clickbait_probability` and `clickbait` (empty where the text is missing),
        through the fast batch path of `clickbait.scoring.score_frame` (options: threshold,
        explain, batch_size, retrieval, nprobe)."""
        from .scoring import score_frame

        return score_frame(self, frame, text_column, **options)

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
                overlay.cases._changed()
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
            np.savez(tmp / "vote.npz", pairs=self.headline_check_.pairs,
                     numeric=self.headline_check_.numeric)
            config = {
                "format": FORMAT_VERSION,
                "params": self.get_params(),
                "threshold": self.threshold_,
                "vote": {"combiner": self.combiner_.to_dict(),
                         "headline_check": self.headline_check_.to_dict(),
                         "prior": self.prior_, "support_cut": self.support_cut_},
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
        vote = config["vote"]
        self.combiner_ = Combiner.from_dict(vote["combiner"])
        with np.load(directory / "vote.npz", allow_pickle=False) as z:
            self.headline_check_ = HeadlineCheck.from_parts(
                vote["headline_check"], z["pairs"], z["numeric"],
                embedding_layer(self.network_).get_weights()[0])
        self.prior_, self.support_cut_ = float(vote["prior"]), float(vote["support_cut"])
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
        if self.verbose:
            print(message, flush=True)
