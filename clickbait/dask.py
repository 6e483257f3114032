"""Batch scoring with Dask (`pip install 'clickbait[dask]'`).

    import dask.dataframe as dd
    from clickbait.dask import score
    feed = dd.read_csv("feed-*.csv", dtype=str, keep_default_na=False)
    score(feed, "models/default").to_parquet("scored/")

`score` maps `BatchScorer.score_pandas` (clickbait/batch.py, the scorer Spark uses) over the
partitions: each worker process loads the model once, and every partition gets the columns
`clickbait score` adds, with its values, in the partition's row order. On Dask's default
threaded scheduler the tokenizer (pure Python) takes turns for the interpreter lock; a process
pool or `dask.distributed` workers of one thread each use every core.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pandas as pd

from .batch import ADDED, ADDED_DTYPES, BatchScorer
from .scoring import find_column

if TYPE_CHECKING:  # pragma: no cover
    import dask.dataframe as dd

def score(df: dd.DataFrame, model_dir: str | os.PathLike, text_col: str | None = None, *,
          threshold: float | None = None, retrieval: str | None = None) -> dd.DataFrame:
    """`df` with `clickbait_probability`, `clickbait`, `support` and `low_support` added (lazily:
    a Dask graph). `text_col` defaults to the column named headline/title/text, or the only
    column."""
    text_col = df.columns[find_column([str(c) for c in df.columns], text_col, argument="text_col")]
    if list(df.columns).count(text_col) > 1:
        raise ValueError(f"the text column {text_col!r} appears more than once; rename one")
    clash = [c for c in ADDED if c in df.columns]
    if clash:
        raise ValueError(f"the DataFrame already has column(s) {clash}; rename them first")
    # The output's empty prototype: the input's own (its index, names and dtypes), plus the added
    # columns; no partition is computed for it.
    meta = df._meta.assign(**{c: pd.Series(dtype=t, index=df._meta.index) for c, t in ADDED_DTYPES.items()})
    scorer = BatchScorer(model_dir, text_col, threshold=threshold, retrieval=retrieval)
    return df.map_partitions(scorer.score_pandas, meta=meta)
