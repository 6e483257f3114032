# %% [markdown]
# # Pretrained embeddings: a lookup table, GloVe coverage, frozen vs trainable vs random
#
# The first layer of the detector turns token ids into word vectors. This notebook shows
#
# 1. that Keras' `Embedding` layer is nothing but a **lookup table**: the worked example of two
#    phrases, a vocabulary of 7 words, vectors of dimension 2 and an input length of 5, computed
#    live, and the identity *embedding = one-hot × table*;
# 2. how much of the corpus **GloVe** covers (the 50-d GloVe 6B vectors from `make pretrained`);
# 3. what the pretrained start is worth: the same CNN classifier trained with GloVe vectors
#    **frozen**, GloVe vectors **trainable**, and **random** (trainable) vectors, with the
#    validation accuracy of each after every epoch.
#
# The sizes come from the next cell (tagged `parameters`); CI runs this notebook small
# (`notebooks/run.py --small`), `make notebooks` at the sizes below.

# %% tags=["parameters"]
N_TRAIN = 25600  # training headlines (the whole train split)
N_VALID = 3200  # validation headlines
EPOCHS = 8
FILTERS = 128  # CNN filters per n-gram width (1, 2, 3)
HIDDEN = 128
LENGTH = 32  # tokens per headline (padded/truncated)
BATCH_SIZE = 256
SEED = 0
VECTORS = "pretrained/glove.6B.50d.txt"  # relative to the repository root

# %%
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from clickbait.data import load_split
from clickbait.model import build_encoder
from clickbait.text import PAD, UNK, build_vocabulary, encode, make_vectorizer, token_counts, tokenize
from clickbait.vectors import embedding_matrix, read_vectors

ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "clickbait" / "__init__.py").is_file())
VECTORS = ROOT / VECTORS
CACHE = ROOT / ".cache" / "vectors"  # filtered vectors, so a re-run reads them in milliseconds


def subset(split, n, seed=SEED):
    """n random (texts, labels) rows of a split."""
    texts, labels = split
    idx = np.random.default_rng(seed).permutation(len(texts))[:n]
    return [texts[i] for i in idx], labels[idx]


# %% [markdown]
# ## 1. The Embedding layer is a lookup table
#
# Two phrases. The tokenizer (the one the detector uses) lowercases and splits them; numbering
# the words in order of first appearance gives a vocabulary of 7 words, and each phrase becomes
# 5 ids.

# %%
phrases = ["Hope to see you soon", "Nice to see you again"]
tokens = tokenize(phrases)
index: dict[str, int] = {}
for row in tokens:
    for token in row:
        index.setdefault(token, len(index))
ids = np.array([[index[t] for t in row] for row in tokens])
print("vocabulary:", index)
print("ids:", ids.tolist())

# %% [markdown]
# An `Embedding(7, 2)` layer holds a 7 × 2 table, one row per word. We set the table by hand
# (in the detector it is the GloVe matrix) and feed the two id sequences of length 5 through it:
# the output has shape (2 phrases, 5 positions, 2 dimensions), and position *j* of a phrase is
# simply the table row of its *j*-th id.

# %% tags=["worked-example"]
TABLE = np.array([[1.2, 3.1], [0.1, 4.2], [1.0, 3.1], [0.3, 2.1], [2.2, 1.4], [0.7, 1.7],
                  [4.1, 2.0]], dtype="float32")
inputs = keras.Input(shape=(5,), dtype="int32")
lookup = keras.Model(inputs, keras.layers.Embedding(7, 2, weights=[TABLE])(inputs))
out = lookup.predict(ids, verbose=0)
print("table (row i = vector of word i):")
print(pd.DataFrame(TABLE, index=list(index), columns=["d1", "d2"]))
print("output shape:", out.shape)
for phrase, vectors in zip(phrases, out, strict=True):
    print(f"{phrase!r} -> {vectors.astype(float).round(2).tolist()}")

# %% [markdown]
# The same numbers come from a matrix product: write each id as a one-hot row of length 7 and
# multiply by the table. That is why an Embedding layer is equivalent to a dense layer without
# bias on one-hot inputs, only much cheaper: it never builds the one-hot matrix.

# %% tags=["worked-example"]
one_hot = np.eye(7, dtype="float32")[ids]  # (2, 5, 7)
print("one-hot rows of", repr(phrases[1]))
print(one_hot[1].astype(int))
product = one_hot @ TABLE  # (2, 5, 7) @ (7, 2) -> (2, 5, 2)
print("max |Embedding(ids) - one_hot @ TABLE| =", float(np.abs(out - product).max()))
assert np.allclose(out, product)
print("identity holds: Embedding(ids) == one_hot(ids) @ TABLE")

