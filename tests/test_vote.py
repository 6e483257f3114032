"""The learned vote: out-of-fold fitting, calibrated and monotone probabilities, support, and a
user's label winning on its own headline."""

import copy
import itertools

import numpy as np
import pytest

from clickbait.cases import MISSING, CaseBase, class_neighbours
from clickbait.headline import non_headlines
from clickbait.vote import (
    FEATURES,
    Combiner,
    evidence,
    fit_logistic,
)

NEWS = ["Senate committee delays vote on farm subsidies", "Oil prices fall as talks stall in Vienna",
        "Court upholds ruling on state pension reform"]
BAIT = ["You Won't Believe What This Cat Did Next", "17 Things Only '90s Kids Will Remember",
        "This Is What Happens When You Eat Pizza Every Day"]


def _unit(x):
    x = np.asarray(x, "float32")
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_excluded_query_never_votes_for_itself():
    rng = np.random.default_rng(0)
    cases = CaseBase.empty(8)
    cases.add(_unit(rng.normal(size=(60, 8))), rng.integers(0, 2, 60), [str(i) for i in range(60)])
    own = np.arange(10, 30)
    queries = cases.embeddings[own]
    plain = class_neighbours([cases], [1.0], queries, 5)
    assert np.allclose(plain.support, 1.0)  # without exclusion each finds itself first
    nb = class_neighbours([cases], [1.0], queries, 5, exclude=own)
    for label in (0, 1):
        assert not (nb.pos[label] == own[:, None]).any()
        assert (nb.sims[label] < 0.9999).all()
    # the next-nearest take its place: the same as searching a base without that case
    for q in range(3):
        rest = cases.subset(np.setdiff1d(np.arange(len(cases)), [own[q]]))
        alone = class_neighbours([rest], [1.0], queries[q:q + 1], 5)
        for label in (0, 1):
            np.testing.assert_allclose(nb.sims[label][q], alone.sims[label][0], atol=1e-6)


def test_fit_vote_is_out_of_fold(det, monkeypatch):
    """Every held-out headline that is also a case is queried without itself, by the exact
    scan and by the fast index alike."""
    from clickbait import index as fast_index
    from clickbait import vote_fit

    seen = {}
    real = vote_fit.class_neighbours
    real_fast = fast_index.ClusterIndex.neighbours

    def spy(layers, weights, queries, k, exclude=None, search=None):
        nb = real(layers, weights, queries, k, exclude=exclude, search=search)
        seen.update(exclude=exclude, nb=nb)
        return nb

    def spy_fast(self, queries, exclude=None):
        cn = real_fast(self, queries, exclude=exclude)
        seen.update(fast_exclude=exclude, cn=cn)
        return cn

    monkeypatch.setattr(vote_fit, "class_neighbours", spy)
    monkeypatch.setattr(fast_index.ClusterIndex, "neighbours", spy_fast)
    held = (det.cases_.meta["source"] == "validation").to_numpy()
    texts = det.cases_.meta["text"][held].tolist()
    det.refit_vote(texts, det.cases_.labels[held])
    own = seen["exclude"]
    assert (own >= 0).all() and (det.cases_.meta["text"].to_numpy()[own] == np.asarray(texts)).all()
    np.testing.assert_array_equal(seen["fast_exclude"], own)
    for label in (0, 1):
        assert not (seen["nb"].pos[label] == own[:, None]).any()
        assert not (seen["cn"].pos[label] == own[:, None]).any()
    assert all((v["combiner"].coef >= 0).all() for v in det.votes_.values())


def test_probabilities_graded_in_range_and_monotone_in_added_cases(det, corpus):
    queries = NEWS + BAIT + corpus["test"][0][:40]
    p0 = det.predict_proba(queries)[:, 1]
    assert ((p0 > 0) & (p0 < 1)).all()  # graded: never exactly 0 or 1
    texts, labels = corpus["test"]
    bait = [t for t, y in zip(texts[40:], labels[40:], strict=True) if y == 1][:150]
    news = [t for t, y in zip(texts[40:], labels[40:], strict=True) if y == 0][:150]
    for added, label, sign in ((bait, 1, 1), (news, 0, -1)):
        d = copy.copy(det)
        d.cases_ = copy.deepcopy(det.cases_)
        previous = p0
        for start in range(0, 150, 50):
            d.retain(added[start:start + 50], [label] * 50, source="more")
            p = d.predict_proba(queries)[:, 1]
            assert (sign * (p - previous) >= -1e-9).all(), f"label {label}: P moved the wrong way"
            previous = p
        assert sign * (previous - p0).sum() > 0  # and it did move


def test_support_falls_for_nonsense(det, corpus):
    words = det.vocabulary_[:2000]
    junk = non_headlines(words, 90, seed=7)
    real = det.assess(corpus["test"][0][:300])
    fake = det.assess(junk)
    assert fake["headline"].median() < 0.5 < real["headline"].median()
    assert fake["low_support"].mean() > 0.6 and real["low_support"].mean() < 0.1
    assert fake["clickbait"].mean() < 0.5 * real["clickbait"].mean()  # full size: see reports
    # not a headline: the prior (we do not know) below P(headline) 0.25, and never labelled clickbait
    np.testing.assert_allclose(fake["clickbait_probability"][fake["headline"] <= 0.25], det.prior_)
    assert (fake["clickbait"][fake["headline"] < 0.5] == 0).all()
    ev = det.evidence(junk + corpus["test"][0][:50])
    keep = ev["headline"] >= 0.5  # judged headlines keep the cases' probability untouched
    np.testing.assert_allclose(ev["clickbait_probability"][keep], ev["cases_probability"][keep])
    assert real["support"].median() > fake["support"].median()


