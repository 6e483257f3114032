"""End to end on a subset of the real corpus with the real GloVe vectors."""

import copy
import io
import json
import re
import shutil
import zipfile

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import (
    TWO_HEADLINES,
    copy_model,
    damage,
    rewrite_with_checksum,
    subset,
    version_of,
)
from sklearn.base import clone

from clickbait.detector import ArtifactError, ClickbaitDetector, best_threshold
from clickbait.files import sha256_file
from clickbait.scoring import score_csv, score_frame


def test_small_training_beats_090_on_held_out_rows(small_detector, corpus):
    texts, labels = subset(corpus["test"], 1000, seed=2)
    accuracy = (small_detector.predict(texts) == labels).mean()
    assert accuracy > 0.9, f"held-out accuracy {accuracy:.3f}"
    assert small_detector.score(texts, labels) == pytest.approx(accuracy)  # ClassifierMixin


def test_predict_proba_shape_and_fitted_state(small_detector):
    p = small_detector.predict_proba(["You Won't Believe What Happened Next", "Senate passes budget"])
    assert p.shape == (2, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p[0, 1] > p[1, 1]
    assert 0 < small_detector.threshold_ < 1
    assert len(small_detector.cases_) == 4800  # train subset + retained validation rows
    assert set(small_detector.cases_.meta["source"]) == {"train", "validation"}
    assert small_detector.coverage_.hits > 0.9 * small_detector.coverage_.tokens
    assert small_detector.predict_proba([]).shape == (0, 2)


def test_explain_names_the_cases(small_detector, corpus):
    frame = small_detector.explain(["17 Photos That Will Make You Cry", "Stocks fall in Tokyo"], k=3)
    assert list(frame["query"]) == [0, 0, 0, 1, 1, 1] and list(frame["rank"]) == [1, 2, 3] * 2
    assert (np.diff(frame["relevance"].to_numpy().reshape(2, 3), axis=1) <= 1e-6).all()
    stored = set(small_detector.cases_.meta["text"])
    assert set(frame["case_text"]) <= stored
    # The label shown is the stored case's label.
    pos = small_detector.cases_.positions(frame["case_id"])
    np.testing.assert_array_equal(frame["label"].to_numpy(), small_detector.cases_.labels[pos])


def test_repr_says_what_a_fitted_detector_is(small_detector, model_copy):
    fitted = repr(small_detector)
    assert fitted.startswith("ClickbaitDetector(encoder='cnn', dim=16, cases=")
    assert f"cases={len(small_detector.cases_):,}" in fitted
    assert f"threshold={small_detector.threshold_:.2f}" in fitted
    loaded = ClickbaitDetector.load(model_copy, user="ann", new_user=True)
    assert repr(loaded).endswith(f"user='ann' (0 cases), retrieval='fast', "
                                 f"threshold={loaded.threshold_:.2f}, "
                                 f"path={str(model_copy)!r})")
    # unfitted (and a clone): scikit-learn's repr of the parameters set, get_params unchanged
    assert repr(ClickbaitDetector(k=5)) == "ClickbaitDetector(k=5)"
    twin = clone(small_detector)
    assert repr(twin).startswith("ClickbaitDetector(cache_dir=") and "cases=" not in repr(twin)
    assert twin.get_params() == small_detector.get_params()


def test_unfitted_and_bad_inputs():
    det = ClickbaitDetector()
    with pytest.raises(RuntimeError, match="not fitted"):
        det.predict(["a"])
    with pytest.raises(TypeError, match="one string"):
        ClickbaitDetector().fit("a headline", [1])
    assert clone(ClickbaitDetector(k=7)).get_params()["k"] == 7


def test_best_threshold_is_the_most_accurate_cut():
    proba = np.array([0.1, 0.4, 0.45, 0.8, 0.9])
    labels = np.array([0, 0, 1, 1, 1])
    t = best_threshold(proba, labels)
    assert 0.4 < t <= 0.45 and ((proba >= t) == labels).all()


def test_news_cap_lets_at_most_the_allowed_count_through():
    from clickbait.vote_fit import news_cap

    p = np.array([0.9, 0.2, 0.7, 0.7, 0.4])
    for allowed in range(7):
        t = news_cap(p, allowed)
        # at most `allowed`: the tie at 0.7 goes through only where both may
        assert (p >= t).sum() == {0: 0, 1: 1, 2: 1, 3: 3, 4: 4}.get(allowed, 5)
    assert news_cap(p, 1) > 0.7 and news_cap(np.array([]), 0) == 0.0


def test_the_fast_vote_flags_no_more_held_out_news_than_the_exact_one(det, corpus, monkeypatch):
    from clickbait import vote_fit

    decided = {}
    real = vote_fit.decide

    def spy(feats, *args):
        d = real(feats, *args)
        decided["fast" if "exact" in decided else "exact"] = d
        return d

    monkeypatch.setattr(vote_fit, "decide", spy)
    # the most accurate cut of the fast vote, made low: the cap must still hold it back
    real_best = vote_fit.best_threshold
    monkeypatch.setattr(vote_fit, "best_threshold",
                        lambda p, y: 0.05 if "fast" in decided else real_best(p, y))
    texts, labels = subset(corpus["valid"], 800, seed=3)
    det.refit_vote(texts, labels)
    assert set(decided) == {"exact", "fast"}
    news = labels == 0
    flagged = {m: int(d.label(det.votes_[m]["threshold"])[news].sum()) for m, d in decided.items()}
    assert flagged["fast"] <= flagged["exact"], flagged


def test_save_load_round_trip_is_identical(small_detector, corpus, tmp_path):
    texts = corpus["test"][0][:300]
    path = small_detector.save(tmp_path / "model")
    with pytest.raises(FileExistsError, match="force"):
        small_detector.save(path)
    loaded = ClickbaitDetector.load(path)
    # A loaded detector embeds in numpy (no TensorFlow), the fitted one through Keras: the
    # probabilities agree to float32 rounding of the embeddings.
    np.testing.assert_allclose(loaded.predict_proba(texts), small_detector.predict_proba(texts),
                               rtol=0, atol=1e-6)
    assert "model_" not in loaded.__dict__  # predicting did not load Keras
    assert loaded.threshold_ == small_detector.threshold_
    assert loaded.get_params() == small_detector.get_params()
    config = json.loads((path / "current" / "config.json").read_text())
    assert config["versions"]["keras"] == keras.__version__
    assert len(config["training_data_sha256"]) == 64
    # The saved Keras model takes raw strings by itself.
    model = keras.saving.load_model(path / "current" / "model.keras", safe_mode=True)
    np.testing.assert_allclose(model.predict(np.array(texts[:5], dtype=object), verbose=0),
                               loaded.transform(texts[:5]), atol=1e-6)


def test_tampered_artifacts_are_refused(saved_model, tmp_path):
    path = saved_model
    # 1. A changed case file no longer matches its checksum.
    bad = tmp_path / "bad1"
    shutil.copytree(path, bad)
    with open(bad / "current" / "cases.npz", "r+b") as f:
        f.seek(200)
        f.write(b"\x00\x01\x02")
    with pytest.raises(ArtifactError, match=r"cases\.npz"):
        ClickbaitDetector.load(bad)
    # 2. A model file that carries code (a Lambda layer), even with a matching checksum, is
    #    refused by Keras' safe mode.
    bad = tmp_path / "bad2"
    shutil.copytree(path, bad)
    inp = keras.Input(shape=(), dtype="string")
    evil = keras.Model(inp, keras.layers.Lambda(lambda x: x)(inp))
    version = bad / "current"  # a real folder in a copy (copytree follows the pointer)
    evil.save(version / "model.keras")
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"]["model.keras"] = sha256_file(version / "model.keras")
    (version / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"(?i)lambda|unsafe|safe_mode"):
        ClickbaitDetector.load(bad)
    assert zipfile.is_zipfile(path / "current" / "model.keras")
    # 3. A missing file is named.
    (version / "cases.parquet").unlink()
    with pytest.raises(ArtifactError, match=r"cases\.parquet"):
        ClickbaitDetector.load(bad)


def test_corpus_shortcuts_cannot_change_a_prediction(small_detector):
    # Casing, typographic quotes and trailing sentence punctuation mark the class in this corpus
    # only; the detector must give exactly the same answer without them.
    variants = [
        ["You Won’t Believe What This Dog Did", "you won't believe what this dog did",
         "YOU WON'T BELIEVE WHAT THIS DOG DID?", "You won't believe what this dog did."],
        ["Senate Passes The Budget Bill", "senate passes the budget bill!"],
    ]
    for group in variants:
        p = small_detector.predict_proba(group)[:, 1]
        np.testing.assert_array_equal(p, np.full(len(group), p[0]))


# -- moved from the fault-injection tests ----------------------------------------------------
@pytest.mark.parametrize("how", ["truncated", "flipped", "empty", "deleted"])
@pytest.mark.parametrize("name", ["model.keras", "cases.npz", "cases.parquet", "config.json",
                                  "manifest.json"])
def test_every_damaged_model_file_is_refused_by_name(model_copy, tmp_path, name, how):
    from clickbait.detector import ClickbaitDetector
    from clickbait.files import ArtifactError

    bad = copy_model(model_copy, tmp_path / "bad")
    damage(version_of(bad) / name, how)
    with pytest.raises(ArtifactError, match=re.escape(name)):
        ClickbaitDetector.load(bad)


@pytest.mark.parametrize("labels", [[2, 0], [np.nan, 1.0], [0.5, 1.0], [-1, 1]])
def test_case_labels_other_than_0_and_1_are_refused_even_with_valid_checksums(model_copy, tmp_path, labels):
    from clickbait.detector import ClickbaitDetector
    from clickbait.files import ArtifactError

    bad = copy_model(model_copy, tmp_path / "labels")
    version = version_of(bad)
    with np.load(version / "cases.npz") as z:
        arrays = dict(z)
    arrays["labels"] = np.concatenate([np.asarray(labels), arrays["labels"][2:]])
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    rewrite_with_checksum(version, "cases.npz", buf.getvalue())
    with pytest.raises(ArtifactError, match="labels must be 0 or 1"):
        ClickbaitDetector.load(bad)


def test_a_model_saved_by_the_older_flat_layout_gets_a_clear_error(tmp_path):
    from clickbait.detector import ClickbaitDetector
    from clickbait.files import ArtifactError

    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "config.json").write_text('{"format": 1}')
    with pytest.raises(ArtifactError, match="older clickbait"):
        ClickbaitDetector.load(tmp_path / "old")


