"""Cases retained after training (`retain`, `adapt`, a user's overlay), as the vote weighs them:
in the adaptation space (clickbait.vote.adaptation_space), apart from the base evidence, and by
their normalised text for the exact-match rule (a retained headline keeps its label)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .cases import CaseBase
from .tokens import standardize
from .vote import adaptation_space, retained_mass

if TYPE_CHECKING:  # pragma: no cover
    from .trained import TrainedDetector


def text_keys(texts: Sequence[str]) -> list[str]:
    """The key of the exact-match rule: the headline as the model reads it (lowercased, its
    tokens separated by single spaces), so that "Womp." and "Gulp!" (both unknown words) differ."""
    return [" ".join(t.split()) for t in standardize(list(texts))]


def retained_cases(det: TrainedDetector) -> dict | None:
    """The cases retained after training (the shared base's, then the user's overlay's), in
    the adaptation space, with labels, vote weights (1, or `user_weight`), texts, and where
    each is stored (layer, position); None when there are none."""
    layers, weights = det._layers()
    parts = []
    for i, layer in enumerate(layers):
        pos = np.flatnonzero(layer.ids >= det.retained_from_id_) if i == 0 \
            else np.arange(len(layer))
        if len(pos):
            parts.append((i, pos, layer, weights[i]))
    if not parts:
        return None
    texts = [t for _, pos, layer, _ in parts for t in layer.meta["text"].to_numpy()[pos]]
    emb = np.concatenate([layer.embeddings[pos] for _, pos, layer, _ in parts])
    vectors = adaptation_space(emb, det.headline_check_.word_sums(det._ids(texts)))
    index = CaseBase(vectors, np.concatenate([layer.labels[pos] for _, pos, layer, _ in parts]),
                     pd.DataFrame({"case_id": np.arange(len(texts)), "text": texts}))
    return {"index": index, "labels": index.labels,
            "weights": np.concatenate([np.full(len(pos), w, "float64") for _, pos, _, w in parts]),
            "layer": np.concatenate([np.full(len(pos), i) for i, pos, _, _ in parts]),
            "pos": np.concatenate([pos for _, pos, _, _ in parts]),
            "keys": dict(zip(text_keys(texts), index.labels.tolist(), strict=True))}


def retained_neighbours(det: TrainedDetector, ids: np.ndarray, embeddings: np.ndarray) -> tuple | None:
    """(n x 2 masses (E0, E1), similarities n x m, positions into `_retained()`) of the
    retained cases nearest each headline in the adaptation space; None if none are retained."""
    retained = det._retained()
    if retained is None or not len(ids):
        return None
    queries = adaptation_space(embeddings, det.headline_check_.word_sums(ids))
    m = min(det.adapter_.m, len(retained["labels"]))
    sims, pos = nearest(retained["index"], queries, m)
    mass = retained_mass(sims, retained["labels"][pos], retained["weights"][pos],
                         det.adapter_.temperature)
    return mass, sims, pos


def nearest(index: CaseBase, queries: np.ndarray, m: int, spare: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The m cases of `index` nearest each query, nearest first (ties: the lower position), with
    their similarities in float64, each one dot product: the same for a headline alone as in
    any batch. faiss's float32 search, which finds the candidates (`spare` more than m), rounds
    differently with the number of queries, and the adapter's kernel (temperature 0.01) made
    that a change of up to 2e-5 in P(clickbait) between batch sizes."""
    _, pos = index.kneighbors(queries, min(m + spare, len(index)))
    pos = np.sort(pos, axis=1)
    q = np.asarray(queries, "float64")
    sims = np.einsum("nd,nkd->nk", q, index.embeddings[pos].astype("float64"))
    order = np.argsort(-sims, axis=1, kind="stable")[:, :m]
    return np.take_along_axis(sims, order, axis=1), np.take_along_axis(pos, order, axis=1)
