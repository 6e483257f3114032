"""Training on several labelled sources: reading and checking the CSVs, the per-source
validation split, and (tiny model) that every row's source is kept as case provenance."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import subset

from clickbait.cli import main
from clickbait.data import load_labelled, read_labelled, split_by_source


def _csv(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_load_labelled_keeps_rows_and_sources(tmp_path):
    a = _csv(tmp_path / "news.csv", 'headline,label\n"War, Peace",0\nNA,1\n')
    b = _csv(tmp_path / "mixed.tsv", "headline\tlabel\tsource\nx\t1\treddit\ny\t0\t\n")
    texts, labels, sources = load_labelled([a, b])
    assert texts == ["War, Peace", "NA", "x", "y"]
    assert labels.tolist() == [0, 1, 1, 0]
    assert sources == ["news", "news", "reddit", "mixed"]  # blank source -> the file's stem


@pytest.mark.parametrize("content, expected", [
    ("", "empty"),
    ("headline,label\n", "no rows"),
    ("title,label\nx,1\n", "missing column(s) headline"),
    ("headline,label\nx,1\ny,yes\nz,2\n", "row 2 ('yes'), row 3 ('2')"),
    ("headline,label\nx,1\n  ,0\n", "empty headline in row 2"),
])
def test_bad_labelled_file_is_a_clear_error(tmp_path, content, expected):
    path = _csv(tmp_path / "bad.csv", content)
    with pytest.raises(ValueError, match=r"bad\.csv") as err:
        read_labelled(path)
    assert expected in str(err.value)


def test_bad_data_file_in_train_command_names_file_and_row(tmp_path, capsys):
    path = _csv(tmp_path / "labels.csv", "headline,label\nok,0\nhmm,0.5\n")
    assert main(["train", "--data", str(path), "-o", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert "labels.csv" in err and "row 2 ('0.5')" in err and "Traceback" not in err


def test_split_holds_out_a_stratified_part_of_each_source():
    rng = np.random.default_rng(0)
    sources = ["big"] * 1000 + ["small"] * 40 + ["one-class"] * 30 + ["single"]
    labels = np.concatenate([rng.integers(0, 2, 1000), [0, 1] * 20, [0] * 30, [1]])
    texts = [str(i) for i in range(len(labels))]
    tr, va = split_by_source(texts, labels, sources, fraction=0.1, seed=0)
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == len(labels)
    src = np.asarray(sources)
    for name, n_val in (("big", 100), ("small", 4), ("one-class", 3), ("single", 0)):
        assert (src[va] == name).sum() == n_val, name
    small = va[src[va] == "small"]
    assert labels[small].sum() == 2  # stratified: 2 of each class
    _, va2 = split_by_source(texts, labels, sources, fraction=0.1, seed=0)
    assert np.array_equal(va, va2)  # reproducible


def test_multi_source_training_keeps_every_rows_source(corpus, glove_path, tmp_path):
    """`clickbait train --data A --data B`: every case's source is its row's, and each source
    has a held-out part in the report."""
    from clickbait.detector import ClickbaitDetector

    x, y = subset(corpus["train"], 900, seed=5)
    pd.DataFrame({"headline": x[:600], "label": y[:600]}).to_csv(tmp_path / "corpus_a.csv", index=False)
    b = pd.DataFrame({"headline": x[600:], "label": y[600:],
                      "source": (["site-x", "site-y", ""] * 100)[:300]})
    b.to_csv(tmp_path / "b.csv", index=False)
    rc = main(["train", "--data", str(tmp_path / "corpus_a.csv"), "--data", str(tmp_path / "b.csv"),
               "--data-dir", str(tmp_path / "no-corpus"), "--vectors", str(glove_path),
               "--dim", "8", "--epochs", "1", "--length", "16", "-o", str(tmp_path / "model"),
               "--reports", str(tmp_path / "reports"), "--cache-dir", str(tmp_path / "cache")])
    assert rc == 0
    expected = {**{t: "corpus_a" for t in x[:600]},
                **dict(zip(x[600:], b["source"].replace("", "b"), strict=True))}
    det = ClickbaitDetector.load(tmp_path / "model")
    meta = det.cases_.meta
    assert len(meta) == 900
    assert dict(zip(meta["text"], meta["source"], strict=True)) == expected
    metrics = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    held = metrics["validation_by_source"]
    assert set(held) == {"corpus_a", "site-x", "site-y", "b"}
    assert held["corpus_a"]["rows"] == 60 and held["site-x"]["rows"] == 10
    assert "test" not in metrics  # no corpus test split in --data-dir


def test_held_out_figures_set_the_rows_own_cases_aside(small_detector, corpus):
    """fit retains the validation rows as cases: scored as they are, each finds itself; the
    per-source held-out figures must set those cases aside (and put them back)."""
    from clickbait.training import held_out_proba

    det = small_detector
    x, y = subset(corpus["valid"], 800)
    n_cases = len(det.cases_)
    held = held_out_proba(det, x)
    assert len(det.cases_) == n_cases
    own = det.predict_proba(x)[:, 1]
    acc_held = ((held >= det.threshold_) == y).mean()
    assert ((own >= det.threshold_) == y).mean() > acc_held  # self-matches inflate it
    assert abs(acc_held - det.validation_accuracy_) <= 0.01  # what fit measured before retaining
