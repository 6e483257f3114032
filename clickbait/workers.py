"""Model workers as processes, for batch scoring (`scoring.score_csv`).

In threads, the model workers share one interpreter lock with the tokenizer (pure Python), the
reader and the writer, and `clickbait score` could not keep the cores busy (docs/scoring.md has
the measurement). Here each worker is a process forked from the scoring process once its model
is loaded and its indexes built: it shares the model's memory copy-on-write (nothing is pickled
or loaded again) and runs the whole chain (tokenizer, encoder, retrieval, vote) on the chunks it
is sent, on one core; the parent only reads, de-duplicates and writes.

Fork is only safe from a process with no other thread (a lock held by another thread at the
fork stays held in the child; OpenMP's pool is gone there), so `usable` asks for no thread but
this one (or threads marked `fork_safe`, as the CLI's stderr filter) and a numpy encoder
(TensorFlow, once imported, runs threads of its own); anywhere else (a notebook's kernel has
threads) `score_csv` keeps its threads. A child holds only its own ends of the pipes: when the
parent ends, however it ends, the child's next read meets end-of-file and it exits.
"""

from __future__ import annotations

import gc
import signal
import sys
import threading
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .scorer import Scorer


def usable(scorer: Scorer) -> bool:
    """Whether worker processes can be forked here: Linux (fork after numpy's and faiss's
    libraries are loaded is unsafe on macOS), the numpy encoder, and no other thread alive
    but ones marked `fork_safe`."""
    me = threading.current_thread()
    return (sys.platform.startswith("linux") and scorer.runtime is not None
            and me is threading.main_thread()  # signal handlers can only be set there
            and "tensorflow" not in sys.modules
            and all(t is me or getattr(t, "fork_safe", False) for t in threading.enumerate()))


_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


_FROZEN = [0]  # pools alive that froze the collector's objects (gc.freeze is process-wide)
_FREEZING = threading.Lock()


def _freeze() -> None:
    with _FREEZING:
        gc.freeze()  # again for a second pool: objects made since then join the frozen ones
        _FROZEN[0] += 1


def _unfreeze() -> None:
    """The collector sees every object again once the last pool has closed."""
    with _FREEZING:
        _FROZEN[0] -= 1
        if _FROZEN[0] == 0:
            gc.unfreeze()


class WorkerEnded(RuntimeError):
    """A worker process ended before it answered (killed, out of memory)."""


