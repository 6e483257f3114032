"""Writing files safely and checking them: an artifact is written beside its target and renamed
into place (so a crash or Ctrl-C never leaves a half-written one), and its SHA-256 recorded."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write(path: Path, write, suffix: str = "") -> None:
    """Write through a temporary file beside `path`, then rename: no half-written artifacts."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}{suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def replace_dir(tmp: Path, directory: Path) -> None:
    """Move the finished directory `tmp` to `directory`, replacing any old one with renames only:
    the old copy is moved aside first and removed last, so a crash leaves one complete copy."""
    old = directory.with_name(f".{directory.name}.old{os.getpid()}")
    if directory.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(directory, old)
    os.replace(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)
