"""The headline check: P(this text is a headline at all), from how much of it training saw and
whether its words belong together (see clickbait.vote: text the check rejects is pulled toward
the prior and never labelled clickbait)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse

from .vote import _sigmoid, fit_logistic, unit_rows

HEADLINE_FEATURES = ("log_tokens", "unknown_share", "numeric_share", "pairs_seen", "pairs_unseen",
                     "coherence")
_NUMERIC = re.compile(r"[\d.,:/%$-]*\d[\d.,:/%$-]*")


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
        if len(self.pairs):  # searched for the real pairs only, not the padding
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
