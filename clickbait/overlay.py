"""Per-user case bases: a user's own labelled headlines, stored as a small overlay on top of a
shared model, so many users share one network and one base case base.

Layout: `MODEL_DIR/users/NAME/` is a `files.VersionedFolder`: `current -> versions/<id>/`
holding `cases.npz` + `cases.parquet` (the same no-pickle format as the base), `overlay.json`
(name, user_weight, the sha256 of the base `model.keras` the embeddings were made with) and
`manifest.json` (the SHA-256 of each of them). Writes take the model folder's lock
(`MODEL_DIR/.lock`), so a user's read-modify-write (`update`) never loses a concurrent writer's
cases, and swap the pointer in one rename. The base model's files are never touched.

Retrieval with an overlay: a user's cases are retained cases (clickbait.vote, `Adapter`): they
move the vote through their own evidence, each case's kernel mass multiplied by `user_weight`
(default 1), and never join the training cases' evidence, so they cannot shift headlines far
from them. A headline the user labelled is scored with the user's label. `explain` shows the
most relevant cases of both layers.
User case ids start at `cases.USER_ID_OFFSET`, so ids never clash with the base.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .artifacts import CASE_ARRAYS, check_npz
from .cases import USER_ID_OFFSET, CaseBase
from .files import (
    LOCK,
    ArtifactError,
    VersionedFolder,
    check_real_dirs,
    read_json_artifact,
    read_retrying,
    write_file,
)
from .validation import check_positive

log = logging.getLogger("clickbait")
USER_WEIGHT = 1.0  # a user's case weighs like any retained case: the adapter's weights were fitted so
OVERLAY_FORMAT = 2
_FILES = ("cases.npz", "cases.parquet", "overlay.json")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def validate_name(name: str) -> str:
    """A user name is 1-64 letters, digits, '-' or '_': it becomes a directory name, so nothing
    that could climb out of `users/` (`..`, `/`) is accepted."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"invalid user name {name!r}: use 1-64 letters, digits, '-' or '_'")
    return name


def check_user_weight(value) -> float:
    """A user's vote multiplier: a finite number > 0 (0 would silence the overlay, < 0 invert it)."""
    return check_positive(value, "user_weight")


def users_dir(model_dir: str | os.PathLike) -> Path:
    return Path(model_dir) / "users"


def user_dir(model_dir: str | os.PathLike, name: str) -> Path:
    return users_dir(model_dir) / validate_name(name)


def _folder(model_dir: str | os.PathLike, name: str) -> VersionedFolder:
    """A user's overlay folder; its writes take the model folder's lock, and no link inside the
    model folder (`users` or `users/NAME` included) is followed."""
    return VersionedFolder(user_dir(model_dir, name), "overlay", lock_path=Path(model_dir) / LOCK,
                           root=model_dir)


def model_lock(model_dir: str | os.PathLike):
    """The lock every writer of MODEL_DIR (base or overlay) takes."""
    return VersionedFolder(model_dir, "model").lock()


def user_exists(model_dir: str | os.PathLike, name: str) -> bool:
    """Whether user `name` has a saved overlay. An overlay this version cannot read (an older
    layout, or one stranded by an interrupted save of an older version) is an error, never
    taken for an empty one; a first save that was killed before it finished counts as none."""
    folder = _folder(model_dir, name)
    if folder.exists():
        return True
    path, users = folder.path, users_dir(model_dir)
    stranded = sorted(p.name for p in users.glob(f".{name}.*") if not p.name.endswith(".clickbait-tmp")) \
        if users.is_dir() else []
    if stranded:
        raise ArtifactError(f"user {name!r}: {users} holds {', '.join(stranded)}, left by an "
                            "interrupted save of an older clickbait, and no overlay; move the "
                            f"folder back to {path} after checking it, or delete it")
    if path.is_dir():
        foreign = [e for e in os.listdir(path) if e not in ("clickbait.json", "versions")
                   and not e.endswith(".clickbait-tmp")]
        if foreign:
            raise ArtifactError(f"{path} holds {', '.join(sorted(foreign))} but no saved overlay "
                                "(an older layout?); refusing to treat it as empty")
        log.warning("%s: an unfinished first save (a killed run); the next save removes it", path)
    return False