@pytest.mark.parametrize("param, value", [("k", 2.5), ("k", float("nan")),
                                          ("k", 0), ("dropout", 1.0), ("encoder", "lstm"),
                                          ("epochs", -1), ("learning_rate", 0.0),
                                          ("min_coverage", 1.5), ("trainable", "yes")])
def test_constructor_parameters_are_checked_scikit_learn_style(param, value):
    from sklearn.utils._param_validation import InvalidParameterError

    from clickbait.detector import ClickbaitDetector

    with pytest.raises(InvalidParameterError, match=rf"'{param}' parameter .* Got {re.escape(repr(value))}"):
        ClickbaitDetector(**{param: value}).fit(["a", "b"], [0, 1])


def test_k_zero_after_fitting_is_refused(small_detector):
    det = copy.copy(small_detector)
    det.k = 0
    with pytest.raises(ValueError, match="'k'"):
        det.predict_proba(TWO_HEADLINES)


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA])
def test_a_missing_headline_is_an_error_not_a_confident_zero(small_detector, missing):
    with pytest.raises(ValueError, match=r"headline 1 is missing"):
        small_detector.predict_proba([TWO_HEADLINES[0], missing])
    with pytest.raises(TypeError, match="None"):
        small_detector.predict_proba(None)


@pytest.mark.parametrize("threshold", [1.5, -0.1, float("nan"), float("inf")])
def test_a_threshold_outside_0_1_is_refused_everywhere(small_detector, model_copy, headlines_csv,
                                                       tmp_path, threshold, capsys):
    from clickbait import cli

    with pytest.raises(ValueError, match="threshold must be a number between 0 and 1"):
        small_detector.predict(TWO_HEADLINES, threshold=threshold)
    with pytest.raises(ValueError, match="threshold"):
        score_csv(small_detector, headlines_csv, tmp_path / "o.csv", threshold=threshold)
    with pytest.raises(ValueError, match="threshold"):
        score_frame(small_detector, pd.DataFrame({"headline": TWO_HEADLINES}), threshold=threshold)
    assert cli.main(["score", str(model_copy), str(headlines_csv), "-o", str(tmp_path / "o.csv"),
                     "--threshold", str(threshold)]) == cli.EXIT_FAILURE
    assert "threshold" in capsys.readouterr().err and not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("labels", [[2], [np.nan], [0.5], ["1"], [True, 1]])
