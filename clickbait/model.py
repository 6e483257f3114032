"""The network: token ids -> pretrained Embedding -> encoder -> L2-normalised metric embedding.

`build_encoder` makes the trainable part (ids in, shape (length,)); `build_text_model` puts the
vectorizer in front of it so that the saved `.keras` file takes raw strings. Only stock Keras
layers (and our registered standardize function) are used, so the file loads in safe mode.
"""

from __future__ import annotations

import keras
import numpy as np

ENCODERS = ("cnn", "gru")
HEADS = ("metric", "softmax")


@keras.saving.register_keras_serializable(package="clickbait")
class PaddingStaysZero(keras.constraints.Constraint):
    """Keeps row 0 of an embedding table (the padding id) at zero after every update. The CNN
    reads padding positions, so trainable vectors would otherwise learn a padding vector and a
    headline's embedding would depend on how much padding follows it."""

    def __call__(self, w):
        rows = keras.ops.shape(w)[0]
        keep = keras.ops.concatenate([keras.ops.zeros((1, 1), dtype=w.dtype),
                                      keras.ops.ones((rows - 1, 1), dtype=w.dtype)])
        return w * keep


def _trunk(ids, embedding_matrix: np.ndarray, *, encoder: str, trainable: bool, hidden: int,
           filters: int, dropout: float):
    vocab_size, dim = embedding_matrix.shape
    # Recurrent encoders skip padding through the mask; the CNN max-pools over it instead.
    x = keras.layers.Embedding(
        vocab_size, dim, weights=[embedding_matrix], trainable=trainable,
        mask_zero=encoder == "gru", embeddings_constraint=PaddingStaysZero(), name="embedding",
    )(ids)
    x = keras.layers.SpatialDropout1D(dropout / 2, name="word_dropout")(x)
    if encoder == "cnn":
        # Parallel n-gram filters over the word vectors, max-pooled over time (as in the CNN of
        # López-Sánchez et al. 2018 and Kim 2014).
        pooled = [
            keras.layers.GlobalMaxPooling1D(name=f"pool{w}")(
                keras.layers.Conv1D(filters, w, padding="same", activation="relu", name=f"conv{w}")(x)
            )
            for w in (1, 2, 3)
        ]
        x = keras.layers.Concatenate(name="ngrams")(pooled)
    elif encoder == "gru":
        x = keras.layers.Bidirectional(keras.layers.GRU(filters // 2), name="bigru")(x)
    else:
        raise ValueError(f"unknown encoder {encoder!r}; expected one of {ENCODERS}")
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    return keras.layers.Dense(hidden, activation="relu", name="hidden")(x)


def build_encoder(
    embedding_matrix: np.ndarray,
    *,
    length: int,
    encoder: str = "cnn",
    head: str = "metric",
    dim: int = 32,
    hidden: int = 128,
    filters: int = 128,
    dropout: float = 0.3,
    trainable: bool = False,
) -> keras.Model:
    """Token ids (batch, length) -> a `dim`-d unit-length embedding (head="metric"), or -> class
    probabilities (head="softmax", the baseline the metric head is compared with)."""
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; expected one of {HEADS}")
    ids = keras.Input(shape=(length,), dtype="int64", name="ids")
    x = _trunk(ids, np.asarray(embedding_matrix, dtype="float32"), encoder=encoder,
               trainable=trainable, hidden=hidden, filters=filters, dropout=dropout)
    if head == "metric":
        x = keras.layers.Dense(dim, name="projection")(x)
        out = keras.layers.UnitNormalization(name="l2_normalize")(x)
    else:
        out = keras.layers.Dense(2, activation="softmax", name="softmax")(x)
    return keras.Model(ids, out, name=f"{encoder}_{head}")


def build_text_model(vectorizer: keras.layers.TextVectorization, encoder: keras.Model) -> keras.Model:
    """Raw headline strings (batch,) -> the encoder's output."""
    text = keras.Input(shape=(), dtype="string", name="headline")
    return keras.Model(text, encoder(vectorizer(text)), name="clickbait_text_model")


def vectorizer_layer(model: keras.Model) -> keras.layers.TextVectorization:
    """The TextVectorization layer of a text model (`build_text_model`'s, saved or not)."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.TextVectorization):
            return layer
    raise LookupError(f"model {model.name!r} has no TextVectorization layer")


def embedding_layer(model: keras.Model) -> keras.layers.Embedding:
    """The Embedding layer inside `model` (nested models are searched too)."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding):
            return layer
        if isinstance(layer, keras.Model):
            try:
                return embedding_layer(layer)
            except LookupError:
                continue
    raise LookupError(f"model {model.name!r} has no Embedding layer")


def set_embedding_trainable(model: keras.Model, trainable: bool) -> None:
    """Freeze or unfreeze the word vectors. Takes effect at the next `compile()`."""
    embedding_layer(model).trainable = trainable
