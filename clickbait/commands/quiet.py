"""Quiet by default: TensorFlow's and Keras' log output hidden unless -v (its C++ lines too,
filtered out of file descriptor 2), and the `clickbait` logger on stderr."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable

log = logging.getLogger("clickbait")

# A line of TensorFlow's C++ logging (absl/tsl: "I0000 00:00:1795930274.439739 6660 port.cc:153]"
# or "2024-05-01 12:00:00.000000: W tensorflow/...") and absl's note before its log is set up.
_NATIVE_LOG = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.-]+:\d+\]"
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] [\w/.-]+:\d+\]"
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called)")
_MAYBE_NATIVE = re.compile(rb"^(?:[IWEF]\d|\d{4}-|WARNING: All)")
_SYNC = b"\x00clickbait-stderr-sync\x00"
_native: _NativeLogFilter | None = None  # the filter in place, if any


class _NativeLogFilter:
    """Drops TensorFlow's C++ log lines from file descriptor 2 and passes everything else on.

    TensorFlow 2.16+ writes some lines (oneDNN at import, NodeDef warnings in tf.data) through
    absl before TF_CPP_MIN_LOG_LEVEL applies, so the variable alone cannot hide them. Fd 2 is
    swapped for a pipe that a thread reads; partial lines (a progress bar's `\\r` updates) pass
    at once unless they could be the start of a log line."""

    def __init__(self) -> None:
        sys.stderr.flush()
        self._saved = os.dup(2)
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
        self._read = read
        self._synced = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="clickbait-stderr", daemon=True)
        # It holds no lock a forked child needs (only os.read/os.write on its own fds), so scoring
        # may still fork its worker processes (clickbait.workers.usable).
        self._thread.fork_safe = True  # type: ignore[attr-defined]
        self._thread.start()

    def _pump(self) -> None:
        pending = b""
        while True:
            try:
                block = os.read(self._read, 1 << 16)
            except OSError:  # pragma: no cover
                block = b""
            if not block:
                break
            lines = (pending + block).split(b"\n")
            pending = lines.pop()
            if _SYNC in lines:
                self._synced.set()
            out = [line + b"\n" for line in lines if line != _SYNC and not _NATIVE_LOG.match(line)]
            if pending and not _MAYBE_NATIVE.match(pending):
                out.append(pending)
                pending = b""
            self._write(b"".join(out))
        if pending and not _NATIVE_LOG.match(pending):
            self._write(pending)
        os.close(self._read)

    def _write(self, data: bytes) -> None:
        while data:
            try:
                data = data[os.write(self._saved, data):]
            except OSError:  # the real stderr is gone: nothing more can be said
                return

    def sync(self, timeout: float = 2.0) -> None:
        """Wait until everything written to fd 2 so far has been passed on (so that a result on
        stdout does not overtake the progress lines before it)."""
        try:
            sys.stderr.flush()
            self._synced.clear()
            os.write(2, _SYNC + b"\n")
        except (OSError, ValueError):  # pragma: no cover
            return
        self._synced.wait(timeout)

    def close(self) -> None:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):  # pragma: no cover
            pass
        os.dup2(self._saved, 2)  # closes the pipe's last write end: the thread sees EOF
        self._thread.join(timeout=5)
        os.close(self._saved)


def quiet_tensorflow(verbose: int) -> Callable[[], None]:
    """TensorFlow's and Keras' log output off unless -v; returns the undo for fd 2."""
    if verbose:
        return lambda: None
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in ("tensorflow", "absl", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for module in ("keras", "tensorflow", "absl"):
        warnings.filterwarnings("ignore", module=module)
    if "tensorflow" in sys.modules:  # already loaded (a test, a notebook): nothing left to hide
        return lambda: None
    global _native
    try:
        native = _NativeLogFilter()
    except OSError:  # pragma: no cover  (no fd 2, or no pipes)
        return lambda: None
    _native = native

    def undo() -> None:
        global _native
        _native = None
        native.close()

    return undo


def setup_logging(a: argparse.Namespace, tty: bool) -> None:
    """The `clickbait` logger (progress and steps) on stderr: at a terminal or with -v; -q: errors."""
    level = (logging.ERROR if a.quiet else logging.DEBUG if a.verbose > 1
             else logging.INFO if a.verbose or tty else logging.WARNING)
    log.setLevel(level)
    if not any(getattr(h, "_clickbait_cli", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._clickbait_cli = True  # type: ignore[attr-defined]
        log.addHandler(handler)
    log.propagate = False


def sync() -> None:
    """Let the progress lines written to fd 2 so far pass before a result line (when filtering)."""
    if _native is not None:
        _native.sync()
