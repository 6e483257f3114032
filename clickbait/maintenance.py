"""Case-base maintenance: Wilson editing, then condensing (a batched Hart condensed nearest
neighbour), so the case base shrinks while it still classifies its own cases correctly.

Selection uses a simple rule, not the detector's learned vote: the similarity-weighted vote of the
k nearest cases (softmax at `temperature`, `cases.weighted_vote`) against `threshold`.

- **Wilson editing** (Wilson 1972) drops noisy cases: each case is classified by that vote of its
  own k nearest *other* cases (leave-one-out); a case the vote gets wrong is removed.
- **Condensing** (Hart 1968, batched) keeps only the cases that vote needs: start from a few cases
  of each class; classify every remaining case against the kept set; move up to `batch` of the
  misclassified ones into the kept set; repeat until every case is classified correctly.
  Interior cases, whose neighbours already agree with them, are never needed and are dropped.

`condense_detector` then refits the detector's learned vote against the condensed base.

Both work through `CaseBase` retrieval, a chunk of queries at a time, so memory stays bounded
by chunk x (k + cases kept) rather than growing with the square of the case count.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from .cases import CHUNK_SIZE, CaseBase, weighted_vote


def loo_proba(cases: CaseBase, k: int, temperature: float, chunk_size: int = CHUNK_SIZE) -> np.ndarray:
    """P(clickbait) of each case from its k nearest other cases (leave-one-out)."""
    out = np.empty(len(cases))
    start = 0
    for sims, pos in cases.iter_kneighbors(cases.embeddings, k + 1, chunk_size):
        rows = np.arange(start, start + len(sims))
        self_hit = pos == rows[:, None]
        # Drop the case itself; if a duplicate pushed it out of the k + 1, drop the farthest.
        self_hit[~self_hit.any(axis=1), -1] = True
        self_hit &= np.cumsum(self_hit, axis=1) == 1  # only one column per row
        keep = ~self_hit
        sims = sims[keep].reshape(len(sims), -1)
        pos = pos[keep].reshape(len(pos), -1)
        out[rows] = weighted_vote(sims, cases.labels[pos], temperature)
        start += len(sims)
    return out


def wilson_edit(cases: CaseBase, k: int = 10, temperature: float = 0.05, threshold: float = 0.5,
                chunk_size: int = CHUNK_SIZE) -> np.ndarray:
    """Mask of the cases to keep: those their k nearest other cases classify correctly."""
    pred = loo_proba(cases, k, temperature, chunk_size) >= threshold
    return pred == cases.labels.astype(bool)


def condense(cases: CaseBase, k: int = 10, temperature: float = 0.05, threshold: float = 0.5,
             batch: int = 256, seed: int = 0, margin: float = 0.5, max_rounds: int = 1000,
             chunk_size: int = CHUNK_SIZE) -> np.ndarray:
    """Mask of a condensed subset that classifies every case of `cases` correctly with the
    k-nearest selection vote above (or as many as `max_rounds` rounds reach). A case counts as
    covered only when the vote is on its side of the threshold by `margin` of the way to 0 or 1:
    plain Hart condensing (margin 0) keeps the boundary so thin that unseen headlines near it flip."""
    rng = np.random.default_rng(seed)
    n = len(cases)
    kept = np.zeros(n, bool)
    for label in (0, 1):
        members = np.flatnonzero(cases.labels == label)
        kept[rng.choice(members, min(k, len(members)), replace=False)] = True
    truth = cases.labels.astype(bool)
    for _ in range(max_rounds):
        store = cases.subset(kept)
        rest = np.flatnonzero(~kept)
        if not len(rest):
            break
        p = store.predict_proba(cases.embeddings[rest], k, temperature, chunk_size)
        covered = np.where(truth[rest], p >= threshold + margin * (1 - threshold),
                           p < threshold * (1 - margin))
        wrong = rest[~covered]
        if not len(wrong):
            break
        kept[rng.choice(wrong, min(batch, len(wrong)), replace=False)] = True
    return kept


def maintain(cases: CaseBase, k: int = 10, temperature: float = 0.05, threshold: float = 0.5,
             edit: bool = True, batch: int = 256, seed: int = 0, margin: float = 0.5
             ) -> tuple[CaseBase, dict]:
    """Wilson editing (if `edit`) then condensing; returns the reduced case base (ids and
    provenance kept) and a summary of what each step removed."""
    started = time.perf_counter()
    report = {"cases_before": len(cases)}
    edited = cases
    if edit:
        edited = cases.subset(wilson_edit(cases, k, temperature, threshold))
        report["removed_by_editing"] = len(cases) - len(edited)
    reduced = edited.subset(condense(edited, k, temperature, threshold, batch, seed, margin))
    report.update(removed_by_condensing=len(edited) - len(reduced), cases_after=len(reduced),
                  reduction=round(len(cases) / max(len(reduced), 1), 2),
                  seconds=round(time.perf_counter() - started, 2))
    return reduced, report


def condense_detector(detector, edit: bool = True, batch: int = 256, seed: int = 0,
                      margin: float = 0.5, k: int = 10, temperature: float = 0.05):
    """A shallow copy of a fitted detector (sharing its network) whose case base is edited and
    condensed (selected by the k-nearest selection vote above); its learned vote is then
    refitted on the base's validation cases against the condensed base, since the evidence of a
    sparse case base reads differently. Returns (copy, report)."""
    reduced, report = maintain(detector.cases_, k, temperature, 0.5, edit=edit, batch=batch,
                               seed=seed, margin=margin)
    out = copy.copy(detector)
    out.cases_ = reduced
    out.overlay_ = None
    ids = detector.cases_.ids
    held = (ids >= detector.validation_from_id_) & (ids < detector.retained_from_id_)
    if held.any():
        out.refit_vote(detector.cases_.meta["text"][held].tolist(), detector.cases_.labels[held])
        report["vote_refitted_on"] = int(held.sum())
    return out, report
