"""The fast tokenizer and encoder (issue 20) give exactly what the first versions gave.

`tokens.ids` / `tokens.standardize` against `tokens._ids_reference` / `_standardize_reference`
(identical arrays and strings), `NumpyTextModel.embed` against `embed_reference` (within 1e-6),
on the corpus test split and on strings chosen to reach every branch the fast paths take or
refuse. tests/test_tokens.py and tests/test_inference.py compare both with TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

from clickbait import tokens
from clickbait.inference import NumpyTextModel, _Conv

ADVERSARIAL = [
    "", " ", "\x00", "NUL\x00cut", "?!...,,::;;", "...", "'", "''", "' '", "\"\"", "()[]{}<>*~|%$#",
    "MiXeD CaSe HeadLine", "DON'T Stop", "1,000 things: 3:30, 24/7, 10.5% and $5", "0123456789",
    "a:,", "a,:", "x ,y", "x:,", "a,, ,", ": ,", "wait... what", "end.", "u.s. and U.K.", "a.b. c.",
    "nbsp\u00a0here", "nel\u0085here", "thin\u2009space\u3000ideo", "line\u2028sep\u2029para",
    "ogham\u1680space", "fs\x1cgs\x1drs\x1eus\x1f", "mark\x01comma, mark\x01colon:", "\x01",
    "tab\tnew\nline\rfeed\fform", "vertical\vtab", "cafe\u0301 na\u0308ive", "\u0301\u0308 lone marks",
    "emoji \U0001f600 here \U0001f44d\U0001f3fd!", "\U0001f600", "\u20ac5 deal\u2026 now",
    "\u201cQuoted\u201d \u2018single\u2019 \u2014 dash", "\u0130stanbul \u039f\u0394\u039f\u03a3",
    "\u2c2f\ua7c0 \U00010570 keeps case", "lone \ud800 surrogate", "\u00e9t\u00e9 \u00e0 Paris",
    "word " * 300, "x" * 10_000, ("a, b. " * 50).strip(), "'tis the dogs' 'best' friend's",
    "rock 'n' roll", "can't, won't. he'd 've 'll 're 'm 's",
]


def _random_strings(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    alphabet = [*"ab.N'T,:?! \"()-s\t\nx;$%#", "n't", "'s", "...", "\u2019", "\u2026", "\u2014",
                "\u00a0", "\u0085", "\v", "U", "\x00", "\x01", "\x1c", "\u2028", "\u0301", "\u00e9",
                "\U0001f600", "\u03a3", "7"]
    return ["".join(rng.choice(alphabet, size=rng.integers(0, 24))) for _ in range(n)]


@pytest.fixture(scope="module")
def headlines(corpus) -> list[str]:
    return list(corpus["test"][0])


@pytest.fixture(scope="module")
def vocabulary(corpus) -> dict[str, int]:
    """The training split's tokens (as a model's TextVectorization would hold them), so that the
    test split has both known and out-of-vocabulary tokens."""
    words = sorted({w for t in tokens._standardize_reference(corpus["train"][0]) for w in t.split()})
    return {w: i + 2 for i, w in enumerate(words)}


def token_mismatches(texts: list[str], vocabulary: dict[str, int], length: int) -> list[str]:
    """The texts whose standardised string or ids differ from the reference's, in a batch."""
    new, old = tokens.standardize(texts), tokens._standardize_reference(texts)
    a, b = tokens.ids(texts, vocabulary, length), tokens._ids_reference(texts, vocabulary, length)
    assert a.shape == b.shape == (len(texts), length) and a.dtype == b.dtype == np.int64
    return [t for t, x, y, p, q in zip(texts, new, old, a, b, strict=True) if x != y or (p != q).any()]


@pytest.mark.parametrize("length", [1, 4, 32, 400])
def test_ids_equal_the_reference_on_the_test_split(headlines, vocabulary, length):
    ids = tokens.ids(headlines, vocabulary, length)
    assert (ids > 1).any() and (ids == 1).any()  # known and unknown tokens both occur
    assert token_mismatches(headlines, vocabulary, length) == []


@pytest.mark.parametrize("length", [4, 32])
def test_ids_equal_the_reference_on_adversarial_strings(headlines, vocabulary, length):
    assert token_mismatches(ADVERSARIAL, vocabulary, length) == []
    for text in ADVERSARIAL:  # alone: a batch of one, all ASCII or all not
        assert token_mismatches([text], vocabulary, length) == [], repr(text)
    mixed = headlines[:500] + ADVERSARIAL + _random_strings(3000, seed=length)
    assert token_mismatches(mixed, vocabulary, length) == []
    ascii_only = [t for t in mixed if t.isascii() and not any(c in t for c in "\x1c\x1d\x1e\x1f")]
    assert token_mismatches(ascii_only, vocabulary, length) == []  # the fast path, whole batch
    assert tokens.ids([], vocabulary, length).shape == (0, length)


