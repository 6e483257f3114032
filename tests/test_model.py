import keras
import numpy as np
import pytest

from clickbait.losses import get_loss
from clickbait.model import build_encoder, build_text_model, embedding_layer, set_embedding_trainable
from clickbait.text import make_vectorizer

MATRIX = np.random.default_rng(0).normal(0, 0.3, (30, 6)).astype("float32")
MATRIX[0] = 0.0


def _data(n=128, length=5):
    rng = np.random.default_rng(1)
    return rng.integers(1, 30, (n, length)), rng.integers(0, 2, n)


def _fit(net, x, y, lr=1e-2):
    net.compile(optimizer=keras.optimizers.Adam(lr), loss=get_loss("contrastive"))
    net.fit(x, y, epochs=1, batch_size=32, verbose=0)


def test_pretrained_matrix_is_the_initial_table_and_frozen_stays_fixed():
    keras.utils.set_random_seed(0)
    net = build_encoder(MATRIX, length=5, dim=4, filters=8, hidden=8, trainable=False)
    np.testing.assert_array_equal(embedding_layer(net).get_weights()[0], MATRIX)
    x, y = _data()
    _fit(net, x, y)
    np.testing.assert_array_equal(embedding_layer(net).get_weights()[0], MATRIX)
    # Unfreezing takes effect once the model is compiled again (the second phase).
    set_embedding_trainable(net, True)
    x[:, -2:] = 0  # trailing padding, which the CNN reads
    _fit(net, x, y)
    trained = embedding_layer(net).get_weights()[0]
    assert np.abs(trained - MATRIX).max() > 1e-4
    # The padding row stays zero while the others learn.
    np.testing.assert_array_equal(trained[0], 0.0)


@pytest.mark.parametrize("encoder", ["cnn", "gru"])
def test_encoders_give_unit_vectors_and_softmax_head(encoder):
    x, _ = _data(8)
    out = build_encoder(MATRIX, length=5, encoder=encoder, dim=4, filters=8, hidden=8).predict(x, verbose=0)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    probs = build_encoder(MATRIX, length=5, encoder=encoder, head="softmax", filters=8,
                          hidden=8).predict(x, verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_gru_ignores_padding():
    # The same weights on the unpadded headline give the same embedding: padding is masked.
    padded = build_encoder(MATRIX, length=6, encoder="gru", dim=4, filters=8, hidden=8)
    short = build_encoder(MATRIX, length=3, encoder="gru", dim=4, filters=8, hidden=8)
    short.set_weights(padded.get_weights())
    np.testing.assert_allclose(padded.predict(np.array([[3, 4, 5, 0, 0, 0]]), verbose=0),
                               short.predict(np.array([[3, 4, 5]]), verbose=0), atol=1e-5)
    assert embedding_layer(padded).mask_zero


def test_text_model_takes_raw_strings():
    vec = make_vectorizer([f"w{i}" for i in range(28)], length=5)
    net = build_encoder(MATRIX, length=5, dim=4, filters=8, hidden=8)
    model = build_text_model(vec, net)
    out = model.predict(np.array(["W1 w2 w3", "w4"], dtype=object), verbose=0)
    assert out.shape == (2, 4)


def test_unknown_names_are_errors():
    with pytest.raises(ValueError, match="'lstm'"):
        build_encoder(MATRIX, length=5, encoder="lstm")
    with pytest.raises(ValueError, match="'sigmoid'"):
        build_encoder(MATRIX, length=5, head="sigmoid")
