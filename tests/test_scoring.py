"""Batch scoring of CSV files (clickbait/scoring.py, `clickbait score` and `clickbait evaluate`):
nothing lost or reordered, bad input reported clearly, output never partial."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import (
    TWO_HEADLINES,
    listing,
    proba,
)
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from clickbait import scoring
from clickbait.cli import main
from clickbait.scoring import InputError, find_column, score_csv, score_frame

HEADLINES = [
    "You Won't Believe What This Dog Did Next",
    "Senate passes budget bill after long debate",
    "NA", "null", 'He said "no, never", then left',
    "multi\nline, headline",
    "17 Things Only 90s Kids Will Understand",
    "Stocks fall as oil prices rise",
]


def read_back(path, sep=","):
    """Rows exactly as written (csv module, no type conversion)."""
    csv.field_size_limit(1 << 24)  # the very long headline
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def write_csv(path, header, rows, sep=",", bom=False):
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        w = csv.writer(f, delimiter=sep, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def test_find_column():
    assert find_column(["id", "Title"], None) == 1
    assert find_column(["id", "HEADLINE", "text"], None) == 1
    assert find_column(["only"], None) == 0
    assert find_column(["a", "b"], "b") == 1
    assert find_column(["a", "Body"], "body") == 1
    with pytest.raises(InputError, match=r"'id', 'body'.*choose one with text_column=NAME$"):
        find_column(["id", "body"], None)
    with pytest.raises(InputError, match=r"choose one with text_col=NAME$"):
        find_column(["id", "body"], None, argument="text_col")
    with pytest.raises(InputError, match=r"no column 'x'.*'a', 'b'"):
        find_column(["a", "b"], "x")


def test_every_row_in_order_values_unchanged(small_detector, tmp_path):
    rows = [[str(i), h, "NA", ""] for i, h in enumerate(HEADLINES * 5)]
    src = write_csv(tmp_path / "in.csv", ["id", "headline", "note", "empty"], rows, bom=True)
    out = tmp_path / "out.csv"
    summary = score_csv(small_detector, src, out, batch_size=3)  # many small chunks
    got = read_back(out)
    assert got[0] == ["id", "headline", "note", "empty", "clickbait_probability", "clickbait",
                      "support", "low_support"]
    assert [r[:4] for r in got[1:]] == rows  # "NA", "null", quotes, commas, newlines intact
    expected = small_detector.assess(HEADLINES * 5)
    np.testing.assert_allclose([float(r[4]) for r in got[1:]], expected["clickbait_probability"], atol=2e-6)
    assert [int(r[5]) for r in got[1:]] == expected["clickbait"].tolist()
    np.testing.assert_allclose([float(r[6]) for r in got[1:]], expected["support"], atol=2e-6)
    assert [int(r[7]) for r in got[1:]] == expected["low_support"].astype(int).tolist()
    assert summary.rows == summary.scored == len(rows) and summary.missing_text == 0
    assert summary.flagged == int(expected["clickbait"].sum())
    assert not list(tmp_path.glob(".*tmp"))


def test_parallel_model_workers_write_the_same_file(small_detector, tmp_path):
    rows = [[str(i), h] for i, h in enumerate(HEADLINES * 7)]
    src = write_csv(tmp_path / "in.csv", ["id", "headline"], rows)
    one, three = tmp_path / "one.csv", tmp_path / "three.csv"
    score_csv(small_detector, src, one, batch_size=2, workers=1)
    score_csv(small_detector, src, three, batch_size=2, workers=3)  # chunks finish out of order
    assert three.read_bytes() == one.read_bytes()
    for bad in (0, 65):
        with pytest.raises(ValueError, match="workers"):
            score_csv(small_detector, src, tmp_path / "x.csv", workers=bad)


def test_batch_scorer_labels_and_columns_are_the_cli_ones(saved_model, small_detector):
    """Spark's scorer (run here without Spark) adds what `clickbait score` adds, with the same
    labelling rule: text the headline check rejects is never labelled clickbait."""
    from clickbait.spark import BatchScorer

    texts = [*HEADLINES, "", "7 42 1999 0 3", "zxq vbnm qwrt", "the of and to in"]
    frame = pd.DataFrame({"id": range(len(texts)), "headline": texts})
    for threshold in (0.0, None):
        got = BatchScorer(saved_model, threshold=threshold).score_pandas(frame)
        want = scoring.score_frame(small_detector, frame, threshold=threshold)
        assert list(got.columns) == list(want.columns)
        pd.testing.assert_series_equal(got["clickbait"], want["clickbait"], check_dtype=False)
        pd.testing.assert_series_equal(got["low_support"], want["low_support"], check_dtype=False)
        np.testing.assert_allclose(got["support"], want["support"], atol=2e-6)
        np.testing.assert_allclose(got["clickbait_probability"], want["clickbait_probability"], atol=2e-6)
        if threshold == 0.0:  # every scored row is >= 0; the rejected ones stay 0
            rejected = (want["clickbait"] == 0) & want["clickbait_probability"].notna()
            assert rejected.any()


def test_batch_scorer_checks_its_options_before_any_work(saved_model):
    from clickbait.spark import BatchScorer

    for bad in (2.0, -0.5, float("nan"), "0.5"):
        with pytest.raises(ValueError, match="threshold"):
            BatchScorer(saved_model, threshold=bad)
    for bad in ("ivf", "auto"):  # "auto" (an alias of exact) and "ivf" (now "fast") were removed
        with pytest.raises(ValueError, match=rf"retrieval must be one of \('fast', 'exact'\), got '{bad}'"):
            BatchScorer(saved_model, retrieval=bad)
    assert main(["score", str(saved_model), "-", "--retrieval", "ivf"]) == 2  # not a choice


def test_score_frame_never_overwrites_a_callers_column(small_detector):
    for column in ("clickbait_probability", "clickbait", "support", "low_support"):
        frame = pd.DataFrame({"headline": ["a headline"], column: ["mine"]})
        with pytest.raises(InputError, match=column):
            scoring.score_frame(small_detector, frame)


def test_model_workers_load_the_keras_model_once(saved_model, monkeypatch):
    """`--explain` reads the Keras model, which a loaded detector loads on first use: workers
    asking at once must not each load it."""
    from concurrent.futures import ThreadPoolExecutor

    from clickbait.detector import ClickbaitDetector

    det = ClickbaitDetector.load(saved_model)
    loads = []
    real = ClickbaitDetector._load_keras

    def counted(self):
        loads.append(1)
        time.sleep(0.2)  # a slow load: the other threads arrive meanwhile
        real(self)

    monkeypatch.setattr(ClickbaitDetector, "_load_keras", counted)
    with ThreadPoolExecutor(4) as pool:
        models = list(pool.map(lambda _: det.model_, range(4)))
    assert len(loads) == 1 and all(m is models[0] for m in models)


def test_tokenizer_process_that_dies_is_reported_not_mistaken(capfd):
    """Killed on its own (an interrupt sent to it alone, out of memory): it ends without a
    traceback, and the scorer's next call says the tokenizer ended, not a broken pipe."""

    from clickbait.tokenizer_process import TokenizerProcess

    proc = TokenizerProcess({"a": 2, "b": 3}, 8)
    assert proc.ids(["a b"]).tolist() == [[2, 3, 0, 0, 0, 0, 0, 0]]  # started and serving
    proc._proc.send_signal(signal.SIGINT)
    assert proc._proc.wait(timeout=20) == 130
    with pytest.raises(RuntimeError, match=r"tokenizer process ended \(exit code 130\)"):
        for _ in range(3):  # the first write may still fit in the pipe's buffer
            proc.ids(["a"] * 50_000)
    proc.close()
    assert "Traceback" not in capfd.readouterr().err


