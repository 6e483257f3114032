"""The new-source adaptation benchmark (benchmarks/bench_adapt.py: adapt_to_source) on the
session's small detector and a small downs2014 sample."""


import numpy as np
import pandas as pd
import pytest
from conftest import load_benchmark, subset
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from clickbait.data import DEFAULT_DATA_DIR


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_adapt")


def test_balanced_order_keeps_class_shares_in_every_prefix(bench):
    labels = np.array([1] * 30 + [0] * 70)
    order = bench.balanced_order(labels, seed=0)
    assert sorted(order) == list(range(100))
    for n in (10, 20, 50):
        assert abs(labels[order[:n]].mean() - 0.3) <= 1 / n
    assert not np.array_equal(order, bench.balanced_order(labels, seed=1))


def test_adapt_to_source(bench, small_detector, saved_model, det, corpus, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for split, n in (("train", 1500), ("valid", 300)):
        texts, labels = subset(corpus[split], n, seed=2)
        pd.DataFrame({"headline": texts, "label": labels}).to_csv(
            data / f"chakraborty2016_{split}.csv", index=False)
    downs = pd.read_csv(DEFAULT_DATA_DIR / "downs2014.csv", dtype=str, keep_default_na=False)
    downs.sample(300, random_state=1).to_csv(data / "downs2014.csv", index=False)
    model = saved_model
    res = bench.adapt_to_source(model, data_dir=data, pool_size=60, ns=(0, 20, 60), seed=0)
    assert res["judge_rows"] == 240 and res["pool_rows"] == 60
    curves = res["curves"]
    assert set(curves) == {"retain", "overlay", "tfidf_refit"}
    # N = 0 is the saved model on the judge rows: the same stratified split, computed here.
    frame = pd.read_csv(data / "downs2014.csv", dtype=str, keep_default_na=False)
    texts, labels = frame["headline"].tolist(), frame["label"].astype(int).to_numpy()
    _, judge = train_test_split(np.arange(len(texts)), train_size=60, stratify=labels, random_state=0)
    proba = small_detector.predict_proba([texts[i] for i in judge])[:, 1]
    assert curves["retain"][0]["roc_auc"] == pytest.approx(roc_auc_score(labels[judge], proba))
    # With nothing retained, base and overlay are the unchanged model.
    assert curves["retain"][0] == curves["overlay"][0]
    # Retaining 60 rows of the new source moves the model's scores on it.
    assert curves["retain"][60] != curves["retain"][0]
    assert res["target"]["tfidf_refit_auc"] == curves["tfidf_refit"][60]["roc_auc"]
    assert not (model / "users").exists()  # the overlay is never saved
    png = bench.plot_source(res, tmp_path / "adapt.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    # Several models (seeds): the curve is the per-point median (of two: their mean); the
    # baseline is fitted once. The second model differs: 300 corpus rows retained, labels flipped.
    flip_x, flip_y = subset(corpus["test"], 300, seed=3)
    det.retain(flip_x, 1 - flip_y)
    other = det.save(tmp_path / "other")
    both = bench.run_source([str(model), str(other)], tmp_path / "reports", 0, data_dir=data,
                            pool_size=60, ns=(0, 60))
    runs = [r["curves"]["retain"][60]["roc_auc"] for r in both["runs"]]
    assert len(runs) == 2 and runs[0] != pytest.approx(runs[1])
    assert both["curves"]["retain"][60]["roc_auc"] == pytest.approx(sum(runs) / 2)
    refit = [r["curves"]["tfidf_refit"][60]["roc_auc"] for r in both["runs"]]
    assert refit[0] == refit[1] == both["curves"]["tfidf_refit"][60]["roc_auc"]  # fitted once
    assert (tmp_path / "reports" / "adapt_source.json").is_file()
    assert (tmp_path / "reports" / "adapt_source.png").is_file()
    with pytest.raises(ValueError, match="pool"):
        bench.adapt_to_source(model, data_dir=data, pool_size=300, ns=(0, 20))
