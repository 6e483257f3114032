"""The cross-source report (clickbait.cross_source) on the session's small detector, its
calibration measure (ECE) and reliability diagram, and the generated nonsense."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import subset
from sklearn.metrics import roc_auc_score

from clickbait.cli import main
from clickbait.cross_source import MODEL, UNRELATED_KINDS, unrelated_text
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


def test_unrelated_text_is_fixed_by_seed_and_has_every_kind():
    a, b = unrelated_text(120, seed=3), unrelated_text(120, seed=3)
    assert a.equals(b) and len(a) == 120
    assert not a.equals(unrelated_text(120, seed=4))
    assert a["kind"].value_counts().to_dict() == {k: 20 for k in UNRELATED_KINDS}
    by = {k: a.loc[a["kind"] == k, "headline"] for k in UNRELATED_KINDS}
    assert by["url"].str.contains(r"^(?:https?://|ftp://|www\.)").all()
    assert by["log"].str.contains(r"\d").all() and by["product code"].str.contains(r"\d").all()
    assert not by["code"].str.contains(r"\{[a-zA-Z]+\}").any()  # every template slot filled
    assert all(set(t.split()) <= set(
        "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
        "labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco "
        "laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate".split())
        for t in by["lorem ipsum"])
    assert a["headline"].str.strip().str.len().gt(0).all()


def test_unrelated_text_shares_no_kind_with_the_headline_checks_negatives():
    """The reported nonsense figure must not come from what the headline check was fitted
    against (headline.non_headlines: vocabulary word strings, numbers, letter salad)."""
    from clickbait.headline import non_headlines

    ours = set(unrelated_text(600, seed=0)["headline"])
    theirs = non_headlines(["alpha", "beta", "gamma"], 600, seed=0)
    assert not ours & set(theirs)
    assert not any(t.replace(" ", "").isdigit() for t in ours)  # no bare number strings
    assert not any(t.replace(" ", "").isalpha() and t.islower() and len(set(t.split())) < 3 for t in ours)


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


def test_evaluate_sources_report(small_detector, saved_model, source_data, tmp_path, capsys):
    model = saved_model
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
    assert downs["rows"] == 240
    assert downs["flagged_by_site"]["nytimes"] == pytest.approx(downs["news_flagged"])  # NYT: all news
    frame = pd.read_csv(source_data / "downs2014.csv", dtype=str, keep_default_na=False)
    labels = frame["label"].astype(int).to_numpy()
    proba = small_detector.predict_proba(frame["headline"].tolist())[:, 1]
    assert downs["roc_auc"] == pytest.approx(roc_auc_score(labels, proba))
    assert downs["ece"] == pytest.approx(expected_calibration_error(labels, proba, 15))
    # The nonsense row is the detector's own labels on the generated text.
    gen = unrelated_text(40, seed=0)
    assert res["nonsense"]["rows"] == 40 and res["nonsense"]["generator"] == "unrelated_text"
    assert res["nonsense"]["by_model"][MODEL]["flagged"] == pytest.approx(
        small_detector.predict(gen["headline"].tolist()).mean())
    md = (reports / "cross_source.md").read_text()
    assert "| downs2014 | 240 | this model |" in md and "| reddit | 2 |" in md and "nytimes" in md
    assert (reports / "cross_source_reliability.png").read_bytes()[:4] == b"\x89PNG"
    assert "# Cross-source report" in capsys.readouterr().out


def test_evaluate_sources_bad_extra_csv_is_a_clear_error(saved_model, source_data, tmp_path, capsys):
    model = saved_model
    bad = tmp_path / "mine.csv"
    bad.write_text("headline,is_clickbait\nx,1\n")
    rc = main(["evaluate-sources", str(model), "--data-dir", str(source_data), "--reports",
               str(tmp_path / "r"), "--data", str(bad)])
    err = capsys.readouterr().err
    assert rc == 1 and "mine.csv" in err and "missing column(s) label" in err


def test_several_models_get_a_row_each_and_their_median(saved_model, det, source_data, tmp_path):
    from clickbait.cross_source import _median, evaluate_sources

    assert _median([{"a": 1.0, "s": {"x": 0.1}, "n": None}, {"a": 3.0, "s": {"x": 0.3}, "n": None},
                    {"a": 2.0, "s": {"x": 0.9}, "n": None}]) == {"a": 2.0, "s": {"x": 0.3}, "n": None}
    # A second, different model: the same network with 300 test headlines retained, labels flipped.
    texts, labels = load_split("test", source_data)
    det.retain(texts[:300], 1 - labels[:300])
    other = det.save(tmp_path / "flipped")
    res = evaluate_sources([saved_model, other], data_dir=source_data, reports=tmp_path / "r", nonsense=8)
    test = res["sets"]["corpus test"]
    assert list(test) == ["model", "flipped", "median of 2", "TF-IDF + LR"]
    a, b = test["model"]["roc_auc"], test["flipped"]["roc_auc"]
    assert a != pytest.approx(b)  # two models that disagree: the median is their mean
    assert test["median of 2"]["roc_auc"] == pytest.approx((a + b) / 2)
    assert "median of 2" in res["nonsense"]["by_model"]
    assert "| corpus test | 300 | median of 2 |" in (tmp_path / "r" / "cross_source.md").read_text()


def test_evaluate_sources_never_overwrites_without_force(saved_model, source_data, tmp_path, capsys):
    """Its reports are not rewritten unless asked: the default folder is build/reports, and an
    existing report there (or in the committed reports/) needs --force, refused before any work."""
    from clickbait.cli import build_parser

    assert build_parser().parse_args(["evaluate-sources", "m"]).reports == "build/reports"
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "cross_source.md").write_text("committed figures")
    argv = ["evaluate-sources", str(saved_model), "--data-dir", str(source_data), "--reports",
            str(reports), "--nonsense", "6"]
    assert main(argv) == 1
    assert "--force" in capsys.readouterr().err
    assert (reports / "cross_source.md").read_text() == "committed figures"
    assert sorted(p.name for p in reports.iterdir()) == ["cross_source.md"]
    assert main([*argv, "--force"]) == 0
    assert (reports / "cross_source.md").read_text().startswith("# Cross-source report")
