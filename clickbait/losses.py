"""Metric losses over a batch of L2-normalised embeddings and their class labels.

Both losses form their pairs or triplets inside the batch (as TensorFlow Similarity does), so any
batch that holds both classes trains them; `y_true` is the class label of each row, `y_pred` its
embedding. Each returns one loss per row, which Keras averages.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .errors import CollapseError

_EPS = 1e-12


def pairwise_distances(embeddings):
    """Euclidean distances between all rows (n x n), safe to differentiate at zero distance."""
    sq = ops.sum(ops.square(embeddings), axis=1)
    d2 = ops.expand_dims(sq, 1) - 2.0 * ops.matmul(embeddings, ops.transpose(embeddings))
    d2 = ops.maximum(d2 + ops.expand_dims(sq, 0), 0.0)
    # sqrt has an infinite slope at 0: keep it off exact zeros (the diagonal, duplicate rows).
    return ops.sqrt(ops.maximum(d2, _EPS))


def _label_masks(y_true, n):
    labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
    same = ops.equal(ops.expand_dims(labels, 0), ops.expand_dims(labels, 1))
    not_self = ops.logical_not(ops.eye(n, dtype="bool"))
    positive = ops.logical_and(same, not_self)
    negative = ops.logical_not(same)
    return ops.cast(positive, "float32"), ops.cast(negative, "float32")


@keras.saving.register_keras_serializable(package="clickbait")
class ContrastiveLoss(keras.losses.Loss):
    """Contrastive loss of Hadsell, Chopra and LeCun (2006) over all pairs in the batch:
    0.5 * D^2 for a pair of one class, 0.5 * max(0, margin - D)^2 for a pair of two classes, with D
    the Euclidean distance. Row i's loss is the mean over its pairs with every other row.

    `positive_margin` > 0 stops pulling a same-class pair once D < positive_margin (the
    "double-margin" form): with two classes, plain Hadsell packs each class onto nearly one point
    (neighbour similarities near 1), which leaves the nearest-case vote, its explanations and
    user cases nothing to tell apart; a positive margin keeps each class a ball with structure."""

    def __init__(self, margin: float = 1.2, positive_margin: float = 0.0, name: str = "contrastive",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        if not 0 <= positive_margin < margin:
            raise ValueError(f"need 0 <= positive_margin < margin; got {positive_margin}, {margin}")
        self.margin = float(margin)
        self.positive_margin = float(positive_margin)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        n = ops.shape(y_pred)[0]
        d = pairwise_distances(y_pred)
        positive, negative = _label_masks(y_true, n)
        pair_loss = positive * 0.5 * ops.square(ops.relu(d - self.positive_margin)) + \
            negative * 0.5 * ops.square(ops.relu(self.margin - d))
        pairs = ops.maximum(ops.cast(n, "float32") - 1.0, 1.0)
        return ops.sum(pair_loss, axis=1) / pairs

    def get_config(self) -> dict:
        return {**super().get_config(), "margin": self.margin,
                "positive_margin": self.positive_margin}


@keras.saving.register_keras_serializable(package="clickbait")
class BatchHardTripletLoss(keras.losses.Loss):
    """Batch-hard triplet loss (Hermans, Beyer and Leibe 2017): for each anchor, its farthest
    same-class row and its nearest other-class row, max(0, margin + d_ap - d_an); with
    `soft=True`, softplus(d_ap - d_an) instead, which keeps a gradient when the hinge is flat.
    Anchors without a positive or a negative in the batch contribute 0."""

    def __init__(self, margin: float = 0.5, soft: bool = False, name: str = "triplet", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)
        self.soft = bool(soft)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        n = ops.shape(y_pred)[0]
        d = pairwise_distances(y_pred)
        positive, negative = _label_masks(y_true, n)
        hardest_positive = ops.max(d * positive, axis=1)
        # Push non-negatives above every distance before taking the minimum.
        hardest_negative = ops.min(d + (1.0 - negative) * (ops.max(d) + 1.0), axis=1)
        gap = hardest_positive - hardest_negative
        loss = ops.softplus(gap) if self.soft else ops.relu(gap + self.margin)
        valid = ops.cast(
            ops.logical_and(ops.sum(positive, axis=1) > 0, ops.sum(negative, axis=1) > 0),
            "float32",
        )
        return loss * valid

    def get_config(self) -> dict:
        return {**super().get_config(), "margin": self.margin, "soft": self.soft}


@keras.saving.register_keras_serializable(package="clickbait")
class BatchAllTripletLoss(keras.losses.Loss):
    """Triplet loss over every (anchor, positive, negative) triplet of the batch, max(0, margin +
    d_ap - d_an), averaged over the triplets that still violate the margin (Hermans et al.'s
    "batch all"). With two classes it keeps learning where batch-hard mining collapses to one
    point (see tests/test_losses.py). Memory grows with batch_size**3 (64 MB at 256)."""

    def __init__(self, margin: float = 0.5, name: str = "triplet_all", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        d = pairwise_distances(y_pred)
        positive, negative = _label_masks(y_true, ops.shape(y_pred)[0])
        # t[a, p, n] = margin + d[a, p] - d[a, n] over valid (a, p, n).
        t = ops.relu(ops.expand_dims(d, 2) - ops.expand_dims(d, 1) + self.margin)
        t = t * ops.expand_dims(positive, 2) * ops.expand_dims(negative, 1)
        active = ops.sum(ops.cast(t > 1e-9, "float32"), axis=(1, 2))
        return ops.sum(t, axis=(1, 2)) / ops.maximum(active, 1.0)

    def get_config(self) -> dict:
        return {**super().get_config(), "margin": self.margin}


LOSSES = {
    "contrastive": ContrastiveLoss,
    "triplet": BatchHardTripletLoss,
    "triplet-soft": lambda **kw: BatchHardTripletLoss(soft=True, **kw),
    "triplet-all": BatchAllTripletLoss,
}


def get_loss(name: str, margin: float | None = None, positive_margin: float = 0.0) -> keras.losses.Loss:
    """The metric loss called `name` (one of LOSSES); `margin` None takes the loss's default,
    `positive_margin` applies to "contrastive" only."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {sorted(LOSSES)}")
    kwargs = {} if margin is None else {"margin": margin}
    if name == "contrastive":
        kwargs["positive_margin"] = positive_margin
    return LOSSES[name](**kwargs)


def embedding_spread(embeddings) -> float:
    """Mean distance of the embeddings to their centroid: about 1 for unit vectors spread over
    the sphere, near 0 when the metric space has collapsed to a point."""
    e = np.asarray(embeddings, dtype="float64")
    return float(np.linalg.norm(e - e.mean(axis=0), axis=1).mean()) if len(e) else 0.0


def check_collapse(embeddings, loss: str, minimum: float = 0.05) -> float:
    """Raise CollapseError when the embeddings have collapsed; return their spread."""
    spread = embedding_spread(embeddings)
    if spread < minimum:
        raise CollapseError(
            f"the metric embeddings collapsed (mean distance to their centroid {spread:.4f} < "
            f"{minimum}) after training with loss {loss!r}; batch-hard triplet mining is known to "
            "do this with two classes: use loss='contrastive' or 'triplet-all'")
    return spread
