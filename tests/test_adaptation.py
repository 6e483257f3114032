"""Cases retained after training: their own evidence (vote.Adapter), not the base's; no shift of
unrelated headlines; the exact-match rule on normalised text; learned adaptation (`learn`)."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, subset
from sklearn.metrics import roc_auc_score

from clickbait.detector import ClickbaitDetector
from clickbait.files import VersionedFolder
from clickbait.vote import Adapter, decide, episode_mass, evidence, retained_mass

YOUTUBE = ROOT.parent / "shared" / "data" / "youtube2018.csv"


def test_adapter_is_monotone_in_retained_evidence():
    rng = np.random.default_rng(0)
    adapter = Adapter(lam=0.7, a=0.3, beta=1.5)
    base = rng.normal(0, 6, 500)
    mass = rng.gamma(1.0, 2.0, (500, 2))
    more = rng.gamma(1.0, 1.0, 500)
    now = adapter.logit(base, mass)
    assert np.array_equal(adapter.logit(base, np.zeros((500, 2))), base)  # nothing retained
    assert (adapter.logit(base, mass + np.column_stack([0 * more, more])) >= now - 1e-12).all()
    assert (adapter.logit(base, mass + np.column_stack([more, 0 * more])) <= now + 1e-12).all()


def test_retained_mass_and_episode_mass_agree_by_hand():
    sims = np.array([[1.0, 0.5, 0.0]])
    mass = retained_mass(sims, np.array([[1, 0, 1]]), np.array([[1.0, 2.0, 0.0]]), 0.5)
    assert mass == pytest.approx(np.array([[2 * np.exp(-1.0), 1.0]]))
    q = np.array([[1.0, 0.0]])
    r = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert episode_mass(q, r, np.array([1, 0]), Adapter(m=1, temperature=0.5)) == \
        pytest.approx(np.array([[0.0, 1.0]]))


def test_adapter_fit_finds_the_weights_that_help():
    rng = np.random.default_rng(1)
    base = rng.normal(0, 3, 4000)
    y = (rng.random(4000) < 0.5).astype(int)
    mass = np.column_stack([(1 - y) * rng.gamma(2, 1, 4000), y * rng.gamma(2, 1, 4000)])
    fitted = Adapter().fit([(base, mass, y)])
    assert fitted.a + fitted.beta > 0.5 and min(fitted.lam, fitted.a, fitted.beta) >= 0
    useless = Adapter().fit([(np.where(y == 1, 4.0, -4.0), mass[::-1], y)])
    assert useless.a + useless.beta < fitted.a + fitted.beta


def test_nothing_retained_gives_the_base_vote_exactly(det, corpus):
    texts = corpus["test"][0][:200]
    ids, emb = det._ids(texts), det.transform(texts)
    from clickbait.cases import class_neighbours

    nb = class_neighbours([det.cases_], [1.0], emb, det.k)
    exact = det.votes_["exact"]["combiner"]
    plain = decide(evidence(nb), nb.support, exact, det.headline_check_.proba(ids), det.prior_,
                   det.support_cut_)
    before = det.set_params(retrieval="exact").predict_proba(texts)[:, 1]
    det.set_params(retrieval="fast")
    np.testing.assert_array_equal(before, plain.proba)
    new = det.retain(["Kim Kardashian posts new selfie", "Parliament debates the budget"], [1, 0])
    det.forget(case_ids=new)
    np.testing.assert_array_equal(det.set_params(retrieval="exact").predict_proba(texts)[:, 1], before)
    det.set_params(retrieval="fast")


def test_a_retained_near_duplicate_moves_its_neighbour_toward_its_label(det, corpus):
    texts = corpus["test"][0][:40]
    for label in (0, 1):
        d = copy.copy(det)
        d.cases_ = copy.deepcopy(det.cases_)
        before = d.predict_proba(texts)[:, 1]
        d.retain([t + " today" for t in texts], [label] * len(texts))
        after = d.predict_proba(texts)[:, 1]
        moved = after - before
        assert ((moved >= -1e-12) if label else (moved <= 1e-12)).all()  # never away
        assert np.abs(moved).max() > 1e-3  # and it does move


def test_retained_cases_do_not_join_the_base_evidence(det, corpus):
    texts = corpus["test"][0][:100]
    base = det.evidence(texts)
    det.retain(corpus["train"][0][:300], 1 - corpus["train"][1][:300])  # every label inverted
    after = det.evidence(texts)
    pd.testing.assert_frame_equal(after[["sim25_diff", "sim100_diff", "share100"]],
                                  base[["sim25_diff", "sim100_diff", "share100"]])
    assert (after["retained_other_mass"] + after["retained_clickbait_mass"] > 0).all()


def test_unrelated_retained_cases_leave_corpus_probabilities_in_place(det, corpus):
    """200 YouTube titles retained: the corpus test split's probabilities move by less than
    0.02 on average and its ROC-AUC by less than 0.005 (the stated tolerance)."""
    youtube = pd.read_csv(YOUTUBE, keep_default_na=False)
    sample = youtube.sample(200, random_state=0)
    texts, labels = subset(corpus["test"], 600)
    before = det.predict_proba(texts)[:, 1]
    det.retain(sample["headline"].tolist(), sample["label"].to_numpy())
    after = det.predict_proba(texts)[:, 1]
    assert np.abs(after - before).mean() < 0.02
    assert roc_auc_score(labels, after) > roc_auc_score(labels, before) - 0.005


def test_exact_match_keys_on_normalised_text_not_token_ids(det):
    det.retain(["Womp."], [1])
    ev = det.evidence(["WOMP", "Gulp!", "Womp."])
    assert ev["user_label"].iloc[0] == 1 and ev["user_label"].iloc[2] == 1
    assert np.isnan(ev["user_label"].iloc[1])  # another all-unknown text is not the same headline
    assert (det._ids(["Gulp!"]) == det._ids(["Womp."])).all()  # the old key could not tell them apart
    assert ev["clickbait_probability"].iloc[1] < 1.0


def test_learn_changes_the_network_and_keeps_the_rows(small_detector, corpus, tmp_path):
    path = small_detector.save(tmp_path / "model")
    det = ClickbaitDetector.load(path)
    youtube = pd.read_csv(YOUTUBE, keep_default_na=False).sample(150, random_state=1)
    texts, labels = youtube["headline"].tolist(), youtube["label"].to_numpy()
    before = det.transform(texts[:5])
    n = len(det.cases_)
    det.learn(texts, labels, epochs=1, replay=300)
    assert not np.allclose(det.transform(texts[:5]), before)
    assert len(det.cases_) == n + len(texts)
    ev = det.evidence(texts[:3])
    assert (ev["user_label"].to_numpy() == labels[:3]).all()
    det.save_learned(path)
    again = ClickbaitDetector.load(path)
    np.testing.assert_allclose(again.predict_proba(texts[:20]), det.predict_proba(texts[:20]), atol=1e-5)
    with pytest.raises(ValueError, match="detach"):
        again.attach_user("alice")
        again.learn(texts, labels)


def _version(path):
    return VersionedFolder(path, "model").current().name


def test_adapt_learn_killed_leaves_the_old_version_whole(small_detector, tmp_path):
    path = small_detector.save(tmp_path / "model")
    youtube = pd.read_csv(YOUTUBE, keep_default_na=False).sample(300, random_state=2)
    cases = tmp_path / "cases.csv"
    youtube[["headline", "label"]].to_csv(cases, index=False)
    old = _version(path)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "clickbait", "-v", "adapt", str(path), "--cases",
                             str(cases), "--learn", "--epochs", "50"], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    for line in proc.stderr:  # wait until it is fine-tuning
        if "fine-tuning" in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert _version(path) == old
    det = ClickbaitDetector.load(path)
    assert len(det.cases_) == len(small_detector.cases_)
    done = subprocess.run([sys.executable, "-m", "clickbait", "adapt", str(path), "--cases", str(cases),
                           "--learn", "--epochs", "1"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert _version(path) != old
    assert len(ClickbaitDetector.load(path).cases_) == len(small_detector.cases_) + 300
    refused = subprocess.run([sys.executable, "-m", "clickbait", "adapt", str(path), "--cases", str(cases),
                              "--learn", "--user", "bob"], capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode != 0 and "--learn" in refused.stderr and "Traceback" not in refused.stderr


def test_learn_is_reproducible_with_the_seed(small_detector, tmp_path):
    path = small_detector.save(tmp_path / "model")
    youtube = pd.read_csv(YOUTUBE, keep_default_na=False).sample(80, random_state=3)
    texts, labels = youtube["headline"].tolist(), youtube["label"].to_numpy()
    runs = []
    for _ in range(2):
        det = ClickbaitDetector.load(path)
        det.learn(texts, labels, epochs=1, replay=200)
        runs.append(det.transform(texts[:10]))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_cli_explain_says_what_retained_cases_did(small_detector, tmp_path):
    path = small_detector.save(tmp_path / "model")
    det = ClickbaitDetector.load(path)
    det.retain_and_save(["Parliament votes on the budget tonight"], [1])
    out = subprocess.run([sys.executable, "-m", "clickbait", "explain", str(path),
                          "Parliament votes on the budget tonight", "Parliament votes on the budget",
                          "-k", "3"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.split("'Parliament votes on the budget'")
    assert "decided by a retained label" in first and "clickbait" in first
    assert "retained cases (marked *) moved" in second and "*" in second


@pytest.mark.parametrize("kwargs, word", [({"epochs": 0}, "epochs"), ({"replay": -1}, "replay"),
                                          ({"learning_rate": 0.0}, "learning_rate")])
def test_learn_checks_its_arguments_before_training(det, kwargs, word):
    with pytest.raises(ValueError, match=word):
        det.learn(["A headline"], [1], **kwargs)
    with pytest.raises(ValueError, match="labelled headlines"):
        det.learn([], [])
