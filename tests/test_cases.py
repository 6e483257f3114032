import numpy as np
import pytest

from clickbait import cases as cases_mod
from clickbait.cases import CaseBase, brute_force_kneighbors


def unit(rng, n, d):
    x = rng.normal(size=(n, d)).astype("float32")
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def base():
    rng = np.random.default_rng(0)
    cb = CaseBase.empty(16)
    cb.add(unit(rng, 500, 16), rng.integers(0, 2, 500), [f"case {i}" for i in range(500)])
    return cb


@pytest.mark.parametrize("chunk", [7, 64, 100_000])
def test_retrieval_matches_brute_force(base, chunk):
    q = unit(np.random.default_rng(1), 300, 16)
    sims, pos = base.kneighbors(q, 10, chunk_size=chunk)
    ref_sims, ref_pos = brute_force_kneighbors(base.embeddings, q, 10)
    np.testing.assert_allclose(sims, ref_sims, atol=1e-5)
    assert (pos == ref_pos).mean() > 0.999  # ties in float32 may swap


def test_numpy_path_matches_brute_force(base):
    q = unit(np.random.default_rng(2), 50, 16)
    sims, pos = cases_mod._numpy_search(base.embeddings, q, 5)
    ref_sims, ref_pos = brute_force_kneighbors(base.embeddings, q, 5)
    np.testing.assert_allclose(sims, ref_sims, atol=1e-6)
    np.testing.assert_array_equal(pos, ref_pos)


def test_memory_is_bounded_by_chunks(base, monkeypatch):
    seen = []
    search = base._search
    monkeypatch.setattr(base, "_search", lambda q, k: (seen.append(len(q)), search(q, k))[1])
    q = np.tile(unit(np.random.default_rng(3), 1, 16), (20_000, 1))
    p = base.predict_proba(q, 5, 0.1, chunk_size=4096)
    assert max(seen) == 4096 and sum(seen) == 20_000 and p.shape == (20_000,)


def test_vote_by_hand():
    cb = CaseBase.empty(2)
    cb.add(np.eye(2, dtype="float32"), [1, 0], ["yes", "no"])
    sims = np.array([[0.9, 0.5]])
    pos = np.array([[0, 1]])
    w = np.exp(np.array([0.0, -0.4]) / 0.1)
    assert cb.vote(sims, pos, 0.1)[0] == pytest.approx(w[0] / w.sum())
    assert cb.vote(sims, pos, 1e6)[0] == pytest.approx(0.5)  # huge T: plain majority


def test_retain_revise_forget_and_round_trip(base, tmp_path):
    ids = base.add(np.eye(16, dtype="float32")[:2], [1, 0], ["new a", "new b"], source="alice")
    assert ids.tolist() == [500, 501]
    sims, pos = base.kneighbors(np.eye(16, dtype="float32")[:1], 1)
    assert base.meta["text"].iloc[pos[0, 0]] == "new a" and sims[0, 0] == pytest.approx(1.0)
    base.revise([500], [0])
    assert base.labels[base.positions([500])[0]] == 0
    with pytest.raises(KeyError, match="9999"):
        base.revise([9999], [1])
    with pytest.raises(ValueError, match="got \\[2\\]"):
        base.revise([500], [2])
    base.save(tmp_path)
    again = CaseBase.load(tmp_path)
    np.testing.assert_array_equal(again.embeddings, base.embeddings)
    np.testing.assert_array_equal(again.labels, base.labels)
    assert again.meta["source"].tolist() == base.meta["source"].tolist()
    assert base.forget(source="alice") == 2 and len(base) == 500
    assert base.forget(case_ids=[0, 1]) == 2 and 0 not in base.ids


def test_empty_and_mismatched_inputs():
    cb = CaseBase.empty(4)
    with pytest.raises(ValueError, match="empty"):
        cb.kneighbors(np.zeros((1, 4), "float32"), 3)
    with pytest.raises(ValueError, match="dim 4"):
        cb.add(np.zeros((2, 3), "float32"), [0, 1], ["a", "b"])
