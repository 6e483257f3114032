"""`ClickbaitDetector.fit`'s work: the vocabulary and pretrained vectors, the encoder trained
with the metric loss, the training and validation headlines stored as cases, then the vote
(clickbait.vote_fit)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import numpy as np

from .cases import CaseBase
from .errors import VectorFormatError
from .headline import HeadlineCheck
from .persistence import data_hash

if TYPE_CHECKING:  # pragma: no cover
    from .detector import ClickbaitDetector

log = logging.getLogger("clickbait")


def fit(det: ClickbaitDetector, texts, labels, sources, val_texts, val_labels, val_sources,
         started: float) -> ClickbaitDetector:
    """`fit`'s work, run inside `seeded(det.seed)`."""
    from .losses import check_collapse
    from .model import build_encoder, build_text_model, embedding_layer
    from .text import PAD, UNK, build_vocabulary, encode, make_vectorizer
    from .vectors import embedding_matrix, read_vectors

    train_words, counts = build_vocabulary(texts)
    vectors = read_vectors(det.vectors, train_words, top_n=det.pretrained_top_n,
                           cache_dir=det.cache_dir)
    # Training words first; then pretrained words the training set lacks, so that unseen
    # words in new headlines still land on their GloVe vectors instead of [UNK].
    words, _ = build_vocabulary(counts, extra=vectors.words)
    tokens = [PAD, UNK, *words]
    matrix, coverage = embedding_matrix(tokens, vectors, seed=det.seed, counts=counts)
    det.vectors_stats_ = vectors.stats
    det.coverage_ = coverage
    det.vocabulary_ = words
    det._log(f"{coverage}")
    if (coverage.token_coverage or 0.0) < det.min_coverage:
        raise VectorFormatError(
            f"{det.vectors}: {coverage}; that is below min_coverage={det.min_coverage:.0%} of "
            "the training text, so training stopped: wrong vectors file, another language, or a "
            "damaged file?")

    vectorizer = make_vectorizer(words, det.length)
    x_train, x_val = encode(vectorizer, texts), encode(vectorizer, val_texts)
    det.network_ = build_encoder(
        matrix, length=det.length, encoder=det.encoder, dim=det.dim, hidden=det.hidden,
        filters=det.filters, dropout=det.dropout, trainable=det.trainable)
    det.history_ = train_network(det, x_train, labels, x_val, val_labels)
    det.model_ = build_text_model(vectorizer, det.network_)
    det.__dict__.pop("_predictor", None)

    train_embeddings = det._embed_ids(x_train)
    det.spread_ = check_collapse(train_embeddings, det.loss)
    det.cases_ = CaseBase.empty(det.dim)
    det.cases_.add(train_embeddings, labels, texts, source=sources)
    val_embeddings = det._embed_ids(x_val)
    own = np.full(len(val_texts), -1)
    det.validation_from_id_ = len(det.cases_)  # held-out cases: ids from here to retained_from_id_
    if det.retain_validation:
        own = len(det.cases_) + np.arange(len(val_texts))
        det.cases_.add(val_embeddings, val_labels, val_texts, source=val_sources)
    # Cases up to here are training data; a case retained later has a larger id, and its
    # label wins when that very headline is scored (a correction is not outvoted).
    det.retained_from_id_ = int(det.cases_.ids.max()) + 1
    det.headline_check_ = HeadlineCheck.from_training(
        x_train, tokens, len(train_words), embedding_layer(det.network_).get_weights()[0])
    det._fit_vote(x_val, val_embeddings, val_labels, own)
    det.classes_ = np.array([0, 1])
    det.data_hash_ = data_hash(texts + val_texts, np.concatenate([labels, val_labels]))
    det.fit_seconds_ = time.perf_counter() - started
    det._log(f"validation accuracy {det.validation_accuracy_:.4f} at threshold "
              f"{det.threshold_:.3f}; {len(det.cases_)} cases; {det.fit_seconds_:.0f} s")
    return det

def train_network(det: ClickbaitDetector, x, y, x_val, y_val) -> dict:
    import keras

    from .losses import get_loss
    from .model import set_embedding_trainable

    def phase(epochs: int, lr: float) -> dict:
        det.network_.compile(optimizer=keras.optimizers.Adam(lr),
                              loss=get_loss(det.loss, det.margin, det.positive_margin))
        stop = keras.callbacks.EarlyStopping(patience=det.patience, restore_best_weights=True)
        progress = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: log.info(
            f"epoch {epoch + 1}/{epochs}: " + ", ".join(f"{k} {v:.4f}" for k, v in logs.items())))
        hist = det.network_.fit(
            x, y, validation_data=(x_val, y_val), epochs=epochs, batch_size=det.batch_size,
            shuffle=True, callbacks=[stop, progress], verbose=det.verbose)
        return hist.history

    history = {"phase1": phase(det.epochs, det.learning_rate)}
    if det.fine_tune_epochs:
        # Second phase: unfreeze the word vectors at a low rate; trainable needs a recompile.
        set_embedding_trainable(det.network_, True)
        history["fine_tune"] = phase(det.fine_tune_epochs, det.fine_tune_learning_rate)
    return history
