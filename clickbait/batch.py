"""A picklable batch scorer for engines that run Python workers (Spark, Dask): the model loads
once per worker process, on first use, and stays in this module's cache (`_SCORERS`), so the
object shipped to the workers is a few strings and a job of many partitions pays the load once
per process. It scores with `clickbait score`'s own `Scorer` and adds the same columns by the
same rules (`scoring._outputs`), so an engine's output equals the single-process one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .scoring import LABEL, LOW_SUPPORT, PROBA, SUPPORT

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from .scorer import Scorer, _Scored

# The columns scoring adds, as `clickbait score`, with the pandas dtypes engines receive them in
# (Int32: Spark's IntegerType).
ADDED_DTYPES = {PROBA: "float64", LABEL: "Int32", SUPPORT: "float64", LOW_SUPPORT: "Int32"}
# ... and as Arrow types (`score_arrow`; Spark's schema for them is derived from these)
ADDED_ARROW_TYPES = {PROBA: "float64", LABEL: "int32", SUPPORT: "float64", LOW_SUPPORT: "int32"}
ADDED = tuple(ADDED_DTYPES)
_SCORERS: dict[tuple, Scorer] = {}  # per worker process: (model folder, options) -> Scorer
_LOADING = threading.Lock()  # threads of one worker (Dask's default scheduler) load it once


class BatchScorer:
    """A picklable scorer: P(clickbait) for lists of headlines and for pandas frames, loading the
    model on first use in each process (and once per process: see the module cache)."""

    def __init__(self, model_dir: str | os.PathLike, text_col: str = "headline", *,
                 threshold: float | None = None, retrieval: str | None = None):
        from .scorer import RETRIEVALS
        from .validation import check_probability

        # checked here, not in every worker at run time
        if retrieval is not None and retrieval not in RETRIEVALS:
            raise ValueError(f"retrieval must be one of {RETRIEVALS}, got {retrieval!r}")
        self.model_dir, self.text_col = str(model_dir), text_col
        self.threshold = None if threshold is None else check_probability(threshold)
        self.retrieval = retrieval

    @property
    def path(self) -> str:
        """The model folder here: as given, else under Spark's files root (where a relative
        `--archives model.zip#model` is unpacked for the workers)."""
        if not os.path.exists(self.model_dir) and not os.path.isabs(self.model_dir):
            try:
                from pyspark import SparkFiles

                shipped = os.path.join(SparkFiles.getRootDirectory(), self.model_dir)
                if os.path.exists(shipped):
                    return shipped
            except Exception:
                pass
        return self.model_dir

    @property
    def scorer(self) -> Scorer:
        key = (os.path.abspath(self.path), self.retrieval)
        scorer = _SCORERS.get(key)
        if scorer is None:
            with _LOADING:
                scorer = _SCORERS.get(key)
                if scorer is None:
                    from .scorer import Scorer
                    from .trained import TrainedDetector  # no scikit-learn in the workers

                    detector = TrainedDetector.load(self.path)
                    scorer = _SCORERS[key] = Scorer(detector, retrieval=self.retrieval, dedup=True)
        return scorer

    def predict_batch(self, texts: Sequence[str | None]) -> np.ndarray:
        """P(clickbait) of each headline (float64); NaN where it is missing or blank."""
        return self._scored(texts).proba

    def _scored(self, texts: Sequence[str | None]) -> _Scored:
        from .pipeline import single_threaded
        from .scorer import _present, _Scored

        valid, present = _present(pd.Series(texts if isinstance(texts, np.ndarray) else list(texts),
                                            dtype=object))
        out = np.full((len(valid), 4), np.nan)
        if valid.any():
            scorer = self.scorer
            with single_threaded():  # engines run one worker per core: no pools on top
                out[valid] = scorer.score_ids(*scorer.tokenize(present))
        return _Scored(out[:, 0], None, int((~valid).sum()), out[:, 1], out[:, 2] == 1, out[:, 3])

    def score_pandas(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` with the columns `clickbait score` adds (same values, same labelling rule)."""
        from .scoring import _outputs

        threshold = self.scorer.threshold if self.threshold is None else self.threshold
        cols = _outputs(self._scored(frame[self.text_col].tolist()), threshold)
        return frame.assign(**{c: pd.Series(cols[c], index=frame.index).astype(t)
                               for c, t in ADDED_DTYPES.items()})

    def score_arrow(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """`batch` with the added columns as Spark declares them (double, int32; null where the
        text is missing). The other columns pass through as they came: no pandas round trip."""
        import pyarrow as pa

        from .scoring import _outputs

        threshold = self.scorer.threshold if self.threshold is None else self.threshold
        texts = batch.column(batch.schema.get_field_index(self.text_col))
        cols = _outputs(self._scored(np.asarray(texts.to_pylist(), dtype=object)), threshold)
        added = [pa.array(cols[c], from_pandas=True).cast(ADDED_ARROW_TYPES[c]) for c in ADDED]
        return pa.RecordBatch.from_arrays([*batch.columns, *added], names=[*batch.schema.names, *ADDED])

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """For Spark's `DataFrame.mapInArrow`: each Arrow batch, scored."""
        for batch in batches:
            yield self.score_arrow(batch)
