"""End to end on a subset of the real corpus with the real GloVe vectors."""

import json
import shutil
import zipfile

import keras
import numpy as np
import pytest
from conftest import subset
from sklearn.base import clone

from clickbait.detector import ArtifactError, ClickbaitDetector, best_threshold
from clickbait.files import sha256_file


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


def test_tampered_artifacts_are_refused(small_detector, tmp_path):
    path = small_detector.save(tmp_path / "model")
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
