"""The vote: the nearest cases' evidence becomes a calibrated P(clickbait).

A temperature-weighted vote over a tight metric space gives probabilities of exactly 0 or 1 for
almost every headline. Instead, per class, the similarities of the nearest cases of that class
and the share of clickbait among the nearest cases are *evidence features*; a logistic regression
with non-negative weights on them (the `Combiner`) turns the evidence into a probability. It is
fitted on held-out headlines queried against the case base without themselves (out of fold), so
its probabilities are calibrated for new headlines, and the weights are plain numbers: the same
combiner recomputes P(clickbait) from whatever cases are present (retained, revised, forgotten,
a user's overlay) without refitting. Non-negative weights on features that only grow when a
clickbait case is added (and only shrink when a non-clickbait one is) make P(clickbait) monotone
in the cases.

A headline's *support* is the similarity of its nearest case. Text that is not a headline at all
(random words, digit strings, letter salad) can still land near cases in the metric space, so a
second, text-level check (`HeadlineCheck`: how many of its tokens and word pairs training ever
saw) estimates P(headline). For text the check rejects, what the cases say is pulled toward the
prior (we do not know): `p = prior + s * (P_cases - prior)`, `s = clip((P(headline) - 0.25) /
0.25, 0, 1)`. Text judged a headline (P(headline) >= 0.5, 99% of held-out headlines) keeps the
cases' calibrated probability untouched; text below 0.25 gets the prior. Text below
P(headline) = 0.5 is never *labelled* clickbait (`predict`, the `clickbait` column): use the
label, not the probability against your own cut, to leave such text out. A headline is
marked `low_support` when
P(headline) < 0.5 or its support is below the 1st percentile of held-out headlines' support;
text with P(headline) < 0.5 is never labelled clickbait, whatever its probability.

Cases retained after training (`retain`, `adapt`, a user's overlay) do not join that evidence:
there they would shift every headline in their class's tight ball (the 100th nearest case lies at
0.96-0.99 similarity), whatever its topic. They are evidence of their own (`Adapter`): over the
`m` nearest retained cases in the *adaptation space* (the metric embedding beside the headline's
mean word vector, so that nearness also means "about the same thing"), the kernel-weighted mass
of clickbait cases E1 and of the others E0. A confident base logit b is discounted by the mass
that contradicts it, and the net share adds its own vote:

    logit = max(b, 0) / (1 + lam E0) + min(b, 0) / (1 + lam E1) + a (E1 - E0)
            + beta (E1 - E0) / (E1 + E0 + c)

With nothing retained E0 = E1 = 0 and the logit is the base one, identically. Every term is
non-decreasing in E1 and non-increasing in E0 (lam, a, beta >= 0), so a retained clickbait case
never lowers P(clickbait) and a retained other case never raises it. The weights are fitted on
adaptation episodes (`adaptation_episodes`: labels of one kind of headline changed on the
validation split, and development sources split into retained and queried rows), never on the
corpus test split.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import minimize

from .cases import Neighbours
from .index import ClusterNeighbours

SIM_DEPTHS = (1, 5, 25, 100)  # mean similarity of the m nearest cases of each class
SHARE_DEPTHS = (5, 25, 100)  # weighted share of clickbait among the m nearest cases
FEATURES = tuple([f"sim{m}_diff" for m in SIM_DEPTHS] + [f"share{m}" for m in SHARE_DEPTHS])
HEADLINE_FEATURES = ("log_tokens", "unknown_share", "numeric_share", "pairs_seen", "pairs_unseen",
                     "coherence")
_NUMERIC = re.compile(r"[\d.,:/%$-]*\d[\d.,:/%$-]*")


def evidence(nb: Neighbours) -> np.ndarray:
    """n x len(FEATURES) evidence: per depth m, mean similarity of the m nearest clickbait cases
    minus that of the m nearest other cases; and the weighted clickbait share among the m nearest
    cases of both classes together."""
    s0, s1 = nb.sims
    cols = [s1[:, :m].mean(axis=1) - s0[:, :m].mean(axis=1) for m in SIM_DEPTHS]
    sims = np.concatenate([s0, s1], axis=1)
    w = np.concatenate(nb.weights, axis=1)
    is1 = np.concatenate([np.zeros_like(s0), np.ones_like(s1)], axis=1)
    order = np.argsort(-sims, axis=1, kind="stable")
    w, is1 = np.take_along_axis(w, order, axis=1), np.take_along_axis(is1, order, axis=1)
    for m in SHARE_DEPTHS:
        total = w[:, :m].sum(axis=1)
        cols.append(np.divide((w[:, :m] * is1[:, :m]).sum(axis=1), total,
                              out=np.full(len(total), 0.5), where=total > 0))
    return np.column_stack(cols).astype("float64")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), without overflow warnings


def fit_logistic(x: np.ndarray, y: np.ndarray, *, nonnegative: bool, l2: float = 1e-3
                 ) -> tuple[np.ndarray, float]:
    """Logistic regression by L-BFGS-B on standardised features (weights >= 0 when
    `nonnegative`, which scikit-learn's LogisticRegression cannot impose); returns the weights
    and intercept on the original scale."""
    x, y = np.asarray(x, "float64"), np.asarray(y, "float64")
    mu, sd = x.mean(axis=0), x.std(axis=0)
    sd[sd == 0] = 1.0
    z = (x - mu) / sd
    n, d = z.shape

    def loss(theta):
        w, b = theta[:d], theta[d]
        t = z @ w + b
        # log(1 + exp(t)) - y t, stably
        value = np.logaddexp(0.0, t) - y * t
        g = _sigmoid(t) - y
        return value.mean() + 0.5 * l2 * w @ w, np.append(z.T @ g / n + l2 * w, g.mean())

    bounds = [(0.0, None) if nonnegative else (None, None)] * d + [(None, None)]
    res = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 2000})
    w = res.x[:d] / sd
    return w, float(res.x[d] - (w * mu).sum())


@dataclass
class Combiner:
    """P(cases say clickbait) = sigmoid(intercept + coef . evidence), coef >= 0."""

    coef: np.ndarray
    intercept: float

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray) -> Combiner:
        coef, intercept = fit_logistic(features, labels, nonnegative=True)
        return cls(coef, intercept)

    def logit(self, features: np.ndarray) -> np.ndarray:
        return features @ self.coef + self.intercept

    def proba(self, features: np.ndarray) -> np.ndarray:
        return _sigmoid(self.logit(features))

    def to_dict(self) -> dict:
        return {"features": list(FEATURES), "coef": [float(c) for c in self.coef],
                "intercept": self.intercept}

    @classmethod
    def from_dict(cls, d: dict) -> Combiner:
        if tuple(d.get("features", ())) != FEATURES or len(d.get("coef", ())) != len(FEATURES):
            raise ValueError(f"vote combiner: expected features {FEATURES}, got {d.get('features')}")
        return cls(np.asarray(d["coef"], "float64"), float(d["intercept"]))


def pair_keys(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """Key of every adjacent pair of token ids (n x (length-1)); pairs that touch padding get -1."""
    ids = np.asarray(ids, dtype="int64")
    keys = ids[:, :-1] * vocab_size + ids[:, 1:]
    return np.where((ids[:, :-1] > 0) & (ids[:, 1:] > 0), keys, -1)


@dataclass
class HeadlineCheck:
    """P(this text is a headline) from how much of it training saw and whether its words belong
    together: number of tokens, the shares of unknown tokens and of numbers, how many adjacent
    word pairs training saw and did not see, and the coherence of its words (mean cosine of each
    word vector to the headline's mean word vector: a headline's words share a topic, a random
    string's do not). Fitted on held-out headlines against generated non-headlines."""

    coef: np.ndarray
    intercept: float
    n_train_words: int  # ids 2 .. 2 + n_train_words - 1 are words of the training set
    vocab_size: int
    pairs: np.ndarray  # sorted keys of the word pairs seen in training
    numeric: np.ndarray  # bool per id: the token is a number
    vectors: np.ndarray  # the model's word vectors (ids x dims), for coherence

    @property
    def _word_vectors(self) -> np.ndarray:
        wv = self.__dict__.get("_wv")
        if wv is None:
            wv = self.vectors.copy()
            wv[:2] = 0.0  # PAD and UNK are not words
            self.__dict__["_wv"] = wv
        return wv

    @staticmethod
    def numeric_flags(tokens: Sequence[str]) -> np.ndarray:
        return np.array([bool(_NUMERIC.fullmatch(t)) for t in tokens], dtype=bool)

    @classmethod
    def from_training(cls, train_ids: np.ndarray, tokens: Sequence[str], n_train_words: int,
                      vectors: np.ndarray) -> HeadlineCheck:
        """An unfitted check that knows the training set's word pairs (tokens: the vocabulary
        with PAD and UNK, id order; vectors: the word vectors in the same order)."""
        pairs = pair_keys(train_ids, len(tokens)).ravel()
        return cls(np.zeros(len(HEADLINE_FEATURES)), 0.0, int(n_train_words), len(tokens),
                   np.unique(pairs[pairs >= 0]), cls.numeric_flags(tokens), _stored(vectors))

    def features(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype="int64")
        real = ids > 0
        n = real.sum(axis=1)
        safe = np.maximum(n, 1)
        unknown = (ids == 1).sum(axis=1) / safe
        numeric = (self.numeric[ids] & real).sum(axis=1) / safe
        keys = pair_keys(ids, self.vocab_size)
        valid = keys >= 0
        seen = np.zeros(len(ids))
        if len(self.pairs):  # searched for the real pairs only (a third of the padded positions)
            real_keys = keys[valid]
            at = np.minimum(np.searchsorted(self.pairs, real_keys), len(self.pairs) - 1)
            found = np.zeros(keys.shape, bool)
            found[valid] = self.pairs[at] == real_keys
            seen = found.sum(axis=1)
        # Coherence: the mean over words of cos(word, mean direction) = |sum of unit word vectors|
        # / words; the sum is one sparse product (PAD and UNK rows are zero in `_word_vectors`).
        words = (ids > 1).sum(axis=1)
        total = self.word_sums(ids)
        coherence = np.linalg.norm(total, axis=1) / np.maximum(words, 1)
        return np.column_stack([np.log1p(n), unknown, numeric, seen, valid.sum(axis=1) - seen,
                                coherence]).astype("float64")

    def word_sums(self, ids: np.ndarray) -> np.ndarray:
        """n x dims: the sum of each headline's unit word vectors (PAD and UNK count zero), one
        sparse product; its direction is the headline's topic."""
        ids = np.asarray(ids, dtype="int64")
        rows = sparse.csr_matrix((np.ones(ids.size, "float32"), ids.ravel(),
                                  np.arange(0, ids.size + 1, max(ids.shape[1], 1))),
                                 shape=(len(ids), len(self.vectors)))
        return np.asarray(rows @ self._word_vectors)

    def fit(self, headline_ids: np.ndarray, other_ids: np.ndarray, false_alarms: float = 0.01
            ) -> HeadlineCheck:
        """A copy fitted on headlines (label 1) against generated other text (label 0). The two
        are almost separable, so the fit fixes the direction; the intercept is then set so that
        a share `false_alarms` of the held-out headlines fall below P(headline) = 0.5 (how the
        default was chosen: benchmarks/README.md)."""
        x = np.concatenate([self.features(headline_ids), self.features(other_ids)])
        y = np.concatenate([np.ones(len(headline_ids)), np.zeros(len(other_ids))])
        coef, _ = fit_logistic(x, y, nonnegative=False, l2=1e-4)
        z = self.features(headline_ids) @ coef
        return replace(self, coef=coef, intercept=float(-np.quantile(z, false_alarms)))

    def proba(self, ids: np.ndarray) -> np.ndarray:
        if len(ids) == 0:
            return np.zeros(0)
        return _sigmoid(self.features(ids) @ self.coef + self.intercept)

    def to_dict(self) -> dict:
        return {"features": list(HEADLINE_FEATURES), "coef": [float(c) for c in self.coef],
                "intercept": self.intercept, "n_train_words": self.n_train_words,
                "vocab_size": self.vocab_size}

    @classmethod
    def from_parts(cls, d: dict, pairs: np.ndarray, numeric: np.ndarray, vectors: np.ndarray
                   ) -> HeadlineCheck:
        if tuple(d.get("features", ())) != HEADLINE_FEATURES:
            raise ValueError(f"headline check: expected features {HEADLINE_FEATURES}, "
                             f"got {d.get('features')}")
        return cls(np.asarray(d["coef"], "float64"), float(d["intercept"]), int(d["n_train_words"]),
                   int(d["vocab_size"]), np.asarray(pairs, "int64"), np.asarray(numeric, bool),
                   np.asarray(vectors, "float32"))


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype="float32")
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


def _stored(vectors: np.ndarray) -> np.ndarray:
    """Unit word vectors at the float16 precision they are saved with, so a loaded detector
    gives exactly the probabilities of the fitted one."""
    return unit_rows(vectors).astype("float16").astype("float32")


def non_headlines(words: Sequence[str], n: int, seed: int) -> list[str]:
    """Generated text that is not a headline, to teach `HeadlineCheck` what one is not: random
    word strings (uniform over `words`), strings of numbers, and letter salad, in equal parts."""
    rng = np.random.default_rng(seed)
    words = np.asarray(list(words), dtype=object)
    letters = list("abcdefghijklmnopqrstuvwxyz    ")
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            out.append(" ".join(rng.choice(words, rng.integers(3, 16))))
        elif kind == 1:
            out.append(" ".join(str(rng.integers(0, 10 ** rng.integers(1, 6)))
                                for _ in range(rng.integers(2, 7))))
        else:
            out.append("".join(rng.choice(letters, rng.integers(8, 70))).strip() or "qzx")
    return out


TEMPERATURES = (1.0, 0.1, 0.03, 0.01)  # the kernel widths `fit_adapter` chooses among
ADAPT_SPACE_NOTE = "metric embedding and mean word vector, each unit length, concatenated / sqrt(2)"


def adaptation_space(embeddings: np.ndarray, topics: np.ndarray) -> np.ndarray:
    """Where retained cases are compared with headlines: cosine = the mean of the metric
    similarity and the word-vector (topic) similarity."""
    return np.ascontiguousarray(np.concatenate([unit_rows(embeddings), unit_rows(topics)], axis=1)
                                / np.sqrt(2.0), dtype="float32")


def retained_mass(sims: np.ndarray, labels: np.ndarray, weights: np.ndarray, temperature: float
                  ) -> np.ndarray:
    """n x 2 kernel masses (E0, E1) of the retained neighbours (n x m similarities, their labels
    and per-case weights; weight 0 for a missing neighbour): sum of weight * exp((s - 1) / T)."""
    w = np.where(weights > 0, weights * np.exp((np.asarray(sims, "float64") - 1.0) / temperature), 0.0)
    is1 = np.asarray(labels) == 1
    return np.column_stack([(w * ~is1).sum(axis=1), (w * is1).sum(axis=1)])


@dataclass
class Adapter:
    """How cases retained after training move P(clickbait) (module docstring): `m` nearest
    retained cases, kernel temperature `temperature`; fitted weights `lam`, `a`, `beta` >= 0."""

    lam: float = 0.0
    a: float = 0.0
    beta: float = 0.0
    m: int = 10
    temperature: float = 1.0
    c: float = 0.05

    def logit(self, base: np.ndarray, mass: np.ndarray) -> np.ndarray:
        e0, e1 = mass[:, 0], mass[:, 1]
        net = e1 - e0
        return (np.maximum(base, 0.0) / (1.0 + self.lam * e0)
                + np.minimum(base, 0.0) / (1.0 + self.lam * e1)
                + self.a * net + self.beta * net / (e0 + e1 + self.c))

    def loss(self, episode: tuple) -> float:
        """Mean log loss of an episode (base logit, retained mass, label, ...)."""
        t = self.logit(episode[0], episode[1])
        return float(np.mean(np.logaddexp(0.0, t) - episode[2] * t))

    def fit(self, episodes: Sequence[tuple], l2: float = 1e-4) -> Adapter:
        """A copy with (lam, a, beta) >= 0 minimising the log loss over episodes of (base logit,
        retained mass, label), from a few starting points (the loss is not convex in lam)."""
        base = np.concatenate([e[0] for e in episodes])
        mass = np.concatenate([e[1] for e in episodes])
        y = np.concatenate([e[2] for e in episodes]).astype("float64")
        # Each episode counts the same, however many headlines it queries: a user's 300
        # relabelled headlines matter as much as a source's 2,000.
        w = np.concatenate([np.full(len(e[2]), 1.0 / max(len(e[2]), 1)) for e in episodes])
        w /= w.sum()

        def loss(theta):
            t = replace(self, lam=theta[0], a=theta[1], beta=theta[2]).logit(base, mass)
            return float(w @ (np.logaddexp(0.0, t) - y * t)) + l2 * float(theta @ theta)

        best = None
        for start in ([0.1, 0.0, 1.0], [1.0, 0.0, 3.0], [10.0, 0.0, 5.0]):
            res = minimize(loss, np.asarray(start), method="L-BFGS-B", bounds=[(0.0, None)] * 3)
            if best is None or res.fun < best.fun:
                best = res
        lam, a, beta = (float(v) for v in best.x)
        self.__dict__["fit_loss"] = float(best.fun)  # for choosing the kernel (not saved)
        return replace(self, lam=lam, a=a, beta=beta)

    def to_dict(self) -> dict:
        return {"lam": self.lam, "a": self.a, "beta": self.beta, "m": self.m,
                "temperature": self.temperature, "c": self.c, "space": ADAPT_SPACE_NOTE}

    @classmethod
    def from_dict(cls, d: dict) -> Adapter:
        try:
            out = cls(float(d["lam"]), float(d["a"]), float(d["beta"]), int(d["m"]),
                      float(d["temperature"]), float(d["c"]))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"vote adapter: {e!r} in {d!r}") from None
        weights = (out.lam, out.a, out.beta)
        if not all(np.isfinite(v) and v >= 0 for v in weights) or not 1 <= out.m <= 1000 \
                or not (np.isfinite(out.temperature) and out.temperature > 0) \
                or not (np.isfinite(out.c) and out.c > 0):
            raise ValueError(f"vote adapter: weights must be finite and >= 0, 1 <= m <= 1000, "
                             f"temperature and c finite and > 0; got {d!r}")
        return out


