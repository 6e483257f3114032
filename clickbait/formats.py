"""Tables of headlines in and out: CSV, TSV, JSON Lines (each optionally gzipped) and Parquet.

Reading streams chunks of rows (pandas DataFrames with columns 0..n-1, so duplicate or empty
column names survive) with the header kept exactly as written; writing adds columns to those
chunks and writes them in the same order. Nothing is converted on the way through:

- CSV/TSV: every value is read as text and written back as it was ("NA", "null", quotes, commas
  and newlines in quoted fields survive; a UTF-8 BOM is dropped; output is UTF-8). Quoting is
  RFC 4180 (a field that starts with `"` ends with `"`, a quote inside is doubled): a quote that
  breaks that rule is an error naming the line, never silently dropped or run on into the next
  rows. TSV can be read and written without quoting instead (`tsv_quoting="none"`: tabs and
  line ends separate, a `"` is text like any other; a value holding a tab or a line end
  cannot be written then, and is an error naming its row).
- JSON Lines: one object per line; the keys of the first line are the columns (a later line may
  leave some out: empty there; a key the first line lacks is an error naming the line). Values
  keep their JSON types; NaN, Infinity or a number too large for a float (1e400) is an error
  naming the line and the key (JSON has no such numbers, and no output could hold them).
- Parquet (pyarrow): read in record batches of the chunk size, written with one ParquetWriter, a
  row group per chunk; the input's column types are kept (text for CSV/TSV input). JSON Lines
  carry no schema: their columns' types are widened over the whole input (integers and floats
  to float when exact, else to JSON text), never cut to the first chunk's (see TableOutput).
  The columns this tool adds have the same types for 0 rows as for n.

The format comes from the extension (.csv, .tsv/.tab, .jsonl/.ndjson, .parquet/.pq; `.gz` after a
text format's extension means gzip), or from `format=` (`--format`); an unknown extension is an
error naming it. `-` is stdin/stdout: CSV unless a format is given (gzip on stdin is recognised
by its magic bytes; Parquet on stdin is read into memory first, as the format needs seeking).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import json
import math
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


def check_tsv_quoting(value: str) -> str:
    if value not in TSV_QUOTINGS:
        raise ValueError(f"tsv_quoting must be one of {TSV_QUOTINGS}; got {value!r}")
    return value


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
    with the `added` columns after them; `commit()` renames the finished file into place.

    Parquet: `input_schema` (a pyarrow schema: a Parquet input's, or all text for CSV/TSV; see
    `TableInput.arrow_schema`) fixes the input columns' types, `added_types` (pyarrow type
    names) the added ones', so 0 rows get the same columns and types as n. Without a schema
    (JSON Lines), the chunks are spooled to a private temporary file, each column's type is
    widened over all of them (int and float to float when every integer is exact in a float,
    else to JSON text; anything else that differs to JSON text), and the file is written from
    the spool at `commit()`: a later chunk never has its values cut to the first chunk's type.
    TSV with `tsv_quoting="none"` writes no quotes: a value holding a tab or a line end is an
    InputError naming its row and column."""

    def __init__(self, path: str | os.PathLike, header: list[str], added: list[str], *,
                 format: str | None = None, force: bool = False, stdout: IO | None = None,
                 input_schema: Any = None, float_format: str = "%.6f",
                 added_types: list[str] | None = None, tsv_quoting: str = "rfc4180"):
        self.format, gz = detect(path, format)
        self.header, self.added = list(header), list(added)
        self.columns = self.header + self.added
        self.float_format = float_format
        self._input_schema = input_schema
        self._added_types = list(added_types) if added_types is not None else [None] * len(self.added)
        if len(self._added_types) != len(self.added):
            raise ValueError(f"added_types: {len(self._added_types)} types for {len(self.added)} columns")
        self._quoted = self.format == "csv" or check_tsv_quoting(tsv_quoting) == "rfc4180"
        self._rows = 0
        if self.format == "jsonl" and len(set(self.columns)) < len(self.columns):
            dupes = sorted({c for c in self.columns if self.columns.count(c) > 1})
            raise InputError(f"JSON Lines output needs distinct column names; repeated: {dupes}")
        # files.OutputFile: a private temporary beside OUTPUT, renamed into place by commit();
        # stdout, a FIFO or a device is written in place. Text formats gzip by a .gz name.
        self._out = OutputFile(path, force=force, stdout=stdout, binary=self.format == "parquet",
                               compress=gz and self.format != "parquet")
        self._writer = None  # pyarrow's ParquetWriter
        self._spool: IO[bytes] | None = None  # JSON Lines -> Parquet: chunks kept until commit
        self._types: list = []  # ... and each input column's type, widened chunk by chunk
        self._inexact: list[bool] = []  # ... and whether an integer column holds one beyond 2**53
        self._text: TextIO | None = None if self.format == "parquet" else self._out.handle
        try:
            if self.format in _SEPARATORS:
                self._write_delimited([pd.Series([c], dtype=object) for c in self.columns], header=True)
        except BaseException:
            self._out.abort()
            raise

    def write(self, chunk: pd.DataFrame, added: dict[str, Any]) -> None:
        columns = [chunk.iloc[:, j] for j in range(chunk.shape[1])]
        columns += [pd.Series(np.asarray(v) if not isinstance(v, pd.api.extensions.ExtensionArray)
                              else v, index=chunk.index) for v in added.values()]
        if self.format in _SEPARATORS:
            self._write_delimited([_text_values(c, self.float_format) if j >= len(self.header) else c
                                   for j, c in enumerate(columns)])
        elif self.format == "jsonl":
            values = [_python_values(c) for c in columns]
            lines = [json.dumps(dict(zip(self.columns, row, strict=True)), ensure_ascii=False,
                                default=_json_default, allow_nan=False)
                     for row in zip(*values, strict=True)]
            self._text.write("".join(line + "\n" for line in lines))
        else:
            self._write_parquet(columns)
        self._rows += len(chunk)

    def _write_delimited(self, columns: list[pd.Series], header: bool = False) -> None:
        sep = _SEPARATORS[self.format]
        if self._quoted:
            frame = pd.concat(columns, axis=1, ignore_index=True)
            frame.to_csv(self._text, sep=sep, header=False, index=False, lineterminator="\n",
                         na_rep="", quoting=_quoting(columns[: len(self.header)]))
            return
        texts = []
        for j, c in enumerate(columns):
            text = c.astype(object).where(c.notna().to_numpy(), "").astype(str)
            bad = text.str.contains(r"[\t\n\r]", regex=True).to_numpy()
            if bad.any():
                where = "the header" if header else f"row {self._rows + int(np.argmax(bad)) + 1}"
                raise InputError(f"{where}, column {self.columns[j]!r}: a tab or a line end, which "
                                 'TSV without quoting (tsv_quoting="none") cannot '
                                 "hold; write CSV or quoted TSV instead")
            texts.append(text.tolist())
        self._text.write("".join(sep.join(row) + "\n" for row in zip(*texts, strict=True)))

    # -- Parquet ---------------------------------------------------------------------------
    def _fixed_types(self) -> list:
        """Per column, its pyarrow type where it is known before any row (the input schema's,
        `added_types`), else None: inferred from the values."""
        import pyarrow as pa

        head = list(self._input_schema.types) if self._input_schema is not None else [None] * len(self.header)
        return head + [None if t is None else pa.type_for_alias(t) for t in self._added_types]

    def _arrays(self, columns: list[pd.Series], types: list) -> list:
        """pyarrow arrays of a chunk's columns (a type of None: inferred, see _arrow_array)."""
        import pyarrow as pa

        arrays = []
        for j, (c, kind) in enumerate(zip(columns, types, strict=True)):
            try:
                arrays.append(_arrow_array(c, kind))
            except (pa.ArrowException, TypeError, ValueError) as e:
                raise InputError(f"column {self.columns[j]!r} does not fit Parquet type {kind} "
                                 f"(the input's): {e}") from None
        return arrays

    def _write_parquet(self, columns: list[pd.Series]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        fixed = self._fixed_types()
        if self._input_schema is not None:  # the input's types are known: write as it comes
            if self._writer is None:  # added columns of no given type: the first chunk's
                self._types = [_arrow_array(c, None).type if k is None else k
                               for c, k in zip(columns, fixed, strict=True)]
                self._writer = pq.ParquetWriter(self._out.handle, self._schema())
            arrays = self._arrays(columns, list(self._writer.schema.types))
            self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._writer.schema))
            return
        from .files import spool_file

        arrays = self._arrays(columns, fixed)
        if self._spool is None:
            self._spool = spool_file()
            self._types = list(fixed)
            self._inexact = [False] * len(fixed)
        for j, k in enumerate(fixed):
            if k is None:
                self._types[j] = _widen(self._types[j], arrays[j].type)
                self._inexact[j] |= _beyond_float(arrays[j])
        table = pa.Table.from_arrays(arrays, names=[str(j) for j in range(len(arrays))])
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        data = sink.getvalue()
        self._spool.write(len(data).to_bytes(8, "little"))
        self._spool.write(data)

    def _schema(self):
        """The output's schema: known types, else the widened ones (text where unknown: no
        rows, or only nulls; or integers a float would round)."""
        import pyarrow as pa

        kinds = self._types or self._fixed_types()
        inexact = self._inexact or [False] * len(kinds)
        fields = []
        for name, kind, rounds in zip(self.columns, kinds, inexact, strict=True):
            if kind is None or pa.types.is_null(kind) or (rounds and pa.types.is_floating(kind)):
                kind = pa.string()
            fields.append(pa.field(name, kind))
        return pa.schema(fields)

    def _write_spooled(self) -> None:
        """Write the spooled chunks, each column cast to its widened type."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = self._schema()
        self._writer = pq.ParquetWriter(self._out.handle, schema)
        if self._spool is None:
            return
        self._spool.seek(0)
        while size := int.from_bytes(self._spool.read(8) or b"\0", "little"):
            table = pa.ipc.open_stream(self._spool.read(size)).read_all()
            arrays = [_cast(table.column(j).combine_chunks(), schema.field(j).type)
                      for j in range(table.num_columns)]
            self._writer.write_table(pa.Table.from_arrays(arrays, schema=schema))

    def commit(self) -> None:
        if self.format == "parquet":
            if self._writer is None and self._input_schema is not None:  # no rows
                import pyarrow.parquet as pq

                self._writer = pq.ParquetWriter(self._out.handle, self._schema())
            elif self._writer is None:
                self._write_spooled()
            self._writer.close()
            if self._spool is not None:
                self._spool.close()
        self._out.commit()

    def abort(self) -> None:
        """Remove every trace of the output; pyarrow's writer is closed here, so that no
        traceback follows the error from its finaliser."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            with contextlib.suppress(Exception):
                writer.close()
        if self._spool is not None:
            self._spool.close()
        self._out.abort()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        return False


