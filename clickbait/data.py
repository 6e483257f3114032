"""Reading the labelled headline corpus (../shared/data, never copied into this repository)."""

from __future__ import annotations

import os
from collections.abc import Sequence
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


def _bad_rows(mask: np.ndarray, values: pd.Series, limit: int = 5) -> str:
    """'row 3 ('yes'), row 9 ('')': 1-based data rows (row 1 is the first row after the header)."""
    rows = np.flatnonzero(mask)
    shown = ", ".join(f"row {i + 1} ({values.iloc[i]!r})" for i in rows[:limit])
    return shown + (f" and {len(rows) - limit:,} more" if len(rows) > limit else "")


def read_labelled(path: str | os.PathLike) -> pd.DataFrame:
    """One labelled CSV (`headline,label`, optional `source`; .csv, .csv.gz or .tsv) as a frame
    with columns headline, label (0/1) and source (the file's stem where the column is missing or
    blank). Bad input is an error that names the file and the rows (row 1 = first data row)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    sep = "\t" if path.name.endswith((".tsv", ".tsv.gz")) else ","
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: the file is empty; expected a header headline,label") from None
    except (UnicodeDecodeError, pd.errors.ParserError) as e:
        kind = "TSV" if sep == "\t" else "CSV"
        raise ValueError(f"{path}: cannot be read as UTF-8 {kind}: {e}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in ("headline", "label") if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; expected headline,label "
                         f"(optional source); got {list(frame.columns)}")
    if frame.empty:
        raise ValueError(f"{path}: no rows after the header")
    label = frame["label"].str.strip()
    bad = ~label.isin(["0", "1"])
    if bad.any():
        raise ValueError(f"{path}: label must be 0 (not clickbait) or 1 (clickbait); "
                         f"{_bad_rows(bad.to_numpy(), frame['label'])}")
    blank = frame["headline"].str.strip() == ""
    if blank.any():
        raise ValueError(f"{path}: empty headline in {_bad_rows(blank.to_numpy(), frame['headline'])}")
    stem = path.name.split(".")[0]
    source = frame["source"].str.strip() if "source" in frame.columns else pd.Series(stem, index=frame.index)
    return pd.DataFrame({"headline": frame["headline"], "label": label.astype("int64"),
                         "source": source.where(source != "", stem)})


def load_labelled(paths: str | os.PathLike | Sequence[str | os.PathLike]
                  ) -> tuple[list[str], np.ndarray, list[str]]:
    """(headlines, labels, sources) of one or more labelled CSVs (see `read_labelled`), in file
    order: the training data of `clickbait train --data A.csv --data B.csv`."""
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not paths:
        raise ValueError("no labelled files given")
    frame = pd.concat([read_labelled(p) for p in paths], ignore_index=True)
    return frame["headline"].tolist(), frame["label"].to_numpy(), frame["source"].tolist()


def split_by_source(texts: Sequence[str], labels: np.ndarray, sources: Sequence[str],
                    fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Positions (train, validation): a `fraction` of EACH source held out, stratified by label
    within the source, so that early stopping and the threshold see every source. A source too
    small to stratify is split at random; a single-row source stays in training."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation fraction must be between 0 and 1; got {fraction}")
    labels, sources = np.asarray(labels), np.asarray(sources, dtype=object)
    if not len(labels) == len(sources) == len(texts):
        raise ValueError(f"got {len(texts)} texts, {len(labels)} labels, {len(sources)} sources")
    rng = np.random.default_rng(seed)
    train, valid = [], []
    for source in pd.unique(sources):
        rows = np.flatnonzero(sources == source)
        n_val = min(max(round(fraction * len(rows)), 1), len(rows) - 1)  # 0 for a single row
        counts = np.bincount(labels[rows], minlength=2)
        if n_val and counts[counts > 0].min() >= 2 and n_val >= (counts > 0).sum():
            from sklearn.model_selection import train_test_split

            tr, va = train_test_split(rows, test_size=n_val, stratify=labels[rows],
                                      random_state=int(rng.integers(2**31)))
        else:
            perm = rng.permutation(rows)
            tr, va = perm[n_val:], perm[:n_val]
        train.append(tr)
        valid.append(va)
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(valid))


def development_sources(data_dir: str | os.PathLike | None = None) -> dict[str, pd.DataFrame]:
    """The labelled sources beside the corpus on which settings may be chosen (headline, label):
    downs2014.csv whole, and youtube2018.csv's development channels (`development_channel`);
    the other YouTube channels are left to judge. Missing files are skipped."""
    root = Path(data_dir or DEFAULT_DATA_DIR)
    out = {}
    if (root / "downs2014.csv").is_file():
        out["downs2014"] = read_labelled(root / "downs2014.csv")[["headline", "label"]]
    if (root / "youtube2018.csv").is_file():
        frame = pd.read_csv(root / "youtube2018.csv", keep_default_na=False, dtype={"headline": str})
        dev = frame["channel"].map(development_channel).to_numpy(bool)
        out["youtube2018-development"] = frame.loc[dev, ["headline", "label"]].reset_index(drop=True)
    return out


def development_channel(channel: str) -> bool:
    """A fixed third of youtube2018's channels (by a hash of the name) serves development; the
    adaptation benchmark judges only the others."""
    import hashlib

    return int(hashlib.sha256(str(channel).encode()).hexdigest(), 16) % 3 == 0
