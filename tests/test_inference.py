"""The TensorFlow-free scoring path: the numpy text model gives the Keras model's embeddings and
the scorer the detector's probabilities, and loading a model to score never imports TensorFlow."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import proba

from clickbait import scoring
from clickbait.inference import NumpyTextModel, UnsupportedModel

HEADLINES = ["You Won't Believe What This Dog Did", "Senate passes budget bill after long debate",
             "17 Things Only '90s Kids Remember", "", "a", "U.S. stocks fall... again",
             "word " * 40]


@pytest.fixture(scope="module")
def saved(saved_model):
    from clickbait.detector import ClickbaitDetector

    return saved_model, ClickbaitDetector.load(saved_model)


def test_numpy_model_matches_keras(small_detector, corpus):
    texts = list(corpus["test"][0][:500]) + HEADLINES
    model = NumpyTextModel.from_keras(small_detector.model_)
    ids = model.ids(texts)
    from clickbait.model import vectorizer_layer

    np.testing.assert_array_equal(ids, vectorizer_layer(small_detector.model_)(np.asarray(texts, object)))
    np.testing.assert_allclose(model.embed(ids), small_detector.transform(texts), atol=1e-6)


def test_loaded_detector_scores_without_tensorflow(saved, small_detector, corpus):
    path, loaded = saved
    texts = np.asarray(list(corpus["test"][0][:400]) + [h for h in HEADLINES if h], object)
    scorer = scoring.Scorer(loaded)
    assert scorer.encoder == "numpy" and scorer.retrieval == "fast"
    expected = small_detector.predict_proba(list(texts))[:, 1]
    np.testing.assert_allclose(proba(scorer, texts), expected, atol=1e-5)
    tf_scorer = scoring.Scorer(loaded, encoder="tensorflow")
    np.testing.assert_allclose(proba(tf_scorer, texts), expected, atol=1e-5)
    code = ("import sys, numpy as np; from clickbait.detector import ClickbaitDetector; "
            "from clickbait.scoring import Scorer; "
            f"d = ClickbaitDetector.load({str(path)!r}); "
            "s = Scorer(d); p = s.score_ids(*s.tokenize(np.array(['a b', 'c'], object))); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported'; print(p)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    # In a fresh process, the Keras model still loads on first use (its custom objects found).
    code = ("from clickbait.detector import ClickbaitDetector; "
            f"d = ClickbaitDetector.load({str(path)!r}); print(d.transform(['a b']).shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]


def test_unsupported_layers_fall_back_to_tensorflow(corpus, glove_path, tmp_path):
    from conftest import subset

    from clickbait.detector import ClickbaitDetector

    det = ClickbaitDetector(str(glove_path), encoder="gru", dim=8, filters=8, hidden=8, epochs=1,
                            length=12, pretrained_top_n=500, cache_dir=str(tmp_path), seed=0)
    det.fit(*subset(corpus["train"], 600), validation=subset(corpus["valid"], 200))
    with pytest.raises(UnsupportedModel, match="not supported"):
        NumpyTextModel.from_keras(det.model_)
    scorer = scoring.Scorer(det)
    assert scorer.encoder == "tensorflow"
    texts = np.asarray(corpus["test"][0][:50], object)
    np.testing.assert_allclose(proba(scorer, texts), det.predict_proba(list(texts))[:, 1], atol=1e-5)
    with pytest.raises(UnsupportedModel):
        scoring.Scorer(det, encoder="numpy")


def test_loss_names_are_the_losses():
    from clickbait.detector import LOSS_NAMES
    from clickbait.losses import LOSSES

    assert set(LOSS_NAMES) == set(LOSSES)


def test_tokenizer_process_gives_the_same_ids(saved, corpus):
    _, loaded = saved
    scorer = scoring.Scorer(loaded)
    texts = np.asarray(list(corpus["test"][0][:300]) + HEADLINES, object)
    expected = scorer.ids(texts)
    scorer.start_tokenizer_process()
    try:
        assert scorer._tokenizer_process is not None
        np.testing.assert_array_equal(scorer.ids(texts), expected)
        np.testing.assert_array_equal(scorer.ids(texts[:3]), expected[:3])
    finally:
        scorer.close()
    assert scorer._tokenizer_process is None


def test_test_only_paths_are_gone():
    """Scoring goes through `tokenize` + `score_ids` (the batch path); a model loads from the
    bytes `ClickbaitDetector.load` verified, never from a file path of its own."""
    assert not hasattr(scoring.Scorer, "proba")
    assert not hasattr(NumpyTextModel, "from_file") and hasattr(NumpyTextModel, "from_bytes")


def test_every_path_is_the_predictor_and_equals_the_tensorflow_one(small_detector, corpus):
    """predict_proba, score_frame and the batch scorer all run the detector's numpy predictor;
    on the corpus test split their probabilities equal the TensorFlow encoder's within 1e-6."""
    import pandas as pd

    from clickbait.predictor import Predictor

    texts = list(corpus["test"][0])
    predictor = small_detector.predictor_
    assert predictor.encoder == "numpy" and predictor.detector is small_detector
    tf_predictor = Predictor(small_detector, encoder="tensorflow")
    tf_ids = tf_predictor.ids(texts)
    np.testing.assert_array_equal(predictor.ids(texts), tf_ids)
    tf_emb = tf_predictor.embed(tf_ids)
    np.testing.assert_allclose(predictor.embed(tf_ids), tf_emb, atol=1e-6)
    expected = small_detector._decide(tf_ids, tf_emb, texts=texts).proba
    # float32 rounding of the embeddings (< 1e-6) moves P by up to ~1.3e-6 through the vote's
    # weights (about 15 on a mean similarity): the same numbers, to that rounding
    np.testing.assert_allclose(small_detector.predict_proba(texts)[:, 1], expected, atol=2e-6)
    framed = scoring.score_frame(small_detector, pd.DataFrame({"headline": texts}))
    np.testing.assert_allclose(framed["clickbait_probability"], expected, atol=2e-6)
    scorer = scoring.Scorer(small_detector)
    assert scorer.predictor is predictor
