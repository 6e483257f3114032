"""The cross-source report (clickbait.cross_source) on the session's small detector, its
calibration measure (ECE) and reliability diagram, and the generated nonsense."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import subset

from clickbait.cli import main
from clickbait.cross_source import MODEL, nonsense_headlines
from clickbait.data import DEFAULT_DATA_DIR, load_split
from clickbait.reports import expected_calibration_error, plot_reliability


def test_ece_by_hand():
    # Bin [0.2, 0.267): P 0.25 x4, 1 clickbait -> gap 0; bin [0.933, 1]: P 1.0 x4, 2 clickbait ->
    # gap |2 - 4| = 2 of 8 rows.
    labels = np.array([1, 0, 0, 0, 1, 1, 0, 0])
    proba = np.array([0.25] * 4 + [1.0] * 4)
    assert expected_calibration_error(labels, proba) == pytest.approx(2 / 8)
    assert expected_calibration_error([0, 1], [1.0, 0.0]) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    p = rng.random(200_000)
    assert expected_calibration_error(rng.random(200_000) < p, p) < 0.01  # calibrated by design
    assert expected_calibration_error(p > 0.5, p) > 0.2  # overconfident truth, underconfident P


def test_reliability_diagram_leaves_pyplot_alone(tmp_path):
    import matplotlib
    import matplotlib.pyplot as plt

    backend, figures = matplotlib.get_backend(), plt.get_fignums()
    rng = np.random.default_rng(1)
    p = rng.random(500)
    out = plot_reliability({"a": (p > 0.5, p), "b": (rng.random(500) < p, p)}, tmp_path / "r.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.get_backend() == backend and plt.get_fignums() == figures


def test_nonsense_is_fixed_by_seed_and_has_every_kind():
    vocab = ["alpha", "beta", "gamma", "delta"]
    a, b = nonsense_headlines(vocab, 100, seed=3), nonsense_headlines(vocab, 100, seed=3)
    assert a.equals(b) and len(a) == 100
    assert not a.equals(nonsense_headlines(vocab, 100, seed=4))
    assert a["kind"].value_counts().to_dict() == {"words": 25, "digits": 25, "letters": 25, "sports": 25}
    words = a.loc[a["kind"] == "words", "headline"]
    assert all(set(t.split()) <= set(vocab) for t in words)
    assert a.loc[a["kind"] == "digits", "headline"].str.fullmatch(r"[\d ]+").all()
    assert a.loc[a["kind"] == "sports", "headline"].str.contains(r"\d").all()


@pytest.fixture(scope="module")
def source_data(corpus, tmp_path_factory):
    """A small corpus folder (train for the baseline, valid, test), a downs2014 sample and an
    extra labelled CSV."""
    folder = tmp_path_factory.mktemp("data")
    for split, n in (("train", 2000), ("valid", 400), ("test", 300)):
        texts, labels = subset(corpus[split], n, seed=7)
        pd.DataFrame({"headline": texts, "label": labels}).to_csv(
            folder / f"chakraborty2016_{split}.csv", index=False)
    downs = pd.read_csv(DEFAULT_DATA_DIR / "downs2014.csv", dtype=str, keep_default_na=False)
    downs = downs.sample(240, random_state=0)
    downs.to_csv(folder / "downs2014.csv", index=False)
    extra = folder / "reddit.csv"
    pd.DataFrame({"headline": ["You will not believe this cat", "Parliament passes budget bill"],
                  "label": [1, 0]}).to_csv(extra, index=False)
    return folder


def test_evaluate_sources_report(small_detector, source_data, tmp_path, capsys):
    model = small_detector.save(tmp_path / "model")
    reports = tmp_path / "reports"
    rc = main(["evaluate-sources", str(model), "--data-dir", str(source_data), "--reports",
               str(reports), "--data", str(source_data / "reddit.csv"), "--nonsense", "40"])
    assert rc == 0
    res = json.loads((reports / "cross_source.json").read_text())
    assert list(res["sets"]) == ["corpus test", "downs2014", "reddit"]
    test = res["sets"]["corpus test"]
    assert set(test) == {MODEL, "TF-IDF + LR"} and test[MODEL]["rows"] == 300
    # The model's figures are its own predictions at its own threshold.
    x, y = load_split("test", source_data)
    pred = small_detector.predict(x)
    assert test[MODEL]["accuracy"] == pytest.approx((pred == y).mean())
    assert test[MODEL]["news_flagged"] == pytest.approx(pred[y == 0].mean())
    downs = res["sets"]["downs2014"][MODEL]
    assert downs["rows"] == 240 and 0 <= downs["flagged_by_site"]["nytimes"] <= 1
    assert downs["flagged_by_site"]["nytimes"] == pytest.approx(downs["news_flagged"])
    for m in ("TF-IDF + LR", MODEL):
        assert 0 <= res["sets"]["downs2014"][m]["ece"] <= 1
        assert 0 <= res["nonsense"]["by_model"][m]["flagged"] <= 1
    assert res["nonsense"]["rows"] == 40
    md = (reports / "cross_source.md").read_text()
    assert "| downs2014 | 240 | this model |" in md and "| reddit | 2 |" in md and "nytimes" in md
    assert (reports / "cross_source_reliability.png").read_bytes()[:4] == b"\x89PNG"
    assert "# Cross-source report" in capsys.readouterr().out


def test_evaluate_sources_bad_extra_csv_is_a_clear_error(small_detector, source_data, tmp_path, capsys):
    model = small_detector.save(tmp_path / "model")
    bad = tmp_path / "mine.csv"
    bad.write_text("headline,is_clickbait\nx,1\n")
    rc = main(["evaluate-sources", str(model), "--data-dir", str(source_data), "--reports",
               str(tmp_path / "r"), "--data", str(bad)])
    err = capsys.readouterr().err
    assert rc == 1 and "mine.csv" in err and "missing column(s) label" in err


def test_several_models_get_a_row_each_and_their_median(small_detector, source_data, tmp_path):
    from clickbait.cross_source import _median, evaluate_sources

    assert _median([{"a": 1.0, "s": {"x": 0.1}, "n": None}, {"a": 3.0, "s": {"x": 0.3}, "n": None},
                    {"a": 2.0, "s": {"x": 0.9}, "n": None}]) == {"a": 2.0, "s": {"x": 0.3}, "n": None}
    dirs = [small_detector.save(tmp_path / name) for name in ("seed1", "seed1-copy")]
    res = evaluate_sources(dirs, data_dir=source_data, reports=tmp_path / "r", nonsense=8)
    test = res["sets"]["corpus test"]
    assert list(test) == ["seed1", "seed1-copy", "median of 2", "TF-IDF + LR"]
    assert test["median of 2"]["roc_auc"] == pytest.approx(test["seed1"]["roc_auc"])
    assert "median of 2" in res["nonsense"]["by_model"]
    assert "| corpus test | 300 | median of 2 |" in (tmp_path / "r" / "cross_source.md").read_text()
