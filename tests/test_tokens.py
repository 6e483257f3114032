"""The TensorFlow-free tokenizer (clickbait/tokens.py) gives exactly the model's tokens and ids."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from clickbait import tokens
from clickbait.text import _RULES, make_vectorizer, standardize

TRICKY = [
    "", " ", "   ", "?", "...", "a", "A.", "U.S.", "u.s. and U.K.", "Mr. Smith. Goes. To. Town.",
    "Don't", "WON'T you", "it's", "the dogs' 'best' friend'", "'tis", "''", "' '", "rock 'n' roll",
    "1,000 things: a list, then 3:30", "wait...", "wait... what", "a..b", "e-mail", "x\u2014y",
    "\u201cQuoted\u201d \u2018single\u2019", "ellipsis\u2026 here", "tab\tnew\nline\rfeed\fform",
    "vertical\vtab", "nbsp\u00a0here\u2009thin\u3000ideo", "trail?!", "trail ? ! .", "(paren) [br] {c}",
    "a <b> c*d~e|f%g$h#i;j", "NUL\x00cut", "\x00", "ΟΔΟΣ ΣΑΣ", "İstanbul", "\u2c2f\ua7c0 Mixed",
    "x'' y", "a' b' c'", "'a 'b", "n't", "xn'tn't go", "can't, won't.", "he'd 've 'll 're 'm 's",
    "end.", "a. b. c. d.", "a.b. c.", "foo..", "...start", "x ,y", "x:,", "a,, ,", ": ,",
]


def tf_standardize(texts):
    return [t.decode("utf-8") for t in standardize(tf.constant(texts, dtype=tf.string)).numpy()]


def test_rules_are_the_models():
    assert _RULES is tokens.RULES
    assert tokens.matches_rules()
    assert not tokens.matches_rules(tokens.RULES[:-1])


def test_tricky_strings():
    assert tokens.standardize(TRICKY) == tf_standardize(TRICKY)
    for t in TRICKY:  # alone too: a batch of one has no separators
        assert tokens.standardize([t]) == tf_standardize([t]), t


def test_random_strings_of_the_characters_the_rules_use():
    rng = np.random.default_rng(0)
    alphabet = [*"ab.N'T,:?! \"()-s\t\nx", "n't", "'s", "...", "\u2019", "\u2026", "\u2014",
                                                 "\u00a0", "\v", "U", "\x00", "Σ"]
    texts = ["".join(rng.choice(alphabet, size=rng.integers(0, 16))) for _ in range(4000)]
    assert tokens.standardize(texts) == tf_standardize(texts)


def test_whole_corpus(corpus):
    texts = [t for split in corpus.values() for t in split[0]]
    assert tokens.standardize(texts) == tf_standardize(texts)


def test_lowercase_every_code_point():
    chars = [chr(c) for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF]
    ours = tokens._lower(tokens.SEP.join(chars)).split(tokens.SEP)
    theirs = tf.strings.lower(tf.constant(chars), encoding="utf-8").numpy()
    bad = [hex(ord(c)) for c, a, b in zip(chars, ours, theirs, strict=True) if a != b.decode("utf-8")]
    assert bad == []


@pytest.mark.parametrize("length", [4, 32])
def test_ids_match_text_vectorization(corpus, length):
    texts = list(corpus["test"][0]) + TRICKY
    vocab = ["the", "to", "you", "n't", "'s", ".", "u.s.", "?", "dogs", "'", "..."]
    vectorizer = make_vectorizer(vocab, length)
    expected = vectorizer(tf.constant(texts)).numpy()
    ours = tokens.ids(texts, {w: i + 2 for i, w in enumerate(vocab)}, length)
    np.testing.assert_array_equal(ours, expected)
    assert tokens.ids([], {}, length).shape == (0, length)
