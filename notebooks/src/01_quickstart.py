# %% [markdown]
# # Quickstart: train a clickbait detector, score headlines and a CSV, see why
#
# The whole pipeline in a few cells:
#
# 1. load the default word vectors (GloVe 6B, 50 dimensions, from `make pretrained`);
# 2. train a small detector on the Stop Clickbait corpus (`../shared/data`);
# 3. score a few headlines, then a CSV file;
# 4. show the nearest stored cases behind a decision;
# 5. save the detector and load it back.
#
# Sizes come from the `parameters` cell below; CI runs this notebook small.

# %% tags=["parameters"]
N_TRAIN = 25600  # training headlines (the whole train split)
N_VALID = 3200  # validation headlines (threshold choice)
EPOCHS = 8
# Model sizes: None keeps ClickbaitDetector's default (CI runs this notebook smaller).
DIM = None  # dimension of the metric space
FILTERS = None
HIDDEN = None
LENGTH = None  # tokens per headline
TOP_N = None  # most frequent GloVe words added to the vocabulary
K = None  # nearest cases of each class the vote weighs
SEED = 0
VECTORS = "pretrained/glove.6B.50d.txt"  # relative to the repository root

# %%
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import clickbait
from clickbait import ClickbaitDetector, load_split, read_vectors, score_csv, score_frame

ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "clickbait" / "__init__.py").is_file())
VECTORS = ROOT / VECTORS
CACHE = ROOT / ".cache" / "vectors"
WORK = Path(tempfile.mkdtemp(prefix="clickbait-quickstart-"))  # scratch files of this notebook
pd.set_option("display.max_colwidth", 90)
if not VECTORS.is_file():
    raise FileNotFoundError(f"{VECTORS} is missing: run `make pretrained` in {ROOT}")

# %% [markdown]
# ## 1. The default vectors
#
# `read_vectors` streams any GloVe-format file and keeps only the words asked for, so reading a
# handful from the 400,000-word file is quick. Words used alike have similar vectors (cosine
# similarity near 1):

# %%
words = ["shocking", "amazing", "incredible", "senate", "parliament", "minister", "you", "things"]
glove = read_vectors(VECTORS, words)
print(f"{glove.path}: {len(glove)} of the requested words, dimension {glove.dim}, "
      f"read in {glove.stats.seconds:.1f} s")
unit = glove.matrix / np.linalg.norm(glove.matrix, axis=1, keepdims=True)
pd.DataFrame(unit @ unit.T, index=glove.words, columns=glove.words).round(2)

# %% [markdown]
# ## 2. Train a small detector
#
# Headlines → tokens → GloVe vectors → CNN → a point on the unit sphere, trained with a
# contrastive loss so that headlines of one class lie close together. The training headlines
# become the stored cases; the validation split picks the decision threshold.

# %%
def subset(split, n, seed=SEED):
    """n random (texts, labels) rows of a split."""
    texts, labels = split
    idx = np.random.default_rng(seed).permutation(len(texts))[:n]
    return [texts[i] for i in idx], labels[idx]


train = subset(load_split("train"), N_TRAIN)
valid = subset(load_split("valid"), N_VALID)
print(f"{len(train[0]):,} training headlines ({train[1].mean():.0%} clickbait), "
      f"{len(valid[0]):,} validation headlines")

detector = ClickbaitDetector(
    str(VECTORS), epochs=EPOCHS, seed=SEED, cache_dir=str(CACHE),
    **{name: value for name, value in dict(dim=DIM, filters=FILTERS, hidden=HIDDEN, length=LENGTH,
                                           pretrained_top_n=TOP_N, k=K).items() if value is not None},
)
detector.fit(*train, validation=valid)
print(f"vocabulary: {detector.coverage_}")
print(f"trained in {detector.fit_seconds_:.0f} s; validation accuracy "
      f"{detector.validation_accuracy_:.3f} at threshold {detector.threshold_:.2f}; "
      f"{len(detector.cases_):,} stored cases")

