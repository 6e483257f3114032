"""Tables of headlines in and out: CSV, TSV, JSON Lines (each optionally gzipped) and Parquet.

Reading streams chunks of rows (pandas DataFrames with columns 0..n-1, so duplicate or empty
column names survive) with the header kept exactly as written; writing adds columns to those
chunks and writes them in the same order. Nothing is converted on the way through:

- CSV/TSV: every value is read as text and written back as it was ("NA", "null", quotes, commas
  and newlines in quoted fields survive; a UTF-8 BOM is dropped; output is UTF-8).
- JSON Lines: one object per line; the keys of the first line are the columns (a later line may
  leave some out: empty there; a key the first line lacks is an error naming the line). Values
  keep their JSON types.
- Parquet (pyarrow): read in record batches of the chunk size, written with one ParquetWriter, a
  row group per chunk; the input's column types are kept.

The format comes from the extension (.csv, .tsv/.tab, .jsonl/.ndjson, .parquet/.pq; `.gz` after a
text format's extension means gzip), or from `format=` (`--format`); an unknown extension is an
error naming it. `-` is stdin/stdout: CSV unless a format is given (gzip on stdin is recognised
by its magic bytes; Parquet on stdin is read into memory first, as the format needs seeking).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import stat
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

import numpy as np
import pandas as pd

from .errors import InputError
from .files import OutputFile

FORMATS = ("csv", "tsv", "jsonl", "parquet")
EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
              ".parquet": "parquet", ".pq": "parquet"}
_SEPARATORS = {"csv": ",", "tsv": "\t"}
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
                "(each optionally .gz) or .parquet, or give the format (--format "
                f"{{{','.join(FORMATS)}}})")
        format = EXTENSIONS[ext]
    if gz and format == "parquet":
        raise InputError(f"{path}: Parquet compresses its own pages; a gzipped .parquet is not read "
                         "or written (drop the .gz)")
    return format, gz


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
                f"{e.encoding}; give the file's encoding with --encoding (e.g. latin-1), or "
                "--encoding-errors replace to replace bad bytes (they are counted)") from None
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
               stdin: IO | None = None) -> TableInput:
    """Open a table for chunked reading (see the module docstring for the formats)."""
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
        return _open_delimited(reader, name, fmt, batch_size, closers)
    except BaseException:
        for c in closers:
            c.close()
        raise


def _open_delimited(reader: _DecodingReader, name: str, fmt: str, batch_size: int,
                    closers: list) -> TableInput:
    """CSV/TSV, every value as text. The header row is read as data (header=None) so that column
    names are kept exactly, even duplicated or empty ones, which pandas would rename. A quoted
    field may hold commas and newlines; a row with too few fields, or a blank line, is padded
    with empty values."""
    sep = _SEPARATORS[fmt]
    try:
        frames = pd.read_csv(reader, sep=sep, header=None, dtype=str, na_filter=False,
                             keep_default_na=False, chunksize=batch_size, engine="c",
                             skip_blank_lines=False)  # a blank line is a row with no text
        first = next(frames, None)
    except pd.errors.EmptyDataError:
        raise InputError(f"{name} is empty: no header row, so no headlines to score") from None
    except pd.errors.ParserError as e:
        raise InputError(f"{name}: not a readable {fmt.upper()} file: {e}") from None
    if first is None or len(first) == 0:
        raise InputError(f"{name} is empty: no header row, so no headlines to score")
    header = ["" if v is None else str(v) for v in first.iloc[0].tolist()]

    def chunks() -> Iterator[pd.DataFrame]:
        rest = first.iloc[1:]
        if len(rest):
            yield rest
        try:
            yield from frames
        except pd.errors.ParserError as e:
            raise InputError(f"{name}: malformed row: {e}") from None

    return TableInput(name, fmt, header, chunks(), _reader=reader, _closers=closers)


def _jsonl_lines(reader: _DecodingReader, name: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) of each non-blank line."""
    buffer, number = "", 0
    while True:
        block = reader.read(1 << 20)
        lines = (buffer + block).split("\n")
        buffer = lines.pop() if block else ""
        for line in lines:
            number += 1
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{name}, line {number}: not JSON ({e.msg} at column {e.colno})") from None
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


# -- writing ----------------------------------------------------------------------------------
def _missing(values: pd.Series) -> np.ndarray:
    return values.isna().to_numpy(dtype=bool)


def _python_values(values: pd.Series) -> list:
    """The column as plain Python values, None where missing (for JSON, which has no NaN)."""
    if isinstance(values.dtype, pd.ArrowDtype):
        import pyarrow as pa

        out = pa.array(values).to_pylist()
        if pa.types.is_floating(values.dtype.pyarrow_dtype):
            out = [None if v is not None and v != v else v for v in out]
        return out
    out = values.astype(object).tolist()
    for i in np.flatnonzero(_missing(values)):
        out[i] = None
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _text_values(values: pd.Series, float_format: str | None) -> pd.Series:
    """Floats that this tool added, formatted for a text file (empty where missing)."""
    if float_format is None or values.dtype != np.float64:
        return values
    v = values.to_numpy()
    return pd.Series(np.where(np.isnan(v), "", np.char.mod(float_format, np.nan_to_num(v))),
                     index=values.index, dtype=object)


