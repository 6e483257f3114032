"""The case base of the nearest-case classifier: stored embeddings with their labels, texts and
provenance; exact k-nearest retrieval in bounded memory; a similarity-weighted vote.

Embeddings are unit length, so the inner product is the cosine similarity and exact inner-product
search (faiss `IndexFlatIP`, or a chunked numpy product) finds the nearest cases. Queries are
taken `chunk_size` at a time, so memory does not grow with the number of queries.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .files import ArtifactError, VersionWriter, write_file

try:  # faiss is a dependency, but retrieval stays correct (slower) without it.
    import faiss
except ImportError:  # pragma: no cover
    faiss = None

CHUNK_SIZE = 8192
MISSING = -1.0  # similarity of a missing neighbour (a class with fewer than k cases)
USER_ID_OFFSET = 1_000_000_000  # user-overlay case ids start here, so ids never clash with the base
_META_COLUMNS = ("case_id", "text", "source", "added")
_BUILDING = threading.Lock()  # scoring's model workers may ask for an index at once: one build


def brute_force_kneighbors(cases: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Reference exact search on one full similarity matrix (for tests and tiny inputs)."""
    sims = queries @ cases.T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, axis=1), order


@dataclass
class CaseBase:
    """Cases: `embeddings` (n x d float32, unit rows), `labels` (n, 0/1) and per-case metadata
    (`case_id`, `text`, `source`, `added` as Unix seconds) in a DataFrame."""

    embeddings: np.ndarray
    labels: np.ndarray
    meta: pd.DataFrame
    _index: object = field(default=None, repr=False, compare=False)
    _class_index: dict = field(default_factory=dict, repr=False, compare=False)
    version: int = field(default=0, repr=False, compare=False)  # bumped by every change
    first_id: int = field(default=0, repr=False, compare=False)  # the first id an empty base hands out

    @classmethod
    def empty(cls, dim: int, first_id: int = 0) -> CaseBase:
        meta = pd.DataFrame({
            "case_id": pd.Series(dtype="int64"), "text": pd.Series(dtype="str"),
            "source": pd.Series(dtype="str"), "added": pd.Series(dtype="float64"),
        })
        return cls(np.zeros((0, dim), "float32"), np.zeros(0, "int8"), meta, first_id=first_id)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def dim(self) -> int:
        return self.embeddings.shape[1]

    @property
    def ids(self) -> np.ndarray:
        return self.meta["case_id"].to_numpy()

    # -- retain / revise / forget -------------------------------------------------------------
    def add(self, embeddings: np.ndarray, labels: Sequence[int], texts: Sequence[str],
            source: str | Sequence[str] = "train") -> np.ndarray:
        """Retain new cases; returns their new case ids."""
        embeddings = np.ascontiguousarray(embeddings, dtype="float32")
        labels = _check_labels(labels)
        n = len(labels)
        if embeddings.shape != (n, self.dim) or len(texts) != n:
            raise ValueError(
                f"add() needs one embedding of dim {self.dim}, one label and one text per case; got "
                f"embeddings {embeddings.shape}, {n} labels, {len(texts)} texts"
            )
        start = int(self.ids.max()) + 1 if len(self) else self.first_id
        ids = np.arange(start, start + n, dtype="int64")
        sources = [source] * n if isinstance(source, str) else list(source)
        new = pd.DataFrame({"case_id": ids, "text": list(texts), "source": sources,
                            "added": np.full(n, time.time())})
        self.embeddings = np.concatenate([self.embeddings, embeddings])
        self.labels = np.concatenate([self.labels, labels])
        self.meta = pd.concat([self.meta, new], ignore_index=True) if len(self.meta) else new
        self._changed()
        return ids

    def _changed(self) -> None:
        """Drop the search indexes after a change; caches keyed on `version` see it."""
        self._index = None
        self._class_index = {}
        self.version += 1

    def positions(self, case_ids: Iterable[int]) -> np.ndarray:
        """Row positions of `case_ids`; an unknown id is an error that names it."""
        case_ids = np.asarray(list(case_ids), dtype="int64")
        pos = pd.Index(self.ids).get_indexer(case_ids)
        if (pos < 0).any():
            raise KeyError(f"unknown case ids: {case_ids[pos < 0][:10].tolist()}")
        return pos

    def revise(self, case_ids: Iterable[int], labels: Sequence[int]) -> None:
        """Correct the labels of stored cases."""
        pos = self.positions(case_ids)
        labels = _check_labels(labels)
        if len(labels) != len(pos):
            raise ValueError(f"revise() needs one label per case id; got {len(pos)} ids and "
                             f"{len(labels)} labels")
        self.labels[pos] = labels
        self._changed()  # the per-class indexes depend on the labels

    def forget(self, case_ids: Iterable[int] | None = None, source: str | None = None) -> int:
        """Remove cases by id and/or by source; returns how many were removed."""
        drop = np.zeros(len(self), bool)
        if case_ids is not None:
            drop[self.positions(case_ids)] = True
        if source is not None:
            drop |= (self.meta["source"] == source).to_numpy()
        keep = ~drop
        self.embeddings, self.labels = self.embeddings[keep], self.labels[keep]
        self.meta = self.meta[keep].reset_index(drop=True)
        self._changed()
        return int(drop.sum())

    # -- retrieval ------------------------------------------------------------------------------
    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if faiss is None:
            return _numpy_search(self.embeddings, queries, k)
        if self._index is None:
            with _BUILDING:
                if self._index is None:
                    index = faiss.IndexFlatIP(self.dim)
                    index.add(self.embeddings)
                    self._index = index
        return self._index.search(queries, k)

    def class_search(self, queries: np.ndarray, k: int, label: int) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest cases of class `label` (exact): (similarities, positions in this base),
        n x k, nearest first; padded with MISSING / -1 where the class has fewer than k cases."""
        queries = np.ascontiguousarray(queries, dtype="float32")
        if label not in self._class_index:
            members = np.flatnonzero(self.labels == label)
            if faiss is not None:
                index = faiss.IndexFlatIP(self.dim)
                index.add(np.ascontiguousarray(self.embeddings[members]))
            else:  # pragma: no cover
                index = np.ascontiguousarray(self.embeddings[members])
            self._class_index[label] = (members, index)
        members, index = self._class_index[label]
        sims = np.full((len(queries), k), MISSING, "float32")
        pos = np.full((len(queries), k), -1, "int64")
        m = min(k, len(members))
        if m and len(queries):
            s, p = index.search(queries, m) if faiss is not None else _numpy_search(index, queries, m)
            sims[:, :m], pos[:, :m] = s, members[p]
        return sims, pos

    def iter_kneighbors(self, queries: np.ndarray, k: int, chunk_size: int = CHUNK_SIZE
                        ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(similarities, positions) of the k nearest cases, `chunk_size` queries at a time."""
        if len(self) == 0:
            raise ValueError("the case base is empty: retain some cases first")
        k = min(int(k), len(self))
        queries = np.asarray(queries, dtype="float32")
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"queries must be n x {self.dim}; got shape {queries.shape}")
        for start in range(0, len(queries), chunk_size):
            yield self._search(np.ascontiguousarray(queries[start:start + chunk_size]), k)

    def kneighbors(self, queries: np.ndarray, k: int, chunk_size: int = CHUNK_SIZE
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(similarities, positions), each n x k, nearest first."""
        parts = list(self.iter_kneighbors(queries, k, chunk_size))
        if not parts:
            k = min(int(k), len(self))
            return np.zeros((0, k), "float32"), np.zeros((0, k), "int64")
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def vote(self, sims: np.ndarray, positions: np.ndarray, temperature: float) -> np.ndarray:
        """The simple vote case-base maintenance selects with (clickbait.maintenance; not the
        detector's learned vote): the neighbours' labels, each weighted by exp(similarity / T)."""
        return weighted_vote(sims, self.labels[positions], temperature)

    def predict_proba(self, queries: np.ndarray, k: int, temperature: float,
                      chunk_size: int = CHUNK_SIZE) -> np.ndarray:
        """`vote` for each query embedding (maintenance's selection rule)."""
        out = np.empty(len(queries), dtype="float64")
        start = 0
        for sims, pos in self.iter_kneighbors(queries, k, chunk_size):
            out[start:start + len(sims)] = self.vote(sims, pos, temperature)
            start += len(sims)
        return out

    # -- persistence ----------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike | VersionWriter) -> list[Path]:
        """Write `cases.npz` and `cases.parquet` (no pickle) into `directory` (a folder, or the
        VersionWriter of a new model/overlay version); returns the paths."""
        def put(name, write) -> Path:
            if isinstance(directory, VersionWriter):
                with directory.open(name) as f:
                    write(f)
                return directory.path(name)
            return write_file(Path(directory) / name, write)

        return [put("cases.npz", lambda f: np.savez(f, embeddings=self.embeddings, labels=self.labels,
                                                     case_id=self.ids.astype("int64"))),
                put("cases.parquet",
                    lambda f: self.meta.loc[:, list(_META_COLUMNS)].to_parquet(f, index=False))]

    def subset(self, keep: np.ndarray) -> CaseBase:
        """A new case base with the rows where `keep` (mask or positions) holds; ids and
        provenance are kept, so a condensed base still explains itself."""
        keep = np.asarray(keep)
        keep = np.flatnonzero(keep) if keep.dtype == bool else keep
        return CaseBase(np.ascontiguousarray(self.embeddings[keep]), self.labels[keep].copy(),
                        self.meta.iloc[keep].reset_index(drop=True), first_id=self.first_id)

    @classmethod
    def load(cls, directory: str | os.PathLike, first_id: int = 0) -> CaseBase:
        """Read `cases.npz` + `cases.parquet`, checking what a damaged or hand-made file could get
        wrong: shapes, finite embeddings, labels 0/1 only, ids unique and the same in both."""
        directory = Path(directory)
        npz = directory / "cases.npz"
        try:
            with np.load(npz, allow_pickle=False) as z:
                embeddings, labels, ids = z["embeddings"], z["labels"], z["case_id"]
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError, EOFError) as e:  # zipfile.BadZipFile is an OSError
            raise ArtifactError(f"{npz} is not a readable case file ({type(e).__name__}: {e})") from None
        try:
            meta = pd.read_parquet(directory / "cases.parquet")
        except FileNotFoundError:
            raise
        except Exception as e:  # pyarrow raises its own error types for damaged files
            raise ArtifactError(f"{directory / 'cases.parquet'} is not a readable case table "
                                f"({type(e).__name__}: {e})") from None
        where = f"{directory}: cases.npz"
        if embeddings.ndim != 2 or labels.ndim != 1 or ids.ndim != 1 \
                or not len(embeddings) == len(labels) == len(ids):
            raise ArtifactError(f"{where}: embeddings {embeddings.shape}, labels {labels.shape} and "
                                f"case ids {ids.shape} do not describe the same cases")
        if not (np.issubdtype(embeddings.dtype, np.floating) and np.isfinite(embeddings).all()):
            raise ArtifactError(f"{where}: embeddings must be finite floats")
        if not np.issubdtype(labels.dtype, np.number) or not np.isin(labels, (0, 1)).all():
            bad = labels[~np.isin(labels, (0, 1))][:5].tolist() if np.issubdtype(labels.dtype, np.number) \
                else str(labels.dtype)
            raise ArtifactError(f"{where}: labels must be 0 or 1; got {bad}")
        if not np.issubdtype(ids.dtype, np.integer) or len(np.unique(ids)) != len(ids):
            raise ArtifactError(f"{where}: case ids must be unique integers")
        missing = [c for c in _META_COLUMNS if c not in meta.columns]
        if missing or not np.array_equal(meta["case_id"].to_numpy(), ids):
            raise ArtifactError(f"{directory}: cases.npz and cases.parquet do not describe the same "
                                f"cases{f' (cases.parquet lacks {missing})' if missing else ''}")
        return cls(np.ascontiguousarray(embeddings, "float32"), labels.astype("int8"), meta,
                   first_id=first_id)

    def describe(self) -> dict:
        """Size and composition, for reports."""
        return {"cases": len(self), "clickbait": int(self.labels.sum()),
                "sources": json.loads(self.meta["source"].value_counts().to_json())}


def weighted_vote(sims: np.ndarray, labels: np.ndarray, temperature: float,
                  weights: np.ndarray | None = None) -> np.ndarray:
    """The share of clickbait among neighbours (n x k similarities, nearest first, and their
    labels), each weighted by exp(similarity / T) and an optional per-neighbour `weights`: the
    selection rule of clickbait.maintenance, not the detector's learned vote (clickbait.vote)."""
    w = np.exp((sims - sims[:, :1]) / temperature)
    if weights is not None:
        w = w * weights
    return (w * labels).sum(axis=1) / w.sum(axis=1)


@dataclass
class Neighbours:
    """The k nearest cases of each class for n queries, nearest first: `sims[c]` (n x k, MISSING
    where a class has fewer cases), `weights[c]` (vote weight: 1, or a user's `user_weight`; 0 for
    a missing neighbour), and where each came from: `layer[c]` (which case base) and `pos[c]`
    (position in it; -1 if missing)."""

    sims: list[np.ndarray]
    weights: list[np.ndarray]
    layer: list[np.ndarray]
    pos: list[np.ndarray]

    @property
    def support(self) -> np.ndarray:
        """Similarity of the nearest case of either class."""
        return np.maximum(self.sims[0][:, 0], self.sims[1][:, 0])


def class_neighbours(layers: Sequence[CaseBase], weights: Sequence[float], queries: np.ndarray, k: int,
                     exclude: np.ndarray | None = None, search=None) -> Neighbours:
    """The k nearest cases of each class over several case bases (the shared base and a user's
    overlay), merged by similarity. `exclude` (n, one position in layer 0 per query, -1 for none)
    leaves a query's own case out of its evidence (out-of-fold fitting). `search(queries, k,
    label)` may stand in for the exact per-class scan of layer 0 (a faster index)."""
    queries = np.ascontiguousarray(queries, dtype="float32")
    n = len(queries)
    extra = 0 if exclude is None else 1
    out = Neighbours([], [], [], [])
    for label in (0, 1):
        sims, which, pos = [], [], []
        for i, layer in enumerate(layers):
            if not len(layer):
                continue
            find = search if (i == 0 and search is not None) else layer.class_search
            s, p = find(queries, k + extra, label)
            if i == 0 and exclude is not None:
                s, p = drop_own(s, p, np.asarray(exclude))
            sims.append(s[:, :k])
            pos.append(p[:, :k])
            which.append(np.full((n, min(k, s.shape[1])), i, "int64"))
        if not sims:
            sims, pos = [np.full((n, k), MISSING, "float32")], [np.full((n, k), -1)]
            which = [np.zeros((n, k), "int64")]
        s, p, w = (np.concatenate(a, axis=1) for a in (sims, pos, which))
        if len(sims) > 1:
            order = np.argsort(-s, axis=1, kind="stable")[:, :k]
            s, p, w = (np.take_along_axis(a, order, axis=1) for a in (s, p, w))
        weight = np.where(p >= 0, np.asarray(weights, "float64")[w], 0.0)
        out.sims.append(s)
        out.weights.append(weight)
        out.layer.append(w)
        out.pos.append(p)
    return out


def drop_own(sims: np.ndarray, pos: np.ndarray, own: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's neighbours without the query's own case (`own`, -1 for none), one column
    fewer: where it was not found, the farthest neighbour goes instead."""
    n = len(sims)
    hit = (pos == own[:, None]) & (pos >= 0)
    hit[~hit.any(axis=1), -1] = True  # no self-match: drop the farthest instead
    hit &= np.cumsum(hit, axis=1) == 1
    return sims[~hit].reshape(n, -1), pos[~hit].reshape(n, -1)


def _numpy_search(cases: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sims = queries @ cases.T
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < sims.shape[1] else \
        np.tile(np.arange(sims.shape[1]), (len(sims), 1))
    top_sims = np.take_along_axis(sims, top, axis=1)
    order = np.argsort(-top_sims, axis=1, kind="stable")
    return np.take_along_axis(top_sims, order, axis=1), np.take_along_axis(top, order, axis=1)


def _check_labels(labels: Sequence[int]) -> np.ndarray:
    """Labels as int8, each exactly 0 or 1 (not 2, not NaN, not 0.5, not "1")."""
    arr = np.asarray(labels)
    if arr.ndim == 0:
        raise ValueError(f"labels must be a sequence of 0/1 values; got one value {arr.item()!r}")
    ok = arr.ndim == 1 and (arr.dtype == bool or np.issubdtype(arr.dtype, np.number))
    if ok:
        ok = bool(np.isin(arr, (0, 1)).all())
    if not ok:
        flat = arr.ravel() if arr.ndim else arr.reshape(1)
        if arr.dtype == bool or np.issubdtype(arr.dtype, np.number):
            bad = flat[~np.isin(flat, (0, 1))][:5].tolist()
        else:
            bad = [v for v in flat.tolist() if v not in (0, 1) or isinstance(v, str)][:5]
        shape = f" (shape {arr.shape})" if arr.ndim != 1 else ""
        raise ValueError(f"labels must be 0 (not clickbait) or 1 (clickbait); got {bad}{shape}")
    return arr.astype("int8")