# %% tags=["figure"]
history = detector.history_["phase1"]
fig, ax = plt.subplots(figsize=(5.5, 3.5))
epochs = np.arange(1, len(history["loss"]) + 1)
ax.plot(epochs, history["loss"], "o-", label="training")
ax.plot(epochs, history["val_loss"], "s-", label="validation")
ax.set_xticks(epochs)
ax.set_xlabel("epoch")
ax.set_ylabel("contrastive loss")
ax.set_title("Metric training")
ax.legend()
plt.show()

# %% [markdown]
# ## 3. Score headlines
#
# `predict_proba` gives P(clickbait) (column 1) from a learned vote over the evidence of the `k`
# nearest stored cases of each class; `predict` applies the threshold chosen on the validation
# split. `assess` adds `support` (how close the nearest case is) and `low_support`.

# %%
headlines = [
    "You Won't Believe What This Dog Did At The Beach",
    "21 Photos That Will Make You Feel Old",
    "This Is What Happens When You Stop Drinking Coffee",
    "Central bank raises interest rates by a quarter point",
    "Flooding forces thousands to evacuate in southern Germany",
    "Parliament approves new budget after lengthy debate",
]
pd.DataFrame({
    "headline": headlines,
    "P(clickbait)": detector.predict_proba(headlines)[:, 1].round(3),
    "clickbait": detector.predict(headlines).astype(bool),
})

# %% [markdown]
# ## 4. Score a CSV file
#
# A CSV with a headline column (here called `title`, beside an `id`; one row has no title),
# written to a scratch directory and scored with `clickbait.score_csv`, which streams
# files of any size in chunks. The output keeps every input column and adds
# `clickbait_probability` and `clickbait` (empty where there was no headline).
# (`clickbait score MODEL_DIR INPUT.csv -o OUTPUT.csv` does the same from the command line,
# for a detector saved in MODEL_DIR: see section 6.)

# %%
csv_in, csv_out = WORK / "headlines.csv", WORK / "headlines.scored.csv"
pd.DataFrame({"id": range(1, len(headlines) + 2), "title": [*headlines, ""]}).to_csv(csv_in, index=False)
summary = score_csv(detector, csv_in, csv_out, text_column="title")
print(summary.line())
pd.read_csv(csv_out, keep_default_na=False)

# %% [markdown]
# A DataFrame already in memory is scored the same way with `clickbait.score_frame`:

# %%
frame = pd.DataFrame({"headline": ["These 9 Cats Have Seen Things", "Oil prices fall for a third day"]})
score_frame(detector, frame, text_column="headline")

# %% [markdown]
# ## 5. Why? The nearest cases behind a decision
#
# Every prediction rests on stored headlines. `explain` lists them, nearest first: similarity
# (cosine), their label, text, and where they came from (`source`).

# %%
question = "21 Photos That Will Make You Feel Old"
print(f"{question!r}: P(clickbait) = {detector.predict_proba([question])[0, 1]:.2f}")
why = detector.explain([question], k=8)
why["label"] = why["label"].map({0: "not clickbait", 1: "clickbait"})
why[["rank", "similarity", "label", "case_text", "source"]].round(3)

# %% [markdown]
# ## 6. Save and load
#
# `save` writes the Keras model (raw strings in), the cases, a `config.json` and a
# `manifest.json` with the checksum of each, as one version behind the pointer `current`;
# `clickbait.load` (the same as `ClickbaitDetector.load`) verifies them (no pickle) and gives the
# same scores.

# %%
saved = detector.save(WORK / "model")
print(sorted(p.name for p in (saved / "current").iterdir()))
reloaded = clickbait.load(saved)
same = np.allclose(reloaded.predict_proba(headlines), detector.predict_proba(headlines), atol=1e-6)
print("reloaded detector gives the same scores:", same)
assert same
