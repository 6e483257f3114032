"""Batch scoring on Apache Spark (`pip install 'clickbait[spark]'`, and a Java 17+ runtime).

    from clickbait.spark import score
    scored = score(df, "models/default", text_col="headline")   # df: a Spark DataFrame

`score` adds the columns `clickbait score` writes: `clickbait_probability` (double, null where
the text is missing or blank), `clickbait` (int, null there too; never 1 for text the headline
check rejects), `support` (double) and `low_support` (int), through `mapInArrow`: Spark hands
each Python worker Arrow batches of rows, and `BatchScorer` scores them with the same `Scorer`
as `clickbait score` (numpy encoder, the model's retrieval and vote), so the
probabilities are the single-process ones (tests/test_spark.py: within 1e-5).

The model loads once per worker process, on its first batch, and stays in a module cache
(clickbait/batch.py): `BatchScorer` itself pickles as a few strings, and Spark reuses its
Python workers across tasks, so a job of many partitions pays the load once per worker. The
model folder must be readable by the workers: a shared path, or shipped with
`spark-submit --archives model.zip#model` and named `model` (see README).

`score_files` is `clickbait score-spark`: read CSV (RFC 4180 quotes: Spark's default escape
character, a backslash, would silently split headlines such as "C:\\" ...) or Parquet, score,
write Parquet or CSV, every row once and in input order (a local one-line CSV in line-aligned
parts, no shuffle; anything else by row number; see docs/spark.md).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .batch import ADDED, ADDED_ARROW_TYPES, BatchScorer
from .errors import InputError
from .scoring import find_column
from .validation import check_count

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["ADDED", "BatchScorer", "read", "score", "score_files", "session"]

ARROW_BATCH = 10_000  # rows per Arrow batch (fewer, larger batches: less per-batch overhead)
_ROW, _FILE = "__clickbait_row", "__clickbait_file"


def score(df: DataFrame, model_dir: str | os.PathLike, text_col: str | None = None, *,
          threshold: float | None = None, retrieval: str | None = None) -> DataFrame:
    """`df` with `clickbait_probability`, `clickbait`, `support` and `low_support` added (lazily:
    a Spark transformation).
    `text_col` defaults to the column named headline/title/text, or the only column."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import from_arrow_type
    from pyspark.sql.types import StructField, StructType

    text_col = df.columns[find_column(list(df.columns), text_col, argument="text_col")]
    clash = [c for c in ADDED if c in df.columns]
    if clash:
        raise ValueError(f"the DataFrame already has column(s) {clash}; rename them first")
    names = list(df.columns)
    dotted = any("." in c or "`" in c for c in names)
    if dotted:  # pyspark's mapInArrow looks each column up by name, and reads a.b as a field of a
        text_col = f"__clickbait_c{names.index(text_col)}"
        df = df.toDF(*(f"__clickbait_c{i}" for i in range(len(names))))
    added = [StructField(c, from_arrow_type(pa.type_for_alias(ADDED_ARROW_TYPES[c])), True) for c in ADDED]
    schema = StructType([*df.schema.fields, *added])
    scorer = BatchScorer(model_dir, text_col, threshold=threshold, retrieval=retrieval)
    scored = df.mapInArrow(scorer, schema)
    return scored.toDF(*names, *ADDED) if dotted else scored


