"""The scoring pipeline: chunks of a table through the model workers, in input order, with
bounded memory. Worker processes (clickbait.workers) where they can run, else threads in this
process beside a tokenizer process (see `_pipeline`)."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .scorer import Scorer, _assemble, _finish_chunk, _present, _Scored, _tokenize_chunk, _Tokenized

if TYPE_CHECKING:  # pragma: no cover
    from .formats import TableInput
    from .workers import WorkerProcesses


MAX_WORKERS = 64  # each model worker holds a chunk: memory is (workers + 2) x batch_size rows


def model_workers() -> int:
    """Model workers for `score_csv`: one per usable core (each runs numpy and faiss on one
    thread), at most 8 (each holds a chunk in flight)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


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
    why = ("--explain reads the cases in this process" if explain else
           f"one worker (workers={workers})" if workers < 2 else
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
    reading of every chunk)."""
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
