"""The `clickbait train` job (what `make train` runs) on a small copy of the corpus, determinism,
and (marked slow) the full-size run against the targets."""

import json
import os

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, subset

from clickbait.cli import main

SMALL = ["--dim", "16", "--epochs", "2", "--length", "24", "--seed", "3"]


@pytest.fixture(scope="module")
def small_data(corpus, tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    for split, n in (("train", 3000), ("valid", 600), ("test", 600)):
        texts, labels = subset(corpus[split], n, seed=4)
        pd.DataFrame({"headline": texts, "label": labels}).to_csv(
            folder / f"chakraborty2016_{split}.csv", index=False)
    return folder


def _train(small_data, glove_path, out, *extra):
    return main(["train", "--data-dir", str(small_data), "--vectors", str(glove_path),
                 "-o", str(out / "model"), "--reports", str(out / "reports"),
                 "--cache-dir", str(out / "cache"), *SMALL, *extra])


def test_train_command_writes_model_metrics_and_plots(small_data, glove_path, tmp_path, capsys):
    assert _train(small_data, glove_path, tmp_path) == 0
    metrics = json.loads((tmp_path / "reports" / "metrics.json").read_text())
    test = metrics["test"]
    assert {"accuracy", "precision", "recall", "f1", "roc_auc"} <= set(test)
    assert test["rows"] == 600 and test["accuracy"] > 0.85 and test["roc_auc"] > 0.9
    for name in ("roc.png", "confusion.png", "projection.png"):
        assert (tmp_path / "reports" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    config = json.loads((tmp_path / "model" / "current" / "config.json").read_text())
    assert config["metrics"]["test"]["accuracy"] == test["accuracy"]
    assert "test accuracy" in capsys.readouterr().out
    # An existing model is not overwritten without --force.
    assert _train(small_data, glove_path, tmp_path) == 1
    assert "--force" in capsys.readouterr().err


def test_same_seed_same_result(small_data, glove_path, tmp_path):
    accuracies = []
    for run in ("a", "b"):
        assert _train(small_data, glove_path, tmp_path / run) == 0
        accuracies.append(json.loads((tmp_path / run / "reports" / "metrics.json").read_text())
                          ["test"]["accuracy"])
    assert abs(accuracies[0] - accuracies[1]) <= 0.002, accuracies


def test_missing_corpus_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--data-dir", str(tmp_path), "-o", str(tmp_path / "m")]) == 1
    assert "chakraborty2016_train.csv not found" in capsys.readouterr().err


@pytest.mark.slow
def test_full_training_run(glove_path, tmp_path):
    """The default `make train` configuration on the full corpus (about a minute)."""
    from clickbait.training import train

    metrics = train(output=tmp_path / "model", reports=tmp_path / "reports",
                    vectors=str(glove_path), cache_dir=str(tmp_path / "cache"))
    assert metrics["test"]["accuracy"] > 0.965 and metrics["test"]["roc_auc"] > 0.985
    assert np.isclose(sum(map(sum, metrics["test"]["confusion_matrix"])), 3200)
    # the fast retrieval (the default) and the exact scan agree on the labels (issue 20's bar)
    from clickbait.data import load_split
    from clickbait.detector import ClickbaitDetector

    det = ClickbaitDetector.load(tmp_path / "model")
    texts = load_split("test")[0]
    fast = det.predict(texts)
    exact = det.set_params(retrieval="exact").predict(texts)
    assert (fast == exact).mean() >= 0.995, (fast == exact).mean()


def test_fit_leaves_the_callers_random_state_and_determinism_alone(corpus, glove_path, tmp_path):
    """fit seeds what it uses inside `seeding.seeded` and puts the caller's state back."""
    import random

    from tensorflow.python.eager import context
    from tensorflow.python.framework import config as tf_config

    from clickbait.detector import ClickbaitDetector

    np.random.seed(1234)  # noqa: NPY002 (the caller's global state is what is checked)
    random.seed(99)
    numpy_before, random_before = np.random.get_state(), random.getstate()  # noqa: NPY002
    determinism_before, seed_before = tf_config.is_op_determinism_enabled(), context.global_seed()
    det = ClickbaitDetector(str(glove_path), dim=8, filters=8, hidden=8, epochs=1, length=16,
                            pretrained_top_n=0, cache_dir=str(tmp_path / "cache"), seed=7)
    det.fit(*subset(corpus["train"], 400, seed=8), validation=subset(corpus["valid"], 100, seed=8))
    numpy_after = np.random.get_state()  # noqa: NPY002
    assert numpy_after[0] == numpy_before[0] and (numpy_after[1] == numpy_before[1]).all()
    assert numpy_after[2:] == numpy_before[2:]
    assert random.getstate() == random_before
    assert tf_config.is_op_determinism_enabled() == determinism_before
    assert context.global_seed() == seed_before


def test_reports_leave_the_matplotlib_backend_alone(tmp_path):
    """A notebook's inline backend survives `import clickbait.reports` and a plot to a file."""
    import subprocess
    import sys

    code = ("import matplotlib, numpy as np; before = matplotlib.get_backend()\n"
            "from clickbait import reports\n"
            f"reports.plot_roc(np.array([0, 1, 1, 0]), np.array([.1, .9, .6, .4]),\n"
            f"                 {str(tmp_path / 'r.png')!r})\n"
            "print(before, matplotlib.get_backend())")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "MPLBACKEND": "pdf", "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["pdf", "pdf"]
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