def test_missing_text_rows_kept_and_counted(small_detector, tmp_path):
    rows = [["1", "Senate passes budget"], ["2", ""], ["3", "   "], ["4", "10 Cats Who Rule"], ["5"]]
    src = tmp_path / "in.csv"
    src.write_text("id,title\n" + "\n".join(",".join(r) for r in rows) + "\n")
    summary = score_csv(small_detector, src, tmp_path / "out.csv")
    got = read_back(tmp_path / "out.csv")
    assert [r[0] for r in got[1:]] == ["1", "2", "3", "4", "5"]
    assert [r[1] for r in got[1:]] == ["Senate passes budget", "", "   ", "10 Cats Who Rule", ""]
    assert [r[2] == "" for r in got[1:]] == [False, True, True, False, True]
    assert [r[3] == "" for r in got[1:]] == [False, True, True, False, True]
    assert summary.missing_text == 3 and summary.scored == 2
    assert "3 rows with problems" in summary.line()


def test_blank_lines_are_rows_with_no_text(small_detector, tmp_path):
    (tmp_path / "in.csv").write_text("headline\nSenate passes budget\n\n10 Cats Who Rule\n")
    summary = score_csv(small_detector, tmp_path / "in.csv", tmp_path / "out.csv")
    got = read_back(tmp_path / "out.csv")
    assert [r[0] for r in got[1:]] == ["Senate passes budget", "", "10 Cats Who Rule"]
    assert got[2][1:] == ["", "", "", ""] and summary.missing_text == 1


