"""Writing tables (see clickbait/formats.py): the input's rows and columns unchanged, the added
columns after them, through one private temporary renamed into place (files.OutputFile)."""

from __future__ import annotations

import contextlib
import csv
import json
import os
from typing import IO, Any, TextIO

import numpy as np
import pandas as pd

from .errors import InputError
from .files import OutputFile
from .table_format import _SEPARATORS, _quoting, check_tsv_quoting, detect


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
    # `%` in a list comprehension: the same text as np.char.mod, in a third of its time (it
    # runs in the thread that writes, while the model workers wait for the interpreter lock)
    return pd.Series(["" if x != x else float_format % x for x in values.to_numpy().tolist()],
                     index=values.index, dtype=object)


def _plain_texts(columns: list[pd.Series]) -> list[list[str]] | None:
    """The columns as lists of str ("" where missing), as `to_csv` would write them, when each is
    all text (as CSV and TSV input is read) or a nullable integer (the added labels); else None
    (other types go through pandas)."""
    out = []
    for c in columns:
        if c.dtype == object:
            values = c.tolist()
            if pd.api.types.infer_dtype(values, skipna=False) != "string":
                return None
        elif isinstance(c.dtype, pd.Int64Dtype):
            missing = c.isna().to_numpy()
            values = np.where(missing, "", c.to_numpy(dtype="int64", na_value=0).astype(str)).tolist()
        else:
            return None
        out.append(values)
    return out


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
            texts = _plain_texts(columns)
            if texts is not None:  # the csv module straight from lists, without to_csv's conversions
                crs = any("\r" in "\n".join(t) for t in texts)  # see _quoting
                writer = csv.writer(self._text, delimiter=sep, quotechar='"', doublequote=True,
                                    lineterminator="\n", quoting=csv.QUOTE_ALL if crs else csv.QUOTE_MINIMAL)
                writer.writerows(zip(*texts, strict=True))
                return
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
