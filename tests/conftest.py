"""Shared fixtures: the real corpus (from ../shared/data), one small detector trained on a
subset of it with the real GloVe vectors, and that detector saved once (`saved_model`, read
only; `model_copy` for a test that changes the folder).

Under CI=true a skipped test is a failure: CI has every optional dependency (pyspark, Java,
dask), so a skip there means a test that silently did not run."""

from __future__ import annotations

import copy
import os
import shutil
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


@pytest.fixture(scope="session")
def saved_model(small_detector, tmp_path_factory) -> Path:
    """`small_detector` saved once for the session. Read it; never write into it (user overlays,
    adapt, damage): take `model_copy` for that."""
    return small_detector.save(tmp_path_factory.mktemp("saved") / "model")


@pytest.fixture
def model_copy(saved_model, tmp_path) -> Path:
    """A private copy of `saved_model` (tmp_path/model) that a test may change."""
    return Path(shutil.copytree(saved_model, tmp_path / "model", symlinks=True))  # `current` stays a link


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


CI = os.environ.get("CI") == "true"


def _fail_skip(report) -> None:
    if CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (CI must run every test): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A module skipped as a whole (importorskip, skip(allow_module_level=True)) fails too."""
    outcome = yield
    _fail_skip(outcome.get_result())


# -- shared by the fault tests (links, killed runs, damaged artifacts) ------------------------
SUBPROCESS_ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
TWO_HEADLINES = ["You Won't Believe What This Dog Did Next", "Senate passes budget bill"]


def default_signals() -> None:
    """preexec_fn for a child that is sent signals: their default actions, whatever this process
    inherited (under `nohup`, SIGHUP is ignored, and an ignored signal stays ignored in children)."""
    import signal

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def victim(tmp_path):
    """A file outside the output's folder that a planted link points at."""
    v = tmp_path / "elsewhere" / "victim.txt"
    v.parent.mkdir()
    v.write_text("precious")
    return v


@pytest.fixture
def headlines_csv(tmp_path):
    import pandas as pd

    path = tmp_path / "in.csv"
    pd.DataFrame({"headline": TWO_HEADLINES}).to_csv(path, index=False)
    return path


def copy_model(model: Path, to: Path) -> Path:
    shutil.copytree(model, to, symlinks=True)  # the pointer stays a pointer
    return to


def version_of(model: Path) -> Path:
    from clickbait import files

    return files.VersionedFolder(model, "model").current()


def leftovers(folder: Path) -> list[str]:
    """Temporaries and unfinished versions anywhere under `folder`."""
    from clickbait import files

    found = [str(p.relative_to(folder)) for p in folder.rglob(f"*{files.TMP_SUFFIX}")]
    for versions in folder.rglob("versions"):
        live = os.readlink(versions.parent / "current").split("/")[-1]
        found += [str(p.relative_to(folder)) for p in versions.iterdir() if p.name != live]
    return found


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flipped":
        path.write_bytes(data[:100] + bytes(b ^ 0xFF for b in data[100:110]) + data[110:])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "deleted":
        path.unlink()


def proba(scorer, texts) -> np.ndarray:
    """P(clickbait) of non-empty headlines by a `scoring.Scorer` (its batch path)."""
    return scorer.score_ids(*scorer.tokenize(texts))[:, 0]


def rewrite_with_checksum(version: Path, name: str, data: bytes) -> None:
    """Change a file AND its checksum: what a hand edit or a hostile folder can do."""
    import json

    from clickbait import files

    (version / name).write_bytes(data)
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"][name] = files.sha256_file(version / name)
    (version / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture
def clickbait_log(caplog):
    """caplog for the `clickbait` logger, whatever an earlier `cli.main` did to it (the CLI
    stops it propagating to the root logger, where caplog listens)."""
    import logging

    logger = logging.getLogger("clickbait")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)
