"""Per-user case bases: a user's own labelled headlines, stored as a small overlay on top of a
shared model, so many users share one network and one base case base.

Layout: `MODEL_DIR/users/NAME/` holds `cases.npz` + `cases.parquet` (the same no-pickle format as
the base) and `overlay.json` (name, user_weight, the sha256 of the base `model.keras` the
embeddings were made with, and the sha256 of both case files). The base files and their
checksums in `MODEL_DIR/config.json` are never touched by an overlay.

Retrieval with an overlay: the vote's evidence (clickbait.vote) is read from the nearest cases of
each class in the base and the overlay merged by similarity (`cases.class_neighbours`); in the
shares of clickbait among the nearest cases a user case counts `user_weight` times (default 3.0),
so a user's own judgement outweighs shared cases about as near as it. A headline the user
labelled is scored with the user's label. `explain` shows the k nearest of both layers merged.
User case ids start at `cases.USER_ID_OFFSET`, so ids never clash with the base.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .cases import USER_ID_OFFSET, CaseBase
from .files import atomic_write, replace_dir, sha256_file

USER_WEIGHT = 3.0
OVERLAY_FORMAT = 1
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def validate_name(name: str) -> str:
    """A user name is 1-64 letters, digits, '-' or '_': it becomes a directory name, so nothing
    that could climb out of `users/` (`..`, `/`) is accepted."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"invalid user name {name!r}: use 1-64 letters, digits, '-' or '_'")
    return name


def users_dir(model_dir: str | os.PathLike) -> Path:
    return Path(model_dir) / "users"


def user_dir(model_dir: str | os.PathLike, name: str) -> Path:
    return users_dir(model_dir) / validate_name(name)


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
                   float(user_weight), base_model_sha256)

    @property
    def source(self) -> str:
        return f"user:{self.name}"

    def __len__(self) -> int:
        return len(self.cases)

    # -- persistence ----------------------------------------------------------------------------
    def save(self, model_dir: str | os.PathLike) -> Path:
        """Write the overlay into `MODEL_DIR/users/NAME/`: all files into a temporary directory
        beside it, then one rename, so a crash mid-save leaves the previous overlay intact."""
        target = user_dir(model_dir, self.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{self.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            self.cases.save(tmp)
            info = {"format": OVERLAY_FORMAT, "name": self.name, "user_weight": self.user_weight,
                    "base_model_sha256": self.base_model_sha256, "cases": len(self.cases),
                    "saved": time.time(),
                    "sha256": {f: sha256_file(tmp / f) for f in ("cases.npz", "cases.parquet")}}
            atomic_write(tmp / "overlay.json", lambda p: p.write_text(json.dumps(info, indent=2)))
            replace_dir(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target

    @classmethod
    def load(cls, model_dir: str | os.PathLike, name: str) -> UserOverlay:
        """Load `MODEL_DIR/users/NAME/`; each case file must match its checksum in overlay.json."""
        path = user_dir(model_dir, name)
        if not (path / "overlay.json").is_file():
            raise FileNotFoundError(f"no overlay for user {name!r} in {users_dir(model_dir)}")
        info = json.loads((path / "overlay.json").read_text())
        if info.get("format") != OVERLAY_FORMAT:
            raise ValueError(f"{path}/overlay.json: format {info.get('format')!r}, "
                             f"expected {OVERLAY_FORMAT}")
        for f, digest in info["sha256"].items():
            if sha256_file(path / f) != digest:
                raise ValueError(f"{path / f} does not match the checksum in overlay.json")
        cases = CaseBase.load(path, first_id=USER_ID_OFFSET)
        return cls(name, cases, float(info["user_weight"]), info.get("base_model_sha256"))

    def to_frame(self) -> pd.DataFrame:
        """The user's cases as a table: case_id, headline, label, source, added (UTC)."""
        m = self.cases.meta
        return pd.DataFrame({"case_id": m["case_id"].to_numpy(), "headline": m["text"].to_numpy(),
                             "label": self.cases.labels.astype("int64"),
                             "source": m["source"].to_numpy(),
                             "added": pd.to_datetime(m["added"], unit="s", utc=True)})

    def export(self, path: str | os.PathLike) -> Path:
        """Write the user's cases as CSV (header `case_id,headline,label,source,added`); the
        `headline,label` columns are what `clickbait adapt --cases` reads back."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda p: self.to_frame().to_csv(p, index=False))
        return path


def list_users(model_dir: str | os.PathLike) -> list[dict]:
    """One row per saved overlay: name, cases, clickbait cases, user_weight, last saved."""
    rows = []
    root = users_dir(model_dir)
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if path.name.startswith(".") or not (path / "overlay.json").is_file():
            continue
        info = json.loads((path / "overlay.json").read_text())
        ov = UserOverlay.load(model_dir, path.name)
        rows.append({"name": path.name, "cases": len(ov), "clickbait": int(ov.cases.labels.sum()),
                     "user_weight": info["user_weight"],
                     "saved": pd.Timestamp(info["saved"], unit="s", tz="UTC").isoformat()})
    return rows


def drop_user(model_dir: str | os.PathLike, name: str) -> bool:
    """Delete a user's overlay; the shared model is untouched. True if there was one."""
    path = user_dir(model_dir, name)
    if not path.exists():
        return False
    gone = path.with_name(f".{name}.drop{os.getpid()}")
    os.replace(path, gone)  # one rename: the overlay vanishes whole, never half-deleted
    shutil.rmtree(gone)
    return True
