"""Tables of headlines in and out: CSV, TSV, JSON Lines (each optionally gzipped) and Parquet.

Import them from here: the format names and detection live in `table_format.py`, reading in
`table_input.py`, writing in `table_output.py`.

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

from .table_format import EXTENSIONS, FIELD_LIMIT, FORMATS, TSV_QUOTINGS, check_tsv_quoting, detect, is_stdio
from .table_input import TableInput, open_input
from .table_output import TableOutput

__all__ = ["EXTENSIONS", "FIELD_LIMIT", "FORMATS", "TSV_QUOTINGS", "TableInput", "TableOutput",
           "check_tsv_quoting", "detect", "is_stdio", "open_input"]