class WorkerProcesses:
    """`count` forked processes, each scoring the chunks of headlines sent to it, in order.

    `submit(w, texts)` sends worker w a list of headlines; `result(w)` waits for its scores
    (n x 4: P(clickbait), support, low_support, P(headline); `Scorer.score_ids`). A worker holds
    one chunk at a time: the caller reads a worker's result before sending it the next, so
    neither side ever waits on a full pipe while the other does."""

    def __init__(self, scorer: Scorer, count: int):
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self.scorer = scorer
        pipes = [ctx.Pipe(duplex=True) for _ in range(count)]
        self._conns = [parent for parent, _ in pipes]
        self._procs = []
        for sys_stream in (sys.stdout, sys.stderr):  # a child must not flush the parent's buffers
            try:
                sys_stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
        # The model's Python objects (the vocabulary, above all) out of the collector's reach
        # while the workers live: a collection, in a child or here, writes to every object's
        # header and so copies the page it is on, though no process changes the object. (Here,
        # that copying was most of the growth of the command's memory over its first 150,000
        # rows: docs/scoring.md.) `close` gives them back to the collector.
        _freeze()
        self._frozen = True
        # No Python signal handler may run while forking: a Ctrl-C whose KeyboardInterrupt is
        # raised inside an after-fork hook (logging's) is reported as ignored, and the run went
        # on. So the signals are only recorded meanwhile, and raised again once the workers
        # exist (a child acts on what it recorded when it sets its own handlers: `_serve`).
        deferred: list[int] = []
        saved = {sig: signal.signal(sig, lambda signum, _: deferred.append(signum)) for sig in _SIGNALS}
        try:
            try:
                for w, (_, child) in enumerate(pipes):
                    others = [c for pair in pipes for c in pair if c is not child]
                    proc = ctx.Process(target=_serve, args=(child, others, scorer, deferred),
                                       daemon=True, name=f"clickbait-model-{w}")
                    proc.start()
                    self._procs.append(proc)
            finally:
                for sig, handler in saved.items():
                    signal.signal(sig, handler)
                for _, child in pipes:
                    child.close()
        except BaseException:  # a fork that failed: the ones started end, the collector thaws
            self.close()
            raise
        try:
            for sig in deferred:  # now handled as anywhere else (KeyboardInterrupt, Terminated)
                signal.raise_signal(sig)
        except BaseException:
            self.close()
            raise

    def __len__(self) -> int:
        return len(self._procs)

    def submit(self, w: int, texts: list[str]) -> None:
        try:
            self._conns[w].send(texts)
        except (BrokenPipeError, ConnectionResetError, EOFError):
            raise self._ended(w) from None

    def result(self, w: int) -> np.ndarray:
        try:
            reply = self._conns[w].recv()
        except (EOFError, ConnectionResetError, OSError):
            raise self._ended(w) from None
        if isinstance(reply, str):  # the worker's error, as text (its traceback)
            raise RuntimeError(f"a scoring worker failed:\n{reply}")
        out, times = reply
        for stage, seconds in times.items():
            self.scorer.times.add(stage, seconds)
        return out

    def _ended(self, w: int) -> WorkerEnded:
        proc = self._procs[w]
        proc.join(timeout=5)
        code = proc.exitcode
        if code is not None and code < 0:
            how = f"was killed by {signal.Signals(-code).name}"
            if code == -signal.SIGKILL:  # what the kernel's out-of-memory killer sends
                how += " (out of memory? try fewer --workers or a smaller --batch-size)"
        else:
            how = f"ended (exit code {code})"
        return WorkerEnded(f"scoring worker process {proc.pid} {how}")

    def close(self) -> None:
        """End every worker: close the pipes (each then exits), and stop any that does not."""
        try:
            for conn in self._conns:
                conn.close()
            for proc in self._procs:
                proc.join(timeout=5)
                if proc.exitcode is None:
                    proc.kill()
                    proc.join()
        finally:  # a second Ctrl-C while the workers end must not leave the collector frozen
            if self.__dict__.pop("_frozen", False):
                _unfreeze()

    def __enter__(self) -> WorkerProcesses:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _serve(conn, others: list, scorer: Scorer, deferred: list[int] | None = None) -> None:
    """A worker: lists of headlines in, (scores, seconds per stage) out, until end-of-file.
    `deferred`: the signals this process recorded while it was being forked."""
    for c in others:  # hold only our own end: end-of-file then means the parent has gone
        c.close()
    # Ctrl-C reaches the whole process group: the parent handles it (and closes our pipe); the
    # parent's SIGTERM guard (fileops) removes its temporary output, which is not ours to touch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    for sig in deferred or ():  # a SIGTERM or SIGHUP sent to us while we were being forked
        if sig != signal.SIGINT:
            signal.raise_signal(sig)  # the default action now: end
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # one core each; OpenMP's pool did not survive the fork anyway
    while True:
        try:
            texts = conn.recv()
        except (EOFError, OSError):  # the parent has gone (or closed our pipe): done
            return
        before = asdict(scorer.times)
        try:
            values = np.asarray(texts, dtype=object)
            out = scorer.score_ids(None, scorer.ids(values), values) if len(values) else np.zeros((0, 4))
            after = asdict(scorer.times)
            reply = (out, {k: after[k] - before[k] for k in after})
        except Exception:  # reported by the parent, which stops the run
            import traceback

            reply = traceback.format_exc()
        try:
            conn.send(reply)
        except (BrokenPipeError, ConnectionResetError, OSError):  # the parent has gone (Ctrl-C,
            return  # an error of its own): it reports; a traceback from here would be noise

