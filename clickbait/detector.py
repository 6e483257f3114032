"""`ClickbaitDetector`: the whole pipeline as a scikit-learn style estimator.

text -> ids (text.py) -> pretrained vectors (vectors.py) -> metric embedding (model.py, losses.py)
-> nearest cases (cases.py) -> P(clickbait) and a label.

TensorFlow and Keras are imported where they are used (fit, save, and the Keras model, which a
loaded detector reads on first use): batch scoring runs without them (clickbait/inference.py),
and tests/test_inference.py checks that loading and scoring never import TensorFlow.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions

from . import index as fast_index
from . import persistence
from .artifacts import MAX_DIM, MAX_K, MAX_LENGTH
from .cases import USER_ID_OFFSET, CaseBase, _check_labels, class_neighbours
from .errors import VectorFormatError
from .files import ArtifactError  # noqa: F401 (re-exported: clickbait.detector.ArtifactError)
from .persistence import check_model_target, data_hash  # noqa: F401 (check_model_target: re-exported)
from .seeding import seeded
from .tokens import standardize
from .validation import check_count, check_positive, check_probability
from .vote import (
    TEMPERATURES,
    Adapter,
    Combiner,
    Decision,
    HeadlineCheck,
    adaptation_episodes,
    adaptation_space,
    decide,
    evidence,
    non_headlines,
    retained_mass,
    summary_evidence,
)

DEFAULT_VECTORS = "pretrained/glove.6B.50d.txt"
LOSS_NAMES = ("contrastive", "triplet", "triplet-all", "triplet-soft")  # losses.LOSSES (tested)
log = logging.getLogger("clickbait")
_KERAS_LOADING = threading.Lock()  # scoring's model workers may all ask for the model at once
HARM_TOLERANCE = 0.001  # mean log-loss increase on unrelated headlines a kernel may cause


def _texts(texts) -> list[str]:
    """Headlines as strings. A missing one (None, NaN, pd.NA) is an error naming its position:
    scoring it as "" would give a confident answer about nothing (score_frame and score_csv keep
    such rows with empty outputs instead)."""
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


def _sources(sources, n: int, default: str) -> list[str]:
    """One provenance tag per row: `default` for None, a string repeated, or a sequence of n."""
    if sources is None or isinstance(sources, str):
        return [sources or default] * n
    sources = [str(s) for s in sources]
    if len(sources) != n:
        raise ValueError(f"got {len(sources)} sources for {n} headlines")
    return sources


def text_keys(texts: Sequence[str]) -> list[str]:
    """The key of the exact-match rule: the headline as the model reads it (lowercased, its
    tokens separated by single spaces), so that "Womp." and "Gulp!" (both unknown words) differ."""
    return [" ".join(t.split()) for t in standardize(list(texts))]


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
        """`fit`'s work, run inside `seeded(self.seed)`."""
        from .losses import check_collapse
        from .model import build_encoder, build_text_model, embedding_layer
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
        self.__dict__.pop("_predictor", None)

        train_embeddings = self._embed_ids(x_train)
        self.spread_ = check_collapse(train_embeddings, self.loss)
        self.cases_ = CaseBase.empty(self.dim)
        self.cases_.add(train_embeddings, labels, texts, source=sources)
        val_embeddings = self._embed_ids(x_val)
        own = np.full(len(val_texts), -1)
        self.validation_from_id_ = len(self.cases_)  # held-out cases: ids from here to retained_from_id_
        if self.retain_validation:
            own = len(self.cases_) + np.arange(len(val_texts))
            self.cases_.add(val_embeddings, val_labels, val_texts, source=val_sources)
        # Cases up to here are training data; a case retained later has a larger id, and its
        # label wins when that very headline is scored (a correction is not outvoted).
        self.retained_from_id_ = int(self.cases_.ids.max()) + 1
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

    def _fit_vote(self, ids: np.ndarray, embeddings: np.ndarray, labels: np.ndarray,
                  own: np.ndarray, headline_cut: float = 0.01, fit_adapter: bool = True) -> None:
        """Fit the vote on held-out headlines (token ids, embeddings, labels) queried against the
        case base without themselves (`own`: each one's own position in it, or -1): the
        combiner, the headline check (against generated non-headlines), the support
        cut and the decision threshold."""
        nb = class_neighbours([self.cases_], [1.0], embeddings, self.k, exclude=own)
        found = {"exact": (evidence(nb), nb.support)}
        self.centroids_ = None
        if fast_index.available():  # the fast retrieval's clusters, and its own combiner
            self.centroids_ = fast_index.ClusterIndex.fit_centroids(
                self.cases_.embeddings, self.cases_.labels, self.seed)
            cn = fast_index.ClusterIndex(self.cases_.embeddings, self.cases_.labels,
                                         self.centroids_).neighbours(embeddings, exclude=own)
            found["fast"] = (summary_evidence(cn), cn.support)
        others = non_headlines(self.vocabulary_[:self.headline_check_.n_train_words],
                               max(len(ids), 1000), self.seed)
        self.headline_check_ = self.headline_check_.fit(ids, self._ids(others), headline_cut)
        self.support_cut_ = float(np.quantile(nb.support, 0.01))
        self.prior_ = float(self.cases_.labels.mean())
        headline = self.headline_check_.proba(ids)
        self.votes_ = {}
        for mode, (feats, support) in found.items():
            combiner = Combiner.fit(feats, labels)
            d = decide(feats, support, combiner, headline, self.prior_, self.support_cut_)
            threshold = best_threshold(d.proba, labels)
            self.votes_[mode] = {"combiner": combiner, "threshold": threshold,
                                 "validation_accuracy": float(((d.proba >= threshold) == labels).mean())}
        if fit_adapter or getattr(self, "adapter_", None) is None:
            exact = self.votes_["exact"]["combiner"]  # the adapter moves the exact vote's logit
            self._fit_adapter(ids, embeddings, labels, exact.logit(found["exact"][0]))

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

    def _fit_adapter(self, ids: np.ndarray, embeddings: np.ndarray, labels: np.ndarray,
                     base_logit: np.ndarray) -> None:
        """Fit how retained cases move the vote (vote.Adapter) on adaptation episodes from the
        held-out headlines (out-of-fold base logits) and the development sources given to `fit`
        as `adaptation` (never the test split). Too few held-out headlines for any episode:
        the default weights."""
        sources = []
        for texts, y in getattr(self, "_adaptation_sources", ()):
            src_ids = self._ids(texts)
            src_emb = self._embed_ids(src_ids)
            nb = class_neighbours([self._trained_cases()], [1.0], src_emb, self.k)
            sources.append((adaptation_space(src_emb, self.headline_check_.word_sums(src_ids)),
                            self.votes_["exact"]["combiner"].logit(evidence(nb)), np.asarray(y)))
        vectors = adaptation_space(embeddings, self.headline_check_.word_sums(ids))
        words = [row[(row > 1) & ~self.headline_check_.numeric[row]] for row in np.asarray(ids)]
        best = None
        for temperature in TEMPERATURES:  # the kernel width with the lowest fitted episode loss
            start = Adapter(temperature=temperature)
            episodes = adaptation_episodes(vectors, base_logit, labels, words, self.seed, sources, start)
            if not episodes:
                break
            fitted = start.fit(episodes)
            unrelated = [e for e in episodes if e[3] == "unrelated"]
            harm = float(np.mean([fitted.loss(e) - Adapter().loss(e) for e in unrelated] or [0.0]))
            self._log(f"adapter at T={temperature}: episode loss {start.fit_loss:.4f}, unrelated "
                      f"headlines' loss {harm:+.4f}: {fitted.to_dict()}")
            # Unrelated headlines must not move: a kernel that hurts them is chosen only if
            # every kernel does (then the least harmful).
            key = (harm > HARM_TOLERANCE, harm if harm > HARM_TOLERANCE else start.fit_loss)
            if best is None or key < best[0]:
                best = (key, fitted, len(episodes))
        self.adapter_ = best[1] if best else Adapter(lam=0.1, beta=1.0, temperature=0.03)
        self._log(f"adapter fitted on {best[2] if best else 0} episodes: {self.adapter_.to_dict()}")

    def refit_vote(self, texts, labels, *, refit_adapter: bool = False) -> ClickbaitDetector:
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
        self._fit_vote(ids, self._embed_ids(ids), labels.astype("int64"), own, fit_adapter=refit_adapter)
        return self

    def learn(self, texts, labels, *, epochs: int = 3, replay: int = 4000,
              learning_rate: float | None = None, source: str = "learned") -> ClickbaitDetector:
        """Learned adaptation: fine-tune the encoder on new labelled headlines plus a replay
        sample of `replay` training cases (so the corpus is not forgotten) at the training's own
        `learning_rate` unless given, re-embed every case, refit the vote out of fold on the
        validation cases (the adapter's weights are kept), and keep the new rows as retained
        cases. Reproducible with the detector's `seed`. Only
        the shared model learns: a learned model per user would copy the network and re-embed
        the whole case base for each user. The network changes in memory: `save` (or
        `clickbait adapt --learn`) writes it as a new version. Returns the detector."""
        import keras

        from .losses import get_loss

        self._check_fitted()
        if getattr(self, "overlay_", None) is not None:
            raise ValueError("learn() changes the shared network; detach the user first (a "
                             "user's own cases adapt through retain())")
        texts, labels = _texts(texts), _check_labels(labels).astype("int64")
        if len(texts) != len(labels) or not texts:
            raise ValueError(f"learn() needs labelled headlines; got {len(texts)} headlines and "
                             f"{len(labels)} labels")
        check_count(epochs, "epochs")
        check_count(replay, "replay", minimum=0)
        rate = self.learning_rate if learning_rate is None else check_positive(
            learning_rate, "learning_rate")
        started = time.perf_counter()
        with seeded(self.seed):
            rng = np.random.default_rng(self.seed)
            training = np.flatnonzero(self.cases_.ids < self.validation_from_id_)
            pick = np.sort(rng.choice(training, min(int(replay), len(training)), replace=False))
            x = texts + self.cases_.meta["text"].to_numpy()[pick].tolist()
            y = np.concatenate([labels, self.cases_.labels[pick].astype("int64")])
            network = self.network_  # a loaded detector reads its Keras model here
            self._log(f"fine-tuning on {len(texts):,} new headlines and {len(pick):,} replayed cases")
            network.compile(optimizer=keras.optimizers.Adam(rate),
                            loss=get_loss(self.loss, self.margin, self.positive_margin))
            network.fit(self._ids(x), y, epochs=int(epochs), batch_size=self.batch_size, shuffle=True,
                        verbose=self.verbose)
        self.__dict__.pop("_predictor", None)  # the network changed: a new numpy copy of it
        self.cases_.embeddings = np.ascontiguousarray(
            self._embed_ids(self._ids(self.cases_.meta["text"].tolist())), "float32")
        self.cases_._changed()
        ids = self.cases_.ids
        held = (ids >= self.validation_from_id_) & (ids < self.retained_from_id_)
        if held.any():
            self.refit_vote(self.cases_.meta["text"][held].tolist(), self.cases_.labels[held])
        self.cases_.add(self.transform(texts), labels, texts, source=source)
        self._log(f"learned {len(texts):,} headlines (+{len(pick):,} replayed) in "
                  f"{time.perf_counter() - started:.1f} s")
        return self

    def save_learned(self, directory: str | os.PathLike) -> Path:
        """Write a `learn`ed detector back into the folder it was loaded from, as a new version
        (users' overlays are kept and re-embedded when they are next loaded), under the folder's
        lock; refused if another writer changed the folder since this detector was loaded."""
        return persistence.save_learned(self, directory)

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
        """The cases retained after training (the shared base's, then the user's overlay's), in
        the adaptation space, with labels, vote weights (1, or `user_weight`), texts, and where
        each is stored (layer, position); None when there are none."""
        def build():
            layers, weights = self._layers()
            parts = []
            for i, layer in enumerate(layers):
                pos = np.flatnonzero(layer.ids >= self.retained_from_id_) if i == 0 \
                    else np.arange(len(layer))
                if len(pos):
                    parts.append((i, pos, layer, weights[i]))
            if not parts:
                return None
            texts = [t for _, pos, layer, _ in parts for t in layer.meta["text"].to_numpy()[pos]]
            emb = np.concatenate([layer.embeddings[pos] for _, pos, layer, _ in parts])
            vectors = adaptation_space(emb, self.headline_check_.word_sums(self._ids(texts)))
            index = CaseBase(vectors, np.concatenate([layer.labels[pos] for _, pos, layer, _ in parts]),
                             pd.DataFrame({"case_id": np.arange(len(texts)), "text": texts}))
            return {"index": index, "labels": index.labels,
                    "weights": np.concatenate([np.full(len(pos), w, "float64") for _, pos, _, w in parts]),
                    "layer": np.concatenate([np.full(len(pos), i) for i, pos, _, _ in parts]),
                    "pos": np.concatenate([pos for _, pos, _, _ in parts]),
                    "keys": dict(zip(text_keys(texts), index.labels.tolist(), strict=True))}
        return self._cached("_retained_cache", build)

    def _retained_neighbours(self, ids: np.ndarray, embeddings: np.ndarray):
        """(n x 2 masses (E0, E1), similarities n x m, positions into `_retained()`) of the
        retained cases nearest each headline in the adaptation space; None if none are retained."""
        retained = self._retained()
        if retained is None or not len(ids):
            return None
        queries = adaptation_space(embeddings, self.headline_check_.word_sums(ids))
        m = min(self.adapter_.m, len(retained["labels"]))
        sims, pos = retained["index"].kneighbors(queries, m)
        mass = retained_mass(sims, retained["labels"][pos], retained["weights"][pos],
                             self.adapter_.temperature)
        return mass, sims, pos

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

    def evidence(self, texts) -> pd.DataFrame:
        """The evidence behind each probability, one row per headline: each feature of the
        nearest cases (clickbait.vote.FEATURES), its contribution to the logit (weight x value),
        the intercept, what the cases alone say, P(headline), support and the
        final P(clickbait). `base_probability` is what the training cases alone say;
        `retained_*_mass` the kernel mass of the nearest retained (and user) cases of each class,
        `retained_shift` how far they moved P; `user_label` the label of a retained copy of the
        very headline, which decides it."""
        d = self._decide_texts(texts)
        frame = pd.DataFrame(d.features, columns=[f"{f}" for f in self.combiner_.to_dict()["features"]])
        contrib = pd.DataFrame(d.features * self.combiner_.coef,
                               columns=[f"{c}_contribution" for c in frame.columns])
        mass = d.retained_mass if d.retained_mass is not None else np.zeros((len(d.proba), 2))
        user = d.user_label if d.user_label is not None else np.full(len(d.proba), np.nan)
        return pd.concat([frame, contrib], axis=1).assign(
            intercept=self.combiner_.intercept, base_probability=d.base_proba,
            retained_other_mass=mass[:, 0], retained_clickbait_mass=mass[:, 1],
            retained_shift=d.cases_proba - d.base_proba, user_label=user,
            cases_probability=d.cases_proba,
            headline=d.headline, prior=self.prior_, support=d.support,
            low_support=d.low_support, clickbait_probability=d.proba)

    def _adaptation_index(self) -> CaseBase:
        """The training cases in the adaptation space (metric embedding beside the mean word
        vector), for `explain`; cached."""
        def build():
            cases = self._trained_cases()
            topics = self.headline_check_.word_sums(self._ids(cases.meta["text"].tolist()))
            return CaseBase(adaptation_space(cases.embeddings, topics), cases.labels,
                            cases.meta[["case_id", "text"]])
        return self._cached("_adaptation_cache", build)

    def explain(self, texts, k: int | None = None) -> pd.DataFrame:
        """The cases behind each prediction, one row per (query, case): query index and text,
        rank, case id, `similarity` (metric), `relevance` (the mean of the metric and the
        word-vector similarity: near in class AND about the same thing), the case's label, text,
        source and time added, its vote `weight` (1, or the overlay's user_weight) and whether
        it was `retained` after training. The cases are the most relevant training and
        retained cases: the space retained cases are weighed in (vote.Adapter)."""
        self._check_fitted()
        texts = _texts(texts)
        k = self.k if k is None else check_count(k, "k")
        overlay = getattr(self, "overlay_", None)
        layers = [self.cases_] + ([overlay.cases] if overlay is not None else [])
        n = len(texts)
        ids = self._ids(texts)
        emb = self._embed_ids(ids) if n else np.zeros((0, self.dim), "float32")
        queries = adaptation_space(emb, self.headline_check_.word_sums(ids))
        index = self._adaptation_index()
        rel, pos = index.kneighbors(queries, min(k, len(index)))
        layer = np.zeros_like(pos)
        retained = self._retained()
        if retained is not None:
            rsims, rpos = retained["index"].kneighbors(queries, min(k, len(retained["labels"])))
            pos = np.concatenate([pos, retained["pos"][rpos]], axis=1)
            layer = np.concatenate([layer, retained["layer"][rpos]], axis=1)
            rel = np.concatenate([rel, rsims], axis=1)
        k = rel.shape[1] if not n else min(k, rel.shape[1])
        order = np.argsort(-rel, axis=1, kind="stable")[:, :k]
        pos, layer, rel = (np.take_along_axis(a, order, axis=1).ravel() for a in (pos, layer, rel))
        case_emb = np.zeros((len(pos), self.dim), "float32")
        for i, stored in enumerate(layers):
            case_emb[layer == i] = stored.embeddings[pos[layer == i]]
        sims = (np.repeat(emb, k, axis=0) * case_emb).sum(axis=1)
        meta = {"case_id": np.zeros(len(pos), "int64"), "text": np.empty(len(pos), object),
                "source": np.empty(len(pos), object), "added": np.zeros(len(pos))}
        labels = np.zeros(len(pos), "int8")
        for i, stored in enumerate(layers):
            m = layer == i
            sub = stored.meta.iloc[pos[m]]
            for col, values in meta.items():
                values[m] = sub[col].to_numpy()
            labels[m] = stored.labels[pos[m]]
        weights = np.where(layer == 1, overlay.user_weight if overlay is not None else 1.0, 1.0)
        return pd.DataFrame({
            "query": np.repeat(np.arange(n), k),
            "headline": np.repeat(np.asarray(texts, dtype=object), k),
            "rank": np.tile(np.arange(1, k + 1), n),
            "case_id": meta["case_id"],
            "similarity": sims,
            "label": labels,
            "case_text": meta["text"],
            "source": meta["source"],
            "added": pd.to_datetime(meta["added"], unit="s", utc=True).floor("s"),
            "weight": weights,
            "relevance": rel,
            "retained": meta["case_id"] >= self.retained_from_id_,
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
             new_user: bool = False) -> ClickbaitDetector:
        """Load a saved detector. No pickle: the Keras file loads in safe mode (no code runs from
        it), and every file, config.json included, must match its checksum in manifest.json.
        `user` attaches that user's overlay from `directory/users/`; a user with no overlay is
        an error (naming the known users) unless `new_user`."""
        return persistence.load(cls, directory, user, new_user=new_user)

    # The Keras model of a loaded detector is read on first use: scoring does not need it.
    _LAZY = frozenset({"model_", "network_", "vocabulary_"})

    def __getattr__(self, name: str):
        if name in ClickbaitDetector._LAZY and "_keras_bytes" in self.__dict__:
            with _KERAS_LOADING:
                if name not in self.__dict__:
                    self._load_keras()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _load_keras(self) -> None:
        """Load the Keras model from the bytes `load` verified (safe mode: no code runs)."""
        persistence.load_keras(self)

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:  # scikit-learn's signature
        """Fitted or loaded: what it is (encoder, dim, cases, user, threshold, path); unfitted:
        scikit-learn's repr of the parameters set."""
        if "cases_" not in self.__dict__ or "votes_" not in self.__dict__:
            return super().__repr__(N_CHAR_MAX)
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