def session(master: str | None = None, app: str = "clickbait",
            log_level: str | None = None) -> SparkSession:
    """A Spark session whose Python workers run this interpreter (else they start the PATH's
    `python3`, which may lack clickbait) with Arrow batches of ARROW_BATCH rows; `log_level`
    (e.g. "ERROR") quiets Spark's own log from its start (default: Spark's, WARN)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app)
    if master:
        builder = builder.master(master)
    if log_level:  # from the driver JVM's start, no progress bar
        builder = builder.config("spark.ui.showConsoleProgress", "false")
    builder = (builder.config("spark.sql.execution.arrow.maxRecordsPerBatch", str(ARROW_BATCH))
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.ui.enabled", "false"))
    with _log4j2(log_level):
        spark = builder.getOrCreate()
    if log_level:
        spark.sparkContext.setLogLevel(log_level)  # a JVM that was already running
    return spark


_LOG4J2 = """rootLogger.level = {level}
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{{yy/MM/dd HH:mm:ss}} %p %c{{1}}: %m%n%ex
"""


@contextlib.contextmanager
def _log4j2(level: str | None):
    """While a driver JVM starts: a log4j2 configuration at `level` (to stderr), added to the
    user's SPARK_SUBMIT_OPTS (restored after); nothing without a level."""
    if not level:
        yield
        return
    import tempfile

    opts = os.environ.get("SPARK_SUBMIT_OPTS")
    with tempfile.TemporaryDirectory(prefix="clickbait-spark-") as tmp:
        conf = Path(tmp) / "log4j2.properties"
        conf.write_text(_LOG4J2.format(level=level.lower()))  # inside a private temporary folder
        os.environ["SPARK_SUBMIT_OPTS"] = f"{opts or ''} -Dlog4j2.configurationFile={conf.as_uri()}".strip()
        try:
            yield
        finally:
            if opts is None:
                os.environ.pop("SPARK_SUBMIT_OPTS", None)
            else:
                os.environ["SPARK_SUBMIT_OPTS"] = opts


def _format(path: str, given: str | None) -> str:
    if given:
        return given
    name = path.rstrip("/").lower()
    if name.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    raise ValueError(f"cannot tell the format of {path!r} from its name; give "
                     "input_format=/output_format= (csv or parquet)")


def _sep(path: str) -> str:
    return "\t" if path.rstrip("/").lower().removesuffix(".gz").endswith(".tsv") else ","


def read(spark: SparkSession, path: str, format: str | None = None, *,
         one_line: bool | None = None, header: list[str] | None = None):
    """A CSV (header row, RFC 4180 quoting, quoted newlines; every value a string, malformed
    rows an error) or Parquet file/folder as a DataFrame. A local CSV file without quoted line
    breaks (`one_line`; None: look) is read in line-aligned parts, on every core. A known
    `header` (distinct names) spares Spark a job that reads it; each file's is still checked."""
    if _format(path, format) == "parquet":
        return spark.read.parquet(path)
    if one_line is None:
        one_line = _one_line_records(path, _sep(path))
    schema = None
    if header and len({h.lower() for h in header}) == len(header) and all(header):  # Spark's rule
        from pyspark.sql.types import StringType, StructField, StructType

        schema = StructType([StructField(name, StringType(), True) for name in header])
    return spark.read.csv(path, schema=schema, header=True, sep=_sep(path), quote='"', escape='"',
                          multiLine=not one_line, inferSchema=False, mode="FAILFAST",
                          enforceSchema=False)


_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")  # a literal first byte: re searches for it fast
_LONE_CR = re.compile(rb"\r(?!\n)")
SPLIT_MAX_BYTES = 1 << 30  # a bigger local file is read whole, as before: its scan would take long


