"""The initial weights of the Embedding layer: each vocabulary token's pretrained vector (clickbait.vectors
reads them), random rows of the same scale for the rest, and how many tokens were covered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .vectors import Vectors

PAD_TOKEN = ""
UNK_TOKEN = "[UNK]"

@dataclass
class Coverage:
    """How many vocabulary tokens got a pretrained vector (padding and ``[UNK]`` excluded)."""

    tokens: int
    hits: int
    misses: int
    token_coverage: float | None = None
    top_missing: list[tuple[str, int]] = field(default_factory=list)

    @property
    def type_coverage(self) -> float:
        """Share of distinct tokens with a vector."""
        return self.hits / self.tokens if self.tokens else 0.0

    def __str__(self) -> str:
        text = f"vectors for {self.hits:,} of {self.tokens:,} tokens ({self.type_coverage:.1%})"
        if self.token_coverage is not None:
            text += f", {self.token_coverage:.1%} of token occurrences"
        if self.top_missing:
            shown = self.top_missing[:5]
            if self.token_coverage is not None:
                names = ", ".join(f"{t!r} ({c:,})" for t, c in shown)
                text += f"; most frequent missing: {names}"
            else:
                text += "; missing e.g. " + ", ".join(repr(t) for t, _ in shown)
        return text

def embedding_matrix(
    tokens: Sequence[str],
    vectors: Vectors,
    *,
    seed: int = 0,
    counts: Mapping[str, int] | None = None,
) -> tuple[np.ndarray, Coverage]:
    """Initial weights for an Embedding layer over ``tokens`` (e.g. ``get_vocabulary()``).

    Row ``i`` is the pretrained vector of ``tokens[i]``. The padding token ``""`` (index 0 in
    Keras TextVectorization) gets a zero row so that masked positions contribute nothing. Every
    other token without a vector, ``"[UNK]"`` included, gets a random row drawn from
    ``Normal(0, s)`` with ``np.random.default_rng(seed)``, where ``s`` is the standard deviation
    of all values of the vectors that were found: OOV rows then have the same scale as
    pretrained rows, so neither dominates the early gradients. (With no hits at all, ``s`` is
    the standard deviation of ``vectors.matrix``, or 1.0 if that is empty.)

    ``counts`` (token -> occurrences in the training text) enables the occurrence-weighted
    ``token_coverage`` and orders ``top_missing`` by frequency.
    """
    index = vectors.index
    dim = vectors.dim
    out = np.zeros((len(tokens), dim), dtype=np.float32)
    hit_rows: list[int] = []
    hit_src: list[int] = []
    miss_rows: list[int] = []
    for i, tok in enumerate(tokens):
        if tok == PAD_TOKEN:
            continue
        j = index.get(tok)
        if j is None:
            miss_rows.append(i)
        else:
            hit_rows.append(i)
            hit_src.append(j)
    if hit_rows:
        found = vectors.matrix[hit_src]
        out[hit_rows] = found
        scale = float(found.std())
    elif len(vectors.matrix):
        scale = float(vectors.matrix.std())
    else:
        scale = 1.0
    if miss_rows:
        rng = np.random.default_rng(seed)
        out[miss_rows] = rng.normal(0.0, scale, size=(len(miss_rows), dim))

    special = {PAD_TOKEN, UNK_TOKEN}
    missing = [tokens[i] for i in miss_rows if tokens[i] not in special]
    n_tokens = sum(1 for t in tokens if t not in special)
    n_hits = len(hit_rows) - sum(1 for i in hit_rows if tokens[i] == UNK_TOKEN)
    token_coverage = None
    if counts is not None:
        total = sum(counts.get(t, 0) for t in tokens if t not in special)
        covered = sum(counts.get(tokens[i], 0) for i in hit_rows if tokens[i] not in special)
        token_coverage = covered / total if total else 0.0
        ranked = sorted(missing, key=lambda t: -counts.get(t, 0))  # stable: ties keep order
        top_missing = [(t, int(counts.get(t, 0))) for t in ranked[:20]]
    else:
        top_missing = [(t, 0) for t in missing[:20]]
    coverage = Coverage(
        tokens=n_tokens,
        hits=n_hits,
        misses=n_tokens - n_hits,
        token_coverage=token_coverage,
        top_missing=top_missing,
    )
    return out, coverage
