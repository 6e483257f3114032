"""The tokenizer in a child process, for batch scoring (scorer.Scorer.start_tokenizer_process):
`tokens.ids` is pure Python, so in a thread it holds the GIL the encoder's numpy calls wait for."""

from __future__ import annotations

import sys

import numpy as np

from . import tokens


class TokenizerProcess:
    """`tokens.ids` in a child Python process (`python -m clickbait.tokenizer_process`), fed through
    its stdin/stdout with pickle: a plain child process, so that a caller's script is never
    re-imported (as multiprocessing's spawn would) and no threads are forked."""

    def __init__(self, vocabulary: dict[str, int], length: int):
        import subprocess

        # Its own session: Ctrl-C at a terminal reaches only the parent, which reports it and
        # closes this process's stdin (it then exits); if it dies on its own (killed, out of
        # memory), the parent's next call says so instead of mistaking the broken pipe.
        self._proc = subprocess.Popen([sys.executable, "-m", "clickbait.tokenizer_process"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      start_new_session=True)
        self._send((vocabulary, length))

    def _ended(self) -> RuntimeError:
        return RuntimeError(f"the tokenizer process ended (exit code {self._proc.wait()})")

    def _send(self, obj) -> None:
        import pickle

        try:
            pickle.dump(obj, self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.flush()
        except BrokenPipeError:
            raise self._ended() from None

    def ids(self, texts: list[str]) -> np.ndarray:
        import pickle

        self._send(texts)
        try:
            return pickle.load(self._proc.stdout)
        except (EOFError, pickle.UnpicklingError):
            raise self._ended() from None

    def close(self) -> None:
        try:
            self._proc.stdin.close()
        except BrokenPipeError:  # it had ended: nothing to flush
            pass
        self._proc.wait()
        self._proc.stdout.close()


def _serve() -> None:
    """The tokenizer process: (vocabulary, length) first, then lists of texts -> id arrays."""
    import pickle

    inp, out = sys.stdin.buffer, sys.stdout.buffer
    vocabulary, length = pickle.load(inp)
    while True:
        try:
            texts = pickle.load(inp)
        except EOFError:
            return
        pickle.dump(tokens.ids(texts, vocabulary, length), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


if __name__ == "__main__":
    try:
        _serve()
    except KeyboardInterrupt:  # an interrupt sent to it alone: end, and let the parent say so
        sys.exit(130)
