"""Batch scoring of headline CSV files: streaming, bounded memory, one output row per input row.

`score_csv` reads INPUT in chunks (every column as text, so "NA" or "null" survive), scores the
text column, and writes every input column unchanged plus `clickbait_probability`, `clickbait`,
`support` and `low_support` through `files.OutputFile` (a private temporary beside OUTPUT,
renamed into place at the end): a crash, Ctrl-C or SIGTERM leaves no partial OUTPUT; a FIFO or
device OUTPUT is written in place.
Rows whose text is missing or blank are kept with empty outputs and counted.

Speed (see benchmarks/bench_score.py and docs/scoring.md): no TensorFlow is imported when the
model's layers are ones clickbait/inference.py runs in numpy; chunks are tokenized, encoded and
voted on by worker processes forked once the model is loaded (clickbait/workers.py), or where
fork is unsafe by worker threads beside a tokenizer process (clickbait/pipeline.py); duplicate
headlines in a chunk are scored once; the nearest cases come from the fast index by default
(clickbait/index.py; `retrieval="exact"` scans every case).
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np
import pandas as pd
from tqdm import tqdm

from .errors import InputError
from .files import check_output
from .formats import TableOutput, detect, is_stdio, open_input
from .pipeline import MAX_WORKERS, _pipeline, _start_workers, model_workers, single_threaded
from .scorer import (  # noqa: F401  (Scorer, StageTimes, RETRIEVALS, _text_mask: imported from here)
    RETRIEVALS,
    Scorer,
    StageTimes,
    _score_chunk,
    _Scored,
    _text_mask,
)
from .validation import check_count, check_probability

if TYPE_CHECKING:  # pragma: no cover
    from .trained import TrainedDetector

TEXT_COLUMNS = ("headline", "title", "text")
LABEL_COLUMNS = ("label", "clickbait", "is_clickbait")
PROBA, LABEL, NEIGHBOURS = "clickbait_probability", "clickbait", "clickbait_neighbours"
SUPPORT, LOW_SUPPORT = "support", "low_support"
# The added columns' types in a Parquet output: the same for 0 rows as for n.
ADDED_ARROW_TYPES = {PROBA: "float64", LABEL: "int64", SUPPORT: "float64", LOW_SUPPORT: "int64",
                     NEIGHBOURS: "string"}
BATCH_SIZE = 8192


# -- reading (clickbait/formats.py reads and writes the files) ---------------------------
def find_column(header: list[str], wanted: str | None, candidates=TEXT_COLUMNS, what: str = "text",
                argument: str | None = None) -> int:
    """Position of the column to use: `wanted` if given (exact, then case-insensitive), else the
    first of `candidates` (case-insensitive), else the only column. The error lists the columns
    and names the Python `argument` that chooses one (default `{what}_column`)."""
    lower = [h.strip().lower() for h in header]
    if wanted is not None:
        for names in (header, lower):
            key = wanted if names is header else wanted.strip().lower()
            if key in names:
                return names.index(key)
        raise InputError(f"no column {wanted!r}; the columns are: {', '.join(map(repr, header))}")
    for c in candidates:
        if c in lower:
            return lower.index(c)
    if len(header) == 1 and what == "text":
        return 0
    raise InputError(f"cannot tell which column holds the {what}: none is named "
                     f"{'/'.join(candidates)}; the columns are: {', '.join(map(repr, header))}; "
                     f"choose one with {argument or what + '_column'}=NAME")


# -- scoring ---------------------------------------------------------------------------------
def _outputs(scored: _Scored, threshold: float) -> dict[str, object]:
    """The added columns; missing values are written as empty fields. Text the headline check
    rejects (P(headline) < 0.5) is not called clickbait, whatever its probability; a headline
    with low support only (its nearest case far) keeps its label and is flagged."""
    p, missing = scored.proba, np.isnan(scored.proba)
    low = scored.low_support if scored.low_support is not None else np.zeros(len(p), bool)
    flag = pd.array(scored.flags(threshold).astype("int64"), dtype="Int64")
    flag[missing] = pd.NA
    low_col = pd.array(low.astype("int64"), dtype="Int64")
    low_col[missing] = pd.NA
    support = scored.support if scored.support is not None else np.full(len(p), np.nan)
    cols = {PROBA: p, LABEL: flag, SUPPORT: support, LOW_SUPPORT: low_col}
    if scored.explain is not None:
        cols[NEIGHBOURS] = np.array(["" if e is None else e for e in scored.explain], dtype=object)
    return cols


def score_frame(detector: TrainedDetector, frame: pd.DataFrame, text_column: str | None = None, *,
                threshold: float | None = None, explain: int = 0, batch_size: int = BATCH_SIZE,
                retrieval: str | None = None) -> pd.DataFrame:
    """`frame` with `clickbait_probability` (float, NaN for missing or blank text),
    `clickbait` (nullable 0/1), `support` and `low_support` added (and `clickbait_neighbours`,
    JSON, when `explain` > 0)."""
    col = frame.columns[find_column([str(c) for c in frame.columns], text_column)]
    added = (PROBA, LABEL, SUPPORT, LOW_SUPPORT) + ((NEIGHBOURS,) if explain else ())
    clash = [c for c in added if c in frame.columns]
    if clash:  # never overwrite the caller's own columns
        raise InputError(f"the frame already has column(s) {clash}; rename them first")
    scorer = Scorer(detector, retrieval=retrieval)
    threshold = scorer.threshold if threshold is None else check_probability(threshold)
    parts, notes = [], []
    for s in range(0, len(frame), batch_size):
        scored = _score_chunk(scorer, frame[col].iloc[s:s + batch_size], explain)
        parts.append(scored)
        notes += scored.explain or []
    column = {f: np.concatenate([getattr(p, f) for p in parts]) if parts else np.zeros(0)
              for f in ("proba", "support", "low_support", "headline")}
    joined = _Scored(column["proba"], None, 0, column["support"], column["low_support"].astype(bool),
                     column["headline"])
    out = frame.assign(**_outputs(joined, threshold))
    if explain:
        out[NEIGHBOURS] = notes
    return out


@dataclass
class ScoreSummary:
    """What `score_csv` did: rows, speed, share flagged, problems, and time per stage."""

    rows: int = 0
    scored: int = 0
    flagged: int = 0
    missing_text: int = 0
    replaced_bytes: int = 0
    seconds: float = 0.0
    retrieval: str = ""
    stages: StageTimes = field(default_factory=StageTimes)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        share = self.flagged / self.scored if self.scored else 0.0
        problems = self.missing_text
        note = f" (missing or blank text: {self.missing_text:,})" if problems else ""
        if self.replaced_bytes:
            note += f"; {self.replaced_bytes:,} undecodable bytes replaced"
        return (f"scored {self.rows:,} rows in {self.seconds:.1f} s ({self.rows_per_second:,.0f} rows/s); "
                f"{share:.1%} flagged as clickbait; {problems:,} rows with problems{note}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rows_per_second"] = self.rows_per_second
        d["stage_shares"] = self.stages.shares()
        return d


def score_csv(detector: TrainedDetector, input: str | os.PathLike, output: str | os.PathLike, *,
              text_column: str | None = None, batch_size: int = BATCH_SIZE,
              threshold: float | None = None, explain: int = 0, encoding: str = "utf-8",
              encoding_errors: str = "strict", force: bool = False, progress: bool | None = None,
              retrieval: str | None = None, dedup: bool = True,
              input_format: str | None = None, output_format: str | None = None,
              stdin: TextIO | None = None, stdout: TextIO | None = None,
              workers: int | None = None, tsv_quoting: str = "rfc4180",
              processes: bool | None = None) -> ScoreSummary:
    """Score the headlines of INPUT into OUTPUT: CSV, TSV, JSON Lines (each optionally .gz) or
    Parquet, by extension or `input_format`/`output_format`; `-` is stdin/stdout (CSV unless a
    format is given; see clickbait/formats.py). Every input column unchanged and in order, plus
    `clickbait_probability`, `clickbait`, `support` and `low_support` (and
    `clickbait_neighbours` with `explain` > 0), one row per input row, in input order.

    OUTPUT is written beside itself and renamed at the end, so it is never partial (stdout
    cannot be: rows there are written as they are scored). An existing OUTPUT needs `force`.
    `workers` chunks are encoded and voted on at once (default: one per usable core, at most 8;
    up to `workers` + 2 chunks are in memory), in forked processes where they can run
    (`processes`: None, where they can; False, in threads; True, in processes or fail; see
    clickbait/workers.py). `tsv_quoting` ("rfc4180" or "none") is how TSV
    input and output are quoted (see clickbait/formats.py)."""
    check_count(batch_size, "batch_size")
    workers = model_workers() if workers is None else check_count(workers, "workers")
    if workers > MAX_WORKERS:
        raise ValueError(f"workers must be at most {MAX_WORKERS} (each holds a chunk of "
                         f"batch_size rows in memory); got {workers}")
    check_count(explain, "explain (nearest cases per row)", minimum=0)
    out_format, _ = detect(output, output_format)  # an unknown output format fails before any work
    if not is_stdio(output) and not is_stdio(input) and Path(output).exists() \
            and Path(input).resolve() == Path(output).resolve():
        raise FileExistsError(f"{output} is the input file; write the scores elsewhere")
    check_output(output, force)
    started = time.perf_counter()
    source = open_input(input, format=input_format, batch_size=batch_size, encoding=encoding,
                        encoding_errors=encoding_errors, stdin=stdin, tsv_quoting=tsv_quoting)
    try:
        col = find_column(source.header, text_column)
        added = [PROBA, LABEL, SUPPORT, LOW_SUPPORT] + ([NEIGHBOURS] if explain else [])
        clash = [c for c in added if c in source.header]
        if clash:
            raise InputError(f"{source.name} already has column(s) {clash}; rename them first")
        scorer = Scorer(detector, retrieval=retrieval, dedup=dedup)
        threshold = scorer.threshold if threshold is None else check_probability(threshold)
        summary = ScoreSummary(retrieval=scorer.retrieval, stages=scorer.times)
        show = sys.stderr.isatty() if progress is None else progress
        chunks, pool = _start_workers(scorer, source, workers, explain, processes)
        with pool or nullcontext(), single_threaded(), \
                TableOutput(output, source.header, added, format=output_format, force=force,
                            stdout=stdout, tsv_quoting=tsv_quoting,
                            input_schema=source.arrow_schema() if out_format == "parquet" else None,
                            added_types=[ADDED_ARROW_TYPES[c] for c in added]) as out, \
                    _Progress(unit=" rows", unit_scale=True, disable=not show, file=sys.stderr,
                         desc="scoring") as bar:
                for chunk, scored in _pipeline(scorer, chunks, col, explain, workers, pool):
                    t = time.perf_counter()
                    out.write(chunk, _outputs(scored, threshold))
                    summary.rows += len(chunk)
                    valid = ~np.isnan(scored.proba)
                    summary.scored += int(valid.sum())
                    summary.flagged += int(scored.flags(threshold).sum())
                    summary.missing_text += scored.missing
                    scorer.times.add("write", time.perf_counter() - t)
                    bar.update(len(chunk))
                out.commit()
        summary.replaced_bytes = source.replaced
        summary.seconds = time.perf_counter() - started
        return summary
    finally:
        source.close()


class _Progress(tqdm):
    """tqdm without its monitor thread (which would stay for the life of the process, and a
    process with another thread does not fork worker processes: clickbait.workers.usable)."""

    monitor_interval = 0
