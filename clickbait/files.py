"""The one way clickbait writes files and folders, locks them, and checks them on reading.

Single files (`OutputFile`, `write_file`): written to a temporary file made by `tempfile.mkstemp`
in the target's folder (unpredictable name, `O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600), fsynced,
then renamed over the target, and the folder fsynced: a reader sees the old file or the new one,
never half of one. The temporary is removed on any exception, and on SIGTERM/SIGHUP (they raise
`Terminated` while a write is open). An output that is not a regular file (stdout, a FIFO, a
character device) is written in place, never replaced. A symbolic link at the target is neither
followed nor replaced (it could point anywhere), unless it points at a FIFO or character device
(`/dev/stdout`, a named pipe), which is written in place. An existing regular file is replaced
only with `force`; a folder never is.

Folders (`VersionedFolder`: a model, a user overlay): FOLDER holds a marker file
(`clickbait.json`, naming what wrote it), a lock file (`.lock`, an advisory `flock` through the
`filelock` package), `versions/<id>/` and one pointer, the symbolic link `current ->
versions/<id>`. A write makes a new version directory (`tempfile.mkdtemp`: private, 0700 while
written), fills it, writes `manifest.json` with the SHA-256 of every file in it, then swaps the
pointer with one rename; older versions are removed afterwards, under the lock. A reader resolves
the pointer once and reads one complete version; a reader that loses the race with that clean-up
retries. `force` replaces only a folder that carries the marker and nothing foreign; anything
else is refused with a message naming what is in the way.

Leftovers of a killed run (temporary files named `.NAME.PID.*.clickbait-tmp` whose process is
gone; version directories no pointer names, holding the marker `.clickbait-writing` a writer
puts in first or a manifest of ours) are removed by the next write, with a warning; anything
else in `versions` is left as it is.

Links: a model folder is untrusted input, and `current` is the only link in it that clickbait
follows (after checking that it reads `versions/<id>`). Every other path below the model folder
(`versions`, `users`, `users/NAME`, the marker, the lock, the files of a version) is checked
with `lstat`, component by component, before it is read, written, locked or removed, and a link
anywhere in the tree is an ArtifactError naming it (`check_real_dirs`, `check_tree`). No output
file is written inside a model folder (`OutputFile` refuses it).
"""

from __future__ import annotations

import atexit
import contextlib
import gzip
import hashlib
import io
import json
import logging
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from .errors import ArtifactError

log = logging.getLogger("clickbait")

TMP_SUFFIX = ".clickbait-tmp"
MARKER = "clickbait.json"
MANIFEST = "manifest.json"
LOCK = ".lock"
CURRENT = "current"
VERSIONS = "versions"
LOCK_TIMEOUT = 600.0  # seconds a writer waits for another writer of the same folder
WRITING = ".clickbait-writing"  # in a version while it is written: proof that clickbait made it
_VERSION_NAME = re.compile(r"[0-9]{8}T[0-9]{6}-[A-Za-z0-9_]{1,32}")
# The files of a model's or an overlay's version: what an older clickbait (whose writers left no
# marker) may have left in a version it never finished.
_ARTIFACTS = frozenset({"model.keras", "cases.npz", "cases.parquet", "config.json", "vote.npz",
                        "overlay.json", MANIFEST})
_POINTER_TMP = re.compile(rf"\.{CURRENT}\.\d+\.[0-9a-f]+{re.escape(TMP_SUFFIX)}")


class TargetInTheWay(FileExistsError):
    """Something this tool did not write (or must not replace) is where an output should go."""


