# %% [markdown]
# # Adapting to a user: their own cases, no retraining
#
# A nearest-case classifier learns by remembering. When a reader disagrees with the corpus, their
# labelled headlines can be **retained** as cases in a per-user **overlay**: the shared network
# and the shared cases stay as they are, the reader's cases move the vote of headlines near them
# (each with a weight, `user_weight`, default 1), and nobody else is affected. This notebook
# simulates such a reader and measures how fast the detector comes to agree with them.
#
# **The reader**: for them, number-led list headlines ("17 Things Only '90s Kids Will
# Understand") are *not* clickbait; they like lists. On every other headline they agree with the
# corpus. In the corpus, about 95% of number-led headlines are labelled clickbait, so the shared
# detector disagrees with this reader on nearly all of them.
#
# Sizes come from the `parameters` cell; CI runs it small.

# %% tags=["parameters"]
N_TRAIN = 25600  # training headlines for the shared detector (the whole train split)
N_VALID = 3200
EPOCHS = 8
# Model sizes: None keeps ClickbaitDetector's default (CI runs this notebook smaller).
DIM = None  # dimension of the metric space
FILTERS = None
HIDDEN = None
LENGTH = None  # tokens per headline
TOP_N = None  # most frequent GloVe words added to the vocabulary
K = None  # nearest cases of each class the vote weighs
SEED = 0
USER_SIZES = [0, 100, 500, 1000, 2000, 4000]  # how many labelled headlines the reader gave
USER_WEIGHTS = [1.0, 10.0]  # a reader's case counts this many times a retained case as near
N_USER_EVAL = 300  # held-out headlines per group (number-led / other) to measure agreement
VECTORS = "pretrained/glove.6B.50d.txt"  # relative to the repository root

# %%
import os
import re
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from clickbait.data import load_split
from clickbait.detector import ClickbaitDetector

ROOT = next(p for p in (Path.cwd(), *Path.cwd().parents) if (p / "clickbait" / "__init__.py").is_file())
VECTORS = ROOT / VECTORS
CACHE = ROOT / ".cache" / "vectors"
WORK = Path(tempfile.mkdtemp(prefix="clickbait-adapt-"))
pd.set_option("display.max_colwidth", 90)
NAMES = {0: "not clickbait", 1: "clickbait"}


def subset(split, n, seed=SEED):
    """n random (texts, labels) rows of a split."""
    texts, labels = split
    idx = np.random.default_rng(seed).permutation(len(texts))[:n]
    return [texts[i] for i in idx], labels[idx]


# %% [markdown]
# ## The shared detector
#
# Trained on the corpus as usual (the training and validation headlines become shared cases).

# %%
detector = ClickbaitDetector(
    str(VECTORS), epochs=EPOCHS, seed=SEED, cache_dir=str(CACHE),
    **{name: value for name, value in dict(dim=DIM, filters=FILTERS, hidden=HIDDEN, length=LENGTH,
                                           pretrained_top_n=TOP_N, k=K).items() if value is not None},
).fit(*subset(load_split("train"), N_TRAIN), validation=subset(load_split("valid"), N_VALID))
print(f"validation accuracy {detector.validation_accuracy_:.3f}; "
      f"{len(detector.cases_):,} shared cases")

# %% [markdown]
# ## The reader and their headlines
#
# The reader labels list headlines as they meet them: their **feedback** is number-led headlines
# from the train split, labelled "not clickbait" (the corpus says clickbait for 95% of them; the
# shared cases hold the corpus labels of some of the same headlines, so the two opinions
# compete). Agreement is measured on the **test split**, which neither the detector nor the
# reader's feedback ever contains: on `N_USER_EVAL` number-led headlines (where the reader
# disagrees with the corpus) and `N_USER_EVAL` other headlines (where they agree with it).

# %%
LIST_HEADLINE = re.compile(r"^\d+\s")  # "17 Things ...", "21 Photos ..."


def reader_label(text: str, corpus_label: int) -> int:
    """The reader's own label: lists are fine; otherwise they agree with the corpus."""
    return 0 if LIST_HEADLINE.match(text) else int(corpus_label)