@dataclass
class Decision:
    """The vote for n headlines: `proba` P(clickbait); `cases_proba` what the cases alone say;
    `headline` P(headline); `support` similarity of the nearest case; `low_support` the flag."""

    proba: np.ndarray
    cases_proba: np.ndarray
    headline: np.ndarray
    support: np.ndarray
    low_support: np.ndarray
    features: np.ndarray
    retained_mass: np.ndarray | None = None  # (E0, E1) from retained cases, n x 2
    base_proba: np.ndarray | None = None  # what the training cases alone say
    user_label: np.ndarray | None = None  # the label a retained copy of the headline gave (NaN: none)

    def label(self, threshold: float) -> np.ndarray:
        """1 = clickbait: P(clickbait) >= threshold, for text that reads as a headline."""
        return ((self.proba >= threshold) & (self.headline >= 0.5)).astype("int64")


def episode_mass(queries: np.ndarray, retained: np.ndarray, labels: np.ndarray, adapter: Adapter
                 ) -> np.ndarray:
    """`retained_mass` of an adaptation episode by exact search (vectors in the adaptation space)."""
    sims = queries @ retained.T
    m = min(adapter.m, sims.shape[1])
    top = np.argpartition(-sims, m - 1, axis=1)[:, :m]
    s = np.take_along_axis(sims, top, axis=1)
    return retained_mass(s, labels[top], np.ones_like(s, "float64"), adapter.temperature)


