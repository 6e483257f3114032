"""Tampered or absurd artifacts (issue 17, defects 11-13): a re-signed config.json or vote.npz
with unbounded, non-finite, empty or object values is refused at load, naming the file and
the key, before anything is allocated from it."""

from __future__ import annotations

import copy
import io
import json
import re
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from clickbait import files
from clickbait.detector import ClickbaitDetector
from clickbait.errors import ArtifactError


@pytest.fixture(scope="module")
def saved(small_detector, tmp_path_factory) -> Path:
    det = copy.copy(small_detector)
    det.cases_ = copy.deepcopy(small_detector.cases_)
    det.overlay_ = None
    return det.save(tmp_path_factory.mktemp("bounds") / "model")


def tampered(saved: Path, to: Path, name: str, data: bytes) -> Path:
    """A copy of the model with `name` replaced AND its checksum re-signed in the manifest."""
    shutil.copytree(saved, to, symlinks=True)
    version = files.VersionedFolder(to, "model").current()
    (version / name).write_bytes(data)
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"][name] = files.sha256_file(version / name)
    (version / "manifest.json").write_text(json.dumps(manifest))
    return to


def config_of(saved: Path) -> dict:
    return json.loads((saved / "current" / "config.json").read_text())


def _set(config: dict, key: str, value) -> dict:
    *path, last = key.split(".")
    d = config
    for part in path:
        d = d[part]
    if callable(value):
        value = value(d[last])
    d[last] = value
    return config


@pytest.mark.parametrize("key, value", [
    ("params.k", True),  # defect 11
    ("params.k", 10 ** 12),
    ("params.length", 10 ** 9),
    ("params.dim", 10 ** 7),
    ("vote.combiner", None),
    ("vote.combiner.coef", lambda c: [float("nan"), *c[1:]]),  # defect 12
    ("vote.combiner.coef", lambda c: [float("inf"), *c[1:]]),
    ("vote.combiner.coef", lambda c: [-1.0, *c[1:]]),
    ("vote.combiner.intercept", float("nan")),
    ("vote.headline_check.coef", lambda c: [*c[:-1], float("-inf")]),
    ("vote.headline_check.vocab_size", 10 ** 12),
    ("vote.headline_check", "x"),
    ("vote.support_cut", float("nan")),
    ("vote.support_cut", 7.0),
    ("vote.prior", float("inf")),
    ("vote.retained_from_id", True),
    ("vote", None),
])
def test_unbounded_or_non_finite_config_values_are_refused_naming_file_and_key(saved, tmp_path, key, value):
    config = _set(config_of(saved), key, value)
    bad = tampered(saved, tmp_path / "bad", "config.json", json.dumps(config).encode())
    shown = re.escape(f"parameter {key[7:]!r}" if key.startswith("params.") else key)
    with pytest.raises(ArtifactError, match=rf"config\.json: {shown}"):
        ClickbaitDetector.load(bad)


def _vote(saved: Path) -> dict[str, np.ndarray]:
    with np.load(saved / "current" / "vote.npz") as z:
        return dict(z)


def _npz(arrays: dict, compressed: bool = False) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize("change, word", [
    (lambda a: {**a, "vectors": np.where(np.arange(a["vectors"].size).reshape(a["vectors"].shape) == 7,
                                         np.float16("nan"), a["vectors"])}, "vectors.*NaN or infinite"),
    (lambda a: {**a, "vectors": np.full_like(a["vectors"], np.inf)}, "vectors.*NaN or infinite"),
    (lambda a: {**a, "numeric": np.zeros(0, bool)}, "numeric has 0 rows"),  # defect 13
    (lambda a: {**a, "vectors": np.zeros((0, 50), "float16")}, "vectors has 0 rows"),
    (lambda a: {**a, "vectors": a["vectors"][:, :0]}, "vectors has 0 dimensions"),
    (lambda a: {**a, "pairs": a["pairs"][::-1]}, "pairs must be distinct sorted"),
    (lambda a: {**a, "numeric": a["numeric"].astype(object)}, "numeric holds object values"),
    (lambda a: {k: v for k, v in a.items() if k != "pairs"}, "pairs is missing"),
    (lambda a: {**a, "pairs": a["pairs"].astype("float64")}, "pairs is a 1-D float64 array"),
])
def test_bad_vote_arrays_are_refused_naming_the_file_and_the_array(saved, tmp_path, change, word):
    arrays = change(_vote(saved))
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # object arrays are pickled here: only the loader refuses them
    bad = tampered(saved, tmp_path / "bad", "vote.npz", buf.getvalue())
    with pytest.raises(ArtifactError, match=rf"vote\.npz: {word}"):
        ClickbaitDetector.load(bad)


def _forged_npz(arrays: dict, name: str, dtype: str, shape: tuple) -> bytes:
    """An uncompressed .npz of `arrays` plus a member `name` whose header declares `shape` of
    `dtype` over 64 bytes of data: a size bomb, if anything allocated what it declares."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for key, value in arrays.items():
            member = io.BytesIO()
            np.save(member, value)
            z.writestr(f"{key}.npy", member.getvalue())
        header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}".ljust(118) + "\n"
        z.writestr(f"{name}.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
                   + b"\0" * 64)
    return buf.getvalue()


def test_an_array_header_larger_than_its_bytes_is_refused_before_reading(saved, tmp_path):
    arrays = _vote(saved)
    forged = _forged_npz({n: arrays[n] for n in ("numeric", "vectors")}, "pairs", "<i8", (1000000000000,))
    bad = tampered(saved, tmp_path / "bomb", "vote.npz", forged)
    with pytest.raises(ArtifactError, match=r"vote\.npz: pairs declares shape \(1000000000000,\)"):
        ClickbaitDetector.load(bad)
    squeezed = tampered(saved, tmp_path / "deflated", "vote.npz", _npz(arrays, compressed=True))
    with pytest.raises(ArtifactError, match=r"vote\.npz: pairs is compressed"):
        ClickbaitDetector.load(squeezed)


def test_the_saved_model_itself_loads_and_the_constructor_shares_the_bounds(saved):
    from clickbait.artifacts import MAX_K

    det = ClickbaitDetector.load(saved)
    assert det.predict_proba(["Senate passes budget bill"]).shape == (1, 2)
    with pytest.raises(ValueError, match="'k'"):
        ClickbaitDetector(k=MAX_K + 1)._validate_params()


def test_a_forged_case_array_size_is_refused_before_reading(saved, tmp_path):
    with np.load(saved / "current" / "cases.npz") as z:
        arrays = dict(z)
    forged = _forged_npz({n: arrays[n] for n in ("labels", "case_id")}, "embeddings", "<f4",
                         (100000000000, 16))
    bad = tampered(saved, tmp_path / "bomb", "cases.npz", forged)
    with pytest.raises(ArtifactError, match=r"cases\.npz: embeddings declares shape \(100000000000, 16\)"):
        ClickbaitDetector.load(bad)
