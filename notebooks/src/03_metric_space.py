# %% [markdown]
# # The metric space: where headlines land before and after metric training
#
# The detector maps each headline to a point on the unit sphere and labels it by its nearest
# stored cases. Metric training (contrastive loss) is what makes that work: it pulls headlines
# of one class together and pushes the classes apart. This notebook
#
# 1. projects test headlines to 2-D (PCA) **before** training (an untrained encoder over the
#    same GloVe vectors) and **after** (the fitted detector's `transform`), coloured by class;
# 2. shows the **nearest neighbours** behind a few chosen headlines (`detector.explain`);
# 3. shows **where the errors sit**: the misclassified test headlines, in the projection and in
#    a table.
#
# Sizes come from the `parameters` cell; CI runs it small.

# %% tags=["parameters"]
N_TRAIN = 25600  # training headlines (the whole train split)
N_VALID = 3200  # validation headlines: choose the threshold, then stored as cases
N_TEST = 3200  # test headlines: never seen in training; scored for the error analysis
N_PLOT = 800  # test headlines in the projections
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
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score

from clickbait.data import load_split
from clickbait.detector import ClickbaitDetector
from clickbait.model import build_encoder, build_text_model, embedding_layer

ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "clickbait" / "__init__.py").is_file())
VECTORS = ROOT / VECTORS
CACHE = ROOT / ".cache" / "vectors"
pd.set_option("display.max_colwidth", 90)
CLASSES = {0: ("not clickbait", "tab:blue"), 1: ("clickbait", "tab:red")}


def subset(split, n, seed=SEED):
    """n random (texts, labels) rows of a split."""
    texts, labels = split
    idx = np.random.default_rng(seed).permutation(len(texts))[:n]
    return [texts[i] for i in idx], labels[idx]


# %% [markdown]
# ## Train a detector
#
# A CNN encoder over frozen GloVe vectors, trained with the contrastive loss; the training
# headlines (and then the validation headlines) become the stored cases.

# %%
train_texts, train_labels = subset(load_split("train"), N_TRAIN)
valid_texts, valid_labels = subset(load_split("valid"), N_VALID)
test_texts, test_labels = subset(load_split("test"), N_TEST)
detector = ClickbaitDetector(
    str(VECTORS), epochs=EPOCHS, seed=SEED, cache_dir=str(CACHE), trainable=False,
    **{name: value for name, value in dict(dim=DIM, filters=FILTERS, hidden=HIDDEN, length=LENGTH,
                                           pretrained_top_n=TOP_N, k=K).items() if value is not None},
).fit(train_texts, train_labels, validation=(valid_texts, valid_labels))
print(f"validation accuracy {detector.validation_accuracy_:.3f} at threshold "
      f"{detector.threshold_:.2f}; {len(detector.cases_):,} stored cases")

# %% [markdown]
# ## Before and after metric training
#
# "Before" is the same architecture with the same GloVe table and the same vectorizer, but
# untrained weights: its space reflects only what the word vectors and random filters happen to
# encode. "After" is the trained detector.

# %%
keras.utils.set_random_seed(SEED)
untrained = build_encoder(
    embedding_layer(detector.network_).get_weights()[0],  # the (frozen) GloVe table
    length=detector.length, dim=detector.dim, hidden=detector.hidden, filters=detector.filters)
before_model = build_text_model(detector.model_.get_layer("vectorize"), untrained)

plot_texts, plot_labels = test_texts[:N_PLOT], test_labels[:N_PLOT]
before = before_model.predict(np.asarray(plot_texts, dtype=object), verbose=0)
after = detector.transform(plot_texts)


def knn_accuracy(embeddings, labels, k=detector.k):
    """Leave-one-out accuracy of a k-nearest-neighbour majority vote among these points."""
    sims = embeddings @ embeddings.T
    np.fill_diagonal(sims, -np.inf)
    nearest = np.argsort(-sims, axis=1)[:, :k]
    return float(((labels[nearest].mean(axis=1) >= 0.5) == labels).mean())


separation = pd.DataFrame({
    space: {"silhouette (cosine)": silhouette_score(e, plot_labels, metric="cosine"),
            f"{detector.k}-NN accuracy among these points": knn_accuracy(e, plot_labels)}
    for space, e in (("before", before), ("after", after))
})
separation.round(3)