# %% [markdown]
# ## 2. GloVe coverage of the corpus
#
# The detector's table starts as GloVe vectors. Words GloVe lacks get random rows (with the
# pretrained vectors' standard deviation), so coverage matters: how many distinct tokens of the
# training headlines have a vector, and how many token *occurrences*?

# %%
train_texts, train_labels = subset(load_split("train"), N_TRAIN)
valid_texts, valid_labels = subset(load_split("valid"), N_VALID)
words, counts = build_vocabulary(train_texts)
glove = read_vectors(VECTORS, words, cache_dir=CACHE)
vocabulary = [PAD, UNK, *words]  # index 0 pads, 1 is out-of-vocabulary, as in TextVectorization
glove_matrix, coverage = embedding_matrix(vocabulary, glove, seed=SEED, counts=counts)
print(f"{len(train_texts):,} training headlines, {len(words):,} distinct tokens, "
      f"vectors of dimension {glove.dim}")
print(coverage)

# %%
by_class = []
for label, name in ((0, "not clickbait"), (1, "clickbait")):
    c = token_counts(t for t, y in zip(train_texts, train_labels, strict=True) if y == label)
    total = sum(c.values())
    by_class.append({"class": name, "tokens": total, "distinct": len(c),
                     "occurrences with a vector": sum(n for w, n in c.items() if w in glove) / total})
print("coverage by class:")
print(pd.DataFrame(by_class).to_string(index=False, formatters={
    "occurrences with a vector": "{:.1%}".format}))
print("\nmost frequent tokens without a GloVe vector:")
pd.DataFrame(coverage.top_missing[:15], columns=["token", "occurrences"])

# %% [markdown]
# ## 3. Frozen vs trainable vs random vectors
#
# The same CNN (`clickbait.model.build_encoder` with the plain softmax head, so that Keras
# reports validation accuracy directly) trained three times from the same seed:
#
# - **GloVe, frozen**: the table stays GloVe; only the convolutions and dense layers learn;
# - **GloVe, trainable**: the table starts as GloVe and is updated with the rest;
# - **random, trainable**: the table starts random (same scale as GloVe) and must be learned
#   from these headlines alone.

# %%
vectorizer = make_vectorizer(words, LENGTH)
x_train, x_valid = encode(vectorizer, train_texts), encode(vectorizer, valid_texts)
rng = np.random.default_rng(SEED)
random_matrix = rng.normal(0.0, glove_matrix[2:].std(), glove_matrix.shape).astype("float32")
random_matrix[0] = 0.0  # padding stays a zero row

setups = {
    "GloVe, frozen": (glove_matrix, False),
    "GloVe, trainable": (glove_matrix, True),
    "random, trainable": (random_matrix, True),
}
curves = {}
for name, (matrix, trainable) in setups.items():
    keras.utils.set_random_seed(SEED)
    model = build_encoder(matrix, length=LENGTH, head="softmax", hidden=HIDDEN, filters=FILTERS,
                          trainable=trainable)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, train_labels, validation_data=(x_valid, valid_labels),
                        epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0)
    curves[name] = history.history["val_accuracy"]
    print(f"{name:18s} validation accuracy by epoch: "
          + " ".join(f"{a:.3f}" for a in curves[name]))

# %% tags=["figure"]
epochs = np.arange(1, EPOCHS + 1)
fig, ax = plt.subplots(figsize=(6.5, 4))
for (name, acc), style in zip(curves.items(), ("o-", "s-", "^--"), strict=True):
    ax.plot(epochs, acc, style, label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("validation accuracy")
ax.set_xticks(epochs)
ax.set_title(f"CNN classifier, {len(train_texts):,} training headlines")
ax.grid(alpha=0.3)
ax.legend()
plt.show()

# %%
summary = pd.DataFrame(curves, index=pd.Index(epochs, name="epoch"))
best = summary.max().sort_values(ascending=False)
print("best validation accuracy:", ", ".join(f"{n} {a:.3f}" for n, a in best.items()))
summary.round(4)

# %% [markdown]
# **Reading the plot.** Pretrained vectors give the model a head start: words that mean similar
# things already sit close together, so the first epochs already generalise, whereas random
# vectors have to be learned from the headlines alone (and any word seen rarely in training stays
# noise). Letting GloVe vectors train can add accuracy on this corpus, but it also moves the
# training words away from the unseen words that keep their pretrained vectors, which matters
# for headlines from elsewhere. The detector offers both: `ClickbaitDetector(trainable=...)`
# (`clickbait train --trainable/--no-trainable`), and `fine_tune_epochs` for a second phase that
# unfreezes the vectors at a low learning rate.
# With the small CI sizes (2,000 headlines, 2 epochs) the curves are short and noisy; run
# `make notebooks` for the full-size picture.
