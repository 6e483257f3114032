"""Scoring with Dask: every row once, in order, with `clickbait score`'s columns and values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")

from clickbait import scoring  # noqa: E402
from clickbait.dask import score  # noqa: E402


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_partitions_scored_like_the_cli(saved_model, small_detector, corpus, scheduler):
    heads = list(corpus["test"][0])[:600]
    texts = [f"{h} {heads[(7 * i) % len(heads)].split()[0]}" for i, h in enumerate(heads)]
    texts[:4] = ["", "  ", "7 42 1999 0 3", 'He said "no" twice']
    data = pd.DataFrame({"id": [str(i) for i in range(len(texts))], "headline": texts})
    got = score(dd.from_pandas(data, npartitions=4), saved_model).compute(scheduler=scheduler)
    want = scoring.score_frame(small_detector, data)
    assert list(got.columns) == list(want.columns)
    assert got["id"].tolist() == data["id"].tolist()  # every row once, in order
    np.testing.assert_allclose(got[scoring.PROBA], want[scoring.PROBA], atol=2e-6)
    np.testing.assert_allclose(got[scoring.SUPPORT], want[scoring.SUPPORT], atol=2e-6)
    for c in (scoring.LABEL, scoring.LOW_SUPPORT):
        assert got[c].astype("Int64").tolist() == want[c].astype("Int64").tolist()
    assert got[scoring.PROBA].isna().sum() == 2


def test_an_indexed_frame_keeps_its_index_through_parquet(saved_model, small_detector, tmp_path):
    data = pd.DataFrame({"id": [f"r{i}" for i in range(40)],
                         "headline": [f"Headline number {i} about the budget" for i in range(40)]})
    got = score(dd.from_pandas(data.set_index("id"), npartitions=3, sort=False), saved_model)
    got.to_parquet(tmp_path / "out")
    back = pd.read_parquet(tmp_path / "out")
    assert back.index.name == "id" and back.index.tolist() == data["id"].tolist()
    want = scoring.score_frame(small_detector, data)
    np.testing.assert_allclose(back[scoring.PROBA], want[scoring.PROBA], atol=2e-6)
    assert got.reset_index()["id"].compute().tolist() == data["id"].tolist()


def test_column_errors(saved_model):
    frame = dd.from_pandas(pd.DataFrame({"a": ["x"], "b": ["y"]}), npartitions=1)
    with pytest.raises(Exception, match="cannot tell which column"):
        score(frame, saved_model)
    twice = pd.DataFrame([["x", "y"]], columns=["headline", "headline"])
    with pytest.raises(ValueError, match="more than once"):
        score(dd.from_pandas(twice, npartitions=1), saved_model)
    scored = dd.from_pandas(pd.DataFrame({"headline": ["x"], scoring.PROBA: [0.5]}), npartitions=1)
    with pytest.raises(ValueError, match="clickbait_probability"):
        score(scored, saved_model)