_EXACT = 2 ** 53  # integers up to this size are exact in a float64


def _widen(a, b):
    """The narrowest of the types that hold every value of pyarrow types `a` and `b`: null
    gives way to anything; an integer and a float make a float (exactness is checked apart);
    any other difference makes text."""
    import pyarrow as pa

    if a is None or pa.types.is_null(a):
        return b
    if pa.types.is_null(b) or a == b:
        return a
    numbers = (pa.types.is_integer, pa.types.is_floating)
    if any(f(a) for f in numbers) and any(f(b) for f in numbers):
        return pa.float64()
    return pa.string()


def _beyond_float(array) -> bool:
    """Whether an integer array holds a value that a float64 would round."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_integer(array.type) or len(array) == array.null_count:
        return False
    return max(abs(pc.min(array).as_py()), abs(pc.max(array).as_py())) > _EXACT


def _cast(array, kind):
    """A spooled column in its widened type: exact casts between numbers, else JSON text."""
    import pyarrow as pa

    if array.type == kind:
        return array
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), kind)
    if pa.types.is_string(kind):
        return pa.array([None if v is None else v if isinstance(v, str)
                         else json.dumps(v, ensure_ascii=False, default=_json_default)
                         for v in array.to_pylist()], type=pa.string())
    return array.cast(kind, safe=True)


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