def adaptation_episodes(vectors: np.ndarray, base_logit: np.ndarray, labels: np.ndarray,
                        words: Sequence[np.ndarray], seed: int,
                        sources: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]] = (),
                        adapter: Adapter | None = None, personas: int = 8
                        ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, str]]:
    """Episodes (base logit, retained mass, label, kind) to fit an `Adapter` on, from held-out
    headlines (their adaptation-space `vectors`, out-of-fold base logits, labels, and each one's
    word ids): (1) personas: every headline holding one word of middling frequency takes the
    label most of them do not have; half of them are retained and the other half queried, and
    three times as many unaffected headlines are queried apart ("unrelated": they must not
    move); (2) each development source (vectors, base logits, labels): 100, 300 and 1,000 of its
    rows retained, up to 2,000 others queried, and held-out corpus headlines queried against the
    same retained rows (again: they must not move). Each episode's kind is "persona",
    "source" or "unrelated"."""
    adapter = adapter or Adapter()
    rng = np.random.default_rng(seed)
    n = len(labels)
    out = []
    df = pd.Series([w for row in words for w in set(row.tolist())]).value_counts()
    lo, hi = max(3, int(0.01 * n)), max(6, int(0.06 * n))
    candidates = df[(df >= lo) & (df <= hi)].index.to_numpy()
    for _ in range(min(personas, len(candidates))):
        word = candidates[rng.integers(len(candidates))]
        hit = np.array([word in set(row.tolist()) for row in words])
        relabelled = np.where(hit, int(labels[hit].mean() < 0.5), labels)  # the persona disagrees
        rows = rng.permutation(np.flatnonzero(hit))
        keep, ask = rows[:len(rows) // 2], rows[len(rows) // 2:]
        rest = np.flatnonzero(~hit)
        others = rng.choice(rest, min(len(rest), 3 * len(ask)), replace=False)
        for rows, kind in ((ask, "persona"), (others, "unrelated")):
            mass = episode_mass(vectors[rows], vectors[keep], relabelled[keep], adapter)
            out.append((base_logit[rows], mass, relabelled[rows], kind))
    for src_vectors, src_logit, src_labels in sources:
        for size in (100, 300, 1000):
            if size >= len(src_labels):
                continue
            rows = rng.permutation(len(src_labels))
            keep, ask = rows[:size], rows[size:size + 2000]
            r, ry = src_vectors[keep], src_labels[keep]
            mass = episode_mass(src_vectors[ask], r, ry, adapter)
            out.append((src_logit[ask], mass, src_labels[ask], "source"))
            own = rng.choice(n, min(n, 1000), replace=False)
            out.append((base_logit[own], episode_mass(vectors[own], r, ry, adapter), labels[own],
                        "unrelated"))
    return out


def shrink(cases_p: np.ndarray, headline: np.ndarray, prior: float) -> np.ndarray:
    """What the cases say, pulled toward the prior for text that is not a headline."""
    return prior + np.clip((headline - 0.25) / 0.25, 0.0, 1.0) * (cases_p - prior)


def summary_evidence(cn: ClusterNeighbours) -> np.ndarray:
    """`evidence` from the fast index (clickbait.index): the nearest cases give the 1- and
    5-nearest features as they are; past them, the nearest clusters' members (their mean
    similarity, their number) fill the ranks to 25 and 100, per class and for both classes
    merged, with the last cluster taken in part."""
    n, top = cn.sims[0].shape
    val = np.concatenate([cn.sims[0], cn.fill_sims[0], cn.sims[1], cn.fill_sims[1]], axis=1)
    cnt = np.concatenate([cn.sims[0] > -1, cn.fill_counts[0], cn.sims[1] > -1, cn.fill_counts[1]],
                         axis=1).astype("float64")
    width0 = top + cn.fill_sims[0].shape[1]
    is1 = np.zeros(val.shape[1])
    is1[width0:] = 1.0
    order = np.argsort(-val, axis=1, kind="stable")
    val, cnt, is1 = (np.take_along_axis(val, order, axis=1).astype("float64"),
                     np.take_along_axis(cnt, order, axis=1), is1[order])
    # Running totals, each taken once: the items' weight (clickbait, other, either) and their
    # weighted similarity (clickbait, other); the weight of clickbait is also the share's sum.
    weights = np.stack([cnt * is1, cnt * (1 - is1), cnt])
    cum = np.cumsum(weights, axis=2)
    csum = np.cumsum(weights[:2] * val, axis=2)
    rows, last = np.arange(n), val.shape[1] - 1

    def first_m(weight: np.ndarray, cum_w: np.ndarray, cum_wv: np.ndarray, value: np.ndarray,
                m: int) -> np.ndarray:
        """Sum of `value` over the first m units of `weight` (the last item in part), from the
        running totals of `weight` and of `weight * value`."""
        j = np.minimum((cum_w < m).sum(axis=1), last)
        before = np.where(j > 0, cum_w[rows, j - 1], 0.0)
        done = np.where(j > 0, cum_wv[rows, j - 1], 0.0)
        return done + np.clip(m - before, 0.0, weight[rows, j]) * value[rows, j]

    s0, s1 = cn.sims
    near = [s1[:, 0] - s0[:, 0], s1[:, :5].mean(axis=1) - s0[:, :5].mean(axis=1)]
    deep = [(first_m(weights[0], cum[0], csum[0], val, m) - first_m(weights[1], cum[1], csum[1], val, m)) / m
            for m in SIM_DEPTHS[2:]]
    merged = np.concatenate([s0, s1], axis=1)
    top5 = np.argsort(-merged, axis=1, kind="stable")[:, :5]
    share5 = (top5 >= top).mean(axis=1)
    ones = np.ones_like(is1)
    shares = [first_m(cnt, cum[2], cum[0], is1, m) / np.maximum(first_m(cnt, cum[2], cum[2], ones, m), 1e-12)
              for m in SHARE_DEPTHS[1:]]
    return np.column_stack([*near, *deep, share5, *shares]).astype("float64")


def decide(feats: np.ndarray, support: np.ndarray, combiner: Combiner, headline: np.ndarray,
           prior: float, support_cut: float, mass: np.ndarray | None = None,
           adapter: Adapter | None = None) -> Decision:
    """Evidence features (`evidence` or `summary_evidence`) and support -> Decision (see the
    module docstring for the rule); `mass` (n x 2) is the evidence of retained cases, applied
    by `adapter`."""
    base_logit = combiner.logit(feats)
    base_p = _sigmoid(base_logit)
    cases_p = base_p if mass is None or adapter is None else _sigmoid(adapter.logit(base_logit, mass))
    low = (headline < 0.5) | (support < support_cut)
    return Decision(shrink(cases_p, headline, prior), cases_p, headline, support, low, feats,
                    mass, base_p)
