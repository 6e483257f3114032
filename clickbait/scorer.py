"""The detector's prediction path staged for chunks of headlines (`Scorer`), and what a chunk
goes through: the rows with text, tokenizing (duplicates once), encoding and the vote, and the
scores spread back over the rows. Batch scoring (clickbait.scoring), the worker processes
(clickbait.workers) and the engines (clickbait.batch) all score through it."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import index as fast_index

if TYPE_CHECKING:  # pragma: no cover
    from .trained import TrainedDetector

RETRIEVALS = fast_index.RETRIEVALS
# Rows encoded and voted on at once. A chunk's temporaries (the similarity to every list, n x 256
# float64 per class, and the rest) are freed into the allocator's heap, which keeps its high-water
# mark: in parts of this size the worker processes' memory grew less from 100,000 to 1,000,000
# rows (docs/scoring.md), and the scores are the same (the fast retrieval's base evidence does not
# depend on the rows beside a headline). The fast retrieval only: faiss's exact search took twice
# the CPU a row in parts of this size (one-off).
SUB_BATCH = 2048


@dataclass
class StageTimes:
    """Seconds spent in each stage (stages overlap in time: tokenizing runs beside the rest)."""

    read: float = 0.0
    tokenize: float = 0.0
    encode: float = 0.0
    retrieve: float = 0.0
    write: float = 0.0

    def add(self, stage: str, seconds: float) -> None:
        """Thread-safe `stage += seconds` (several model workers report at once)."""
        with _TIMES_LOCK:
            setattr(self, stage, getattr(self, stage) + seconds)

    def shares(self) -> dict[str, float]:
        total = sum(asdict(self).values()) or 1.0
        return {k: v / total for k, v in asdict(self).items()}


_TIMES_LOCK = threading.Lock()


class Scorer:
    """The detector's prediction path (clickbait.predictor: its tokenizer, encoder and vote),
    staged for large batches: a tokenizer process, timed stages, duplicate headlines scored once.

    encoder: "auto" (the detector's own predictor: numpy when the model's layers are ones
    clickbait/inference.py runs, else TensorFlow), "numpy" or "tensorflow" (a predictor of that
    kind). retrieval: None (the detector's `retrieval_`), "fast" (clickbait.index: the nearest
    cases from the nearest k-means lists, the deeper ranks from cluster summaries, with the
    vote's own combiner for them) or "exact" (every case scanned). Whatever the retrieval, the
    probability is the detector's own vote (`_decide`) over it."""

    def __init__(self, detector: TrainedDetector, *, retrieval: str | None = None,
                 dedup: bool = True, encoder: str = "auto"):
        from .predictor import Predictor

        detector._check_fitted()
        if retrieval is not None and retrieval not in RETRIEVALS:
            raise ValueError(f"retrieval must be one of {RETRIEVALS}, got {retrieval!r}")
        self.det, self.dedup, self.times = detector, dedup, StageTimes()
        self.length = int(detector.length)
        self.predictor = detector.predictor_ if encoder == "auto" else Predictor(detector, encoder)
        self.runtime = self.predictor.runtime
        self.encoder = self.predictor.encoder
        self._tokenizer_process = None
        if retrieval is None:
            retrieval = detector.retrieval_
        elif retrieval == "fast" and ("fast" not in detector.votes_ or not fast_index.available()):
            retrieval = "exact"  # a model saved before the fast retrieval (repr and summary say so)
        self.retrieval = retrieval
        self.threshold = float(detector.votes_[self.retrieval]["threshold"])  # that vote's own
        # The vote builds its indexes and tables on first use; build them now, once, so that model
        # workers starting together do not each build their own.
        one = np.zeros((1, detector.dim), "float32")
        one[0, 0] = 1.0
        detector._decide(np.zeros((1, self.length), "int64"), one, retrieval=self.retrieval)

    def start_tokenizer_process(self) -> None:
        """Tokenize in a child process from now on (numpy encoder only). The tokenizer is pure
        Python: in a thread it holds the GIL, and the encoder's many short numpy calls in the
        other thread each wait for it (benchmarks/README.md has the measurement). The child
        process shares nothing and starts in a fraction of a second."""
        if self.runtime is None or self._tokenizer_process is not None:
            return
        from .tokenizer_process import TokenizerProcess

        try:
            self._tokenizer_process = TokenizerProcess(self.runtime.vocabulary, self.runtime.length)
        except OSError:  # no interpreter to start (an embedded Python): tokenize in the thread
            self._tokenizer_process = None

    def close(self) -> None:
        """Stop the tokenizer process, if one was started."""
        if self._tokenizer_process is not None:
            self._tokenizer_process.close()
            self._tokenizer_process = None

    # stages
    def ids(self, texts: np.ndarray) -> np.ndarray:
        t = time.perf_counter()
        if self._tokenizer_process is not None:
            out = self._tokenizer_process.ids(texts.tolist())
        else:
            out = self.predictor.ids(texts.tolist())
        self.times.add("tokenize", time.perf_counter() - t)
        return out

    def embed(self, ids: np.ndarray) -> np.ndarray:
        t = time.perf_counter()
        out = self.predictor.embed(ids)
        self.times.add("encode", time.perf_counter() - t)
        return out

    def vote(self, ids: np.ndarray, emb: np.ndarray, texts=None) -> np.ndarray:
        """(n x 4): P(clickbait), support, low_support and P(headline), from the detector's own
        vote (`texts`, the headlines of `ids`, for the exact-match rule of retained cases)."""
        t = time.perf_counter()
        d = self.det._decide(ids, emb, texts=texts, retrieval=self.retrieval)
        self.times.add("retrieve", time.perf_counter() - t)
        return np.column_stack([d.proba, d.support, d.low_support, d.headline])

    def tokenize(self, texts: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """(row -> distinct-headline codes, or None; token ids; the headlines of those ids): with
        `dedup`, each distinct headline of the batch is tokenized once."""
        if self.dedup:
            codes, uniques = pd.factorize(texts)
            uniques = np.asarray(uniques, dtype=object)
            return codes, self.ids(uniques), uniques
        return None, self.ids(texts), texts

    def score_ids(self, codes: np.ndarray | None, ids: np.ndarray, texts: np.ndarray) -> np.ndarray:
        """(n x 4) P(clickbait), support, low_support, P(headline) per row from `tokenize`'s
        output. Encoded and voted on in parts of `SUB_BATCH` rows (see there)."""
        step = SUB_BATCH if self.retrieval == "fast" else max(len(ids), 1)  # see SUB_BATCH
        parts = [self.vote(ids[s:s + step], self.embed(ids[s:s + step]),
                           None if texts is None else texts[s:s + step])
                 for s in range(0, len(ids), step)] or [self.vote(ids, self.embed(ids), texts)]
        p = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return p if codes is None else p[codes]

    def explain(self, texts: np.ndarray, k: int) -> list[str]:
        """The k nearest cases of each headline (exact, from `detector.explain`, so a user's
        overlay is included), one JSON list per headline."""
        if len(texts) == 0:
            return []
        frame = self.det.explain(list(texts), k=k)
        rows = zip(frame["query"].to_numpy(), frame["case_id"].to_numpy(), frame["similarity"].to_numpy(),
                   frame["label"].to_numpy(), frame["case_text"].to_numpy(), frame["source"].to_numpy(),
                   strict=True)
        out: list[list[dict]] = [[] for _ in range(len(texts))]
        for q, i, s, y, c, src in rows:
            out[q].append({"case_id": int(i), "similarity": round(float(s), 4), "label": int(y),
                           "text": str(c), "source": str(src)})
        return [json.dumps(o, ensure_ascii=False) for o in out]


def _text_mask(values: pd.Series) -> np.ndarray:
    """True where the text is present and not blank."""
    s = values.astype(object)
    present = s.notna().to_numpy()
    out = np.zeros(len(s), bool)
    out[present] = [bool(v.strip()) for v in s[present].astype(str)]
    return out


@dataclass
class _Scored:
    proba: np.ndarray  # float64, NaN where the text is missing
    explain: list[str | None] | None
    missing: int
    support: np.ndarray | None = None  # NaN where the text is missing
    low_support: np.ndarray | None = None  # bool
    headline: np.ndarray | None = None  # P(headline); below 0.5 never labelled clickbait

    def flags(self, threshold: float) -> np.ndarray:
        """Clickbait labels (False where the text is missing)."""
        p = np.nan_to_num(self.proba, nan=-1.0)
        ok = np.ones(len(p), bool) if self.headline is None else np.nan_to_num(self.headline) >= 0.5
        return (p >= threshold) & ok


@dataclass
class _Tokenized:
    valid: np.ndarray  # rows with text
    values: np.ndarray  # their texts
    tokens: tuple[np.ndarray | None, np.ndarray, np.ndarray] | None  # Scorer.tokenize(values), or None


def _tokenize_chunk(scorer: Scorer, texts: pd.Series) -> _Tokenized:
    """First stage of a chunk (the pipeline runs it in its own thread)."""
    valid, values = _present(texts)
    return _Tokenized(valid, values, scorer.tokenize(values) if len(values) else None)


def _present(texts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(rows with text, their texts as str)."""
    values = texts.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # all str (CSV, TSV): one pass
        valid = np.array([v != "" and not v.isspace() for v in values], dtype=bool)  # = bool(v.strip())
        return valid, values[valid]
    valid = _text_mask(texts)
    return valid, np.array([str(v) for v in values[valid]], dtype=object)


def _finish_chunk(scorer: Scorer, tok: _Tokenized, explain: int) -> _Scored:
    """Second stage: encode, vote, and explain when asked."""
    return _assemble(scorer, tok, scorer.score_ids(*tok.tokens) if tok.tokens is not None else None, explain)


def _assemble(scorer: Scorer, tok: _Tokenized, scores: np.ndarray | None, explain: int = 0) -> _Scored:
    """A chunk's `_Scored` from its rows' scores (`Scorer.score_ids`, for the rows with text)."""
    out = np.full((len(tok.valid), 4), np.nan)
    if scores is not None:
        out[tok.valid] = scores
    notes = None
    if explain:
        notes = [None] * len(tok.valid)
        for i, note in zip(np.flatnonzero(tok.valid), scorer.explain(tok.values, explain), strict=True):
            notes[i] = note
    return _Scored(out[:, 0], notes, int((~tok.valid).sum()), out[:, 1], out[:, 2] == 1, out[:, 3])


def _score_chunk(scorer: Scorer, texts: pd.Series, explain: int) -> _Scored:
    return _finish_chunk(scorer, _tokenize_chunk(scorer, texts), explain)
