"""Learned adaptation: fine-tune the encoder on new labelled headlines (with replayed training
cases), re-embed the cases and refit the vote; the new rows stay as retained cases."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from .cases import _check_labels
from .seeding import seeded
from .validation import check_count, check_positive, check_texts

if TYPE_CHECKING:  # pragma: no cover
    from .detector import ClickbaitDetector


def learn(det: ClickbaitDetector, texts, labels, *, epochs: int = 3, replay: int = 4000,
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

    det._check_fitted()
    if getattr(det, "overlay_", None) is not None:
        raise ValueError("learn() changes the shared network; detach the user first (a "
                         "user's own cases adapt through retain())")
    texts, labels = check_texts(texts), _check_labels(labels).astype("int64")
    if len(texts) != len(labels) or not texts:
        raise ValueError(f"learn() needs labelled headlines; got {len(texts)} headlines and "
                         f"{len(labels)} labels")
    check_count(epochs, "epochs")
    check_count(replay, "replay", minimum=0)
    rate = det.learning_rate if learning_rate is None else check_positive(
        learning_rate, "learning_rate")
    started = time.perf_counter()
    with seeded(det.seed):
        rng = np.random.default_rng(det.seed)
        training = np.flatnonzero(det.cases_.ids < det.validation_from_id_)
        pick = np.sort(rng.choice(training, min(int(replay), len(training)), replace=False))
        x = texts + det.cases_.meta["text"].to_numpy()[pick].tolist()
        y = np.concatenate([labels, det.cases_.labels[pick].astype("int64")])
        network = det.network_  # a loaded detector reads its Keras model here
        det._log(f"fine-tuning on {len(texts):,} new headlines and {len(pick):,} replayed cases")
        network.compile(optimizer=keras.optimizers.Adam(rate),
                        loss=get_loss(det.loss, det.margin, det.positive_margin))
        network.fit(det._ids(x), y, epochs=int(epochs), batch_size=det.batch_size, shuffle=True,
                    verbose=det.verbose)
    det.__dict__.pop("_predictor", None)  # the network changed: a new numpy copy of it
    det.cases_.embeddings = np.ascontiguousarray(
        det._embed_ids(det._ids(det.cases_.meta["text"].tolist())), "float32")
    det.cases_._changed()
    ids = det.cases_.ids
    held = (ids >= det.validation_from_id_) & (ids < det.retained_from_id_)
    if held.any():
        det.refit_vote(det.cases_.meta["text"][held].tolist(), det.cases_.labels[held])
    det.cases_.add(det.transform(texts), labels, texts, source=source)
    det._log(f"learned {len(texts):,} headlines (+{len(pick):,} replayed) in "
              f"{time.perf_counter() - started:.1f} s")
    return det
