"""Batch scoring on Apache Spark (`pip install 'clickbait[spark]'`, and a Java 17+ runtime).

    from clickbait.spark import score
    scored = score(df, "models/default", text_col="headline")   # df: a Spark DataFrame

`score` adds the columns `clickbait score` writes: `clickbait_probability` (double, null where
the text is missing or blank), `clickbait` (int, null there too; never 1 for text the headline
check rejects), `support` (double) and `low_support` (int), through `mapInPandas`: Spark hands
each Python worker Arrow batches of rows, and `BatchScorer` scores them with the same `Scorer`
as `clickbait score` (numpy encoder, exact retrieval, the detector's own vote), so the
probabilities are the single-process ones (tests/test_spark.py: within 1e-5).

The model loads once per worker process, on its first batch, and stays in this module's cache
(`_SCORERS`): `BatchScorer` itself pickles as a few strings, and Spark reuses its Python workers
across tasks, so a job of many partitions pays the load (about a second without TensorFlow) once
per worker. The model folder must be readable by the workers: a shared path, or shipped with
`spark-submit --archives model.zip#model` and named `model` (see README).

`score_files` is `clickbait score-spark`: read CSV (RFC 4180 quotes: Spark's default escape
character, a backslash, would silently split headlines such as "C:\\" ...) or Parquet, score,
write Parquet or CSV, every row once and in input order.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .scoring import LABEL, LOW_SUPPORT, PROBA, SUPPORT, find_column

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

    from .scoring import Scorer

ARROW_BATCH = 10_000  # rows per Arrow batch: 2,048 was 2-3x slower (issue 12's trial)
_SCORERS: dict[tuple, Scorer] = {}  # per worker process: (model folder, options) -> Scorer
_ROW = "__clickbait_row"
ADDED = (PROBA, LABEL, SUPPORT, LOW_SUPPORT)  # the columns `score` adds, as `clickbait score`


class BatchScorer:
    """A picklable scorer: P(clickbait) for lists of headlines and for pandas frames, loading the
    model on first use in each process (and once per process: see the module cache)."""

    def __init__(self, model_dir: str | os.PathLike, text_col: str = "headline", *,
                 threshold: float | None = None, retrieval: str = "exact", nprobe: int = 8):
        self.model_dir, self.text_col = str(model_dir), text_col
        self.threshold, self.retrieval, self.nprobe = threshold, retrieval, nprobe

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
        key = (os.path.abspath(self.path), self.retrieval, self.nprobe)
        scorer = _SCORERS.get(key)
        if scorer is None:
            from .detector import ClickbaitDetector
            from .scoring import Scorer

            detector = ClickbaitDetector.load(self.path)
            scorer = _SCORERS[key] = Scorer(detector, retrieval=self.retrieval, nprobe=self.nprobe,
                                            dedup=True)
        return scorer

    def predict_batch(self, texts: Sequence[str | None]) -> np.ndarray:
        """P(clickbait) of each headline (float64); NaN where it is missing or blank."""
        return self._scored(texts).proba

    def _scored(self, texts: Sequence[str | None]):
        from .scoring import _Scored, _text_mask, single_threaded

        values = pd.Series(list(texts), dtype=object)
        valid = _text_mask(values)
        out = np.full((len(values), 4), np.nan)
        if valid.any():
            scorer = self.scorer
            with single_threaded():  # Spark runs one worker per core: no pools on top
                out[valid] = scorer.score_ids(*scorer.tokenize(values[valid].astype(str).to_numpy(object)))
        return _Scored(out[:, 0], None, int((~valid).sum()), out[:, 1], out[:, 2] == 1, out[:, 3])

    def score_pandas(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` with the columns `clickbait score` adds (same values, same labelling rule)."""
        from .scoring import _outputs

        threshold = self.scorer.det.threshold_ if self.threshold is None else self.threshold
        cols = _outputs(self._scored(frame[self.text_col].tolist()), threshold)
        for name in (LABEL, LOW_SUPPORT):  # Spark's IntegerType
            cols[name] = cols[name].astype("Int32")
        return frame.assign(**cols)

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """For `DataFrame.mapInPandas`: each Arrow batch, scored."""
        for frame in batches:
            yield self.score_pandas(frame)


