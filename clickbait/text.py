"""Text to token ids: one standardisation, written in TensorFlow string ops so that it runs inside
the saved Keras model (raw strings in) and in Python (vocabulary building, coverage reports).

The tokens follow GloVe 6B's own (Penn Treebank style) tokenisation, so that pretrained vectors
are found: "don't" -> "do n't", "it's" -> "it 's", "won't" -> "wo n't", while "u.s.", "1,000",
"3.5" and "e-mail" stay whole. `?` and `!` are tokens of their own.

Corpus shortcuts are removed on purpose (see ../shared/data/README.md): text is lowercased
(clickbait rows are Title Case), typographic quotes and dashes become ASCII (non-ASCII occurs
only in the non-clickbait class), and trailing sentence punctuation is stripped (it was stripped
from the clickbait class only, so a trailing "?" would otherwise mean "not clickbait").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import keras
import numpy as np
import tensorflow as tf

from .tokens import RULES

PAD = ""
UNK = "[UNK]"

# The rules live in tokens.py (no TensorFlow there), which also applies them in plain Python.
_RULES = RULES


@keras.saving.register_keras_serializable(package="clickbait")
def standardize(texts: tf.Tensor) -> tf.Tensor:
    """Lowercase and space-separate the tokens of a batch of headlines (a string tensor)."""
    x = tf.strings.lower(texts, encoding="utf-8")
    for pattern, rewrite in _RULES:
        x = tf.strings.regex_replace(x, pattern, rewrite)
    return x


def _as_tensor(texts: Iterable[str] | str) -> tf.Tensor:
    if isinstance(texts, str):
        texts = [texts]
    return tf.constant([("" if t is None else str(t)) for t in texts], dtype=tf.string)


def tokenize(texts: Iterable[str] | str) -> list[list[str]]:
    """Tokens of each headline, exactly as the model sees them."""
    tokens = tf.strings.split(standardize(_as_tensor(texts)))
    return [[t.decode("utf-8", "replace") for t in row] for row in tokens.to_list()]


def token_counts(texts: Iterable[str]) -> Counter[str]:
    """How often each token occurs in `texts`."""
    counts: Counter[str] = Counter()
    for row in tokenize(list(texts)):
        counts.update(row)
    return counts


def build_vocabulary(
    texts: Iterable[str] | Counter[str],
    *,
    min_count: int = 1,
    extra: Sequence[str] = (),
) -> tuple[list[str], Counter[str]]:
    """Vocabulary of the training texts (most frequent first, ties alphabetical), then `extra`
    words not already in it (pretrained words, so that headlines from elsewhere find vectors for
    words the training set never saw). `texts` may also be their `token_counts`, so a caller
    that needs the vocabulary twice tokenizes once. Returns (vocabulary without PAD/UNK, counts)."""
    counts = texts if isinstance(texts, Counter) else token_counts(texts)
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    seen = set(words)
    for w in extra:
        if w and w not in seen and " " not in w and w != UNK:
            words.append(w)
            seen.add(w)
    return words, counts


def make_vectorizer(vocabulary: Sequence[str], length: int) -> keras.layers.TextVectorization:
    """TextVectorization with our standardisation: index 0 pads, 1 is out-of-vocabulary, and each
    headline becomes exactly `length` ids (padded or truncated at the end)."""
    if length < 1:
        raise ValueError(f"length must be a positive number of tokens, got {length!r}")
    return keras.layers.TextVectorization(
        standardize=standardize,
        split="whitespace",
        output_mode="int",
        output_sequence_length=length,
        vocabulary=list(vocabulary),
        name="vectorize",
    )


def encode(vectorizer: keras.layers.TextVectorization, texts: Iterable[str]) -> np.ndarray:
    """Token ids (n x length, int64) of `texts`."""
    return np.asarray(vectorizer(_as_tensor(texts)))
