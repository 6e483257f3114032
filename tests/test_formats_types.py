"""Types on the way out (issue 17, defects 6, 7 and 14): Parquet columns widened, never cut to
the first chunk's type; the same added columns and types for 0 rows as for n; non-finite JSON
numbers refused on reading, naming the line and key."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clickbait.errors import InputError
from clickbait.formats import TableOutput, open_input
from clickbait.scoring import score_csv

ROOT = Path(__file__).resolve().parents[1]


def _jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_jsonl_to_parquet_widens_an_integer_column_never_truncates(small_detector, tmp_path):
    """Defect 6: an integer column in the first chunk and 9.99 later was written as 9."""
    src = tmp_path / "in.jsonl"
    _jsonl(src, [{"headline": "Senate passes budget bill", "n": 1, "flag": None, "big": 1,
                  "mixed": 1},
                 {"headline": "You won't believe this", "n": 2, "flag": None, "big": 2,
                  "mixed": 2},
                 {"headline": "Another headline", "n": 9.99, "flag": True, "big": 2 ** 60,
                  "mixed": "x"},
                 {"headline": "Last one", "n": None, "flag": False, "big": 0.5, "mixed": [1]}])
    score_csv(small_detector, src, tmp_path / "out.parquet", batch_size=2)
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.column("n").to_pylist() == [1.0, 2.0, 9.99, None]
    assert table.schema.field("n").type == pa.float64()
    assert table.column("flag").to_pylist() == [None, None, True, False]
    # 2**60 is not exact in a float: the column becomes JSON text, every value as written
    assert table.column("big").to_pylist() == ["1", "2", str(2 ** 60), "0.5"]
    assert table.column("mixed").to_pylist() == ["1", "2", "x", "[1]"]


def test_a_parquet_cast_error_leaves_no_writer_traceback(tmp_path):
    """Defect 6: the clear error was followed by a `ParquetWriter.__del__` traceback."""
    script = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import pandas as pd, pyarrow as pa
from clickbait.formats import TableOutput
out = TableOutput({str(tmp_path / "o.parquet")!r}, ["n"], [],
                  input_schema=pa.schema([pa.field("n", pa.int64())]))
out.write(pd.DataFrame({{0: [1, 2]}}), {{}})
try:
    out.write(pd.DataFrame({{0: ["not a number"]}}), {{}})
except ValueError as e:
    out.abort()
    print("refused:", e)
import gc; gc.collect()
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "refused: column 'n' does not fit Parquet type int64" in r.stdout
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr
    assert not (tmp_path / "o.parquet").exists()


@pytest.mark.parametrize("explain", [0, 2])
def test_zero_rows_get_the_same_columns_and_types_as_n(small_detector, tmp_path, explain):
    """Defect 7: header-only input -> Parquet: `support` typed string, `low_support` and
    `clickbait_neighbours` missing."""
    empty, full = tmp_path / "empty.csv", tmp_path / "full.csv"
    empty.write_text("id,headline\n")
    full.write_text("id,headline\n1,Senate passes budget bill\n2,\n")
    schemas = []
    for src in (empty, full):
        out = tmp_path / f"{src.stem}-{explain}.parquet"
        score_csv(small_detector, src, out, explain=explain)
        schemas.append(pq.read_schema(out))
    assert schemas[0] == schemas[1]
    names = ["id", "headline", "clickbait_probability", "clickbait", "support", "low_support"]
    assert schemas[0].names == names + (["clickbait_neighbours"] if explain else [])
    assert schemas[0].field("support").type == pa.float64()
    assert schemas[0].field("low_support").type == pa.int64()


@pytest.mark.parametrize("value, key", [("Infinity", "'n'"), ("-Infinity", "'n'"), ("NaN", "'n'"),
                                        ("1e400", "'n'"), ('{"deep": [1, -1e999]}', "'n'['deep'][1]")])
def test_non_finite_json_numbers_are_an_input_error_naming_line_and_key(tmp_path, value, key):
    """Defect 14: accepted on reading, then "Out of range float values are not JSON compliant"
    on writing, naming no line, column or file."""
    src = tmp_path / "in.jsonl"
    src.write_text('{"headline": "fine", "n": 1.5}\n\n{"headline": "bad", "n": ' + value + "}\n")
    source = open_input(src)
    with pytest.raises(InputError, match=rf"in\.jsonl, line 3, key {re.escape(key)}: .* is not a finite"):
        list(source.chunks)
    source.close()


def test_large_finite_json_numbers_and_text_mentioning_infinity_pass(tmp_path):
    src = tmp_path / "in.jsonl"
    _jsonl(src, [{"headline": "To Infinity and NaN", "n": 1e308, "m": -2.5e-300, "i": 10 ** 30}])
    source = open_input(src)
    frame = pd.concat(list(source.chunks))
    source.close()
    assert frame.iloc[0].tolist() == ["To Infinity and NaN", 1e308, -2.5e-300, 10 ** 30]


def test_the_added_types_hold_with_a_parquet_input_schema(tmp_path):
    out_path = tmp_path / "o.parquet"
    schema = pa.schema([pa.field("headline", pa.string())])
    out = TableOutput(out_path, ["headline"], ["p", "flag"], input_schema=schema,
                      added_types=["float64", "int64"])
    out.commit()
    assert pq.read_schema(out_path).types == [pa.string(), pa.float64(), pa.int64()]
