"""Versioned folders (a model, a user overlay; see clickbait/files.py): a marker, a lock, versions
behind one atomic pointer `current`, a manifest of checksums read back before use."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from .errors import ArtifactError
from .fileops import (
    _ARTIFACTS,
    _VERSION_NAME,
    CURRENT,
    LOCK,
    LOCK_TIMEOUT,
    MANIFEST,
    MARKER,
    TMP_SUFFIX,
    VERSIONS,
    WRITING,
    TargetInTheWay,
    _default_mode,
    _link_error,
    _open_temps,
    _pointer_target_ok,
    _tmp_prefix,
    _umask,
    check_real_dirs,
    check_tree,
    clean_leftovers,
    fsync_dir,
    log,
    sha256_file,
    terminate_cleanly,
)
from .output_file import write_file


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
