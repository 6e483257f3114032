"""Fitting the vote on held-out headlines: each retrieval's combiner and threshold, the
headline check, the support cut, and the adapter that weighs retained cases (clickbait.vote)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import index as fast_index
from .cases import _check_labels, class_neighbours
from .headline import non_headlines
from .validation import check_texts
from .vote import (
    TEMPERATURES,
    Adapter,
    Combiner,
    adaptation_episodes,
    adaptation_space,
    decide,
    evidence,
    summary_evidence,
)

if TYPE_CHECKING:  # pragma: no cover
    from .detector import ClickbaitDetector

HARM_TOLERANCE = 0.001  # mean log-loss increase on unrelated headlines a kernel may cause


def best_threshold(proba: np.ndarray, labels: np.ndarray) -> float:
    """The threshold on P(clickbait) with the best accuracy (ties: the one nearest 0.5)."""
    cuts = np.unique(proba)
    candidates = np.concatenate([[0.5], (cuts[:-1] + cuts[1:]) / 2]) if len(cuts) > 1 else np.array([0.5])
    acc = np.array([((proba >= c) == labels).mean() for c in candidates])
    best = np.flatnonzero(acc >= acc.max() - 1e-12)
    return float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])


def news_cap(news_proba: np.ndarray, allowed: int) -> float:
    """The lowest threshold that at most `allowed` of these probabilities reach."""
    p = np.sort(np.asarray(news_proba, float))[::-1]
    return 0.0 if allowed >= len(p) else float(np.nextafter(p[allowed], np.inf))


def fit_vote(det: ClickbaitDetector, ids: np.ndarray, embeddings: np.ndarray, labels: np.ndarray,
              own: np.ndarray, headline_cut: float = 0.01, fit_adapter: bool = True) -> None:
    """Fit the vote on held-out headlines (token ids, embeddings, labels) queried against the
    case base without themselves (`own`: each one's own position in it, or -1): the
    combiner, the headline check (against generated non-headlines), the support
    cut and the decision threshold."""
    nb = class_neighbours([det.cases_], [1.0], embeddings, det.k, exclude=own)
    found = {"exact": (evidence(nb), nb.support)}
    det.centroids_ = None
    if fast_index.available():  # the fast retrieval's clusters, and its own combiner
        det.centroids_ = fast_index.ClusterIndex.fit_centroids(
            det.cases_.embeddings, det.cases_.labels, det.seed)
        cn = fast_index.ClusterIndex(det.cases_.embeddings, det.cases_.labels,
                                     det.centroids_).neighbours(embeddings, exclude=own)
        found["fast"] = (summary_evidence(cn), cn.support)
    others = non_headlines(det.vocabulary_[:det.headline_check_.n_train_words],
                           max(len(ids), 1000), det.seed)
    det.headline_check_ = det.headline_check_.fit(ids, det._ids(others), headline_cut)
    det.support_cut_ = float(np.quantile(nb.support, 0.01))
    det.prior_ = float(det.cases_.labels.mean())
    headline = det.headline_check_.proba(ids)
    det.votes_ = {}
    news = labels == 0
    for mode, (feats, support) in found.items():  # exact first
        combiner = Combiner.fit(feats, labels)
        d = decide(feats, support, combiner, headline, det.prior_, det.support_cut_)
        threshold = best_threshold(d.proba, labels)
        if mode == "exact":
            news_flagged = int(d.label(threshold)[news].sum())
        else:  # the default retrieval flags no more of the held-out news than the exact scan
            threshold = max(threshold, news_cap(d.proba[news & (d.headline >= 0.5)], news_flagged))
        det.votes_[mode] = {"combiner": combiner, "threshold": threshold,
                             "validation_accuracy": float(((d.proba >= threshold) == labels).mean())}
    if fit_adapter or getattr(det, "adapter_", None) is None:
        exact = det.votes_["exact"]["combiner"]  # the adapter moves the exact vote's logit
        choose_adapter(det, ids, embeddings, labels, exact.logit(found["exact"][0]))


def choose_adapter(det: ClickbaitDetector, ids: np.ndarray, embeddings: np.ndarray, labels: np.ndarray,
                   base_logit: np.ndarray) -> None:
    """Fit how retained cases move the vote (vote.Adapter) on adaptation episodes from the
    held-out headlines (out-of-fold base logits) and the development sources given to `fit`
    as `adaptation` (never the test split). Too few held-out headlines for any episode:
    the default weights."""
    sources = []
    for texts, y in getattr(det, "_adaptation_sources", ()):
        src_ids = det._ids(texts)
        src_emb = det._embed_ids(src_ids)
        nb = class_neighbours([det._trained_cases()], [1.0], src_emb, det.k)
        sources.append((adaptation_space(src_emb, det.headline_check_.word_sums(src_ids)),
                        det.votes_["exact"]["combiner"].logit(evidence(nb)), np.asarray(y)))
    vectors = adaptation_space(embeddings, det.headline_check_.word_sums(ids))
    words = [row[(row > 1) & ~det.headline_check_.numeric[row]] for row in np.asarray(ids)]
    best = None
    for temperature in TEMPERATURES:  # the kernel width with the lowest fitted episode loss
        start = Adapter(temperature=temperature)
        episodes = adaptation_episodes(vectors, base_logit, labels, words, det.seed, sources, start)
        if not episodes:
            break
        fitted = start.fit(episodes)
        unrelated = [e for e in episodes if e[3] == "unrelated"]
        harm = float(np.mean([fitted.loss(e) - Adapter().loss(e) for e in unrelated] or [0.0]))
        det._log(f"adapter at T={temperature}: episode loss {start.fit_loss:.4f}, unrelated "
                  f"headlines' loss {harm:+.4f}: {fitted.to_dict()}")
        # Unrelated headlines must not move: a kernel that hurts them is chosen only if
        # every kernel does (then the least harmful).
        key = (harm > HARM_TOLERANCE, harm if harm > HARM_TOLERANCE else start.fit_loss)
        if best is None or key < best[0]:
            best = (key, fitted, len(episodes))
    det.adapter_ = best[1] if best else Adapter(lam=0.1, beta=1.0, temperature=0.03)
    det._log(f"adapter fitted on {best[2] if best else 0} episodes: {det.adapter_.to_dict()}")


def refit_vote(det: ClickbaitDetector, texts, labels, *, refit_adapter: bool = False) -> ClickbaitDetector:
    """Refit the vote (combiner, headline check, threshold) on labelled held-out headlines,
    each queried against the present case base without itself: after the case base changed
    in bulk (condensing, a new source). The network is untouched."""
    det._check_fitted()
    texts, labels = check_texts(texts), _check_labels(labels)
    if len(texts) != len(labels):
        raise ValueError(f"got {len(texts)} texts but {len(labels)} labels")
    ids = det._ids(texts)
    where = pd.Series(np.arange(len(det.cases_)), index=det.cases_.meta["text"].to_numpy())
    where = where[~where.index.duplicated()]
    own = where.reindex(texts).fillna(-1).to_numpy("int64")
    fit_vote(det, ids, det._embed_ids(ids), labels.astype("int64"), own, fit_adapter=refit_adapter)
    return det
