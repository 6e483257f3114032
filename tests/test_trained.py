"""`TrainedDetector` (clickbait.trained): a trained model without scikit-learn, which batch
scoring loads. Its start-up is the point: `clickbait score` and the engines' workers must not
import scikit-learn or scipy's optimiser, and the model must score as `ClickbaitDetector` does."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from clickbait.detector import ClickbaitDetector
from clickbait.trained import TrainedDetector

HEADLINES = ["You Won't Believe What This Dog Did", "Senate passes budget bill after long debate",
             "17 Things Only '90s Kids Remember", "a"]
HEAVY = ("sklearn", "scipy.optimize", "scipy.stats", "tensorflow", "keras")


def _heavy_after(code: str) -> list[str]:
    """The heavy modules a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    return eval(out.stdout.strip().splitlines()[-1])


def test_score_command_imports_no_scikit_learn(saved_model, tmp_path):
    """`clickbait score` paid 0.6 s of start-up for scikit-learn, and 0.3 s for scipy's
    optimiser, which scoring never calls (benchmarks/results/score.json, start-up)."""
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("headline\n" + "\n".join(HEADLINES) + "\n")
    code = ("from clickbait.cli import main\n"
            f"assert main(['score', {str(saved_model)!r}, {str(src)!r}, '-o', {str(out)!r}, '-q']) == 0")
    assert _heavy_after(code) == []
    assert len(out.read_text().splitlines()) == len(HEADLINES) + 1


def test_engine_workers_import_no_scikit_learn(saved_model):
    """Each Spark or Dask worker loads the model through `BatchScorer`."""
    code = ("from clickbait.batch import BatchScorer\n"
            f"p = BatchScorer({str(saved_model)!r}).predict_batch(['a b', None, 'You Will Not Believe'])\n"
            "assert p.shape == (3,) and p[1] != p[1], p")
    assert _heavy_after(code) == []


def test_trained_detector_scores_as_the_estimator(saved_model):
    light, full = TrainedDetector.load(saved_model), ClickbaitDetector.load(saved_model)
    assert type(light) is TrainedDetector and isinstance(full, TrainedDetector)
    np.testing.assert_array_equal(light.predict_proba(HEADLINES), full.predict_proba(HEADLINES))
    np.testing.assert_array_equal(light.predict(HEADLINES), full.predict(HEADLINES))
    assert light.explain(HEADLINES[:1], k=3)["case_id"].tolist() == \
        full.explain(HEADLINES[:1], k=3)["case_id"].tolist()
    assert repr(light).startswith("TrainedDetector(encoder=") and "path=" in repr(light)
    assert repr(full).startswith("ClickbaitDetector(encoder=")
    assert light._param_dict() == full.get_params()


@pytest.mark.parametrize(("name", "value"), [("k", 0), ("k", 2.5), ("length", True), ("retrieval", "ivf")])
def test_trained_detector_refuses_a_bad_parameter_by_name(saved_model, name, value):
    det = TrainedDetector.load(saved_model)
    setattr(det, name, value)
    with pytest.raises(ValueError, match=rf"^{name} must be .*; got {value!r}"):
        det.predict_proba(HEADLINES)


def test_unfitted_trained_detector_says_so():
    det = TrainedDetector()
    assert repr(det) == "TrainedDetector(not fitted)"
    with pytest.raises(RuntimeError, match="this TrainedDetector is not fitted yet"):
        det.predict(HEADLINES)