def test_labels_other_than_0_and_1_are_refused_when_retained(small_detector, labels):
    det = copy.copy(small_detector)
    det.cases_ = copy.deepcopy(small_detector.cases_)
    det.overlay_ = None
    texts = (TWO_HEADLINES * 2)[: len(labels)]
    if labels == [True, 1]:  # booleans are 0/1: both retained, as clickbait
        det.retain(texts, labels)
        assert len(det.cases_) == len(small_detector.cases_) + 2
        assert det.cases_.labels[-2:].tolist() == [1, 1]
        assert det.cases_.meta["text"].tolist()[-2:] == texts
        return
    with pytest.raises(ValueError, match="labels must be 0"):
        det.retain(texts, labels)
    assert len(det.cases_) == len(small_detector.cases_)


def test_revise_with_mismatched_lengths_is_refused_not_broadcast(small_detector):
    det = copy.copy(small_detector)
    det.cases_ = copy.deepcopy(small_detector.cases_)
    before = det.cases_.labels.copy()
    with pytest.raises(ValueError, match="one label per case id"):
        det.revise([0, 1, 2], [1])
    with pytest.raises(ValueError, match="one label per case id"):
        det.cases_.revise([0, 1, 2], [1])
    np.testing.assert_array_equal(det.cases_.labels, before)


