"""Tables in and out (clickbait/formats.py): every row kept, in order, columns unchanged, through
CSV, TSV, JSON Lines (plain and gzipped) and Parquet; formats from extensions or named; clear
errors for unknown extensions and bad lines."""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clickbait.formats import TableOutput, detect, open_input
from clickbait.scoring import InputError, score_csv

HEADLINES = ["You Won't Believe What This Dog Did Next", 'He said "no, never", then left',
             "multi\nline, headline", "NA", "", "Ünïcode — “quotes”", "null", "10 Cats Who Rule"]
ROWS = len(HEADLINES) * 3


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"id": [str(i) for i in range(ROWS)], "headline": HEADLINES * 3,
                         "note": ["NA", "", "x,y"] * (ROWS // 3)})


def _write(frame: pd.DataFrame, path, fmt: str) -> None:
    """Written by pandas/pyarrow, independently of the code under test."""
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    elif fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in frame.to_dict("records"))
        (gzip.open if str(path).endswith(".gz") else open)(path, "wt", encoding="utf-8").write(text)
    else:
        frame.to_csv(path, sep="\t" if fmt == "tsv" else ",", index=False)


def _read(path, fmt: str) -> pd.DataFrame:
    if fmt == "parquet":
        return pq.read_table(path).to_pandas()
    if fmt == "jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    return pd.read_csv(path, sep="\t" if fmt == "tsv" else ",", dtype=str, keep_default_na=False)


@pytest.mark.parametrize("name", ["in.csv", "in.csv.gz", "in.tsv", "in.tsv.gz", "in.jsonl",
                                  "in.jsonl.gz", "in.parquet"])
def test_round_trip_through_each_format(small_detector, tmp_path, name):
    fmt, _ = detect(name)
    frame = _frame()
    src, out = tmp_path / name, tmp_path / name.replace("in.", "out.")
    _write(frame, src, fmt)
    summary = score_csv(small_detector, src, out, batch_size=5)  # several chunks
    got = _read(out, fmt)
    assert summary.rows == ROWS and len(got) == ROWS
    assert list(got.columns) == [*frame.columns, "clickbait_probability", "clickbait", "support",
                                 "low_support"]
    pd.testing.assert_frame_equal(got[frame.columns].astype(object), frame.astype(object))
    texts = [h for h in frame["headline"] if h.strip()]
    proba = got["clickbait_probability"][frame["headline"].str.strip() != ""].astype(float)
    np.testing.assert_allclose(proba, small_detector.predict_proba(texts)[:, 1], atol=2e-6)
    blank = frame["headline"].str.strip() == ""
    assert got["clickbait_probability"][blank].isin(["", None]).all() or \
        got["clickbait_probability"][blank].isna().all()


def test_parquet_types_kept_and_cross_format(small_detector, tmp_path):
    table = pa.table({"id": pa.array([1, 2, None], pa.int64()), "title": ["Senate votes", None, "9 Cats"],
                      "score": pa.array([0.5, float("nan"), 1e-9]), "tags": [["a"], [], None]})
    pq.write_table(table, tmp_path / "in.parquet")
    score_csv(small_detector, tmp_path / "in.parquet", tmp_path / "out.parquet", batch_size=2)
    got = pq.read_table(tmp_path / "out.parquet")
    assert got.schema.field("clickbait_probability").type == pa.float64()
    assert got.schema.field("clickbait").type == pa.int64()
    original = pq.read_table(tmp_path / "in.parquet")
    for name in ("id", "title", "tags"):
        assert got.column(name).combine_chunks().equals(original.column(name).combine_chunks()), name
    assert got.schema.field("score") == original.schema.field("score")
    np.testing.assert_array_equal(got.column("score").to_numpy(), original.column("score").to_numpy())
    assert got.column("clickbait")[1].as_py() is None
    assert pq.ParquetFile(tmp_path / "out.parquet").num_row_groups == 2  # a row group per chunk
    # The same rows to JSON Lines: types kept where JSON has them, missing values as null.
    score_csv(small_detector, tmp_path / "in.parquet", tmp_path / "out.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [x["id"] for x in lines] == [1, 2, None] and lines[1]["clickbait_probability"] is None
    assert lines[2]["tags"] is None and lines[0]["tags"] == ["a"]


def test_stdin_and_stdout_default_to_csv_and_follow_format(small_detector):
    text = "headline\nSenate votes\n10 Cats\n"
    out = io.StringIO()
    score_csv(small_detector, "-", "-", stdin=io.StringIO(text), stdout=out)
    assert out.getvalue().splitlines()[0] == "headline,clickbait_probability,clickbait,support,low_support"
    out = io.StringIO()
    score_csv(small_detector, "-", "-", stdin=io.StringIO(text.replace("\n", "\t\n")),
              stdout=out, input_format="tsv", output_format="jsonl")
    rows = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["headline"] for r in rows] == ["Senate votes", "10 Cats"] and set(rows[0]) == \
        {"headline", "", "clickbait_probability", "clickbait", "support", "low_support"}
    gz = io.BytesIO(gzip.compress(text.encode()))  # gzip on stdin is recognised by its magic
    source = open_input("-", stdin=gz)
    assert source.header == ["headline"] and len(next(source.chunks)) == 2


def test_unknown_extension_is_an_error_naming_it(small_detector, tmp_path):
    (tmp_path / "in.txt").write_text("headline\nx\n")
    with pytest.raises(InputError, match=r"in\.txt: cannot tell the format from '\.txt'.*format= one of"):
        score_csv(small_detector, tmp_path / "in.txt", tmp_path / "o.csv")
    with pytest.raises(InputError, match=r"o\.xlsx: cannot tell the format from '\.xlsx'"):
        score_csv(small_detector, tmp_path / "in.txt", tmp_path / "o.xlsx", input_format="csv")
    assert not (tmp_path / "o.xlsx").exists()
    score_csv(small_detector, tmp_path / "in.txt", tmp_path / "o.csv", input_format="csv")
    assert detect("a.parquet") == ("parquet", False) and detect("b.TSV.GZ") == ("tsv", True)
    with pytest.raises(InputError, match=r"gzipped \.parquet"):
        detect("c.parquet.gz")


def test_bad_jsonl_lines_are_named(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"headline": "x"}\n\n{"headline": "y", "extra": 1}\n')
    source = open_input(tmp_path / "a.jsonl")
    with pytest.raises(InputError, match=r"a\.jsonl, line 3: key\(s\) \['extra'\]"):
        list(source.chunks)
    (tmp_path / "b.jsonl").write_text('{"headline": "x"}\n{"headline": \n')
    with pytest.raises(InputError, match=r"b\.jsonl, line 2: not JSON"):
        list(open_input(tmp_path / "b.jsonl").chunks)
    (tmp_path / "c.parquet").write_text("not parquet")
    with pytest.raises(InputError, match=r"c\.parquet: not a readable Parquet file"):
        open_input(tmp_path / "c.parquet")


def test_output_written_beside_and_renamed(tmp_path):
    out = TableOutput(tmp_path / "o.parquet", ["a"], ["clickbait_probability"])
    out.write(pd.DataFrame({0: ["x", "y"]}), {"clickbait_probability": np.array([0.1, np.nan])})
    assert not (tmp_path / "o.parquet").exists()  # not before commit
    out.commit()
    assert pq.read_table(tmp_path / "o.parquet").to_pylist() == [
        {"a": "x", "clickbait_probability": 0.1}, {"a": "y", "clickbait_probability": None}]
    assert [p.name for p in tmp_path.iterdir()] == ["o.parquet"]