@dataclass
class UserOverlay:
    """One user's cases (`cases`, ids from USER_ID_OFFSET, source `user:NAME` by default) and the
    weight their votes carry against the shared base."""

    name: str
    cases: CaseBase
    user_weight: float = USER_WEIGHT
    base_model_sha256: str | None = None

    @classmethod
    def new(cls, name: str, dim: int, user_weight: float = USER_WEIGHT,
            base_model_sha256: str | None = None) -> UserOverlay:
        return cls(validate_name(name), CaseBase.empty(dim, first_id=USER_ID_OFFSET),
                   check_user_weight(user_weight), base_model_sha256)

    @property
    def source(self) -> str:
        return f"user:{self.name}"

    def __len__(self) -> int:
        return len(self.cases)

    # -- persistence ----------------------------------------------------------------------------
    def save(self, model_dir: str | os.PathLike, *, locked: bool = False) -> Path:
        """Write the overlay as a new version of `MODEL_DIR/users/NAME/` (under the model
        folder's lock unless `locked`): readers see the previous version or this one, whole."""
        folder = _folder(model_dir, self.name)
        folder.check_links()  # before anything is made: `users` may be a planted link
        users_dir(model_dir).mkdir(parents=True, exist_ok=True)
        info = {"format": OVERLAY_FORMAT, "name": self.name,
                "user_weight": check_user_weight(self.user_weight),
                "base_model_sha256": self.base_model_sha256, "cases": len(self.cases),
                "saved": time.time()}
        with folder.new_version(locked=locked) as version:
            self.cases.save(version)
            version.write("overlay.json", json.dumps(info, indent=2) + "\n")
        return folder.path

    @classmethod
    def load(cls, model_dir: str | os.PathLike, name: str) -> UserOverlay:
        """Load `MODEL_DIR/users/NAME/`: every file must match its checksum in manifest.json."""
        folder = _folder(model_dir, name)
        if not user_exists(model_dir, name):
            known = ", ".join(r for r in _names(model_dir)) or "none"
            raise FileNotFoundError(f"no overlay for user {name!r} in {users_dir(model_dir)} "
                                    f"(users: {known})")

        def read() -> UserOverlay:
            version, _ = folder.read(required=_FILES)
            path = version / "overlay.json"
            info = read_json_artifact(path, OVERLAY_FORMAT)
            if info.get("name") != name:
                raise ArtifactError(f"{path} is user {info.get('name')!r}'s overlay, not {name!r}'s")
            try:
                weight = check_user_weight(info.get("user_weight"))
            except ValueError as e:
                raise ArtifactError(f"{path}: {e}") from None
            check_npz(version / "cases.npz", CASE_ARRAYS)  # no forged size reaches np.load
            cases = CaseBase.load(version, first_id=USER_ID_OFFSET)
            return cls(name, cases, weight, info.get("base_model_sha256"))

        return read_retrying(read, folder)

    @classmethod
    @contextlib.contextmanager
    def update(cls, model_dir: str | os.PathLike, name: str, dim: int,
               base_model_sha256: str | None = None) -> Iterator[UserOverlay]:
        """Read-modify-write of a user's overlay under the model folder's lock: the block gets
        the overlay as stored now (or a new one) and changes it; it is saved on leaving. Case
        ids stay unique and no concurrent writer's cases are lost."""
        with model_lock(model_dir):
            if user_exists(model_dir, name):
                ov = cls.load(model_dir, name)
            else:
                ov = cls.new(name, dim, base_model_sha256=base_model_sha256)
            yield ov
            ov.save(model_dir, locked=True)

    def to_frame(self) -> pd.DataFrame:
        """The user's cases as a table: case_id, headline, label, source, added (UTC, to the second)."""
        m = self.cases.meta
        return pd.DataFrame({"case_id": m["case_id"].to_numpy(), "headline": m["text"].to_numpy(),
                             "label": self.cases.labels.astype("int64"),
                             "source": m["source"].to_numpy(),
                             "added": pd.to_datetime(m["added"], unit="s", utc=True).dt.floor("s")})

    def export(self, path: str | os.PathLike, *, force: bool = False) -> Path:
        """Write the user's cases as CSV (header `case_id,headline,label,source,added`); the
        `headline,label` columns are what `clickbait adapt --cases` reads back."""
        return write_file(path, lambda f: self.to_frame().to_csv(f, index=False), binary=False,
                          force=force)


