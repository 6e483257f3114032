"""Reading the labelled headline corpus (../shared/data, never copied into this repository)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

# ../shared/data beside the repository checkout, unless CLICKBAIT_DATA says otherwise.
DEFAULT_DATA_DIR = Path(
    os.environ.get("CLICKBAIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SPLITS = ("train", "valid", "test")


def split_path(split: str, data_dir: str | os.PathLike | None = None) -> Path:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return Path(data_dir or DEFAULT_DATA_DIR) / f"chakraborty2016_{split}.csv"


def load_split(split: str, data_dir: str | os.PathLike | None = None) -> tuple[list[str], np.ndarray]:
    """(headlines, labels) of one split of the Stop Clickbait corpus (Chakraborty et al. 2016)."""
    path = split_path(split, data_dir)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: the corpus is read from ../shared/data beside this repository "
            "(or set CLICKBAIT_DATA / --data-dir)")
    # keep_default_na=False: a headline such as "None" or "NA" must stay text.
    frame = pd.read_csv(path, keep_default_na=False, dtype={"headline": str})
    if list(frame.columns) != ["headline", "label"]:
        raise ValueError(f"{path}: expected columns headline,label; got {list(frame.columns)}")
    return frame["headline"].tolist(), frame["label"].to_numpy(dtype="int64")