def _one_line_records(path: str, sep: str = ",", chunk: int = 1 << 23) -> bool:
    """Whether `path` is one local, uncompressed CSV file that Spark may split by lines across
    cores (a multi-line CSV is read whole, by one task) and read as `clickbait score` does: no
    line break inside a quoted field, no empty or blank line (Spark drops those when splitting),
    no lone CR. A quote opens a field only where a field starts (after the separator or a line
    break); inside one, a run of quotes closes it when odd ("" is a quote). Any doubt (a folder,
    a remote path, .gz, an unclosed quote, over SPLIT_MAX_BYTES) says no. Read in chunks of whole
    lines, so a field still open at a chunk's end is open across a line break."""
    file = Path(path)
    if "://" in path or not file.is_file() or path.lower().endswith(".gz"):
        return False
    size = file.stat().st_size
    if not 0 < size <= SPLIT_MAX_BYTES:
        return False
    import numpy as np

    delim, first = ord(sep), True
    with open(file, "rb") as f:
        while block := f.read(chunk):
            while not block.endswith(b"\n") and (more := f.read(chunk)):
                block += more  # up to the end of a line
            first_line, _, _ = block.partition(b"\n")
            last_line = block[block.rfind(b"\n") + 1:]
            if (not first_line.strip(b" \t\r") or _BLANK_LINE.search(block) or _LONE_CR.search(block)
                    or (last_line and not last_line.strip(b" \t\r"))):
                return False  # an empty or blank line, or a lone CR
            data = np.frombuffer(block, np.uint8)
            quotes = np.flatnonzero(data == 34)
            if not len(quotes):
                first = False
                continue
            runs = np.diff(quotes, prepend=-2) != 1  # runs of consecutive quotes
            starts = quotes[runs]
            odd = np.diff(np.append(np.flatnonzero(runs), len(quotes))) % 2 == 1
            before = data[np.maximum(starts - 1, 0)]
            at_start = (before == delim) | (before == 10) | (starts == 0)
            if first and block.startswith(b"\xef\xbb\xbf"):  # a BOM: the first field starts after it
                at_start |= starts == 3
            first = False
            # An even run changes nothing (outside a field: text, or "" opening and closing;
            # inside: escaped quotes). An odd run opens a field where a field starts, else is
            # text; inside a field it closes it.
            starts, at_start = starts[odd], at_start[odd]
            inside = False
            if at_start[0::2].all():  # the usual case: odd runs alternate, opening and closing
                inside = len(starts) % 2 == 1
                spans = np.stack([starts[0:len(starts) - inside:2], starts[1::2]], axis=1)
            else:  # a quote inside an unquoted field: follow the state run by run
                spans, opened = [], 0
                for pos, field_start in zip(starts.tolist(), at_start.tolist(), strict=True):
                    if inside:
                        inside = False
                        spans.append((opened, pos))
                    elif field_start:
                        inside, opened = True, pos
                spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
            if inside:  # open at the end of whole lines: across a line break, or never closed
                return False
            if len(spans):
                lines = np.flatnonzero(data == 10)
                where = np.searchsorted(lines, spans)
                if (where[:, 0] != where[:, 1]).any():  # a line break between a field's quotes
                    return False
    return True


def check_header(input: str, format: str | None = None, text_col: str | None = None) -> list[str] | None:
    """The header of a local INPUT (a file, or a folder's first part file), checked for
    `text_col` so that a wrong one fails before Spark starts; None where only Spark can tell
    (a remote path, a glob, an empty folder)."""
    from .formats import open_input

    fmt = _format(input, format)
    path = Path(input)
    if "://" in input or not path.exists():
        return None
    if path.is_dir():
        parts = sorted(p for p in path.iterdir()
                       if p.is_file() and not p.name.startswith(("_", ".")) and p.stat().st_size)
        if not parts:
            return None
        path = parts[0]
    table = open_input(path, format="tsv" if fmt == "csv" and _sep(input) == "\t" else fmt)
    try:
        header = table.header
    finally:
        table.close()
    find_column(header, text_col, argument="text_col")
    return header


_GLOB = re.compile(r"[*?\[\]{}\\]")  # Hadoop's pattern characters
_SPARK_FILES = re.compile(r"part-.*|_SUCCESS|_committed_.*|_started_.*|\..*\.crc")


def check_output(output: str, force: bool) -> None:
    """Refuse an existing local OUTPUT unless `force` is given and it is a finished Spark output
    folder (part files and _SUCCESS, nothing else): Spark's overwrite mode deletes whatever is
    there, and `--force` replaces only what this tool writes. A remote path (hdfs://, s3a://) is
    Spark's to check: without `force` the job fails if it exists."""
    path = Path(output)
    if not os.path.lexists(path):
        return
    if not force:
        raise FileExistsError(f"{output} exists; pass force=True to overwrite it")
    names = [p.name for p in path.iterdir()] if path.is_dir() and not path.is_symlink() else None
    if names is None or "_SUCCESS" not in names or not all(_SPARK_FILES.fullmatch(n) for n in names):
        raise FileExistsError(f"{output} exists and is not a finished Spark output folder (part "
                              "files and _SUCCESS only); force=True replaces only such a folder: "
                              "move it away or choose another OUTPUT")