def test_explain_ranks_candidates_as_the_adaptation_space_does(small_detector, corpus):
    """explain re-ranks the metric-nearest candidates by the adaptation space's cosine; with
    every case a candidate it is the adaptation space's own nearest-case ranking."""
    from clickbait.cases import CaseBase
    from clickbait.explanation import relevant_cases
    from clickbait.vote import adaptation_space

    det = small_detector
    texts = list(corpus["test"][0][:20])
    ids = det._ids(texts)
    emb, topics = det._embed_ids(ids), det.headline_check_.word_sums(ids)
    cases = det._trained_cases()
    rel, pos = relevant_cases(det, emb, topics, 5, candidates=len(cases))
    case_topics = det.headline_check_.word_sums(det._ids(cases.meta["text"].tolist()))
    index = CaseBase(adaptation_space(cases.embeddings, case_topics), cases.labels, cases.meta)
    want_rel, want_pos = index.kneighbors(adaptation_space(emb, topics), 5)
    np.testing.assert_allclose(rel, want_rel, atol=1e-5)
    assert (pos == want_pos).mean() > 0.95  # ties aside
    few_rel, _ = relevant_cases(det, emb, topics, 5, candidates=50)
    assert (few_rel <= rel + 1e-6).all()  # fewer candidates: never a more relevant case
