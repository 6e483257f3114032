"""Wilson editing and condensing: on a synthetic case base with label noise, and on a detector."""

import numpy as np
import pytest

from clickbait import cli
from clickbait.cases import CaseBase
from clickbait.detector import ClickbaitDetector
from clickbait.maintenance import condense, condense_detector, loo_proba, maintain, wilson_edit


def blobs(n, seed, dim=8):
    """Two well-separated classes on the unit sphere, each a few clusters."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(6, dim))
    which = rng.integers(0, 6, n)
    x = centres[which] + 0.35 * rng.normal(size=(n, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype("float32"), (which % 2).astype("int8")


@pytest.fixture
def noisy():
    x, y = blobs(3000, 0)
    flipped = np.random.default_rng(1).choice(len(y), 150, replace=False)
    y = y.copy()
    y[flipped] = 1 - y[flipped]
    cb = CaseBase.empty(x.shape[1])
    cb.add(x, y, [f"c{i}" for i in range(len(y))], source="synthetic")
    return cb, flipped


def test_leave_one_out_ignores_the_case_itself():
    cb = CaseBase.empty(2)
    cb.add(np.array([[1, 0], [1, 0], [0, 1]], "float32"), [1, 0, 0], ["a", "b", "c"])
    p = loo_proba(cb, 1, 0.05)
    assert p.tolist() == [0.0, 1.0, 0.0]  # duplicates see each other, never themselves


def test_wilson_editing_removes_the_flipped_cases(noisy):
    cb, flipped = noisy
    keep = wilson_edit(cb, k=10, temperature=0.05, threshold=0.5)
    assert (~keep[flipped]).mean() > 0.8  # most noise removed
    clean = np.setdiff1d(np.arange(len(cb)), flipped)
    assert (~keep[clean]).mean() < 0.05  # few good cases lost


def test_condensing_shrinks_and_keeps_held_out_accuracy(noisy):
    cb, _ = noisy
    qx, qy = blobs(2000, 5)
    full = (cb.predict_proba(qx, 10, 0.05) >= 0.5) == qy
    reduced, report = maintain(cb, k=10, temperature=0.05, threshold=0.5)
    assert report["cases_before"] == 3000 and report["cases_after"] == len(reduced)
    assert len(reduced) * 3 < len(cb), report
    small = (reduced.predict_proba(qx, 10, 0.05) >= 0.5) == qy
    assert small.mean() >= full.mean() - 0.01, (small.mean(), full.mean())
    # Ids and provenance survive, and the kept set covers every edited case.
    assert set(reduced.ids) <= set(cb.ids) and set(reduced.meta["source"]) == {"synthetic"}
    mask = condense(cb, k=10, temperature=0.05, threshold=0.5, margin=0.0)
    assert mask.sum() < len(cb)


def test_condense_detector_and_cli(small_detector, saved_model, corpus, tmp_path, capsys):
    before = len(small_detector.cases_)
    reduced, report = condense_detector(small_detector)
    assert len(small_detector.cases_) == before  # the fixture is untouched
    assert len(reduced.cases_) == report["cases_after"] < before / 5
    assert reduced.network_ is small_detector.network_
    path = saved_model
    out = tmp_path / "small"
    assert cli.main(["condense", str(path), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "x smaller" in text and "test accuracy" in text
    assert len(ClickbaitDetector.load(out).cases_) == report["cases_after"]
    assert cli.main(["condense", str(path), "-o", str(out)]) == 1  # exists, no --force: a failure (exit 1)