class TableOutput:
    """A table being written: `write(chunk, added)` appends the rows of `chunk` (columns as read)
    with the `added` columns after them; `commit()` renames the finished file into place."""

    def __init__(self, path: str | os.PathLike, header: list[str], added: list[str], *,
                 format: str | None = None, force: bool = False, stdout: IO | None = None,
                 input_schema: Any = None, float_format: str = "%.6f"):
        self.format, gz = detect(path, format)
        self.header, self.added = list(header), list(added)
        self.columns = self.header + self.added
        self.float_format = float_format
        self._input_schema = input_schema
        if self.format == "jsonl" and len(set(self.columns)) < len(self.columns):
            dupes = sorted({c for c in self.columns if self.columns.count(c) > 1})
            raise InputError(f"JSON Lines output needs distinct column names; repeated: {dupes}")
        # files.OutputFile: a private temporary beside OUTPUT, renamed into place by commit();
        # stdout, a FIFO or a device is written in place. Text formats gzip by a .gz name.
        self._out = OutputFile(path, force=force, stdout=stdout, binary=self.format == "parquet",
                               compress=gz and self.format != "parquet")
        self._writer = None  # pyarrow's ParquetWriter, made with the first chunk
        self._text: TextIO | None = None if self.format == "parquet" else self._out.handle
        try:
            if self.format in _SEPARATORS:
                csv.writer(self._text, delimiter=_SEPARATORS[self.format], lineterminator="\n",
                           quoting=_quoting([pd.Series(self.columns, dtype=object)])
                           ).writerow(self.columns)
        except BaseException:
            self._out.abort()
            raise

    def write(self, chunk: pd.DataFrame, added: dict[str, Any]) -> None:
        columns = [chunk.iloc[:, j] for j in range(chunk.shape[1])]
        columns += [pd.Series(np.asarray(v) if not isinstance(v, pd.api.extensions.ExtensionArray)
                              else v, index=chunk.index) for v in added.values()]
        if self.format in _SEPARATORS:
            frame = pd.concat([_text_values(c, self.float_format) if j >= len(self.header) else c
                               for j, c in enumerate(columns)], axis=1, ignore_index=True)
            frame.to_csv(self._text, sep=_SEPARATORS[self.format], header=False, index=False,
                         lineterminator="\n", na_rep="", quoting=_quoting(columns[: len(self.header)]))
        elif self.format == "jsonl":
            values = [_python_values(c) for c in columns]
            lines = [json.dumps(dict(zip(self.columns, row, strict=True)), ensure_ascii=False,
                                default=_json_default, allow_nan=False)
                     for row in zip(*values, strict=True)]
            self._text.write("".join(line + "\n" for line in lines))
        else:
            self._write_parquet(columns)

    def _write_parquet(self, columns: list[pd.Series]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            fields = []
            for j, (name, c) in enumerate(zip(self.columns, columns, strict=True)):
                if self._input_schema is not None and j < len(self.header):
                    fields.append(self._input_schema.field(j))
                    continue
                kind = _arrow_array(c, None).type
                fields.append(pa.field(name, pa.string() if pa.types.is_null(kind) else kind))
            self._schema = pa.schema(fields)
            self._writer = pq.ParquetWriter(self._out.handle, self._schema)
        arrays = []
        for j, c in enumerate(columns):
            field_ = self._schema.field(j)
            try:
                arrays.append(_arrow_array(c, field_.type))
            except (pa.ArrowException, TypeError, ValueError) as e:
                raise InputError(f"column {field_.name!r} does not fit Parquet type {field_.type} "
                                 f"(set by the first chunk): {e}") from None
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.close()
        elif self.format == "parquet":  # no rows: still a valid file with the columns
            import pyarrow as pa
            import pyarrow.parquet as pq

            fields = list(self._input_schema) if self._input_schema is not None else \
                [pa.field(c, pa.string()) for c in self.header]
            fields += [pa.field(c, t) for c, t in zip(self.added, (pa.float64(), pa.int64(), pa.string()),
                                                         strict=False)]
            pq.ParquetWriter(self._out.handle, pa.schema(fields)).close()
        self._out.commit()

    def abort(self) -> None:
        self._out.abort()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        return False


def _arrow_array(values: pd.Series, kind):
    """A pyarrow array of a column (object columns of mixed JSON values become JSON text)."""
    import pyarrow as pa

    try:
        return pa.array(values, type=kind, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        if kind is not None and not pa.types.is_string(kind):
            raise
        text = [None if v is None else v if isinstance(v, str) else json.dumps(v, default=_json_default)
                for v in _python_values(values)]
        return pa.array(text, type=pa.string())
