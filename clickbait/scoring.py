"""Batch scoring of headline CSV files: streaming, bounded memory, one output row per input row.

`score_csv` reads INPUT in chunks (every column as text, so "NA" or "null" survive), scores the
text column, and writes every input column unchanged plus `clickbait_probability`, `clickbait`,
`support` and `low_support` through `files.OutputFile` (a private temporary beside OUTPUT,
renamed into place at the end): a crash, Ctrl-C or SIGTERM leaves no partial OUTPUT; a FIFO or
device OUTPUT is written in place.
Rows whose text is missing or blank are kept with empty outputs and counted.

Speed (see benchmarks/bench_score.py and README): no TensorFlow is imported when the model's
layers are ones clickbait/inference.py runs in numpy; the tokenizer (clickbait/tokens.py, pure
Python) runs in a child process from the second chunk on, while the encoder, the retrieval and
the vote run on earlier chunks in one worker thread per core (numpy and faiss release the
interpreter lock; each worker's pools run one thread); the encoder sees each chunk sorted by
length and cut to the longest headline (exact); duplicate headlines in a chunk are scored once;
the nearest cases come from an exact scan by default (IVF only saves time by changing answers:
`Scorer`).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np
import pandas as pd
from tqdm import tqdm

from . import index as fast_index
from .errors import InputError
from .files import check_output
from .formats import TableInput, TableOutput, detect, is_stdio, open_input
from .validation import check_count, check_probability

if TYPE_CHECKING:  # pragma: no cover
    from .detector import ClickbaitDetector
    from .workers import WorkerProcesses

TEXT_COLUMNS = ("headline", "title", "text")
LABEL_COLUMNS = ("label", "clickbait", "is_clickbait")
PROBA, LABEL, NEIGHBOURS = "clickbait_probability", "clickbait", "clickbait_neighbours"
SUPPORT, LOW_SUPPORT = "support", "low_support"
# The added columns' types in a Parquet output: the same for 0 rows as for n.
ADDED_ARROW_TYPES = {PROBA: "float64", LABEL: "int64", SUPPORT: "float64", LOW_SUPPORT: "int64",
                     NEIGHBOURS: "string"}
BATCH_SIZE = 8192
RETRIEVALS = ("fast", "exact")


# -- reading (clickbait/formats.py reads and writes the files) ---------------------------
def find_column(header: list[str], wanted: str | None, candidates=TEXT_COLUMNS, what: str = "text",
                argument: str | None = None) -> int:
    """Position of the column to use: `wanted` if given (exact, then case-insensitive), else the
    first of `candidates` (case-insensitive), else the only column. The error lists the columns
    and names the Python `argument` that chooses one (default `{what}_column`)."""
    lower = [h.strip().lower() for h in header]
    if wanted is not None:
        for names in (header, lower):
            key = wanted if names is header else wanted.strip().lower()
            if key in names:
                return names.index(key)
        raise InputError(f"no column {wanted!r}; the columns are: {', '.join(map(repr, header))}")
    for c in candidates:
        if c in lower:
            return lower.index(c)
    if len(header) == 1 and what == "text":
        return 0
    raise InputError(f"cannot tell which column holds the {what}: none is named "
                     f"{'/'.join(candidates)}; the columns are: {', '.join(map(repr, header))}; "
                     f"choose one with {argument or what + '_column'}=NAME")


# -- scoring ---------------------------------------------------------------------------------
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


MAX_WORKERS = 64  # each model worker holds a chunk: memory is (workers + 2) x batch_size rows


def model_workers() -> int:
    """Model workers for `score_csv`: one per usable core (each runs numpy and faiss on one
    thread), at most 8 (each holds a chunk in flight)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


