"""The fast retrieval behind the vote: per class, k-means clusters of the training cases.

The vote's evidence reads the 1, 5, 25 and 100 nearest cases of each class. Finding the 100
nearest exactly means scanning every case and selecting from all of them, which costs most of a
headline's time. But past the few nearest, the evidence is a *mean*: and a cluster's summed
member vectors give its members' summed similarity to a query exactly (q . sum x = sum q . x).
So each class is cut into `LISTS` clusters (spherical k-means), which serve twice:
- as inverted lists: the `TOP` nearest cases are searched in the `nprobe` lists whose centroids
  are nearest the query (faiss `IndexIVFFlat`, preassigned);
- as summaries: the `PROBE` nearest clusters, each as (mean similarity of its members not among
  those nearest cases, how many), fill the ranks past `TOP` (clickbait.vote.summary_evidence).

The centroids are fitted once, at training, and saved with the model; the assignment of each
case (its nearest centroid), the lists and the summaries are rebuilt from the cases whenever
the case base changes (revise, forget, condense), so they always describe the present cases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cases import Neighbours, drop_own

try:
    import faiss
except ImportError:  # pragma: no cover - faiss is a dependency; without it, exact retrieval
    faiss = None

LISTS = 256  # clusters per class (fewer for a small class: at least 39 cases each, as faiss wants)
NPROBE = 4  # lists searched for the nearest cases
PROBE = 8  # nearest clusters that summarise the deeper ranks (about 450 cases: past rank 100)
TOP = 10  # nearest cases found case by case
RETRIEVALS = ("fast", "exact")  # this index, or every case scanned (clickbait.cases)


def available() -> bool:
    """Whether the fast index can run here (it needs faiss)."""
    return faiss is not None


def fit_centroids(embeddings: np.ndarray, lists: int = LISTS, seed: int = 0) -> np.ndarray:
    """Unit centroids of a spherical k-means over one class's embeddings (faiss, seeded)."""
    x = np.ascontiguousarray(embeddings, "float32")
    lists = max(1, min(lists, len(x) // 39))
    if len(x) == 0:
        return np.zeros((0, x.shape[1]), "float32")
    km = faiss.Kmeans(x.shape[1], lists, niter=20, seed=seed, spherical=True, verbose=False)
    km.train(x)
    c = km.centroids.astype("float32")
    return c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)


@dataclass
class ClassClusters:
    """One class's cases (`members`: positions in the case base) in clusters: each member's
    cluster (`assign`), each cluster's member count and summed member vector; the centroids
    in float64 (the lists are chosen in float64, see `ClusterIndex._class`)."""

    members: np.ndarray
    centroids: np.ndarray
    assign: np.ndarray
    counts: np.ndarray
    sums: np.ndarray
    embeddings: np.ndarray
    quantizer: object  # kept alive: `ivf` refers to it
    ivf: object

    @classmethod
    def build(cls, embeddings: np.ndarray, members: np.ndarray, centroids: np.ndarray) -> ClassClusters:
        emb = np.ascontiguousarray(embeddings[members], "float32")
        cent = np.ascontiguousarray(centroids, "float32")
        quantizer = faiss.IndexFlatIP(emb.shape[1])
        quantizer.add(cent)
        ivf = faiss.IndexIVFFlat(quantizer, emb.shape[1], len(cent), faiss.METRIC_INNER_PRODUCT)
        ivf.is_trained = True  # the centroids are given
        assign = quantizer.search(emb, 1)[1][:, 0].astype("int64") if len(emb) else np.zeros(0, "int64")
        if len(emb):
            ivf.add(emb)  # the same nearest-centroid assignment as `assign`
        counts = np.bincount(assign, minlength=len(cent)).astype("float32")
        sums = np.zeros((len(cent), emb.shape[1]), "float64")
        np.add.at(sums, assign, emb)
        return cls(members, cent.astype("float64"), assign, counts, sums.astype("float32"), emb, quantizer,
                   ivf)


@dataclass
class ClusterNeighbours:
    """For n queries and each class c: the nearest cases, nearest first (`sims[c]`, `pos[c]`:
    n x TOP, positions in the case base; -1 / -1.0 where missing), and the `PROBE` nearest
    clusters' members not among them (`fill_sims[c]`: their mean similarity, -2.0 for an
    empty cluster; `fill_counts[c]`: how many)."""

    sims: list[np.ndarray]
    pos: list[np.ndarray]
    fill_sims: list[np.ndarray]
    fill_counts: list[np.ndarray]

    support = Neighbours.support  # the similarity of the nearest case of either class


class ClusterIndex:
    """Both classes' clusters over a case base's embeddings and labels."""

    def __init__(self, embeddings: np.ndarray, labels: np.ndarray, centroids: dict[int, np.ndarray],
                 nprobe: int = NPROBE):
        self.classes = {}
        for c in (0, 1):
            members = np.flatnonzero(labels == c)
            if len(members) and len(centroids.get(c, ())):
                cc = self.classes[c] = ClassClusters.build(embeddings, members, centroids[c])
                cc.ivf.nprobe = min(nprobe, PROBE, len(cc.counts))  # search_preassigned's width

    @staticmethod
    def fit_centroids(embeddings: np.ndarray, labels: np.ndarray, seed: int = 0) -> dict[int, np.ndarray]:
        return {c: fit_centroids(embeddings[labels == c], seed=seed) for c in (0, 1)}

    def neighbours(self, queries: np.ndarray, exclude: np.ndarray | None = None) -> ClusterNeighbours:
        """The nearest cases and cluster summaries of each class for `queries` (n x d, unit).
        `exclude` (n positions in the case base, -1 for none) leaves each query's own case out
        of both (out-of-fold fitting)."""
        q = np.ascontiguousarray(queries, "float32")
        out = ClusterNeighbours([], [], [], [])
        for c in (0, 1):
            parts = self._class(c, q, exclude) if c in self.classes else _missing(len(q))
            for field_, value in zip((out.sims, out.pos, out.fill_sims, out.fill_counts), parts, strict=True):
                field_.append(value)
        return out

    def _class(self, c: int, q: np.ndarray, exclude: np.ndarray | None):
        cc = self.classes[c]
        n, lists = len(q), len(cc.counts)
        probe = min(PROBE, lists)
        nprobe = cc.ivf.nprobe
        own = None
        if exclude is not None:  # the query's own case, as a position in this class (-1: none)
            local = np.full(int(max(cc.members.max(initial=-1), np.max(exclude, initial=-1))) + 1, -1)
            local[cc.members] = np.arange(len(cc.members))
            own = np.where(exclude >= 0, local[np.maximum(exclude, 0)], -1)
        extra = 0 if own is None else 1
        k = min(TOP + extra, len(cc.members))
        # The nearest lists in float64 numpy, not faiss: faiss switches to BLAS from 20 queries,
        # and its float32 rounding then differs with the batch, which can swap near-tied lists;
        # a headline must get the same answer alone as in any batch (Spark partitions, chunks).
        # `probe` rounds of argmax (nearest first, ties to the lower list) cost far less than
        # an argpartition over all lists.
        sims = q.astype("float64") @ cc.centroids.T
        lists_near = np.empty((n, probe), "int64")
        dq = np.empty((n, probe), "float32")
        rows = np.arange(n)
        for j in range(probe):
            best = sims.argmax(axis=1)
            lists_near[:, j], dq[:, j] = best, sims[rows, best]
            sims[rows, best] = -np.inf
        s, p = cc.ivf.search_preassigned(q, k, lists_near[:, :nprobe], dq[:, :nprobe])
        gone_s, gone_p = s, p  # the members that leave the summaries: those found (and own)
        if own is not None:
            s, p = drop_own(s, p, own)
            own_s = np.where(own >= 0, (q * cc.embeddings[np.maximum(own, 0)]).sum(axis=1), 0.0)
            gone_s = np.column_stack([s, own_s]).astype("float32")
            gone_p = np.column_stack([p, own])
        gone_cluster = np.where(gone_p >= 0, cc.assign[np.maximum(gone_p, 0)], -1)
        match = (gone_cluster[:, :, None] == lists_near[:, None, :]).astype("float32")
        total = np.einsum("nd,npd->np", q, cc.sums[lists_near])
        total -= np.matmul(np.where(gone_p >= 0, gone_s, 0.0).astype("float32")[:, None, :], match)[:, 0]
        counts = cc.counts[lists_near] - match.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            fill = np.where(counts > 0, total / counts, -2.0).astype("float32")
        sims = np.full((n, TOP), -1.0, "float32")
        pos = np.full((n, TOP), -1, "int64")
        m = min(TOP, s.shape[1])
        sims[:, :m] = np.where(p[:, :m] >= 0, s[:, :m], -1.0)
        pos[:, :m] = np.where(p[:, :m] >= 0, cc.members[np.maximum(p[:, :m], 0)], -1)
        return sims, pos, fill, np.maximum(counts, 0.0)


def _missing(n: int):
    """A class with no cases: nothing near."""
    return (np.full((n, TOP), -1.0, "float32"), np.full((n, TOP), -1, "int64"),
            np.full((n, 1), -2.0, "float32"), np.zeros((n, 1), "float32"))
