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
second, text-level check (`clickbait.headline.HeadlineCheck`: how many of its tokens and word
pairs training ever saw) estimates P(headline). For text the check rejects, what the cases say
is pulled toward the prior (we do not know): `p = prior + s * (P_cases - prior)`,
`s = clip((P(headline) - 0.25) / 0.25, 0, 1)`. Text judged a headline (P(headline) >= 0.5,
99% of held-out headlines) keeps the cases' calibrated probability untouched; text below 0.25
gets the prior. Text below
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

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .cases import Neighbours
from .index import ClusterNeighbours

SIM_DEPTHS = (1, 5, 25, 100)  # mean similarity of the m nearest cases of each class
SHARE_DEPTHS = (5, 25, 100)  # weighted share of clickbait among the m nearest cases
FEATURES = tuple([f"sim{m}_diff" for m in SIM_DEPTHS] + [f"share{m}" for m in SHARE_DEPTHS])


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
    from scipy.optimize import minimize  # fitting only: 0.3 s of imports scoring does without

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


def unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype="float32")
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)


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

        from scipy.optimize import minimize

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