class Terminated(SystemExit):
    """SIGTERM or SIGHUP arrived while a write was open: raised so that clean-up code runs."""


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks (a link at `path` is not followed)."""
    h = hashlib.sha256()
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- links inside a model folder ---------------------------------------------------------------
def _pointer_target_ok(target: str) -> bool:
    parts = target.split("/")
    return len(parts) == 2 and parts[0] == VERSIONS and bool(_VERSION_NAME.fullmatch(parts[1]))


def _link_error(path: Path) -> ArtifactError:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    return ArtifactError(f"{path} is a symbolic link (to {target}), not a regular file or folder: "
                         "clickbait follows no link inside a model folder (it could lead anywhere); "
                         "remove it")


def check_real_dirs(root: str | os.PathLike, path: str | os.PathLike) -> None:
    """Every component of `path` below `root` that exists is a real folder, not a link (`root`
    itself is the folder the user named and may be one). Raises ArtifactError naming the first
    that is not; a missing component ends the check (nothing below it exists)."""
    root, path = Path(root), Path(path)
    here = root
    for part in path.relative_to(root).parts:
        here = here / part
        try:
            st = os.lstat(here)
        except (FileNotFoundError, NotADirectoryError):
            return
        if stat.S_ISLNK(st.st_mode):
            raise _link_error(here)
        if not stat.S_ISDIR(st.st_mode):
            raise ArtifactError(f"{here} is not a folder")


def check_tree(root: str | os.PathLike) -> None:
    """No symbolic link anywhere under `root` (a model folder), except the `current` pointers
    (of the form versions/<id>) and the temporary pointers a writer makes before renaming one
    over `current`: neither is followed anywhere else. Raises ArtifactError naming the link."""
    stack = [Path(root)]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue  # removed meanwhile (a writer's clean-up), or another user's private version
        for entry in entries:
            if entry.is_symlink():
                if entry.name == CURRENT or _POINTER_TMP.fullmatch(entry.name):
                    target = os.readlink(entry.path)
                    if _pointer_target_ok(target):
                        continue
                    raise ArtifactError(f"{entry.path} points to {target!r}, not to {VERSIONS}/"
                                        "<version>: refusing to follow it out of the folder")
                raise _link_error(Path(entry.path))
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))


def model_folder_of(path: str | os.PathLike) -> Path | None:
    """The clickbait model folder (one holding clickbait's marker) that `path` would be written
    in, if any: its own folder or any folder above it, links resolved."""
    try:
        here = Path(path).parent.resolve()
    except (OSError, RuntimeError):
        return None
    for folder in (here, *here.parents):
        marker = folder / MARKER
        with contextlib.suppress(OSError, ValueError):
            if marker.is_file() and json.loads(marker.read_text()).get("tool") == "clickbait":
                return folder
    return None


# -- signals ---------------------------------------------------------------------------------
_guard_depth = 0
_guard_saved: dict[int, object] = {}
_guard_mutex = threading.Lock()


def _raise_terminated(signum, frame):
    raise Terminated(128 + signum)


@contextlib.contextmanager
def terminate_cleanly() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP raise `Terminated` (exit status 128 + signal) in
    the main thread, so `finally` clauses remove temporaries instead of the process vanishing
    with them. Nested use is fine; outside the main thread it does nothing."""
    global _guard_depth
    main = threading.current_thread() is threading.main_thread()
    if main:
        with _guard_mutex:
            if _guard_depth == 0:
                for sig in (signal.SIGTERM, signal.SIGHUP):
                    _guard_saved[sig] = signal.signal(sig, _raise_terminated)
            _guard_depth += 1
    try:
        yield
    finally:
        if main:
            with _guard_mutex:
                _guard_depth -= 1
                if _guard_depth == 0:
                    for sig, old in _guard_saved.items():
                        signal.signal(sig, old)
                    _guard_saved.clear()


# Temporaries this process has open: removed at exit if nothing else did (a `Terminated` or
# other SystemExit that unwinds past code which did not use `with`).
_open_temps: set[Path] = set()


@atexit.register
def _remove_open_temps() -> None:
    for path in list(_open_temps):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    _open_temps.clear()


# -- leftovers -------------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tmp_prefix(name: str) -> str:
    return f".{name}.{os.getpid()}."


def clean_leftovers(folder: str | os.PathLike, name: str | None = None) -> list[Path]:
    """Remove temporaries (`.NAME.PID.*.clickbait-tmp`, files or folders) in `folder` whose
    process is gone (a killed run); `name` limits it to one target. Returns what was removed."""
    folder = Path(folder)
    pattern = re.compile(rf"\.({re.escape(name) if name else '.+'})\.(\d+)\.[^/]*{re.escape(TMP_SUFFIX)}")
    removed = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        if not m or _pid_alive(int(m.group(2))):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        log.warning("removed %d leftover(s) of a killed run: %s", len(removed),
                    ", ".join(str(p) for p in removed))
    return removed


def fsync_dir(path: str | os.PathLike) -> None:
    """Make a rename or a new entry in `path` durable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems do not fsync folders
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    with _guard_mutex:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _default_mode() -> int:
    """The mode a file created with open() would get (mkstemp makes 0600)."""
    return 0o666 & ~_umask()


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


# -- folders ---------------------------------------------------------------------------------
class VersionWriter:
    """The private folder a new version is written into: `open(name)` makes a file in it
    (`O_EXCL|O_NOFOLLOW`), `path(name)` names one for writers that need a path."""

    def __init__(self, path: Path):
        self.root = path

    def path(self, name: str) -> Path:
        if "/" in name or name.startswith(".") or name == MANIFEST:
            raise ValueError(f"bad artifact file name {name!r}")
        return self.root / name

    def open(self, name: str, binary: bool = True) -> IO:
        fd = os.open(self.path(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        return os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"}))

    def write(self, name: str, data: bytes | str) -> None:
        with self.open(name, binary=isinstance(data, bytes)) as f:
            f.write(data)

    def copy_from(self, source: Path, name: str) -> None:
        """A file of another version, copied byte for byte (e.g. an unchanged model.keras)."""
        with open(source / name, "rb") as src, self.open(name) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


class VersionedFolder:
    """A folder written whole, version by version, behind the one pointer `current` (see the
    module docstring). `kind` ("model", "overlay") is recorded in the marker and the manifests;
    `lock_path` is the lock writers take (default FOLDER/.lock). `root` is the model folder it
    lies in (default: itself): no link below `root` is followed, and any link in its tree
    (but the `current` pointers) is an error naming it, so a planted link cannot lead a read,
    a write or a clean-up out of the model folder."""

    def __init__(self, path: str | os.PathLike, kind: str, lock_path: str | os.PathLike | None = None,
                 root: str | os.PathLike | None = None):
        self.path = Path(path)
        self.kind = kind
        self.lock_path = Path(lock_path) if lock_path is not None else self.path / LOCK
        self.root = Path(root) if root is not None else self.path

    def check_links(self, whole_tree: bool = True) -> None:
        """Raise ArtifactError if a link stands where a folder or file of this folder's should
        be: on the way from `root` down to FOLDER/versions, at the marker or the lock, or (with
        `whole_tree`) anywhere in the model folder's tree."""
        check_real_dirs(self.root, self.path / VERSIONS)
        for path in (self.path / MARKER, self.lock_path):
            with contextlib.suppress(OSError):
                if stat.S_ISLNK(os.lstat(path).st_mode):
                    raise _link_error(path)
        if whole_tree:
            check_tree(self.root)

    # reading
    def exists(self) -> bool:
        check_real_dirs(self.root, self.path)
        return os.path.lexists(self.path / CURRENT)

    def current(self) -> Path:
        """The complete version readers use now (FOLDER/versions/<id>, or a real `current`
        folder in a copy made with `cp -rL`). Raises ArtifactError if there is none."""
        pointer = self.path / CURRENT
        try:
            st = os.lstat(pointer)
        except FileNotFoundError:
            raise ArtifactError(f"{self.path} is not a saved clickbait {self.kind} "
                                f"(no {CURRENT} -> {VERSIONS}/...)") from None
        if stat.S_ISDIR(st.st_mode):
            return pointer
        if not stat.S_ISLNK(st.st_mode):
            raise ArtifactError(f"{pointer} is neither a link to a version nor a folder")
        target = os.readlink(pointer)
        if not _pointer_target_ok(target):
            raise ArtifactError(f"{pointer} points to {target!r}, not to {VERSIONS}/<version>: "
                                "refusing to follow it out of the folder")
        version = self.path / target
        check_real_dirs(self.root, version)  # neither `versions` nor the version may be a link
        if not version.is_dir():
            raise ArtifactError(f"{pointer} points to {target}, which is missing: the folder is "
                                "damaged (a version removed by hand?)")
        return version

    def pointer(self) -> str | None:
        with contextlib.suppress(OSError):
            return os.readlink(self.path / CURRENT)
        return None

    def read(self, required: tuple[str, ...] = ()) -> tuple[Path, dict]:
        """(version folder, manifest) after checking that every file in it is a regular file
        listed in manifest.json with a matching SHA-256, and that `required` files are there."""
        self.check_links()
        version = self.current()
        return version, verify_manifest(version, required)

    # writing
    @contextlib.contextmanager
    def lock(self, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        """The folder's advisory write lock (re-entrant within a process)."""
        from filelock import FileLock, Timeout

        self.check_links(whole_tree=False)  # the lock file is opened (and truncated) by path
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        check_real_dirs(self.root, self.lock_path.parent)
        lock = _locks.setdefault(str(self.lock_path.resolve()), FileLock(str(self.lock_path)))
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise TimeoutError(f"{self.lock_path}: another clickbait process has held this lock "
                               f"for {timeout:.0f} s") from None
        try:
            yield
        finally:
            lock.release()

    def check_replaceable(self, force: bool, allowed: tuple[str, ...] = ()) -> bool:
        """Whether FOLDER already holds a version. Raises unless it is absent, empty, or ours
        (marker present, nothing foreign in it) and `force` is given. `allowed` names extra
        entries this kind of folder may hold (a model's `users`)."""
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return False
        if not stat.S_ISDIR(st.st_mode):
            what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a folder"
            raise TargetInTheWay(f"{self.path} is {what}; refusing to replace it with a {self.kind}")
        entries = sorted(e for e in os.listdir(self.path) if e != LOCK)
        if not entries:
            return False
        ours = self._marker_ok()
        known = {MARKER, LOCK, CURRENT, VERSIONS, *allowed}
        foreign = [e for e in entries if e not in known and not _is_our_tmp(e)]
        if not ours or foreign:
            shown = ", ".join(foreign or entries)
            raise TargetInTheWay(
                f"{self.path} is not a folder clickbait wrote, or holds other things ({shown}); "
                "refusing to replace it, even with force=True: choose another path or move those away")
        self.check_links()  # clean-up and the new version must stay inside the folder
        if not self.exists():
            return False  # a first save that never finished: nothing to replace, leftovers go
        if not force:
            raise FileExistsError(f"{self.path} exists; pass force=True to overwrite it")
        return True

    def _marker_ok(self) -> bool:
        try:
            info = json.loads(_read_no_follow(self.path / MARKER))
        except (OSError, ValueError):
            return False
        return isinstance(info, dict) and info.get("tool") == "clickbait"

    def _ours(self, version: Path) -> bool:
        """Whether a version folder provably was written by clickbait: it holds the marker a
        writer puts in first, or a manifest of ours (a finished version); or, left by an older
        clickbait (whose writers put no marker in), it has a version's name and holds nothing
        but regular files named as clickbait names them."""
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(version / WRITING).st_mode):
                return True
        try:
            manifest = json.loads(_read_no_follow(version / MANIFEST))
            if isinstance(manifest, dict) and manifest.get("tool") == "clickbait" \
                    and manifest.get("kind") == self.kind:
                return True
        except (OSError, ValueError):
            pass
        if not _VERSION_NAME.fullmatch(version.name):
            return False
        try:
            return all(e.name in _ARTIFACTS and e.is_file(follow_symlinks=False)
                       for e in os.scandir(version))
        except OSError:
            return False

    def cleanup(self) -> list[Path]:
        """Remove what a killed writer left (versions no pointer names, temporaries); call
        under the lock. Only version folders that clickbait's own marker or manifest proves it
        wrote are removed; anything else in `versions` is left, with a warning. Returns what
        was removed."""
        self.check_links()
        removed = clean_leftovers(self.path)
        keep = (self.pointer() or "").split("/")[-1]
        versions = self.path / VERSIONS
        if versions.is_dir():
            for entry in sorted(os.scandir(versions), key=lambda e: e.name):
                if entry.name == keep:
                    continue
                path = Path(entry.path)
                if entry.is_dir(follow_symlinks=False) and self._ours(path):
                    shutil.rmtree(path, ignore_errors=True)  # never follows a link inside
                    removed.append(path)
                else:
                    log.warning("%s: not a version clickbait wrote; left as it is", path)
        return removed

    @contextlib.contextmanager
    def new_version(self, locked: bool = False) -> Iterator[VersionWriter]:
        """Write a new version: the block fills the VersionWriter; on leaving it normally, the
        manifest is written, everything fsynced and the pointer swapped. Takes the lock unless
        `locked` (the caller holds it). On an exception or SIGTERM/SIGHUP, nothing changes."""
        with contextlib.ExitStack() as stack:
            if not locked:
                stack.enter_context(self.lock())
            stack.enter_context(terminate_cleanly())
            self.check_links()
            self.path.mkdir(parents=True, exist_ok=True)
            check_real_dirs(self.root, self.path)  # a link planted meanwhile is not written through
            if not self._marker_ok():
                write_file(self.path / MARKER, json.dumps({"tool": "clickbait", "kind": self.kind}) + "\n",
                           in_model=True)
            stale = [p for p in self.cleanup() if p.parent.name == VERSIONS]
            if stale:
                log.warning("%s: removed %d unfinished version(s) left by a killed run",
                            self.path, len(stale))
            versions = self.path / VERSIONS
            versions.mkdir(exist_ok=True)
            check_real_dirs(self.root, versions)
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            root = Path(tempfile.mkdtemp(dir=versions, prefix=f"{stamp}-"))
            _open_temps.add(root)
            try:
                os.close(os.open(root / WRITING, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
                yield VersionWriter(root)
                files = {}
                for entry in sorted(os.scandir(root), key=lambda e: e.name):
                    if entry.name == WRITING:
                        continue
                    if not entry.is_file(follow_symlinks=False):
                        raise ArtifactError(f"{entry.path}: only regular files belong in a version")
                    files[entry.name] = sha256_file(entry.path)
                manifest = {"tool": "clickbait", "kind": self.kind, "written": time.time(), "files": files}
                _write_manifest(root, manifest)
                os.unlink(root / WRITING)  # the manifest proves it ours from here on
                for name in [*files, MANIFEST]:
                    fd = os.open(root / name, os.O_RDONLY | os.O_NOFOLLOW)
                    try:
                        os.fchmod(fd, _default_mode())
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                os.chmod(root, 0o777 & ~_umask())
                fsync_dir(root)
                self._swap(f"{VERSIONS}/{root.name}")
                _open_temps.discard(root)
            except BaseException:
                shutil.rmtree(root, ignore_errors=True)
                _open_temps.discard(root)
                raise
            self.cleanup()

    def _swap(self, target: str) -> None:
        check_real_dirs(self.root, self.path / target)
        pointer = self.path / CURRENT
        if os.path.isdir(pointer) and not os.path.islink(pointer):
            raise TargetInTheWay(f"{pointer} is a folder (a copy made with cp -rL?), not a pointer; "
                                 "save to a new path instead")
        for _ in range(100):
            tmp = self.path / f".{CURRENT}.{os.getpid()}.{os.urandom(6).hex()}{TMP_SUFFIX}"
            try:
                os.symlink(target, tmp)
                break
            except FileExistsError:  # pragma: no cover - 48 random bits
                continue
        os.replace(tmp, pointer)
        fsync_dir(self.path)

    def remove(self) -> bool:
        """Delete the whole folder (one rename first, so it vanishes whole); True if it existed."""
        check_real_dirs(self.root, self.path)
        if not os.path.lexists(self.path):
            return False
        self.check_links()
        gone = self.path.with_name(f"{_tmp_prefix(self.path.name)}{os.urandom(6).hex()}{TMP_SUFFIX}")
        os.replace(self.path, gone)
        fsync_dir(self.path.parent)
        shutil.rmtree(gone)
        return True


_locks: dict = {}


def _write_manifest(root: Path, manifest: dict) -> None:
    fd = os.open(root / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(manifest, indent=2) + "\n")


def _read_no_follow(path: Path) -> str:
    """A small text file's content, refusing a link at `path`."""
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), encoding="utf-8") as f:
        return f.read(1 << 20)


def _is_our_tmp(name: str) -> bool:
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


def verify_manifest(version: Path, required: tuple[str, ...] = ()) -> dict:
    """Check a version folder against its manifest.json: every file listed, regular (no links)
    and matching its SHA-256; the listed files all present; `required` among them."""
    path = version / MANIFEST
    try:
        manifest = json.loads(_read_no_follow(path))
    except FileNotFoundError:
        raise ArtifactError(f"{version}: {MANIFEST} is missing, so nothing in it can be "
                            "checked; refusing to load it") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ArtifactError(f"{path} is not valid JSON ({e})") from None
    except OSError as e:  # ELOOP: a link
        raise ArtifactError(f"{path} cannot be read without following a link ({e.strerror})") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not files:
        raise ArtifactError(f"{path} lists no files with checksums; refusing to load {version}")
    for name in required:
        if name not in files:
            raise ArtifactError(f"{path} has no checksum for {name}; refusing to load {version}")
    present = set()
    for entry in os.scandir(version):
        if entry.name == MANIFEST:
            continue
        if entry.name not in files:
            raise ArtifactError(f"{entry.path} has no checksum in {MANIFEST}; refusing to load {version}")
        if not entry.is_file(follow_symlinks=False):
            raise ArtifactError(f"{entry.path} is not a regular file (a link?); refusing to load it")
        present.add(entry.name)
    for name, digest in files.items():
        if name not in present:
            raise ArtifactError(f"{version}: {name} is missing")
        if not isinstance(digest, str) or sha256_file(version / name) != digest:
            raise ArtifactError(f"{version / name} does not match its checksum in {MANIFEST}: it "
                                "was modified or damaged after saving; refusing to load it")
    return manifest


def read_retrying(read: Callable[[], object], folder: VersionedFolder, attempts: int = 5):
    """Call `read()`; if it fails because a writer replaced the version meanwhile (the pointer
    moved), call it again: readers never see half a version, and never fail for a write."""
    for attempt in range(attempts):
        before = folder.pointer()
        try:
            return read()
        except (OSError, ArtifactError, ValueError):
            if attempt == attempts - 1 or folder.pointer() == before:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = ["ArtifactError", "OutputFile", "TargetInTheWay", "Terminated", "VersionWriter",
           "VersionedFolder", "check_output", "check_real_dirs", "check_tree", "clean_leftovers",
           "model_folder_of", "read_retrying", "sha256_file", "terminate_cleanly", "verify_manifest",
           "write_file"]


def read_json_artifact(path: Path, format_version: int) -> dict:
    """A JSON artifact (config.json, overlay.json) of the given `"format"`; anything else is an
    ArtifactError naming the file."""
    try:
        data = json.loads(Path(path).read_text())
    except ValueError as e:
        raise ArtifactError(f"{path} is not valid JSON ({e})") from None
    found = data.get("format") if isinstance(data, dict) else None
    if found != format_version:
        raise ArtifactError(f"{path}: format {found!r}, expected {format_version}")
    return data