def test_user_label_wins_on_its_exact_headline(det, tmp_path):
    p = det.predict_proba(BAIT + NEWS)[:, 1]
    det.attach_user("dana")
    det.retain([BAIT[0], NEWS[0]], [0, 1])
    got = det.predict_proba([BAIT[0], NEWS[0], BAIT[1]])[:, 1]
    assert got[0] == 0.0 and got[1] == 1.0
    assert got[2] == pytest.approx(p[1], abs=0.2)  # other headlines still voted on
    assert det.predict([BAIT[0].upper(), "  " + NEWS[0]]).tolist() == [0, 1]  # same tokens
    det.detach_user()
    np.testing.assert_allclose(det.predict_proba(BAIT + NEWS)[:, 1], p)


def test_save_load_keeps_the_vote(small_detector, saved_model):
    from clickbait.detector import ClickbaitDetector

    again = ClickbaitDetector.load(saved_model)
    np.testing.assert_allclose(again.predict_proba(NEWS + BAIT), small_detector.predict_proba(NEWS + BAIT),
                               atol=1e-6)
    assert again.combiner_.to_dict() == small_detector.combiner_.to_dict()
    np.testing.assert_array_equal(again.headline_check_.pairs, small_detector.headline_check_.pairs)


def test_evidence_features_by_hand():
    cases = CaseBase.empty(2)
    cases.add(_unit([[1, 0], [0.8, 0.6], [0, 1]]), [1, 0, 1], ["a", "b", "c"])
    nb = class_neighbours([cases], [1.0], _unit([[1, 0]]), 2)
    np.testing.assert_allclose(nb.sims[1][0], [1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(nb.sims[0][0], [0.8, MISSING], atol=1e-6)
    f = dict(zip(FEATURES, evidence(nb)[0], strict=True))
    assert f["sim1_diff"] == pytest.approx(0.2, abs=1e-6)
    assert f["sim5_diff"] == pytest.approx((1.0 + 0.0) / 2 - (0.8 - 1.0) / 2, abs=1e-6)
    assert f["share5"] == pytest.approx(2 / 3)  # three real neighbours, two of them clickbait


def test_nonnegative_logistic_matches_sklearn_when_unconstrained():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 3))
    y = (x @ [1.5, -2.0, 0.5] + rng.normal(size=400) > 0).astype(int)
    w, b = fit_logistic(x, y, nonnegative=False, l2=0.0)
    ref = LogisticRegression(C=1e6, max_iter=5000).fit(x, y)
    np.testing.assert_allclose(w, ref.coef_[0], rtol=0.02)
    assert b == pytest.approx(ref.intercept_[0], abs=0.05)
    w, _ = fit_logistic(x, y, nonnegative=True)
    assert (w >= 0).all() and w[1] == 0.0
    c = Combiner(np.ones(len(FEATURES)), -1.0)
    assert Combiner.from_dict(c.to_dict()).intercept == -1.0


def test_ece_by_hand():
    from clickbait import reports, vote

    assert not hasattr(vote, "expected_calibration_error")  # one ECE: clickbait.reports'
    expected_calibration_error = reports.expected_calibration_error
    y = np.array([0, 0, 1, 1])
    assert expected_calibration_error(y, np.array([0.0, 0.0, 1.0, 1.0])) == 0.0
    # two bins: mean 0.2 with rate 0 and mean 0.9 with rate 1 -> (0.2 + 0.1) / 2
    assert expected_calibration_error(y, np.array([0.2, 0.2, 0.9, 0.9]), bins=2) == pytest.approx(0.15)


def test_headline_check_counts_seen_pairs_as_a_plain_loop_does(small_detector):
    """`features` searches the real pairs only; it must count what a loop over every adjacent
    pair of real tokens counts (padding, unknown words, repeated and unseen pairs)."""
    check = small_detector.headline_check_
    texts = ["You Won't Believe What This Dog Did Next", "zxq vbnm qwrt", "the the the the",
             "Senate passes budget bill after long debate", "", "a"]
    ids = small_detector.predictor_.ids(texts)
    seen_set = set(check.pairs.tolist())
    want_seen, want_unseen = [], []
    for row in ids.tolist():
        pairs = [a * check.vocab_size + b for a, b in itertools.pairwise(row) if a > 0 and b > 0]
        want_seen.append(sum(p in seen_set for p in pairs))
        want_unseen.append(len(pairs) - want_seen[-1])
    feats = check.features(ids)
    assert feats[:, 3].tolist() == want_seen and feats[:, 4].tolist() == want_unseen
    assert max(want_seen) > 0 and max(want_unseen) > 0  # both kinds occur
