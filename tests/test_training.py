"""The `clickbait train` job (what `make train` runs) on a small copy of the corpus, determinism,
and (marked slow) the full-size run against the targets."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import subset

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
    assert _train(small_data, glove_path, tmp_path) == 2
    assert "--force" in capsys.readouterr().err


def test_same_seed_same_result(small_data, glove_path, tmp_path):
    accuracies = []
    for run in ("a", "b"):
        assert _train(small_data, glove_path, tmp_path / run) == 0
        accuracies.append(json.loads((tmp_path / run / "reports" / "metrics.json").read_text())
                          ["test"]["accuracy"])
    assert abs(accuracies[0] - accuracies[1]) <= 0.002, accuracies


def test_missing_corpus_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--data-dir", str(tmp_path), "-o", str(tmp_path / "m")]) == 2
    assert "chakraborty2016_train.csv not found" in capsys.readouterr().err


@pytest.mark.slow
def test_full_training_run(glove_path, tmp_path):
    """The default `make train` configuration on the full corpus (about a minute)."""
    from clickbait.training import train

    metrics = train(output=tmp_path / "model", reports=tmp_path / "reports",
                    vectors=str(glove_path), cache_dir=str(tmp_path / "cache"))
    assert metrics["test"]["accuracy"] > 0.965 and metrics["test"]["roc_auc"] > 0.985
    assert metrics["seconds"] < 180
    assert np.isclose(sum(map(sum, metrics["test"]["confusion_matrix"])), 3200)
