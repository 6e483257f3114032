"""The fast retrieval (clickbait.index): its nearest cases, its cluster summaries, and how a
model carries it (saved, loaded without it, rebuilt when the cases change)."""

from __future__ import annotations

import copy
import json
import logging

import numpy as np
import pytest

from clickbait import index as fast_index
from clickbait.detector import ClickbaitDetector
from clickbait.files import ArtifactError
from clickbait.vote import summary_evidence


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype("float32")


@pytest.fixture(scope="module")
def space():
    rng = np.random.default_rng(3)
    centres = unit(rng.normal(size=(6, 8)))
    emb = unit(centres[rng.integers(6, size=900)] + 0.3 * rng.normal(size=(900, 8)))
    labels = (rng.random(900) < 0.5).astype("int8")
    queries = unit(rng.normal(size=(50, 8)))
    return emb, labels, queries


def test_probing_every_list_finds_the_exact_nearest_and_the_summaries_add_up(space, monkeypatch):
    monkeypatch.setattr(fast_index, "PROBE", 64)  # every list probed and summarised
    emb, labels, queries = space
    centroids = fast_index.ClusterIndex.fit_centroids(emb, labels, seed=0)
    assert all(len(c) == min(fast_index.LISTS, (labels == k).sum() // 39) for k, c in centroids.items())
    index = fast_index.ClusterIndex(emb, labels, centroids, nprobe=fast_index.PROBE)  # every list
    cn = index.neighbours(queries)
    for c in (0, 1):
        members = np.flatnonzero(labels == c)
        sims = queries @ emb[members].T
        top = -np.sort(-sims, axis=1)[:, :fast_index.TOP]
        np.testing.assert_allclose(cn.sims[c], top, atol=1e-5)
        assert (labels[cn.pos[c]] == c).all()
        np.testing.assert_allclose((queries[:, None, :] * emb[cn.pos[c]]).sum(-1), cn.sims[c], atol=1e-5)
        # every member is either among the nearest or in a summary, and the summed similarity
        # of the summaries' members is exact (q . sum x = sum q . x)
        counts = cn.fill_counts[c].sum(axis=1) + fast_index.TOP
        np.testing.assert_array_equal(counts, len(members))
        total = (cn.fill_sims[c] * cn.fill_counts[c]).sum(axis=1) + cn.sims[c].sum(axis=1)
        np.testing.assert_allclose(total, sims.sum(axis=1), rtol=1e-4, atol=1e-3)


def test_a_query_leaves_its_own_case_out_of_both_parts(space, monkeypatch):
    monkeypatch.setattr(fast_index, "PROBE", 64)
    emb, labels, _ = space
    centroids = fast_index.ClusterIndex.fit_centroids(emb, labels, seed=0)
    index = fast_index.ClusterIndex(emb, labels, centroids, nprobe=fast_index.PROBE)
    own = np.arange(40)
    cn = index.neighbours(emb[own], exclude=own)
    for c in (0, 1):
        assert not (cn.pos[c] == own[:, None]).any()
        members = labels == c
        counts = cn.fill_counts[c].sum(axis=1) + fast_index.TOP
        np.testing.assert_array_equal(counts, members.sum() - members[own])


def test_summary_evidence_matches_the_exact_features_where_clusters_are_single_cases(monkeypatch):
    """With one case per cluster and every cluster summarised, filling ranks by clusters is
    exact: the features equal the exact evidence's."""
    from clickbait.cases import CaseBase, class_neighbours
    from clickbait.vote import evidence

    monkeypatch.setattr(fast_index, "PROBE", 64)
    rng = np.random.default_rng(0)
    n = 120  # 60 a class: every depth up to 25 exists
    emb = unit(rng.normal(size=(n, 6)))
    labels = np.repeat([0, 1], n // 2).astype("int8")
    index = fast_index.ClusterIndex(emb, labels, {c: emb[labels == c] for c in (0, 1)},
                                    nprobe=fast_index.PROBE)
    queries = unit(rng.normal(size=(30, 6)))
    fast = summary_evidence(index.neighbours(queries))
    nb = class_neighbours([CaseBase(emb, labels, _meta(n))], [1.0], queries, 100)
    exact = evidence(nb)
    # depths 1, 5, 25 and shares 5, 25 use cases that all exist; depth 100 pads differently
    np.testing.assert_allclose(fast[:, [0, 1, 2, 4, 5]], exact[:, [0, 1, 2, 4, 5]], atol=1e-5)


def _meta(n: int):
    import pandas as pd

    return pd.DataFrame({"case_id": np.arange(n), "text": [f"t{i}" for i in range(n)],
                         "source": "x", "added": 0.0})


def test_the_fast_vote_is_saved_and_loads_the_same(small_detector, saved_model, corpus):
    texts = list(corpus["test"][0][:300])
    from clickbait.files import VersionedFolder

    assert small_detector.retrieval_ == "fast"
    assert (VersionedFolder(saved_model, "model").current() / "index.npz").exists()
    loaded = ClickbaitDetector.load(saved_model)
    assert loaded.retrieval_ == "fast" and "retrieval='fast'" in repr(loaded)
    np.testing.assert_allclose(loaded.predict_proba(texts), small_detector.predict_proba(texts), atol=1e-5)
    exact = loaded.set_params(retrieval="exact")
    assert exact.retrieval_ == "exact" and exact.threshold_ == small_detector.votes_["exact"]["threshold"]


def test_a_model_saved_without_its_clusters_fits_them_again(det, tmp_path, corpus, caplog):
    texts = list(corpus["test"][0][:200])
    det.centroids_ = None
    det.save(tmp_path / "m")
    assert not (tmp_path / "m" / "current" / "index.npz").exists()
    assert (tmp_path / "m" / "current" / "cases.npz").exists()
    loaded = ClickbaitDetector.load(tmp_path / "m")
    with caplog.at_level(logging.INFO, logger="clickbait"):
        p = loaded.predict_proba(texts)[:, 1]
    assert "no saved clusters" in caplog.text and loaded.retrieval_ == "fast"
    assert ((p >= loaded.threshold_) == (det.predict_proba(texts)[:, 1] >= det.threshold_)).mean() > 0.98


def test_a_model_saved_before_the_fast_vote_loads_with_the_exact_one(det, tmp_path, corpus):
    texts = list(corpus["test"][0][:100])
    expected = copy.copy(det).set_params(retrieval="exact").predict_proba(texts)
    det.votes_ = {"exact": det.votes_["exact"]}  # the copy's own dict: the fixture keeps its vote
    det.save(tmp_path / "old")
    loaded = ClickbaitDetector.load(tmp_path / "old")
    assert loaded.retrieval == "fast" and loaded.retrieval_ == "exact"
    assert "retrieval='exact'" in repr(loaded)
    np.testing.assert_allclose(loaded.predict_proba(texts), expected, atol=1e-6)


def test_forged_centroids_are_refused_by_name(model_copy):
    from clickbait.files import VersionedFolder

    version = VersionedFolder(model_copy, "model").current()
    path = version / "index.npz"
    path.unlink()  # the saved file is read-only
    np.savez(path, centroids0=np.zeros((3, 5), "float32"), centroids1=np.zeros((3, 5), "float32"))
    _rewrite_manifest(version, "index.npz")
    with pytest.raises(ArtifactError, match=r"index\.npz.*centroids0"):
        ClickbaitDetector.load(model_copy)


def _rewrite_manifest(version, name):
    """Re-checksum one file, as a forger would (the checksums prove integrity, not trust)."""
    import hashlib

    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"][name] = hashlib.sha256((version / name).read_bytes()).hexdigest()
    (version / "manifest.json").unlink()
    (version / "manifest.json").write_text(json.dumps(manifest))


def test_forgotten_cases_leave_the_fast_index_at_once(det, corpus):
    before = det._cluster_index()
    gone = det.cases_.ids[:500]
    det.forget(case_ids=gone)
    after = det._cluster_index()
    assert after is not before
    assert sum(len(cc.members) for cc in after.classes.values()) == len(det._trained_cases())
    cn = after.neighbours(det.transform(list(corpus["test"][0][:50])))
    ids = det._trained_cases().ids
    assert not np.isin(ids[np.concatenate(cn.pos).ravel()], gone).any()


def test_a_headline_gets_the_same_answer_alone_as_in_any_batch(small_detector, corpus):
    """Near-tied lists or neighbours were chosen differently by batch size (faiss's float32 BLAS
    from 20 queries on; the encoder's float32 dense layers): Spark partitions and chunks moved
    P by up to 0.005. Now a headline's answer does not depend on its batch."""
    heads = list(corpus["test"][0]) + list(corpus["valid"][0])
    texts = [f"{heads[i % len(heads)]} {heads[(7 * i) % len(heads)].split()[0]}" for i in range(3000)]
    whole = small_detector.predict_proba(texts)[:, 1]
    parts = np.concatenate([small_detector.predict_proba(texts[i:i + 7])[:, 1] for i in range(0, 3000, 7)])
    np.testing.assert_allclose(parts, whole, atol=1e-9)
    alone = np.array([small_detector.predict_proba([t])[0, 1] for t in texts[2950:]])
    np.testing.assert_allclose(alone, whole[2950:], atol=1e-9)
