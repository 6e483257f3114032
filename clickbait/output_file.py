"""Single output files (see clickbait/files.py): written to a private temporary beside the target,
fsynced and renamed over it; streams (stdout, FIFOs) written in place; never inside a model
folder."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from .fileops import (
    TMP_SUFFIX,
    TargetInTheWay,
    _default_mode,
    _open_temps,
    _tmp_prefix,
    clean_leftovers,
    fsync_dir,
    model_folder_of,
    terminate_cleanly,
)


# -- single files ----------------------------------------------------------------------------
def _stream_target(path: Path) -> bool:
    """True if `path` is an output to write in place (FIFO, character device, or a link to one);
    raises if it is something that must not be written or replaced."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.stat(path)
        except OSError:
            target = None
        if target is not None and (stat.S_ISFIFO(target.st_mode) or stat.S_ISCHR(target.st_mode)):
            return True
        raise TargetInTheWay(
            f"{path} is a symbolic link (to {os.readlink(path)}); clickbait neither writes through "
            "a link nor replaces one: remove it, or name the file it points to")
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{path} is a folder; give a file name for the output")
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
        return True
    if not stat.S_ISREG(st.st_mode):
        raise TargetInTheWay(f"{path} is neither a regular file, a FIFO nor a character device; "
                             "refusing to write it")
    return False


def _refuse_model_folder(path: Path) -> None:
    """An output never goes inside a model folder: a file in a version makes every later load
    fail (it has no checksum), and the folder is clickbait's to manage."""
    folder = model_folder_of(path)
    if folder is not None:
        raise TargetInTheWay(f"{path} is inside the clickbait model folder {folder}; nothing but "
                             "the model is written there (an extra file would make every later "
                             "load fail): write the output elsewhere")


def check_output(path: str | os.PathLike, force: bool = False) -> None:
    """Raise now (before any work) if `OutputFile(path, force=force)` would refuse `path`."""
    if str(path) == "-":
        return
    path = Path(path)
    if not _stream_target(path):
        _refuse_model_folder(path)
        if os.path.lexists(path) and not force:
            raise FileExistsError(f"{path} exists; pass force=True to overwrite it")


