"""Shared fixtures: the real corpus (from ../shared/data) and one small detector trained on a
subset of it with the real GloVe vectors, reused by the tests that need a fitted model."""

from __future__ import annotations

import copy
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
GLOVE = ROOT / "pretrained" / "glove.6B.50d.txt"


@pytest.fixture(scope="session")
def corpus():
    from clickbait.data import load_split

    return {s: load_split(s) for s in ("train", "valid", "test")}


@pytest.fixture(scope="session")
def glove_path() -> Path:
    if not GLOVE.is_file():
        pytest.fail(f"{GLOVE} is missing: run `make pretrained` (make test does it first)")
    return GLOVE


def subset(split, n, seed=0):
    texts, labels = split
    idx = np.random.default_rng(seed).permutation(len(texts))[:n]
    return [texts[i] for i in idx], labels[idx]


@pytest.fixture(scope="session")
def small_detector(corpus, glove_path, tmp_path_factory):
    """A tiny CNN + contrastive detector on 4,000 training headlines (about 10 s)."""
    from clickbait.detector import ClickbaitDetector

    det = ClickbaitDetector(
        str(glove_path), dim=16, filters=32, hidden=32, epochs=4, length=24,
        pretrained_top_n=2000, cache_dir=str(tmp_path_factory.mktemp("vcache")), seed=1,
    )
    return det.fit(*subset(corpus["train"], 4000), validation=subset(corpus["valid"], 800))


@pytest.fixture
def det(small_detector):
    """A copy that shares the fitted network but owns its case base (the fixture stays intact)."""
    d = copy.copy(small_detector)
    d.cases_ = copy.deepcopy(small_detector.cases_)
    d.overlay_ = None
    return d


def load_benchmark(name: str):
    """A script of benchmarks/ imported as a module (benchmarks/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