def score(df: DataFrame, model_dir: str | os.PathLike, text_col: str | None = None, *,
          threshold: float | None = None, retrieval: str = "exact", nprobe: int = 8) -> DataFrame:
    """`df` with `clickbait_probability`, `clickbait`, `support` and `low_support` added (lazily:
    a Spark transformation).
    `text_col` defaults to the column named headline/title/text, or the only column."""
    from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType

    text_col = df.columns[find_column(list(df.columns), text_col)]
    clash = [c for c in ADDED if c in df.columns]
    if clash:
        raise ValueError(f"the DataFrame already has column(s) {clash}; rename them first")
    types = {PROBA: DoubleType(), LABEL: IntegerType(), SUPPORT: DoubleType(), LOW_SUPPORT: IntegerType()}
    schema = StructType([*df.schema.fields, *(StructField(c, types[c], True) for c in ADDED)])
    scorer = BatchScorer(model_dir, text_col, threshold=threshold, retrieval=retrieval, nprobe=nprobe)
    return df.mapInPandas(scorer, schema)


def session(master: str | None = None, app: str = "clickbait") -> SparkSession:
    """A Spark session whose Python workers run this interpreter (else they start the PATH's
    `python3`, which may lack clickbait) with Arrow batches of ARROW_BATCH rows."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app)
    if master:
        builder = builder.master(master)
    return (builder.config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH))
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .getOrCreate())


def _format(path: str, given: str | None) -> str:
    if given:
        return given
    name = path.rstrip("/").lower()
    if name.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    raise ValueError(f"cannot tell the format of {path!r} from its name; give --input-format/--output-format")


def read(spark: SparkSession, path: str, format: str | None = None):
    """A CSV (header row, RFC 4180 quoting, quoted newlines; every value a string, malformed
    rows an error) or Parquet file/folder as a DataFrame."""
    if _format(path, format) == "parquet":
        return spark.read.parquet(path)
    sep = "\t" if path.lower().removesuffix(".gz").endswith(".tsv") else ","
    return spark.read.csv(path, header=True, sep=sep, quote='"', escape='"', multiLine=True,
                          inferSchema=False, mode="FAILFAST", enforceSchema=False)


def score_files(model_dir: str | os.PathLike, input: str, output: str, *, text_col: str | None = None,
                input_format: str | None = None, output_format: str | None = None,
                master: str | None = None, partitions: int | None = None, force: bool = False,
                threshold: float | None = None, retrieval: str = "exact", nprobe: int = 8) -> dict:
    """`clickbait score-spark`: INPUT scored into OUTPUT (a folder of part files, as Spark
    writes), every row once and in input order. Returns rows, partitions and seconds."""
    out_format = _format(output, output_format)
    if Path(output).exists() and not force:
        raise FileExistsError(f"{output} exists; pass --force to overwrite it")
    started = time.perf_counter()
    spark = session(master)  # the model folder is the workers' to find (see BatchScorer.path)
    from pyspark.sql import functions as F

    df = read(spark, input, input_format)
    text_col = df.columns[find_column(list(df.columns), text_col)]
    rows = df.count()
    # One partition per core at least (a multi-line CSV is one partition), in input order: row
    # ids follow the file, ranges of them become partitions, sorted within.
    n = partitions or 2 * spark.sparkContext.defaultParallelism
    df = df.withColumn(_ROW, F.monotonically_increasing_id())
    df = df.repartitionByRange(n, _ROW).sortWithinPartitions(_ROW)
    scored = score(df, model_dir, text_col, threshold=threshold, retrieval=retrieval, nprobe=nprobe)
    scored = scored.drop(_ROW)
    writer = scored.write.mode("overwrite" if force else "errorifexists")
    if out_format == "csv":
        writer.csv(output, header=True, quote='"', escape='"')
    else:
        writer.parquet(output)
    return {"rows": rows, "partitions": n, "seconds": time.perf_counter() - started}

