"""What a decision rests on: the evidence table behind each probability, and the cases behind
each prediction (the most relevant training and retained cases, in the adaptation space)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .cases import CaseBase
from .validation import check_count, check_texts
from .vote import adaptation_space, unit_rows

CANDIDATES = 3000  # nearest cases of each class by metric similarity that explain re-ranks

if TYPE_CHECKING:  # pragma: no cover
    from .trained import TrainedDetector


def evidence_frame(det: TrainedDetector, texts) -> pd.DataFrame:
    """The evidence behind each probability, one row per headline: each feature of the
    nearest cases (clickbait.vote.FEATURES), its contribution to the logit (weight x value),
    the intercept, what the cases alone say, P(headline), support and the
    final P(clickbait). `base_probability` is what the training cases alone say;
    `retained_*_mass` the kernel mass of the nearest retained (and user) cases of each class,
    `retained_shift` how far they moved P; `user_label` the label of a retained copy of the
    very headline, which decides it."""
    d = det._decide_texts(texts)
    frame = pd.DataFrame(d.features, columns=[f"{f}" for f in det.combiner_.to_dict()["features"]])
    contrib = pd.DataFrame(d.features * det.combiner_.coef,
                           columns=[f"{c}_contribution" for c in frame.columns])
    mass = d.retained_mass if d.retained_mass is not None else np.zeros((len(d.proba), 2))
    user = d.user_label if d.user_label is not None else np.full(len(d.proba), np.nan)
    return pd.concat([frame, contrib], axis=1).assign(
        intercept=det.combiner_.intercept, base_probability=d.base_proba,
        retained_other_mass=mass[:, 0], retained_clickbait_mass=mass[:, 1],
        retained_shift=d.cases_proba - d.base_proba, user_label=user,
        cases_probability=d.cases_proba,
        headline=d.headline, prior=det.prior_, support=d.support,
        low_support=d.low_support, clickbait_probability=d.proba)


def case_topics(det: TrainedDetector, cases: CaseBase, positions: np.ndarray) -> np.ndarray:
    """Unit word-vector sums (topics) of the training cases at `positions`, computed on first
    need and kept (one tokenization per case, however many explanations ask)."""
    key = (id(cases), cases.version)
    cached = det.__dict__.get("_topic_cache")
    if cached is None or cached[0] != key:
        width = det.headline_check_.vectors.shape[1]
        cached = det.__dict__["_topic_cache"] = (key, np.zeros((len(cases), width), "float32"),
                                                 np.zeros(len(cases), bool))
    _, topics, done = cached
    todo = np.unique(positions[~done[positions]])
    if len(todo):
        ids = det._ids(cases.meta["text"].to_numpy()[todo].tolist())
        topics[todo] = unit_rows(det.headline_check_.word_sums(ids))
        done[todo] = True
    return topics[positions]


def relevant_cases(det: TrainedDetector, emb: np.ndarray, query_topics: np.ndarray, k: int,
                   candidates: int = CANDIDATES, chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(relevance, positions), n x k, of the most relevant training cases: among the
    `candidates` nearest of each class by metric similarity, ranked by the mean of the metric
    and the topic similarity (the adaptation space's cosine)."""
    cases = det._trained_cases()
    q_topics = unit_rows(query_topics)
    rel_out, pos_out = [], []
    for s in range(0, len(emb), chunk):
        e = emb[s:s + chunk]
        found = [cases.class_search(e, min(candidates, len(cases)), c) for c in (0, 1)]
        sims = np.concatenate([f[0] for f in found], axis=1)
        pos = np.concatenate([f[1] for f in found], axis=1)
        topic = np.einsum("nd,nkd->nk", q_topics[s:s + chunk], case_topics(det, cases, np.maximum(pos, 0)))
        rel = np.where(pos >= 0, (sims + topic) / 2, -np.inf)
        top = np.argsort(-rel, axis=1, kind="stable")[:, :k]
        rel_out.append(np.take_along_axis(rel, top, axis=1))
        pos_out.append(np.take_along_axis(pos, top, axis=1))
    if not rel_out:
        return np.zeros((0, k), "float32"), np.zeros((0, k), "int64")
    return np.concatenate(rel_out), np.concatenate(pos_out)


def explain(det: TrainedDetector, texts, k: int | None = None) -> pd.DataFrame:
    """The cases behind each prediction, one row per (query, case): query index and text,
    rank, case id, `similarity` (metric), `relevance` (the mean of the metric and the
    word-vector similarity: near in class AND about the same thing), the case's label, text,
    source and time added, its vote `weight` (1, or the overlay's user_weight) and whether
    it was `retained` after training. The cases are the most relevant training and
    retained cases: the space retained cases are weighed in (vote.Adapter)."""
    det._check_fitted()
    texts = check_texts(texts)
    k = det.k if k is None else check_count(k, "k")
    overlay = getattr(det, "overlay_", None)
    layers = [det.cases_] + ([overlay.cases] if overlay is not None else [])
    n = len(texts)
    ids = det._ids(texts)
    emb = det._embed_ids(ids) if n else np.zeros((0, det.dim), "float32")
    query_topics = det.headline_check_.word_sums(ids)
    queries = adaptation_space(emb, query_topics)
    rel, pos = relevant_cases(det, emb, query_topics, min(k, len(det._trained_cases())))
    layer = np.zeros_like(pos)
    retained = det._retained()
    if retained is not None:
        rsims, rpos = retained["index"].kneighbors(queries, min(k, len(retained["labels"])))
        pos = np.concatenate([pos, retained["pos"][rpos]], axis=1)
        layer = np.concatenate([layer, retained["layer"][rpos]], axis=1)
        rel = np.concatenate([rel, rsims], axis=1)
    k = rel.shape[1] if not n else min(k, rel.shape[1])
    order = np.argsort(-rel, axis=1, kind="stable")[:, :k]
    pos, layer, rel = (np.take_along_axis(a, order, axis=1).ravel() for a in (pos, layer, rel))
    case_emb = np.zeros((len(pos), det.dim), "float32")
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
        "retained": meta["case_id"] >= det.retained_from_id_,
    })

# -- retain / revise / forget, and per-user overlays (clickbait/overlay.py) ----------------
