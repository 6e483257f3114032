"""The subword benchmark's n-gram ids (benchmarks/bench_subword.py): the models it trains are too
big for the default run, so only the function that feeds the n-gram branch is checked here."""


import numpy as np
import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_subword")


def test_ngram_ids_are_deterministic_and_padded_with_zero(bench):
    texts = ["You Won't Believe This", "hi", "Senate passes the budget bill"]
    ids = bench.ngram_ids(texts, buckets=1000, length=64)
    assert ids.shape == (3, 64) and ids.dtype == np.int64
    np.testing.assert_array_equal(ids, bench.ngram_ids(texts, buckets=1000, length=64))
    np.testing.assert_array_equal(ids[:2], bench.ngram_ids(texts[:2], buckets=1000, length=64, chunk=1))
    # "hi" -> "<hi>": two 3-grams and one 4-gram, then padding
    assert (ids[1] > 0).sum() == 3 and (ids[1, 3:] == 0).all()
    real = ids[ids > 0]
    assert real.min() >= 1 and real.max() <= 1000
    # read as the model reads text: case and trailing punctuation do not change the ids
    np.testing.assert_array_equal(bench.ngram_ids(["HI!"], buckets=1000, length=64), ids[1:2])


def test_ngram_ids_cut_long_headlines_and_take_empty_input(bench):
    long = bench.ngram_ids([" ".join(["clickbait"] * 40)], buckets=50, length=16)
    assert long.shape == (1, 16) and (long > 0).all()
    assert bench.ngram_ids([], length=8).shape == (0, 8)
    assert (bench.ngram_ids([""], length=8) == 0).all()
