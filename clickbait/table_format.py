"""Table formats (see clickbait/formats.py): the format names and extensions, and which format a
path (or `-`) is."""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path

import pandas as pd

from .errors import InputError

FORMATS = ("csv", "tsv", "jsonl", "parquet")
EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
              ".parquet": "parquet", ".pq": "parquet"}
_SEPARATORS = {"csv": ",", "tsv": "\t"}
TSV_QUOTINGS = ("rfc4180", "none")
FIELD_LIMIT = 1 << 24  # characters in one field (Python's csv default, 131,072, is too few)
_GZIP_MAGIC = b"\x1f\x8b"


def is_stdio(path: str | os.PathLike) -> bool:
    return str(path) == "-"


def _is_stream(path: str | os.PathLike) -> bool:
    """`-`, or an existing FIFO or character device (/dev/stdout, a named pipe)."""
    if is_stdio(path):
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def _quoting(columns: list[pd.Series]) -> int:
    """csv quoting for a chunk: minimal, unless a text value holds a carriage return, which
    minimal quoting with a "\\n" line end leaves bare, and which readers take for a line break
    (a row split in two); then every field is quoted (valid CSV, read back the same)."""
    for c in columns:
        if c.dtype == object or pd.api.types.is_string_dtype(c.dtype):
            try:
                if c.str.contains("\r", regex=False, na=False).any():
                    return csv.QUOTE_ALL
            except AttributeError:  # an object column without strings
                continue
    return csv.QUOTE_MINIMAL


def detect(path: str | os.PathLike, format: str | None = None) -> tuple[str, bool]:
    """(format, gzipped) of `path`: `format` if given, else from the extension; `-` (or a FIFO or
    device without a known extension) is CSV unless told. An unknown extension is an InputError
    naming it."""
    if format is not None and format not in FORMATS:
        raise InputError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    if is_stdio(path):
        return format or "csv", False
    name = Path(path).name.lower()
    gz = name.endswith(".gz")
    stem = name.removesuffix(".gz")
    ext = Path(stem).suffix
    if format is None and ext not in EXTENSIONS and _is_stream(path):
        return "csv", gz
    if format is None:
        if ext not in EXTENSIONS:
            shown = repr(ext + (".gz" if gz else "")) if ext else "no extension"
            raise InputError(
                f"{path}: cannot tell the format from {shown}; name it .csv, .tsv, .jsonl "
                "(each optionally .gz) or .parquet, or give the format (format= one of "
                f"{{{','.join(FORMATS)}}})")
        format = EXTENSIONS[ext]
    if gz and format == "parquet":
        raise InputError(f"{path}: Parquet compresses its own pages; a gzipped .parquet is not read "
                         "or written (drop the .gz)")
    return format, gz


def check_tsv_quoting(value: str) -> str:
    if value not in TSV_QUOTINGS:
        raise ValueError(f"tsv_quoting must be one of {TSV_QUOTINGS}; got {value!r}")
    return value