class OutputFile:
    """A handle (`.handle`) on the output `path`; `commit()` makes it appear whole, `abort()`
    (or an exception inside `with`) removes every trace. `-` is stdout (or `stdout`).

    binary: a bytes handle; else text in `encoding` with `newline`. compress: gzip the stream
    (default: when the name ends in `.gz`). force: replace an existing regular file. A path
    inside a model folder is refused (`in_model`: files.py's own marker file)."""

    def __init__(self, path: str | os.PathLike, *, force: bool = False, binary: bool = False,
                 encoding: str = "utf-8", newline: str | None = "", compress: bool | None = None,
                 compresslevel: int = 4, stdout: IO | None = None, in_model: bool = False):
        self.path = None if str(path) == "-" else Path(path)
        self.tmp: Path | None = None
        self.in_place = True
        self._force = force
        self._text = self._gz = self._raw = None
        self._own_raw = False
        self._done = False
        self._guard = None
        if compress is None:
            compress = self.path is not None and self.path.name.lower().endswith(".gz")
        if self.path is None:
            stream = stdout if stdout is not None else sys.stdout
            if not (binary or compress):
                self.handle = stream
                return
            raw = getattr(stream, "buffer", stream)
        elif _stream_target(self.path):  # a FIFO or a device: written in place, never replaced
            raw = os.fdopen(os.open(self.path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC), "wb")
            self._own_raw = True
        else:
            self.in_place = False
            if not in_model:
                _refuse_model_folder(self.path)
            if os.path.lexists(self.path) and not force:
                raise FileExistsError(f"{self.path} exists; pass force=True to overwrite it")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            clean_leftovers(self.path.parent, self.path.name)
            self._guard = terminate_cleanly()
            self._guard.__enter__()
            try:  # O_CREAT | O_EXCL | O_NOFOLLOW, mode 0600, an unpredictable name
                fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=_tmp_prefix(self.path.name),
                                           suffix=TMP_SUFFIX)
            except BaseException:
                self._release_guard()
                raise
            self.tmp = Path(tmp)
            _open_temps.add(self.tmp)
            raw = os.fdopen(fd, "wb")
            self._own_raw = True
        self._raw = top = raw
        if compress:
            self._gz = top = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=compresslevel, mtime=0)
        if binary:
            self.handle = top
        else:
            self._text = self.handle = io.TextIOWrapper(top, encoding=encoding, newline=newline)

    def _release_guard(self) -> None:
        if self._guard is not None:
            guard, self._guard = self._guard, None
            guard.__exit__(None, None, None)

    def _finish_streams(self) -> None:
        """Flush every layer (gzip trailer included) down to the file, without closing it."""
        if self._text is not None:
            text, self._text = self._text, None
            text.flush()
            text.detach()
        if self._gz is not None:
            gz, self._gz = self._gz, None
            gz.close()  # writes the trailer; leaves the file open
        if self._raw is not None:
            self._raw.flush()
        elif hasattr(self.handle, "flush"):
            self.handle.flush()

    def commit(self) -> Path | None:
        """Finish the output: flush, fsync and rename into place (or flush a stream)."""
        if self._done:
            return self.path
        try:
            self._finish_streams()
            raw, self._raw = self._raw, None
            if self.tmp is not None:
                os.fchmod(raw.fileno(), _default_mode())
                os.fsync(raw.fileno())
            if self._own_raw:
                raw.close()
            if self.tmp is not None:
                _stream_target(self.path)  # re-checked: a link or folder may have appeared meanwhile
                if not self._force:
                    try:  # create only if absent: never overwrites a file that appeared meanwhile
                        os.link(self.tmp, self.path)
                        self.tmp.unlink()
                    except FileExistsError:
                        raise FileExistsError(
                            f"{self.path} exists; pass force=True to overwrite it") from None
                    except OSError:  # a filesystem without hard links
                        os.replace(self.tmp, self.path)
                else:
                    os.replace(self.tmp, self.path)
                _open_temps.discard(self.tmp)
                self.tmp = None
                fsync_dir(self.path.parent)
            self._done = True
            return self.path
        except BaseException:
            self.abort()
            raise
        finally:
            if self._done:
                self._release_guard()

    def abort(self) -> None:
        """Remove the temporary file (nothing happens to the target)."""
        try:
            with contextlib.suppress(Exception):
                self._finish_streams()
            if self._raw is not None and self._own_raw:
                with contextlib.suppress(Exception):
                    self._raw.close()
            self._raw = None
            if self.tmp is not None:
                self.tmp.unlink(missing_ok=True)
                _open_temps.discard(self.tmp)
                self.tmp = None
        finally:
            self._done = True
            self._release_guard()

    def __enter__(self) -> OutputFile:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self.abort()
        elif not self._done:
            self.commit()
        return False


def write_file(path: str | os.PathLike, data: bytes | str | Callable[[IO], object], *,
               force: bool = True, binary: bool | None = None, **options) -> Path:
    """Write `data` (bytes, text, or a function given the open handle) to `path` through an
    `OutputFile`; returns the path. By default it replaces an existing regular file."""
    if binary is None:
        binary = not isinstance(data, str)
    with OutputFile(path, force=force, binary=binary, **options) as out:
        if callable(data):
            data(out.handle)
        else:
            out.handle.write(data)
    return Path(path)


def spool_file() -> IO[bytes]:
    """A private, anonymous temporary file (no name: unlinked at once, gone when closed or
    when the process dies) for data held between two passes, e.g. chunks whose final types are
    known only at the end."""
    return tempfile.TemporaryFile(prefix="clickbait-", suffix=TMP_SUFFIX)
