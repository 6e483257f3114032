"""The notebooks run top to bottom, small (notebooks/run.py SMALL parameters), in a temp dir.

Each is executed in a fresh kernel with nbclient, its parameters injected after the cell tagged
`parameters` (as papermill does); the executed copies go to tmp_path, never into the repository.
Besides "no cell failed", a few real outputs are checked. All four take about a minute on 2 cores.
"""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import pytest
from conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"notebooks_{name}", NOTEBOOKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = _module("run")
build = _module("build")
EXPECTED = ["01_quickstart", "02_pretrained_embeddings", "03_metric_space", "04_adapting_to_a_user"]


def _execute(name: str, tmp_path: Path):
    """Run a notebook small; the glove_path fixture in each test fails early without the vectors."""
    return run.execute(NOTEBOOKS / f"{name}.ipynb", tmp_path / f"{name}.ipynb", run.SMALL,
                       strict=False)


def _check_figures(nb, at_least: int) -> None:
    import matplotlib.image

    pngs = run.figures(nb)
    assert len(pngs) >= at_least, f"expected {at_least} figures, got {len(pngs)}"
    for png in pngs:
        assert png.startswith(b"\x89PNG")
        image = matplotlib.image.imread(io.BytesIO(png))
        assert image.shape[0] > 200 and image.shape[1] > 300
        assert image[..., :3].std() > 0.01  # not a blank canvas


def test_notebooks_are_built_from_their_sources_without_outputs():
    assert [p.stem for p in run.NOTEBOOKS] == EXPECTED
    assert build.main(["--check"]) == 0, "run: python notebooks/build.py"
    for path in run.NOTEBOOKS:
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert "parameters" in code[0]["metadata"].get("tags", []), path.name
        assert all(not c["outputs"] and c["execution_count"] is None for c in code), path.name


def test_inject_sets_parameters_after_the_parameters_cell():
    nb = run.nbformat.read(NOTEBOOKS / "02_pretrained_embeddings.ipynb", as_version=4)
    names = run.parameter_names(nb)
    assert {"N_TRAIN", "EPOCHS"} <= set(names)
    injected = run.inject(nb, {"N_TRAIN": 10, "EPOCHS": 1})
    i = run.parameter_cell(injected)
    assert injected.cells[i + 1].source == "# Parameters\nN_TRAIN = 10\nEPOCHS = 1"
    assert len(injected.cells) == len(nb.cells) + 1
    with pytest.raises(KeyError, match="N_TRIAN"):
        run.inject(nb, {"N_TRIAN": 10})


def test_01_quickstart(tmp_path, glove_path):
    nb = _execute("01_quickstart", tmp_path)
    text = run.text_output(nb)
    assert "validation accuracy" in text
    assert "reloaded detector gives the same scores: True" in text
    assert "scored" in text.lower()
    _check_figures(nb, 1)


def test_02_pretrained_embeddings(tmp_path, glove_path):
    nb = _execute("02_pretrained_embeddings", tmp_path)
    worked = run.text_output(nb, tag="worked-example")
    assert "output shape: (2, 5, 2)" in worked
    assert ("'Nice to see you again' -> [[0.7, 1.7], [0.1, 4.2], [1.0, 3.1], [0.3, 2.1], "
            "[4.1, 2.0]]") in worked
    assert "'Hope to see you soon' -> [[1.2, 3.1], [0.1, 4.2], [1.0, 3.1], [0.3, 2.1], [2.2, 1.4]]" in worked
    assert "max |Embedding(ids) - one_hot @ TABLE| = 0.0" in worked
    text = run.text_output(nb)
    assert "ids: [[0, 1, 2, 3, 4], [5, 1, 2, 3, 6]]" in text
    assert "of token occurrences" in text  # the GloVe Coverage line
    for setup in ("GloVe, frozen", "GloVe, trainable", "random, trainable"):
        assert f"{setup:18s} validation accuracy by epoch: " in text
    _check_figures(nb, 1)


def test_03_metric_space(tmp_path, glove_path):
    nb = _execute("03_metric_space", tmp_path)
    text = run.text_output(nb)
    assert "silhouette (cosine)" in text
    assert "test accuracy" in text and "misclassified" in text
    assert "P(clickbait) = " in text
    _check_figures(nb, 2)


def test_04_adapting_to_a_user(tmp_path, glove_path):
    nb = _execute("04_adapting_to_a_user", tmp_path)
    text = run.text_output(nb)
    n = max(run.SMALL["USER_SIZES"])
    assert f"agreement with the user's labels (overlay 'reader', {n} cases" in text
    assert "user_weight 10: number-led" in text
    assert "saved overlay: model/users/reader" in text
    assert f"forgot {n} cases" in text
    _check_figures(nb, 1)
