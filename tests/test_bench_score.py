"""The arithmetic of benchmarks/bench_score.py's derived figures (the timings themselves are
benchmarks, not tests)."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import load_benchmark

bench = load_benchmark("bench_score")


def test_agreement_counts_changed_labels_and_probabilities(tmp_path):
    exact = pd.DataFrame({"headline": list("abcd"), "clickbait_probability": [0.1, 0.6, 0.9, None],
                          "clickbait": [0, 1, 1, None]})
    fast = exact.assign(clickbait_probability=[0.1, 0.4, 0.95, None], clickbait=[0, 0, 1, None])
    exact.to_csv(tmp_path / "exact.csv", index=False)
    fast.to_csv(tmp_path / "fast.csv", index=False)
    a = bench.agreement(tmp_path / "exact.csv", tmp_path / "fast.csv")
    assert a["rows"] == 4 and a["label_flips"] == 1 and a["label_flip_share"] == 0.25
    assert a["max_abs_dp"] == pytest.approx(0.2) and a["mean_abs_dp"] == pytest.approx(0.25 / 3)