def test_score_frame_equals_predict_proba(small_detector):
    frame = pd.DataFrame({"id": range(len(HEADLINES) + 1), "Headline": [*HEADLINES, None]})
    out = scoring.score_frame(small_detector, frame)
    assert list(out.columns) == ["id", "Headline", "clickbait_probability", "clickbait", "support",
                                 "low_support"]
    pd.testing.assert_frame_equal(out[["id", "Headline"]], frame)
    np.testing.assert_allclose(out["clickbait_probability"][:-1],
                               small_detector.predict_proba(HEADLINES)[:, 1], atol=2e-6)
    assert np.isnan(out["clickbait_probability"].iloc[-1]) and out["clickbait"].isna().iloc[-1]
    assert out["clickbait"][:-1].tolist() == small_detector.predict(HEADLINES).tolist()


def test_fast_and_exact_retrieval_agree_on_labels(small_detector, corpus):
    texts = np.asarray(corpus["test"][0], object)
    exact_scorer, fast_scorer = (scoring.Scorer(small_detector, retrieval=r) for r in ("exact", "fast"))
    assert (exact_scorer.retrieval, fast_scorer.retrieval) == ("exact", "fast")
    exact, fast = proba(exact_scorer, texts), proba(fast_scorer, texts)
    assert not np.allclose(exact, fast)  # two votes, each with its own combiner
    agree = ((exact >= exact_scorer.threshold) == (fast >= fast_scorer.threshold)).mean()
    # this tiny model (dim 16, 4,800 cases): 99.0%; the full-size bar (99.5%) is checked on
    # `make train`'s model by tests/test_training.py::test_full_training_run (make test-slow)
    assert agree >= 0.985, agree


def test_length_cut_encoding_is_exact_even_with_a_trained_padding_vector(small_detector, corpus):
    from clickbait.model import embedding_layer

    texts = np.asarray([*corpus["test"][0][:200], "", "?!", " ".join(["word"] * 60)], object)
    layer = embedding_layer(small_detector.network_)
    saved = layer.get_weights()
    try:
        for pad in (saved[0][0], np.random.default_rng(0).normal(0, 0.5, saved[0].shape[1])):
            table = saved[0].copy()
            table[0] = pad
            layer.set_weights([table])
            scorer = scoring.Scorer(small_detector, encoder="numpy")  # a new copy of the weights
            assert scorer.runtime.margin == 3
            ids = scorer.ids(texts)
            full = small_detector.network_.predict(ids, verbose=0)
            np.testing.assert_allclose(scorer.embed(ids), full, atol=1e-6)
    finally:
        layer.set_weights(saved)


def test_header_only_and_empty_files(small_detector, tmp_path):
    (tmp_path / "h.csv").write_text("id,headline\n")
    summary = score_csv(small_detector, tmp_path / "h.csv", tmp_path / "h_out.csv")
    assert summary.rows == 0
    assert read_back(tmp_path / "h_out.csv") == [["id", "headline", "clickbait_probability", "clickbait",
                                                         "support", "low_support"]]
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(InputError, match=r"e\.csv is empty"):
        score_csv(small_detector, tmp_path / "e.csv", tmp_path / "e_out.csv")
    assert not (tmp_path / "e_out.csv").exists()