def test_the_fast_path_and_its_refusals_are_both_taken(vocabulary):
    joined = tokens._rules(["plain ascii", "two words"])
    assert tokens._fill(joined, 2, vocabulary, 8) is not None
    for odd in ("fs\x1cgs", "line\u2028sep", "nel\u0085 \u00e9"):
        if tokens._PY_ONLY_SPACE.search(tokens._rules([odd])):
            assert tokens._fill(tokens._rules([odd]), 1, vocabulary, 8) is None, repr(odd)
    assert tokens._fill(tokens._rules(["fs\x1cgs"]), 1, vocabulary, 8) is None


def test_python_only_spaces_are_all_of_them():
    expected = {chr(c) for c in range(0x110000) if chr(c).isspace()} - set(" \t\n\v\f\r")
    found = {chr(c) for c in range(0x110000) if tokens._PY_ONLY_SPACE.match(chr(c))}
    assert found == expected


def test_a_wrong_fast_rule_is_caught(headlines, vocabulary, monkeypatch):
    """The comparison can fail: the comma and colon rules done in two plain passes (what the
    marks in `_rules` avoid) differ on "a:,", and a quote rule that forgets its
    lookbehind differs on the corpus."""
    import re

    monkeypatch.setattr(tokens, "_MARK", " ")
    assert token_mismatches(["a:,", "a,:", "plain"], vocabulary, 8) == ["a:,"]
    monkeypatch.undo()
    monkeypatch.setattr(tokens, "_QUOTE_OPEN_FAST", re.compile(r"'(?=[^\x00' ][^\x00 ])"))
    assert token_mismatches(headlines, vocabulary, 32) != []


# -- the encoder ----------------------------------------------------------------------------------
def _embed_mismatch(model: NumpyTextModel, ids: np.ndarray) -> float:
    new, old = model.embed(ids), model.embed_reference(ids)
    assert new.shape == old.shape and new.dtype == old.dtype == np.float32
    return float(np.abs(new - old).max()) if new.size else 0.0


def test_embed_equals_the_reference(small_detector, headlines):
    model = NumpyTextModel.from_keras(small_detector.model_)
    ids = model.ids(headlines + ADVERSARIAL + _random_strings(500, seed=1))
    assert _embed_mismatch(model, ids) <= 1e-6
    for block, gather in ((1, 1), (7, 3), (100, 64), (4096, 4096)):
        model.block, model.gather = block, gather
        assert _embed_mismatch(model, ids[:700]) <= 1e-6, (block, gather)
    assert model.embed(ids[:0]).shape == model.embed_reference(ids[:0]).shape


def _hand_built(widths: list[int], filters: list[int], seed: int = 0):
    """A model whose table is laid out conv by conv (not the fused layout), with a dense head;
    also that table and those convs, untouched, for `_naive`."""
    rng = np.random.default_rng(seed)
    convs, start = [], 0
    for k, (w, f) in enumerate(zip(widths, filters, strict=True)):
        cols = [slice(start + j * f, start + (j + 1) * f) for j in range(w)]
        start += w * f
        convs.append(_Conv(f"c{k}", w, cols, rng.normal(size=f).astype("float32"), "relu"))
    table = rng.normal(size=(53, start)).astype("float32")  # ids 0-51, then the zero row
    table[-1] = 0
    kernel = rng.normal(size=(sum(filters), 8)).astype("float32")
    steps = [("concat", [("conv", c.name) for c in convs]),
             ("dense", (0, kernel, np.zeros(8, "float32"), "tanh")), ("l2", 1)]
    model = NumpyTextModel({f"w{i}": i + 2 for i in range(50)}, 12, table, convs, steps)
    return model, table, convs, kernel


def _naive(table, convs, kernel, ids: np.ndarray) -> np.ndarray:
    """Keras's 'same' Conv1D over every position, max-pooled, then the head: row by row."""
    out = []
    for row in ids:
        pooled = []
        for c in convs:
            lo = (c.width - 1) // 2
            windows = []
            for t in range(len(row)):
                acc = np.zeros(c.bias.shape, np.float64)
                for j in range(c.width):
                    p = t - lo + j
                    acc += table[row[p] if 0 <= p < len(row) else -1, c.columns[j]]
                windows.append(acc)
            pooled.append(np.maximum(np.max(windows, axis=0) + c.bias, 0))
        x = np.tanh(np.concatenate(pooled) @ kernel)
        out.append(x / np.linalg.norm(x))
    return np.asarray(out)


@pytest.mark.parametrize("widths,filters", [([3, 1, 2], [4, 5, 6]), ([5], [3]), ([1], [2]),
                                            ([2, 4, 2], [3, 3, 7])])
def test_embed_equals_the_reference_for_other_layouts(widths, filters):
    model, table, convs, kernel = _hand_built(widths, filters)
    assert model.table is None and len(model.tables) == max(widths)  # split tap by tap
    rng = np.random.default_rng(2)
    ids = np.zeros((300, 12), np.int64)
    for i, n in enumerate(rng.integers(0, 13, size=300)):
        ids[i, :n] = rng.integers(1, 52, size=n)
    model.gather = 16
    assert _embed_mismatch(model, ids) <= 1e-6
    assert np.abs(model.embed(ids) - _naive(table, convs, kernel, ids)).max() <= 1e-5
