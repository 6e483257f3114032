"""CSV/TSV quoting (issue 17, defect 5): every field is kept as written, or the run fails with
the line of the quote that breaks RFC 4180; TSV can be read and written without quoting."""

from __future__ import annotations

import csv
import io

import pytest

from clickbait.errors import InputError
from clickbait.formats import TableOutput, open_input
from clickbait.scoring import score_csv

TSV = ('headline\tid\n"Breaking" news\t1\nplain words\t2\nsaid "no" twice\t3\n'
       '"Frozen" star says\t4\n')


def read_all(path, **options) -> tuple[list[str], list[list[str]]]:
    source = open_input(path, **options)
    try:
        rows = [row for chunk in source.chunks for row in chunk.to_numpy().tolist()]
    finally:
        source.close()
    return source.header, rows


def test_a_tsv_headline_with_quotes_is_an_error_naming_its_line_not_a_lost_row(tmp_path):
    """Defect 5: 4 rows in, 3 rows out, `"Breaking" news` read as `Breaking news`."""
    src = tmp_path / "in.tsv"
    src.write_text(TSV)
    with pytest.raises(InputError, match=r"in\.tsv, line 2: not RFC 4180 TSV quoting.*tsv_quoting=\"none\""):
        read_all(src)


def test_tsv_without_quoting_keeps_every_field_as_written(small_detector, tmp_path):
    src = tmp_path / "in.tsv"
    src.write_text(TSV)
    summary = score_csv(small_detector, src, tmp_path / "out.tsv", tsv_quoting="none")
    assert summary.rows == 4
    lines = (tmp_path / "out.tsv").read_text().splitlines()
    assert [line.split("\t")[:2] for line in lines] == [line.split("\t") for line in TSV.splitlines()]
    assert len(lines) == 5 and all(len(line.split("\t")) == 6 for line in lines)


def test_a_csv_quote_that_is_not_rfc_4180_is_an_error_not_a_rewrite(small_detector, tmp_path):
    """Defect 5: `"Frozen" star says` was rewritten to `Frozen star says` without a word."""
    src = tmp_path / "in.csv"
    src.write_text('headline,id\nfine,1\n"Frozen" star says,2\n')
    with pytest.raises(InputError, match=r"in\.csv, line 3: not RFC 4180 CSV quoting"):
        score_csv(small_detector, src, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    unclosed = tmp_path / "unclosed.csv"
    unclosed.write_text('headline,id\nfine,1\n"never closed,2\nmore,3\n')
    with pytest.raises(InputError, match=r"unclosed\.csv, line 3: not RFC 4180"):
        read_all(unclosed)


def test_rfc_4180_fields_and_literal_inner_quotes_are_kept(tmp_path):
    src = tmp_path / "in.csv"
    rows = [["He said \"hi\" twice", "1"], ["a, b\nand a new line", "2"], ['"quoted"', "3"], ["", "4"]]
    with open(src, "w", newline="") as f:
        csv.writer(f).writerows([["headline", "id"], *rows])
    assert read_all(src) == (["headline", "id"], rows)
    loose = tmp_path / "loose.csv"  # a quote inside an unquoted field: kept as it is
    loose.write_text('headline\nHe said "hi"\n\n')
    assert read_all(loose) == (["headline"], [['He said "hi"'], [""]])
    wide = tmp_path / "wide.csv"
    wide.write_text("headline,id\na,1,extra\n")
    with pytest.raises(InputError, match=r"wide\.csv, line 2: 3 fields, but the header has 2"):
        read_all(wide)


def test_line_ends_split_across_read_blocks_are_one_line_end(tmp_path):
    src = tmp_path / "in.csv"
    body = "x" * ((1 << 20) - len("headline\r\n") - 1)
    src.write_bytes(f"headline\r\n{body}\r\nnext\rlast\n".encode())
    header, rows = read_all(src)
    assert header == ["headline"] and rows == [[body], ["next"], ["last"]]


def test_tsv_without_quoting_refuses_to_write_a_tab_or_a_line_end(tmp_path):
    import pandas as pd

    out = io.StringIO()
    table = TableOutput("-", ["headline"], [], format="tsv", stdout=out, tsv_quoting="none")
    table.write(pd.DataFrame({0: ['"ok" as written']}), {})
    with pytest.raises(InputError, match=r"row 2, column 'headline': a tab or a line end"):
        table.write(pd.DataFrame({0: ["two\nlines"]}), {})
    assert out.getvalue() == 'headline\n"ok" as written\n'
    with pytest.raises(ValueError, match="tsv_quoting must be one of"):
        open_input(tmp_path / "x.tsv", tsv_quoting="off")


def test_the_cli_names_the_line_and_reads_quotes_as_text_with_tsv_quoting_none(small_detector, tmp_path,
                                                                                capsys):
    from clickbait import cli

    model = small_detector.save(tmp_path / "model")
    src = tmp_path / "in.tsv"
    src.write_text(TSV)
    out = tmp_path / "out.tsv"
    assert cli.main(["score", str(model), str(src), "-o", str(out)]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert "in.tsv, line 2: not RFC 4180 TSV quoting" in err and "Traceback" not in err
    assert not out.exists()
    assert cli.main(["score", str(model), str(src), "-o", str(out), "--tsv-quoting", "none"]) == cli.EXIT_OK
    assert "scored 4 rows" in capsys.readouterr().err
    assert [line.split("\t")[0] for line in out.read_text().splitlines()[1:]] == \
        ['"Breaking" news', "plain words", 'said "no" twice', '"Frozen" star says']


def _row_by_row_error_line(text: str) -> int | None:
    """The line a row-by-row reader names for the first bad row (a quoting error, or more
    fields than the header): where that row starts, as csv.reader counts lines."""
    parsed = csv.reader(io.StringIO(text, newline=""), strict=True)
    width = None
    while True:
        line = parsed.line_num + 1
        try:
            row = next(parsed)
        except StopIteration:
            return None
        except csv.Error:
            return line
        if width is None:
            width = len(row)
        elif len(row) > width:
            return line


def test_errors_name_the_line_their_row_starts_on_in_any_chunk(tmp_path):
    """A chunk is parsed in one call; the line an error names is then worked out from the rows
    before it (line ends inside quoted fields: \\n, \\r\\n, \\r). Checked against a row-by-row
    reader on random files, with chunks of 1 to 5 rows so that errors fall anywhere in a chunk."""
    import random

    rng = random.Random(7)
    fields = ["a", "b c", '"q, x"', '"two\nlines"', '"cr\r\nlf"', '"lone\rcr"', '"x""y"', ""]
    bad = ['"open"x', "1,2,3", '"never closed']
    checked = 0
    for case in range(300):
        rows = [",".join(rng.choice(fields) for _ in range(2)) for _ in range(rng.randint(1, 12))]
        if case % 4:
            rows.insert(rng.randrange(len(rows) + 1), rng.choice(bad))
        text = "h1,h2\n" + "".join(r + rng.choice(["\n", "\r\n"]) for r in rows)
        src = tmp_path / f"f{case}.csv"
        src.write_bytes(text.encode())
        expected = _row_by_row_error_line(text)
        if expected is None:
            assert len(read_all(src, batch_size=rng.randint(1, 5))[1]) == len(rows)
            continue
        with pytest.raises(InputError, match=rf"f{case}\.csv, line {expected}: "):
            read_all(src, batch_size=rng.randint(1, 5))
        checked += 1
    assert checked > 150