class Scorer:
    """The detector's prediction path (clickbait.predictor: its tokenizer, encoder and vote),
    staged for large batches: a tokenizer process, timed stages, duplicate headlines scored once.

    encoder: "auto" (the detector's own predictor: numpy when the model's layers are ones
    clickbait/inference.py runs, else TensorFlow), "numpy" or "tensorflow" (a predictor of that
    kind). retrieval: None (the detector's `retrieval_`), "fast" (clickbait.index: the nearest
    cases from the nearest k-means lists, the deeper ranks from cluster summaries, with the
    vote's own combiner for them) or "exact" (every case scanned). Whatever the retrieval, the
    probability is the detector's own vote (`_decide`) over it."""

    def __init__(self, detector: ClickbaitDetector, *, retrieval: str | None = None,
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
        output."""
        p = self.vote(ids, self.embed(ids), texts)
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
    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # all str (CSV, TSV): 8x faster
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


def _outputs(scored: _Scored, threshold: float) -> dict[str, object]:
    """The added columns; missing values are written as empty fields. Text the headline check
    rejects (P(headline) < 0.5) is not called clickbait, whatever its probability; a headline
    with low support only (its nearest case far) keeps its label and is flagged."""
    p, missing = scored.proba, np.isnan(scored.proba)
    low = scored.low_support if scored.low_support is not None else np.zeros(len(p), bool)
    flag = pd.array(scored.flags(threshold).astype("int64"), dtype="Int64")
    flag[missing] = pd.NA
    low_col = pd.array(low.astype("int64"), dtype="Int64")
    low_col[missing] = pd.NA
    support = scored.support if scored.support is not None else np.full(len(p), np.nan)
    cols = {PROBA: p, LABEL: flag, SUPPORT: support, LOW_SUPPORT: low_col}
    if scored.explain is not None:
        cols[NEIGHBOURS] = np.array(["" if e is None else e for e in scored.explain], dtype=object)
    return cols


def score_frame(detector: ClickbaitDetector, frame: pd.DataFrame, text_column: str | None = None, *,
                threshold: float | None = None, explain: int = 0, batch_size: int = BATCH_SIZE,
                retrieval: str | None = None) -> pd.DataFrame:
    """`frame` with `clickbait_probability` (float, NaN for missing or blank text),
    `clickbait` (nullable 0/1), `support` and `low_support` added (and `clickbait_neighbours`,
    JSON, when `explain` > 0)."""
    col = frame.columns[find_column([str(c) for c in frame.columns], text_column)]
    added = (PROBA, LABEL, SUPPORT, LOW_SUPPORT) + ((NEIGHBOURS,) if explain else ())
    clash = [c for c in added if c in frame.columns]
    if clash:  # never overwrite the caller's own columns
        raise InputError(f"the frame already has column(s) {clash}; rename them first")
    scorer = Scorer(detector, retrieval=retrieval)
    threshold = scorer.threshold if threshold is None else check_probability(threshold)
    parts, notes = [], []
    for s in range(0, len(frame), batch_size):
        scored = _score_chunk(scorer, frame[col].iloc[s:s + batch_size], explain)
        parts.append(scored)
        notes += scored.explain or []
    column = {f: np.concatenate([getattr(p, f) for p in parts]) if parts else np.zeros(0)
              for f in ("proba", "support", "low_support", "headline")}
    joined = _Scored(column["proba"], None, 0, column["support"], column["low_support"].astype(bool),
                     column["headline"])
    out = frame.assign(**_outputs(joined, threshold))
    if explain:
        out[NEIGHBOURS] = notes
    return out


@dataclass
class ScoreSummary:
    """What `score_csv` did: rows, speed, share flagged, problems, and time per stage."""

    rows: int = 0
    scored: int = 0
    flagged: int = 0
    missing_text: int = 0
    replaced_bytes: int = 0
    seconds: float = 0.0
    retrieval: str = ""
    stages: StageTimes = field(default_factory=StageTimes)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        share = self.flagged / self.scored if self.scored else 0.0
        problems = self.missing_text
        note = f" (missing or blank text: {self.missing_text:,})" if problems else ""
        if self.replaced_bytes:
            note += f"; {self.replaced_bytes:,} undecodable bytes replaced"
        return (f"scored {self.rows:,} rows in {self.seconds:.1f} s ({self.rows_per_second:,.0f} rows/s); "
                f"{share:.1%} flagged as clickbait; {problems:,} rows with problems{note}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rows_per_second"] = self.rows_per_second
        d["stage_shares"] = self.stages.shares()
        return d


def _pipeline(scorer: Scorer, chunks: Iterator[pd.DataFrame], col: int, explain: int, workers: int = 1,
              pool: WorkerProcesses | None = None) -> Iterator[tuple[pd.DataFrame, _Scored]]:
    """Scored chunks in input order: from `pool`'s processes when given (`_process_pipeline`),
    else from threads: tokenizing (one thread, feeding a tokenizer process) runs ahead of
    encoding, retrieval and the vote (`workers` threads, one chunk each), beside reading and
    writing (this thread). Either way at most `workers` + 2 chunks are held (read, in flight,
    being written), so memory does not grow with the input."""
    if pool is not None:
        yield from _process_pipeline(scorer, chunks, col, pool)
        return
    tokenizer = ThreadPoolExecutor(1, thread_name_prefix="clickbait-tokenize")
    model = ThreadPoolExecutor(workers, thread_name_prefix="clickbait-model", initializer=_one_thread)
    depth = workers + 1

    def score(tok_future) -> _Scored:
        return _finish_chunk(scorer, tok_future.result(), explain)

    pending: deque = deque()
    try:
        t = time.perf_counter()
        for chunk in chunks:
            scorer.times.add("read", time.perf_counter() - t)
            texts = chunk.iloc[:, col]
            if pending:  # a second chunk: worth a tokenizer process (see Scorer)
                scorer.start_tokenizer_process()
            tok = tokenizer.submit(_tokenize_chunk, scorer, texts)
            pending.append((chunk, model.submit(score, tok)))
            while len(pending) > depth:
                chunk0, fut = pending.popleft()
                yield chunk0, fut.result()
            t = time.perf_counter()
        while pending:
            chunk0, fut = pending.popleft()
            yield chunk0, fut.result()
    finally:
        for _, fut in pending:
            fut.cancel()
        tokenizer.shutdown(wait=True, cancel_futures=True)
        model.shutdown(wait=True, cancel_futures=True)
        scorer.close()


def _start_workers(scorer: Scorer, source: TableInput, workers: int, explain: int,
                   processes: bool | None) -> tuple[Iterator[pd.DataFrame], WorkerProcesses | None]:
    """(the input's chunks, worker processes or None). Processes (clickbait.workers) when
    `processes` is None and they can run here, or True (else fail); not for a file of one chunk
    (a fork would cost more than it saves). Called before anything starts a thread (the
    progress bar's monitor does): fork is only safe from a process of one thread."""
    from .workers import WorkerProcesses, usable

    chunks: Iterator[pd.DataFrame] = source.chunks
    if processes is False:
        return chunks, None
    why = ("--explain reads the cases in this process" if explain else "one worker" if workers < 2 else
           None if usable(scorer) else "they need Linux, the numpy encoder and no other thread")
    if why is not None:
        if processes:
            raise ValueError(f"processes=True, but worker processes cannot run here: {why}")
        return chunks, None
    t = time.perf_counter()
    head = [c for c in (next(chunks, None), next(chunks, None)) if c is not None]
    scorer.times.add("read", time.perf_counter() - t)
    chunks = chain(head, chunks)
    return chunks, WorkerProcesses(scorer, workers) if len(head) == 2 or processes else None


def _process_pipeline(scorer: Scorer, chunks: Iterator[pd.DataFrame], col: int, pool: WorkerProcesses
                      ) -> Iterator[tuple[pd.DataFrame, _Scored]]:
    """`_pipeline` with worker processes: this process reads, de-duplicates and writes while
    they score. The next chunk is read ahead, so a worker whose result is taken gets its next
    chunk at once, before that result is written (else it would wait out the writing and the
    reading of every chunk: a fifth of its time)."""
    pending: deque = deque()

    def ahead() -> tuple | None:
        t = time.perf_counter()
        chunk = next(chunks, None)
        scorer.times.add("read", time.perf_counter() - t)
        if chunk is None:
            return None
        valid, values = _present(chunk.iloc[:, col])
        codes, uniques = pd.factorize(values) if scorer.dedup else (None, values)
        return chunk, _Tokenized(valid, values, None), codes, list(uniques)

    k, nxt = 0, ahead()
    while nxt is not None:
        *entry, uniques = nxt
        if len(pending) == len(pool):  # the oldest chunk's worker takes this one
            old = pending.popleft()
            scores = pool.result(old[-1])
            pool.submit(old[-1], uniques)
            pending.append((*entry, old[-1]))
            yield _collect(scorer, scores, *old[:3])
        else:
            pool.submit(k, uniques)
            pending.append((*entry, k))
        k, nxt = k + 1, ahead()
    while pending:
        old = pending.popleft()
        yield _collect(scorer, pool.result(old[-1]), *old[:3])


def _collect(scorer: Scorer, scores: np.ndarray, chunk: pd.DataFrame, tok: _Tokenized,
             codes: np.ndarray | None) -> tuple[pd.DataFrame, _Scored]:
    """A chunk's scores from its worker, spread back over its rows."""
    return chunk, _assemble(scorer, tok, scores if codes is None else scores[codes])


def score_csv(detector: ClickbaitDetector, input: str | os.PathLike, output: str | os.PathLike, *,
              text_column: str | None = None, batch_size: int = BATCH_SIZE,
              threshold: float | None = None, explain: int = 0, encoding: str = "utf-8",
              encoding_errors: str = "strict", force: bool = False, progress: bool | None = None,
              retrieval: str | None = None, dedup: bool = True,
              input_format: str | None = None, output_format: str | None = None,
              stdin: TextIO | None = None, stdout: TextIO | None = None,
              workers: int | None = None, tsv_quoting: str = "rfc4180",
              processes: bool | None = None) -> ScoreSummary:
    """Score the headlines of INPUT into OUTPUT: CSV, TSV, JSON Lines (each optionally .gz) or
    Parquet, by extension or `input_format`/`output_format`; `-` is stdin/stdout (CSV unless a
    format is given; see clickbait/formats.py). Every input column unchanged and in order, plus
    `clickbait_probability`, `clickbait`, `support` and `low_support` (and
    `clickbait_neighbours` with `explain` > 0), one row per input row, in input order.

    OUTPUT is written beside itself and renamed at the end, so it is never partial (stdout
    cannot be: rows there are written as they are scored). An existing OUTPUT needs `force`.
    `workers` chunks are encoded and voted on at once (default: one per usable core, at most 8;
    up to `workers` + 2 chunks are in memory), in forked processes where they can run
    (`processes`: None, where they can; False, in threads; True, in processes or fail; see
    clickbait/workers.py). `tsv_quoting` ("rfc4180" or "none") is how TSV
    input and output are quoted (see clickbait/formats.py)."""
    check_count(batch_size, "batch_size")
    workers = model_workers() if workers is None else check_count(workers, "workers")
    if workers > MAX_WORKERS:
        raise ValueError(f"workers must be at most {MAX_WORKERS} (each holds a chunk of "
                         f"batch_size rows in memory); got {workers}")
    check_count(explain, "explain (nearest cases per row)", minimum=0)
    out_format, _ = detect(output, output_format)  # an unknown output format fails before any work
    if not is_stdio(output) and not is_stdio(input) and Path(output).exists() \
            and Path(input).resolve() == Path(output).resolve():
        raise FileExistsError(f"{output} is the input file; write the scores elsewhere")
    check_output(output, force)
    started = time.perf_counter()
    source = open_input(input, format=input_format, batch_size=batch_size, encoding=encoding,
                        encoding_errors=encoding_errors, stdin=stdin, tsv_quoting=tsv_quoting)
    try:
        col = find_column(source.header, text_column)
        added = [PROBA, LABEL, SUPPORT, LOW_SUPPORT] + ([NEIGHBOURS] if explain else [])
        clash = [c for c in added if c in source.header]
        if clash:
            raise InputError(f"{source.name} already has column(s) {clash}; rename them first")
        scorer = Scorer(detector, retrieval=retrieval, dedup=dedup)
        threshold = scorer.threshold if threshold is None else check_probability(threshold)
        summary = ScoreSummary(retrieval=scorer.retrieval, stages=scorer.times)
        show = sys.stderr.isatty() if progress is None else progress
        chunks, pool = _start_workers(scorer, source, workers, explain, processes)
        with pool or nullcontext(), single_threaded(), \
                TableOutput(output, source.header, added, format=output_format, force=force,
                            stdout=stdout, tsv_quoting=tsv_quoting,
                            input_schema=source.arrow_schema() if out_format == "parquet" else None,
                            added_types=[ADDED_ARROW_TYPES[c] for c in added]) as out, \
                    _Progress(unit=" rows", unit_scale=True, disable=not show, file=sys.stderr,
                         desc="scoring") as bar:
                for chunk, scored in _pipeline(scorer, chunks, col, explain, workers, pool):
                    t = time.perf_counter()
                    out.write(chunk, _outputs(scored, threshold))
                    summary.rows += len(chunk)
                    valid = ~np.isnan(scored.proba)
                    summary.scored += int(valid.sum())
                    summary.flagged += int(scored.flags(threshold).sum())
                    summary.missing_text += scored.missing
                    scorer.times.add("write", time.perf_counter() - t)
                    bar.update(len(chunk))
                out.commit()
        summary.replaced_bytes = source.replaced
        summary.seconds = time.perf_counter() - started
        return summary
    finally:
        source.close()


class _Progress(tqdm):
    """tqdm without its monitor thread (which would stay for the life of the process, and a
    process with another thread does not fork worker processes: clickbait.workers.usable)."""

    monitor_interval = 0


def _one_thread() -> None:
    """OpenMP's thread count is per thread: a new thread starts at one per core, whatever the
    limit set in the thread that made it. Each model worker holds faiss's pool to one thread."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="openmp")


def single_threaded():
    """A context in which numpy's and faiss's BLAS and OpenMP pools run one thread each: the
    pipeline's own threads use the cores, and pools on top of them oversubscribe (measured in
    benchmarks/README.md)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


# -- evaluating ------------------------------------------------------------------------------
