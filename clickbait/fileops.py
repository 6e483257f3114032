"""The primitives under clickbait's files and folders (see clickbait/files.py): names, the checks
that no link inside a model folder is followed, the signal guard around open writes, the
clean-up of a killed run's leftovers, fsync."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

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