def _names(model_dir: str | os.PathLike) -> list[str]:
    root = users_dir(model_dir)
    check_real_dirs(model_dir, root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if _NAME.fullmatch(p.name) and (p / "current").exists())


def list_users(model_dir: str | os.PathLike) -> list[dict]:
    """One row per saved overlay: name, cases, clickbait cases, user_weight, last saved. A
    folder that is not a valid user name, or an overlay that cannot be read, is skipped with a
    warning naming it (one bad folder does not hide the others)."""
    rows = []
    root = users_dir(model_dir)
    check_real_dirs(model_dir, root)
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if path.name.startswith(".") or path.name == LOCK:
            continue
        if not _NAME.fullmatch(path.name):
            log.warning("%s: not a valid user name; skipped", path)
            continue
        try:
            if not user_exists(model_dir, path.name):
                continue
            ov = UserOverlay.load(model_dir, path.name)
            saved = os.stat(_folder(model_dir, path.name).current() / "overlay.json").st_mtime
        except (OSError, ValueError) as e:
            log.warning("%s: skipped: %s", path, e)
            continue
        rows.append({"name": path.name, "cases": len(ov), "clickbait": int(ov.cases.labels.sum()),
                     "user_weight": ov.user_weight,
                     "saved": pd.Timestamp(saved, unit="s", tz="UTC").floor("s").isoformat()})
    return rows


def drop_user(model_dir: str | os.PathLike, name: str) -> bool:
    """Delete a user's overlay (under the model folder's lock; it vanishes whole, in one
    rename); the shared model is untouched. True if there was one."""
    folder = _folder(model_dir, name)
    with model_lock(model_dir):
        return folder.remove()


# -- a detector's overlay operations (TrainedDetector.attach_user etc. delegate here) ----------
def model_sha(det) -> str | None:
    """The sha256 of the detector's model.keras (None for one never saved)."""
    return getattr(det, "config_", {}).get("sha256", {}).get("model.keras")


def resolve_model_dir(det, model_dir: str | os.PathLike | None = None) -> Path:
    """`model_dir`, else the folder the detector was loaded from or saved to."""
    model_dir = model_dir or getattr(det, "model_dir_", None)
    if model_dir is None:
        raise ValueError("where is the model? pass model_dir (the base model's directory)")
    return Path(model_dir)


def fit_overlay(det, overlay: UserOverlay) -> UserOverlay:
    """An overlay made with another network has its stored texts re-embedded with this one."""
    base_sha = model_sha(det)
    if base_sha and overlay.base_model_sha256 not in (None, base_sha) and len(overlay):
        texts = overlay.cases.meta["text"].tolist()
        overlay.cases.embeddings = np.ascontiguousarray(det.transform(texts), "float32")
        overlay.cases._changed()
        overlay.base_model_sha256 = base_sha
    return overlay


def attach_user(det, name: str, model_dir: str | os.PathLike | None = None,
                user_weight: float | None = None, *, create: bool = True) -> UserOverlay:
    """`TrainedDetector.attach_user`: user `name`'s overlay (a new one with `create`) becomes
    `det.overlay_`."""
    det._check_fitted()
    if user_weight is not None:
        user_weight = check_user_weight(user_weight)
    model_dir = model_dir or getattr(det, "model_dir_", None)
    det.model_dir_ = None if model_dir is None else Path(model_dir)  # where save_user writes
    if model_dir is not None and (not create or user_exists(model_dir, name)):
        overlay = fit_overlay(det, UserOverlay.load(model_dir, name))
    else:
        overlay = UserOverlay.new(name, det.dim, base_model_sha256=model_sha(det))
    if user_weight is not None:
        overlay.user_weight = user_weight
    det.overlay_ = overlay
    return overlay


def save_user(det, model_dir: str | os.PathLike | None = None) -> Path:
    """`TrainedDetector.save_user`: the attached overlay, as it is in memory."""
    overlay = getattr(det, "overlay_", None)
    if overlay is None:
        raise RuntimeError("no user overlay attached: call attach_user(name) first")
    return overlay.save(resolve_model_dir(det, model_dir))