train_texts, _ = load_split("train")
feedback = [t for t in subset((train_texts, np.zeros(len(train_texts))), len(train_texts))[0]
            if LIST_HEADLINE.match(t)][:max(USER_SIZES)]
feedback_labels = np.zeros(len(feedback), "int64")  # the reader: not clickbait

test_texts, test_labels = subset(load_split("test"), 3200)
is_list = np.array([bool(LIST_HEADLINE.match(t)) for t in test_texts])
eval_sets = {}
for group, rows in (("number-led", np.flatnonzero(is_list)), ("other", np.flatnonzero(~is_list))):
    rows = rows[:N_USER_EVAL]
    eval_sets[group] = ([test_texts[i] for i in rows],
                        np.array([reader_label(test_texts[i], test_labels[i]) for i in rows]))
print(f"{is_list.sum()} number-led headlines among {len(test_texts)} test headlines "
      f"({test_labels[is_list].mean():.0%} of them clickbait in the corpus)")
print(f"feedback: {len(feedback)} number-led train headlines; evaluation: "
      + ", ".join(f"{len(v[0])} {k}" for k, v in eval_sets.items()))
pd.DataFrame({"feedback headline": feedback[:5], "reader's label": [NAMES[0]] * min(5, len(feedback))})

# %% [markdown]
# Before adapting, the detector's reasons for one list headline: all shared cases, mostly
# other lists labelled clickbait.

# %%
# A list headline the shared detector calls clickbait (the reader disagrees).
list_texts = eval_sets["number-led"][0]
flagged = np.flatnonzero(detector.predict(list_texts) == 1)
probe = list_texts[flagged[0] if len(flagged) else 0]
cols = ["rank", "similarity", "label", "case_text", "source", "weight"]
before = detector.explain([probe], k=6)
before["label"] = before["label"].map(NAMES)
print(f"{probe!r}: P(clickbait) = {detector.predict_proba([probe])[0, 1]:.2f} (reader says: "
      f"{NAMES[reader_label(probe, 1)]})")
before[cols].round(3)

# %% [markdown]
# ## Retaining the reader's headlines
#
# `attach_user("reader")` gives the detector an empty overlay; `retain(texts, labels)` embeds
# the reader's headlines with the shared network and stores them there (no retraining, a few
# milliseconds). After each batch we measure agreement with the reader on the held-out sets.

# %%
def agreement() -> dict:
    return {group: float((detector.predict(texts) == labels).mean())
            for group, (texts, labels) in eval_sets.items()}


agreement_before = agreement()
overlay = detector.attach_user("reader", user_weight=USER_WEIGHTS[0])
rows, retained = [], 0
for n in sorted(USER_SIZES):
    if n > retained:
        detector.retain(feedback[retained:n], feedback_labels[retained:n])
        retained = n
    for weight in USER_WEIGHTS:  # the same cases, voting with each weight
        overlay.user_weight = weight
        rows.append({"retained": n, "user_weight": weight, **agreement()})
overlay.user_weight = USER_WEIGHTS[0]
curve = pd.DataFrame(rows)
print(f"agreement with the user's labels (overlay '{overlay.name}', {len(overlay)} cases):")
curve.pivot(index="retained", columns="user_weight", values=["number-led", "other"]).round(3)

# %% tags=["figure"]
fig, ax = plt.subplots(figsize=(8, 4.2))
for weight, colour in zip(USER_WEIGHTS, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False):
    part = curve[curve["user_weight"] == weight]
    x = part["retained"].to_numpy()
    ax.plot(x, part["number-led"], "o-", color=colour, label=f"number-led, user_weight {weight:g}")
    ax.plot(x, part["other"], "s--", color=colour, label=f"other, user_weight {weight:g}")
x = np.array(sorted(USER_SIZES))
ax.set_xscale("symlog", linthresh=max(1, min((v for v in x if v > 0), default=1)))
ax.set_xticks(x)
ax.set_xticklabels([str(v) for v in x])
ax.set_ylim(0, 1.02)
ax.set_xlabel("reader's list headlines retained")
ax.set_ylabel("agreement with the reader's labels")
ax.set_title("Adapting to one reader, without retraining")
ax.grid(alpha=0.3)
ax.legend(title="held-out headlines", loc="upper left", bbox_to_anchor=(1.01, 1.0))
plt.show()

