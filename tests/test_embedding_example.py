"""The worked example of Keras' Embedding layer as a lookup table: two phrases, a vocabulary of 7
words, vectors of dimension 2, input length 5."""

import keras
import numpy as np

from clickbait.text import tokenize

TABLE = np.array([[1.2, 3.1], [0.1, 4.2], [1.0, 3.1], [0.3, 2.1], [2.2, 1.4], [0.7, 1.7],
                  [4.1, 2.0]], dtype="float32")


def test_embedding_is_a_lookup_table():
    phrases = tokenize(["Hope to see you soon", "Nice to see you again"])
    index: dict[str, int] = {}
    for tokens in phrases:
        for t in tokens:
            index.setdefault(t, len(index))
    ids = np.array([[index[t] for t in tokens] for tokens in phrases])
    assert ids.tolist() == [[0, 1, 2, 3, 4], [5, 1, 2, 3, 6]]

    inputs = keras.Input(shape=(5,), dtype="int32")
    model = keras.Model(inputs, keras.layers.Embedding(7, 2, weights=[TABLE])(inputs))
    out = model.predict(ids, verbose=0)
    assert out.shape == (2, 5, 2)
    np.testing.assert_allclose(
        out[1], [[0.7, 1.7], [0.1, 4.2], [1.0, 3.1], [0.3, 2.1], [4.1, 2.0]], rtol=1e-6)
    # Each lookup is the one-hot vector of the index times the table.
    one_hot = np.eye(7, dtype="float32")[ids]
    np.testing.assert_allclose(out, one_hot @ TABLE, rtol=1e-6)
    np.testing.assert_allclose(out[0, 4], [2.2, 1.4], rtol=1e-6)  # index 4, "soon"