def score_files(model_dir: str | os.PathLike, input: str, output: str, *, text_col: str | None = None,
                input_format: str | None = None, output_format: str | None = None,
                master: str | None = None, partitions: int | None = None, force: bool = False,
                threshold: float | None = None, retrieval: str | None = None,
                log_level: str | None = "ERROR") -> dict:
    """`clickbait score-spark`: INPUT scored into OUTPUT (a folder of part files, as Spark
    writes), every row once and in input order. Returns rows, partitions and seconds. The
    input's header is checked before Spark starts; `log_level` is Spark's (None: its default)."""
    out_format = _format(output, output_format)
    if "://" not in input and os.path.lexists(input) and _GLOB.search(input):
        raise InputError(f"{input}: Spark reads an input path as a pattern, and this name has "
                         f"{''.join(sorted(set(_GLOB.findall(input))))} in it: rename the file, or "
                         "link it under a name without any of * ? [ ] { } \\")
    header = check_header(input, input_format, text_col)  # in well under a second, before Spark starts
    check_output(output, force)
    BatchScorer(model_dir, threshold=threshold, retrieval=retrieval)  # checks them now
    if partitions is not None:
        check_count(partitions, "partitions")
    started = time.perf_counter()
    spark = session(master, log_level=log_level)  # the workers find the model (BatchScorer.path)
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    n = partitions or 2 * spark.sparkContext.defaultParallelism
    split = _format(input, input_format) == "csv" and _one_line_records(input, _sep(input))
    conf = spark.conf
    keys = ("spark.sql.files.maxPartitionBytes", "spark.sql.files.openCostInBytes")
    before = {k: conf.get(k, None) for k in keys}
    if split:  # n line-aligned byte ranges of the one file, read in order: no shuffle at all
        # (both at a part's size: Spark splits at min(max bytes, max(open cost, bytes per core)))
        part = max(1, -(-Path(input).stat().st_size // n))
        for k in keys:
            conf.set(k, str(part))
    try:
        df = read(spark, input, input_format, one_line=split, header=header)
        text_col = df.columns[find_column(list(df.columns), text_col, argument="text_col")]
        order = [] if split else [_ROW] if Path(input).is_file() else [_FILE, _ROW]
        if order:
            # A multi-line CSV, a folder, Parquet: n partitions in input order (a folder's files
            # by name: Spark reads the biggest first): row ids follow the read, ranges of
            # (file, row id) become partitions, sorted within.
            if _FILE in order:
                df = df.withColumn(_FILE, F.input_file_name())
            df = df.withColumn(_ROW, F.monotonically_increasing_id())
            df = df.repartitionByRange(n, *order).sortWithinPartitions(*order)
        scored = score(df, model_dir, text_col, threshold=threshold, retrieval=retrieval).drop(*order)
        written = Observation("clickbait_rows")  # counted as the rows are written: no second job
        scored = scored.observe(written, F.count(F.lit(1)).alias("rows"))
        writer = scored.write.mode("overwrite" if force else "errorifexists")
        if out_format == "csv":  # a .tsv OUTPUT gets tabs, as `read` expects of a .tsv
            writer.csv(output, header=True, quote='"', escape='"', sep=_sep(output))
        else:
            writer.parquet(output)
    except BaseException as e:  # an interrupt too: no half-written OUTPUT stays behind
        _remove_partial(output)
        if isinstance(e, Exception):
            raise _job_error(e, input) from e
        raise
    finally:
        for k, v in before.items():
            if v is None:
                conf.unset(k)
            else:
                conf.set(k, v)
    return {"rows": written.get["rows"], "partitions": n, "seconds": time.perf_counter() - started}


def _remove_partial(output: str) -> None:
    """After a failed job: remove what Spark left at a local OUTPUT (an empty folder, part files,
    _temporary) unless it is a finished output (_SUCCESS: the previous one, still whole)."""
    path = Path(output)
    if "://" in output or path.is_symlink() or not path.is_dir():
        return
    names = [p.name for p in path.iterdir()]
    if "_SUCCESS" not in names and all(_SPARK_FILES.fullmatch(n) or n == "_temporary" for n in names):
        shutil.rmtree(path, ignore_errors=True)


def _job_error(e: Exception, input: str) -> Exception:
    """Spark's own failure (a malformed row, a header that does not fit, ...) as one line that
    names the input; any other exception as it is."""
    try:
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException
    except ImportError:  # pragma: no cover
        return e
    if not isinstance(e, (Py4JJavaError, PySparkException)):
        return e
    text = str(e)
    found = re.findall(r"\[[A-Z][A-Z0-9_.]+\][^\n]*", text)  # the innermost cause says most
    line = found[-1] if found else next((t for t in text.splitlines() if t.strip()), type(e).__name__)
    return InputError(f"Spark could not score {input}: {line.strip()[:500]}")