# %% tags=["figure"]
fig, axes = plt.subplots(1, 2, figsize=(11, 5))
for ax, (title, emb) in zip(axes, (("before metric training (untrained encoder)", before),
                                   ("after metric training (detector.transform)", after)),
                            strict=True):
    xy = PCA(n_components=2, random_state=SEED).fit_transform(emb)
    for label, (name, colour) in CLASSES.items():
        m = plot_labels == label
        ax.scatter(xy[m, 0], xy[m, 1], s=10, alpha=0.5, c=colour, label=name)
    ax.set_title(title)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(markerscale=2)
fig.suptitle(f"{len(plot_texts)} test headlines, PCA of the {detector.dim}-d embeddings")
fig.tight_layout()
plt.show()

# %% [markdown]
# Compare the two panels and the table above. Even the untrained encoder separates the classes
# somewhat, because the GloVe vectors alone tell "you", "things" and numbers from the names of
# officials and places; but the classes overlap broadly. Metric training pulls each class into
# its own region of the sphere (a higher silhouette, a better neighbour vote), which is what the
# nearest-case classifier relies on. With the small CI sizes (2 epochs, 2,000 headlines) the
# change is modest; `make notebooks` trains at full size.
#
# ## Nearest neighbours of chosen headlines
#
# `explain` lists the stored cases behind each decision: their similarity (cosine), label and
# text. The vote weights each by exp(similarity / T), so the nearest count most.

# %%
chosen = [
    "You Won't Believe What This Dog Did At The Beach",
    "17 Things Only People Who Grew Up In The '90s Will Understand",
    "Senate passes budget bill after late-night vote",
    "Earthquake of magnitude 6.1 strikes off the coast of Japan",
]
proba = detector.predict_proba(chosen)[:, 1]
for text, p in zip(chosen, proba, strict=True):
    print(f"P(clickbait) = {p:.2f}  {text}")
neighbours = detector.explain(chosen, k=5)
neighbours["label"] = neighbours["label"].map({0: "not clickbait", 1: "clickbait"})
neighbours[["query", "rank", "similarity", "label", "case_text"]].round(3)

# %% [markdown]
# ## Where the errors sit
#
# Score the test headlines, then mark the misclassified ones in the trained space.

# %%
test_proba = detector.predict_proba(test_texts)[:, 1]
test_pred = (test_proba >= detector.threshold_).astype(int)
wrong = test_pred != test_labels
print(f"test accuracy {1 - wrong.mean():.3f}: {wrong.sum()} of {len(test_texts)} headlines "
      f"misclassified ({((test_labels == 0) & wrong).sum()} false alarms, "
      f"{((test_labels == 1) & wrong).sum()} missed clickbait)")
margin = np.abs(test_proba - detector.threshold_)
print(f"mean |P(clickbait) - threshold|: {margin[wrong].mean():.2f} for errors, "
      f"{margin[~wrong].mean():.2f} for correct decisions")

# %% tags=["figure"]
xy = PCA(n_components=2, random_state=SEED).fit_transform(after)
plot_wrong = wrong[:N_PLOT]
fig, ax = plt.subplots(figsize=(6.5, 5.5))
for label, (name, colour) in CLASSES.items():
    m = plot_labels == label
    ax.scatter(xy[m, 0], xy[m, 1], s=10, alpha=0.35, c=colour, label=name)
ax.scatter(xy[plot_wrong, 0], xy[plot_wrong, 1], s=60, facecolors="none", edgecolors="black",
           linewidths=1.2, label=f"misclassified ({plot_wrong.sum()})")
ax.set_title("Errors in the trained space (PCA)")
ax.set_xlabel("PC 1")
ax.set_ylabel("PC 2")
ax.legend(markerscale=1.5)
plt.show()

# %% [markdown]
# Most errors lie where the two clouds meet, and some deep inside the other class: headlines
# that *read* like the other class (a news item phrased as a question or list, a clickbait
# headline phrased like a report). The most confident errors:

# %%
errors = pd.DataFrame({"headline": test_texts, "label": test_labels, "P(clickbait)": test_proba})
errors = errors[wrong].assign(margin=margin[wrong]).sort_values("margin", ascending=False)
errors["label"] = errors["label"].map({0: "not clickbait", 1: "clickbait"})
errors.head(10).drop(columns="margin").round(3)

# %% [markdown]
# And the cases that misled the detector on the most confident error:

# %%
if len(errors):
    worst = errors["headline"].iloc[0]
    print(f"{worst!r} (true label: {errors['label'].iloc[0]})")
    explained = detector.explain([worst], k=5)
    explained["label"] = explained["label"].map({0: "not clickbait", 1: "clickbait"})
    display(explained[["rank", "similarity", "label", "case_text"]].round(3))
