"""Reading tables (see clickbait/formats.py): CSV/TSV (RFC 4180, or TSV without quoting), JSON
Lines and Parquet, optionally gzipped, in chunks of rows with the header kept as written."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import math
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from .errors import InputError
from .table_format import (
    _GZIP_MAGIC,
    _SEPARATORS,
    FIELD_LIMIT,
    _is_stream,
    check_tsv_quoting,
    detect,
    is_stdio,
)


# -- reading ----------------------------------------------------------------------------------
class _DecodingReader(io.TextIOBase):
    """Decodes a byte stream for pandas, so that a bad byte is reported with its offset in the
    file (pandas' own UnicodeDecodeError only knows its internal buffer) and replacements can
    be counted. A UTF-8 byte-order mark is dropped."""

    def __init__(self, raw, encoding: str, errors: str, name: str):
        self._raw, self._name = raw, name
        self._utf8 = codecs.lookup(encoding).name == "utf-8"
        self.replaced = 0
        handler = "strict"
        if errors != "strict":
            handler = f"clickbait-{errors}-{id(self)}"
            base = codecs.lookup_error(errors)

            def count(e: UnicodeError):
                self.replaced += 1
                return base(e)

            codecs.register_error(handler, count)
        self._decoder = codecs.getincrementaldecoder(encoding)(errors=handler)
        self._consumed = 0  # bytes read from the stream so far
        self._first = True

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        try:
            block = self._raw.read(size if size and size > 0 else 1 << 20)
        except (OSError, EOFError, zlib.error) as e:  # a damaged or truncated .gz
            raise InputError(f"{self._name}: cannot be read: {e}") from None
        pending = self._decoder.getstate()[0] if hasattr(self._decoder, "getstate") else b""
        try:
            text = self._decoder.decode(block, final=not block)
        except UnicodeDecodeError as e:
            offset = self._consumed - len(pending) + e.start
            raise InputError(
                f"{self._name}: byte {offset} (0x{e.object[e.start]:02x}) is not valid "
                f"{e.encoding}; give the file's encoding with encoding=NAME (e.g. latin-1), "
                'or encoding_errors="replace" to replace bad bytes (they are counted)') from None
        self._consumed += len(block)
        if self._first and text:
            self._first = False
            if self._utf8 and text.startswith("\ufeff"):
                text = text[1:]
        return text


@dataclass
class TableInput:
    """A table being read: its header (exactly as written, duplicates included), format, and
    the data rows in chunks (DataFrames with columns 0..n-1)."""

    name: str
    format: str
    header: list[str]
    chunks: Iterator[pd.DataFrame]
    schema: Any = None  # the pyarrow schema of a Parquet input (its types are kept on output)
    _reader: _DecodingReader | None = field(default=None, repr=False)
    _closers: list = field(default_factory=list, repr=False)

    @property
    def sep(self) -> str:
        return _SEPARATORS.get(self.format, ",")

    @property
    def replaced(self) -> int:
        """Undecodable bytes replaced so far (with encoding_errors="replace")."""
        return self._reader.replaced if self._reader is not None else 0

    def arrow_schema(self):
        """The pyarrow schema of the input columns where the input fixes one: a Parquet input's
        own, all text for CSV/TSV; None for JSON Lines (its values carry their own types)."""
        if self.schema is not None or self.format == "jsonl":
            return self.schema
        import pyarrow as pa

        return pa.schema([pa.field(name, pa.string()) for name in self.header])

    def close(self) -> None:
        for c in self._closers:
            c.close()


def _open_bytes(path, stdin: IO | None, closers: list, gz: bool) -> IO[bytes]:
    """A binary stream of the input, decompressed when gzipped (stdin: by its magic bytes)."""
    if is_stdio(path):
        stream = stdin if stdin is not None else sys.stdin
        raw = getattr(stream, "buffer", stream)
        if isinstance(raw, io.TextIOBase):  # an already-decoded text stream (tests, notebooks)
            raw = io.BytesIO(raw.read().encode("utf-8"))
        if not hasattr(raw, "peek"):
            raw = io.BufferedReader(raw)
        if raw.peek(2)[:2] == _GZIP_MAGIC:
            raw = gzip.GzipFile(fileobj=raw, mode="rb")
        return raw
    if Path(path).is_dir():
        raise InputError(f"{path} is a directory, not a file of headlines")
    if not Path(path).is_file() and not _is_stream(path):
        raise FileNotFoundError(f"{path}: no such file")
    raw = gzip.open(path, "rb") if gz else open(path, "rb")
    closers.append(raw)
    return raw


def open_input(path: str | os.PathLike, *, format: str | None = None, batch_size: int = 8192,
               encoding: str = "utf-8", encoding_errors: str = "strict",
               stdin: IO | None = None, tsv_quoting: str = "rfc4180") -> TableInput:
    """Open a table for chunked reading (see the module docstring for the formats)."""
    check_tsv_quoting(tsv_quoting)
    fmt, gz = detect(path, format)
    name = "<stdin>" if is_stdio(path) else str(path)
    closers: list = []
    try:
        raw = _open_bytes(path, stdin, closers, gz)
        if fmt == "parquet":
            return _open_parquet(raw, name, batch_size, closers)
        reader = _DecodingReader(raw, encoding, encoding_errors, name)
        if fmt == "jsonl":
            return _open_jsonl(reader, name, batch_size, closers)
        return _open_delimited(reader, name, fmt, batch_size, closers,
                               quoted=fmt == "csv" or tsv_quoting == "rfc4180")
    except BaseException:
        for c in closers:
            c.close()
        raise


def _lines(reader: _DecodingReader) -> Iterator[str]:
    """The text as lines, each with its own end (\\n, \\r\\n or \\r), as csv.reader reads them."""
    pending = ""
    while True:
        block = reader.read(1 << 20)
        if not block:
            if pending:
                yield pending
            return
        text = pending + block
        cut = len(text) - 1 if text.endswith("\r") else len(text)  # "\r\n" may span two blocks
        lines = io.StringIO(text[:cut], newline="").readlines()
        pending = text[cut:]
        if lines and not lines[-1].endswith(("\n", "\r")):
            pending = lines.pop() + pending
        yield from lines


def _open_delimited(reader: _DecodingReader, name: str, fmt: str, batch_size: int,
                    closers: list, quoted: bool = True) -> TableInput:
    """CSV/TSV, every value as text, read by Python's csv module in strict mode: a quote that is
    not RFC 4180 (`"Frozen" star says`, a quoted field never closed) is an InputError naming the
    line where its row starts, where a lenient parser would drop the quotes or run the field on
    into the following rows. With `quoted` False (TSV only), quotes are plain text. The header
    row is kept exactly, even duplicated or empty names; a row with too few fields, or a blank
    line, is padded with empty values; a row with too many is an error naming its line."""
    sep = _SEPARATORS[fmt]
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    dialect = {"delimiter": sep, "quotechar": '"', "doublequote": True, "strict": True,
               "skipinitialspace": False, "quoting": csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE}
    parsed = csv.reader(_lines(reader), **dialect)

    def records() -> Iterator[tuple[int, list[str]]]:
        while True:
            line = parsed.line_num + 1
            try:
                row = next(parsed)
            except StopIteration:
                return
            except csv.Error as e:
                hint = ' (tsv_quoting="none" reads quotes as text)' \
                    if fmt == "tsv" else ""
                raise InputError(
                    f"{name}, line {line}: not RFC 4180 {fmt.upper()} quoting ({e}): a field that "
                    'starts with " must end with ", with each " inside written twice ("");'
                    f" fix the quoting{hint}") from None
            yield line, row

    rows = records()
    first = next(rows, None)
    if first is None:
        raise InputError(f"{name} is empty: no header row, so no headlines to score")
    header = first[1] or [""]
    width = len(header)

    def frame(batch: list[list[str]]) -> pd.DataFrame:
        return pd.DataFrame(batch, columns=range(width), dtype=object)

    def chunks() -> Iterator[pd.DataFrame]:
        batch: list[list[str]] = []
        for line, row in rows:
            if len(row) != width:
                if len(row) > width:
                    what = "comma" if fmt == "csv" else "tab"
                    raise InputError(f"{name}, line {line}: {len(row)} fields, but the header has "
                                     f"{width}; quote fields that hold a {what}")
                row = row + [""] * (width - len(row))
            batch.append(row)
            if len(batch) == batch_size:
                yield frame(batch)
                batch = []
        if batch:
            yield frame(batch)

    return TableInput(name, fmt, header, chunks(), _reader=reader, _closers=closers)


class _NonFinite(float):
    """A NaN, Infinity or overflowing number met while parsing (kept as its text for the error)."""

    def __new__(cls, text: str):
        self = super().__new__(cls, "nan")
        self.text = text
        return self


def _find_non_finite(value: Any, key: str) -> tuple[str, str] | None:
    """(key path, text) of the first non-finite number in a parsed JSON value."""
    if isinstance(value, _NonFinite):
        return key, value.text
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        found = _find_non_finite(v, f"{key}[{k!r}]" if key else repr(k))
        if found:
            return found
    return None


def _jsonl_lines(reader: _DecodingReader, name: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) of each non-blank line. NaN, Infinity and numbers beyond a float's
    range are refused here, naming the line and key: accepted, they would fail only when the
    output is written (JSON has no such numbers), naming nothing."""
    buffer, number = "", 0
    bad: list[str] = []

    def non_finite(text: str) -> float:
        bad.append(text)
        return _NonFinite(text)

    def real(text: str) -> float:
        value = float(text)
        return value if math.isfinite(value) else non_finite(text)

    while True:
        block = reader.read(1 << 20)
        lines = (buffer + block).split("\n")
        buffer = lines.pop() if block else ""
        for line in lines:
            number += 1
            if not line.strip():
                continue
            try:
                obj = json.loads(line, parse_constant=non_finite, parse_float=real)
            except json.JSONDecodeError as e:
                raise InputError(f"{name}, line {number}: not JSON ({e.msg} at column {e.colno})") from None
            if bad:
                key, text = _find_non_finite(obj, "") or ("?", bad[0])
                raise InputError(f"{name}, line {number}, key {key}: {text} is not a finite number "
                                 "(JSON has no NaN or infinity, and no output could hold it); "
                                 "write it as null or as a string")
            if not isinstance(obj, dict):
                raise InputError(f"{name}, line {number}: expected a JSON object per line, "
                                 f"got {type(obj).__name__}")
            yield number, obj
        if not block:
            return


def _open_jsonl(reader: _DecodingReader, name: str, batch_size: int, closers: list) -> TableInput:
    lines = _jsonl_lines(reader, name)
    first = next(lines, None)
    if first is None:
        raise InputError(f"{name} is empty: no JSON objects, so no headlines to score")
    header = list(first[1])
    known = set(header)

    def chunks() -> Iterator[pd.DataFrame]:
        rows: list[list] = []
        for number, obj in _chain(first, lines):
            extra = obj.keys() - known
            if extra:
                raise InputError(f"{name}, line {number}: key(s) {sorted(extra)} that the first "
                                 f"line does not have; the columns are {header}")
            rows.append([obj.get(k) for k in header])
            if len(rows) == batch_size:
                yield _object_frame(rows, len(header))
                rows = []
        if rows:
            yield _object_frame(rows, len(header))

    return TableInput(name, "jsonl", header, chunks(), _reader=reader, _closers=closers)


def _chain(first, rest):
    yield first
    yield from rest


def _object_frame(rows: list[list], width: int) -> pd.DataFrame:
    frame = pd.DataFrame(np.empty((len(rows), width), dtype=object))
    for j in range(width):
        frame[j] = pd.Series([r[j] for r in rows], dtype=object)
    return frame


def _open_parquet(raw: IO[bytes], name: str, batch_size: int, closers: list) -> TableInput:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not (hasattr(raw, "seekable") and raw.seekable()) or isinstance(raw, gzip.GzipFile):
        raw = io.BytesIO(raw.read())  # stdin: Parquet's footer is at the end
    try:
        parquet = pq.ParquetFile(raw)
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{name}: not a readable Parquet file: {e}") from None
    closers.append(parquet)
    schema = parquet.schema_arrow

    def chunks() -> Iterator[pd.DataFrame]:
        try:
            for batch in parquet.iter_batches(batch_size=batch_size):
                frame = batch.to_pandas(types_mapper=pd.ArrowDtype)
                frame.columns = range(batch.num_columns)
                yield frame
        except pa.ArrowException as e:
            raise InputError(f"{name}: unreadable Parquet data: {e}") from None

    return TableInput(name, "parquet", list(schema.names), chunks(), schema=schema, _closers=closers)