# %%
for weight in USER_WEIGHTS:
    part = curve[curve["user_weight"] == weight].set_index("retained")
    first, last = part.index[0], part.index[-1]
    print(f"user_weight {weight:g}: number-led {part.loc[first, 'number-led']:.0%} agreement with "
          f"{first} retained -> {part.loc[last, 'number-led']:.0%} with {last}; other headlines "
          f"{part.loc[first, 'other']:.0%} -> {part.loc[last, 'other']:.0%}")
best = curve[curve["retained"] == max(USER_SIZES)]["number-led"].max()
print(f"with {max(USER_SIZES)} retained, the reader's view decides "
      + (f"most number-led headlines ({best:.0%} agreement): the overlay works at this size."
         if best >= 0.5 else
         f"only {best:.0%} of number-led headlines: at this size (N_TRAIN {N_TRAIN}, EPOCHS "
         f"{EPOCHS}) the overlay barely moves the vote; see the note below."))

# %% [markdown]
# **Reading the curve.** On number-led headlines agreement starts low: the shared detector
# calls them clickbait. The reader's cases are evidence of their own (`clickbait.vote.Adapter`):
# the 10 nearest of them, in a space of the metric embedding beside the mean word vector, each
# weighing `user_weight` x exp((similarity - 1) / T) with T chosen at training (0.01 on the
# full-size models), vote beside the shared cases' evidence. So they count where they are near
# (other list headlines, about the same things) and fade quickly elsewhere: watch the "other"
# curve for what a larger weight costs on headlines the reader agrees with the corpus about.
# `benchmarks/bench_adaptation.py` measures this against refitting a TF-IDF model, fine-tuning
# (`learn`) and retraining; `docs/adaptation.md` has the figures.
#
# **The size matters.** At the CI size (`notebooks/run.py --small`: 2,000 training headlines,
# 2 epochs, 300 retained) the network is briefly trained and the adapter's weights are fitted
# on few episodes; the line printed above says how far this run's curve moved.
#
# The same list headline, explained after adapting (with `user_weight` back at its first value):
# the line above the table counts how many of its nearest cases are now the reader's (`source` =
# `user:reader`, vote `weight` = `user_weight`); at full size they are often copies of the very
# shared headlines whose labels they contradict.

# %%
after = detector.explain([probe], k=6)
after["label"] = after["label"].map(NAMES)
print(f"{probe!r}: P(clickbait) = {detector.predict_proba([probe])[0, 1]:.2f}; "
      f"{(after['source'] == 'user:reader').sum()} of its {len(after)} nearest cases are the reader's")
after[cols].round(3)

# %% [markdown]
# ## Only this reader is affected, and it can be undone
#
# The shared cases were never touched: detaching the overlay gives the shared detector's
# answers back. The overlay is saved beside the model (`MODEL_DIR/users/reader/`) and attached
# again at load time; `forget(source="user:reader")` removes the reader's cases.

# %%
model_dir = detector.save(WORK / "model")  # the shared model (its files never hold user cases)
print("saved overlay:", detector.save_user(model_dir).relative_to(WORK))
detector.detach_user()
shared = {g: float((detector.predict(t) == y).mean()) for g, (t, y) in eval_sets.items()}
print("agreement without the overlay:", {g: round(v, 3) for g, v in shared.items()},
      "(as with 0 retained)" if shared == agreement_before else "")

reloaded = ClickbaitDetector.load(model_dir, user="reader")
print(f"reloaded with user 'reader': {len(reloaded.overlay_)} user cases; P(clickbait) of the "
      f"probe {reloaded.predict_proba([probe])[0, 1]:.2f}")
removed = reloaded.forget(source="user:reader")
print(f"forgot {removed} cases; P(clickbait) of the probe {reloaded.predict_proba([probe])[0, 1]:.2f}")