def test_very_long_headline(small_detector, tmp_path):
    long = " ".join(["amazing"] * 50_000)
    src = write_csv(tmp_path / "in.csv", ["headline"], [[long], ["Short one"]])
    score_csv(small_detector, src, tmp_path / "out.csv")
    got = read_back(tmp_path / "out.csv")
    assert got[1][0] == long and 0 <= float(got[1][1]) <= 1 and len(got) == 3


def test_non_utf8_error_names_the_offset_and_replace_counts(small_detector, tmp_path):
    data = b"id,headline\n1,Fine headline\n2,Caf\xe9 owner wins\n"
    src = tmp_path / "latin.csv"
    src.write_bytes(data)
    offset = data.index(b"\xe9")
    with pytest.raises(InputError, match=rf"byte {offset} \(0xe9\).*encoding=NAME.*encoding_errors="):
        score_csv(small_detector, src, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    summary = score_csv(small_detector, src, tmp_path / "out.csv", encoding_errors="replace")
    assert summary.replaced_bytes == 1 and "1 undecodable bytes replaced" in summary.line()
    assert read_back(tmp_path / "out.csv")[2][1] == "Caf\ufffd owner wins"
    score_csv(small_detector, src, tmp_path / "out2.csv", encoding="latin-1")
    assert read_back(tmp_path / "out2.csv")[2][1] == "Café owner wins"


def test_offset_is_absolute_in_a_large_file(small_detector, tmp_path):
    body = "id,headline\n" + "".join(f"{i},Headline number {i}\n" for i in range(60_000))
    data = body.encode() + b"9,bad \xff byte\n"
    (tmp_path / "big.csv").write_bytes(data)
    with pytest.raises(InputError, match=f"byte {len(body.encode()) + 6} "):
        score_csv(small_detector, tmp_path / "big.csv", tmp_path / "out.csv", batch_size=50_000)


def test_existing_output_refused_without_force(small_detector, tmp_path):
    src = write_csv(tmp_path / "in.csv", ["headline"], [["A headline"]])
    out = tmp_path / "out.csv"
    out.write_text("keep me")
    with pytest.raises(FileExistsError, match="pass force=True to overwrite"):
        score_csv(small_detector, src, out)
    assert out.read_text() == "keep me"
    score_csv(small_detector, src, out, force=True)
    assert read_back(out)[1][0] == "A headline"


def test_crash_mid_run_leaves_no_output(small_detector, tmp_path, monkeypatch):
    src = write_csv(tmp_path / "in.csv", ["headline"], [[h] for h in HEADLINES * 4])
    calls = {"n": 0}
    vote = scoring.Scorer.vote

    def flaky(self, ids, emb, texts=None):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash")
        return vote(self, ids, emb, texts)

    monkeypatch.setattr(scoring.Scorer, "vote", flaky)
    with pytest.raises(RuntimeError, match="simulated crash"):
        score_csv(small_detector, src, tmp_path / "out.csv", batch_size=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_gz_and_tsv_round_trip(small_detector, tmp_path):
    rows = [[str(i), h] for i, h in enumerate(HEADLINES)]
    src = write_csv(tmp_path / "in.tsv", ["id", "text"], rows, sep="\t")
    score_csv(small_detector, src, tmp_path / "out.csv.gz")
    got = read_back(tmp_path / "out.csv.gz")
    assert [r[:2] for r in got[1:]] == rows
    with gzip.open(tmp_path / "in.csv.gz", "wt", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([["id", "text"], *rows])
    score_csv(small_detector, tmp_path / "in.csv.gz", tmp_path / "out.tsv")
    again = read_back(tmp_path / "out.tsv", sep="\t")
    assert again[0] == ["id", "text", "clickbait_probability", "clickbait", "support", "low_support"]
    assert [r[:2] for r in again[1:]] == rows and [r[2] for r in again] == [r[2] for r in got]


def test_rescoring_a_scored_file_is_a_clear_error(small_detector, tmp_path):
    src = write_csv(tmp_path / "in.csv", ["headline", "clickbait"], [["A headline", "1"]])
    with pytest.raises(InputError, match="already has column"):
        score_csv(small_detector, src, tmp_path / "out.csv")


def test_cli_stdin_stdout_explain(saved_model, monkeypatch, capsys):
    text = "id,headline\n0,Dogs Who Are Smarter Than You\n1,Parliament votes on tax\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert main(["score", str(saved_model), "-", "-o", "-", "--explain", "3"]) == 0
    out, err = capsys.readouterr()
    frame = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert list(frame.columns) == ["id", "headline", "clickbait_probability", "clickbait", "support",
                                   "low_support", "clickbait_neighbours"]
    assert frame["id"].tolist() == [0, 1]
    for cell in frame["clickbait_neighbours"]:
        cases = json.loads(cell)
        assert len(cases) == 3 and {"case_id", "similarity", "label", "text"} <= set(cases[0])
    assert "scored 2 rows" in err


def test_cli_errors_are_clear(saved_model, tmp_path, capsys):
    src = write_csv(tmp_path / "in.csv", ["id", "body"], [["1", "x"]])
    # A failed command exits 1 (2 is for a command line that was not understood).
    assert main(["score", str(saved_model), str(src), "-o", str(tmp_path / "o.csv")]) == 1
    err = capsys.readouterr().err  # the library's text_column=NAME, in the CLI's words
    assert "'id', 'body'" in err and err.rstrip().endswith("choose one with --text-column NAME")
    assert not (tmp_path / "o.csv").exists()
    (tmp_path / "o.csv").write_text("mine")
    assert main(["score", str(saved_model), str(src), "-o", str(tmp_path / "o.csv"),
                 "--text-column", "body"]) == 1
    assert "exists; pass --force to overwrite it" in capsys.readouterr().err


def test_library_errors_in_the_clis_words():
    from clickbait.cli import _flag_words

    assert _flag_words("choose one with text_column=NAME") == "choose one with --text-column NAME"
    assert _flag_words("input_format=/output_format= (csv)") == "--input-format/--output-format (csv)"
    assert _flag_words('or encoding_errors="replace" to') == "or --encoding-errors replace to"
    assert _flag_words("x exists; pass force=True to overwrite") == "x exists; pass --force to overwrite"
    assert _flag_words("threshold=2 is out of range") == "threshold=2 is out of range"


def test_evaluate_metrics_and_plots(saved_model, small_detector, corpus, tmp_path, capsys):
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, roc_auc_score

    texts, labels = corpus["test"][0][:120], corpus["test"][1][:120]
    src = write_csv(tmp_path / "lab.csv", ["Headline", "is_cb"],
                    [[t, str(y)] for t, y in zip(texts, labels, strict=True)] + [["", "1"]])
    reports = tmp_path / "rep"
    assert main(["evaluate", str(saved_model), str(src), "--label-column", "is_cb",
                 "--reports", str(reports)]) == 0
    assert "accuracy" in capsys.readouterr().out
    m = json.loads((reports / "metrics.json").read_text())
    proba = small_detector.predict_proba(texts)[:, 1]
    pred = (proba >= small_detector.threshold_).astype(int)
    assert m["rows"] == 120 and m["skipped_rows"] == 1
    assert m["accuracy"] == pytest.approx(accuracy_score(labels, pred))
    assert m["f1"] == pytest.approx(f1_score(labels, pred))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(labels, proba), abs=1e-4)
    assert m["confusion_matrix"] == confusion_matrix(labels, pred).tolist()
    assert (reports / "roc.png").stat().st_size > 0 and (reports / "confusion.png").stat().st_size > 0


# -- moved from the fault-injection tests ----------------------------------------------------
def test_score_frame_never_overwrites_the_callers_columns(small_detector):
    from clickbait.scoring import InputError

    frame = pd.DataFrame({"headline": TWO_HEADLINES, "clickbait": ["mine", "also mine"]})
    with pytest.raises(InputError, match="clickbait"):
        score_frame(small_detector, frame)
    assert frame["clickbait"].tolist() == ["mine", "also mine"]


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)

_FIELD = st.one_of(_TEXT, st.just(""), st.sampled_from(['"', '""', ",", "\t", "\n", "\r\n", " ", "NA",
                                                         "null", "\ufeff", "=1+1", "#x"]),
                   st.text("ab \t,\"\n", min_size=2000, max_size=5000))  # huge fields too

@st.composite
def tables(draw):
    sep = draw(st.sampled_from([",", "\t"]))
    ncol = draw(st.integers(1, 3))
    header = ["headline", *(f"c{i}" for i in range(1, ncol))]
    rows = draw(st.lists(st.lists(_FIELD, min_size=ncol, max_size=ncol), max_size=12))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return sep, header, rows, encoding


def _encodable(rows, encoding):
    try:
        "".join(v for r in rows for v in r).encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


# The same 30 tables every run (a default test run must not flake); raise max_examples and drop
# derandomize to explore further.
@settings(max_examples=30, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(table=tables())
@example(table=(",", ["headline"], [["\r"], ["a\rb"]], "utf-8"))  # found by hypothesis: a row split
@example(table=("\t", ["headline", "c\r1"], [["x", "\r\n"]], "utf-8"))
def test_generated_csv_and_tsv_are_scored_with_every_row_kept_in_order(small_detector, table):
    import csv
    import tempfile

    sep, header, rows, encoding = table
    assume(_encodable(rows, encoding))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / ("in.tsv" if sep == "\t" else "in.csv")
        with open(src, "w", encoding=encoding, newline="") as f:
            csv.writer(f, delimiter=sep, lineterminator="\r\n").writerows([header, *rows])
        out = Path(tmp) / ("out.tsv" if sep == "\t" else "out.csv")
        summary = score_csv(small_detector, src, out, encoding=encoding.replace("-sig", ""))
        csv.field_size_limit(1 << 24)
        with open(out, encoding="utf-8", newline="") as f:
            back = list(csv.reader(f, delimiter=sep))
    got_header, got = back[0], back[1:]
    assert got_header[: len(header)] == header  # the input's columns first, then the scores
    proba, label = got_header.index("clickbait_probability"), got_header.index("clickbait")
    assert len(got) == len(rows) == summary.rows
    for want, row in zip(rows, got, strict=True):
        assert row[: len(header)] == want  # every value exactly as it was
        blank = not want[0].strip()  # missing or blank text: kept, with empty outputs
        assert (row[proba] == "") == blank and (row[label] == "") == blank
        if not blank:
            assert 0 <= float(row[proba]) <= 1 and row[label] in ("0", "1")


def test_tsv_on_stdin_is_read_as_tsv_when_named_and_an_unknown_extension_is_refused(small_detector, tmp_path):
    from clickbait.scoring import InputError

    tsv = "id\theadline\n1\t" + TWO_HEADLINES[0] + "\n2\t" + TWO_HEADLINES[1] + "\n"
    score_csv(small_detector, "-", tmp_path / "o.tsv", input_format="tsv", stdin=io.StringIO(tsv))
    back = pd.read_csv(tmp_path / "o.tsv", sep="\t", dtype=str)
    assert back["id"].tolist() == ["1", "2"] and back["headline"].tolist() == TWO_HEADLINES
    (tmp_path / "in.xlsx").write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match=r"cannot tell the format from '\.xlsx'"):
        score_csv(small_detector, tmp_path / "in.xlsx", tmp_path / "o2.csv")
    assert not (tmp_path / "o2.csv").exists()


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_gzip_input_is_a_clear_error_not_a_traceback(model_copy, tmp_path, damage, capsys):
    from clickbait import cli
    from clickbait.scoring import InputError

    good = gzip.compress(("headline\n" + "\n".join(TWO_HEADLINES * 2000) + "\n").encode())
    data = good[:10] + os.urandom(200) if damage == "garbage" else good[: len(good) // 2]
    path = tmp_path / "in.csv.gz"
    path.write_bytes(data)
    assert cli.main(["score", str(model_copy), str(path), "-o", str(tmp_path / "o.csv")]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert "in.csv.gz" in err and "Traceback" not in err and not (tmp_path / "o.csv").exists()
    from clickbait.detector import ClickbaitDetector
    with pytest.raises(InputError, match=r"in\.csv\.gz: cannot be read"):
        score_csv(ClickbaitDetector.load(model_copy), path, tmp_path / "o.csv")
    assert listing(tmp_path) == sorted(["in.csv.gz", "model"])
