"""Metrics of a detector on labelled headlines: in memory (`evaluate`) or a labelled table read
as `score_csv` reads its input (`evaluate_csv`, with plots)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np

from .errors import InputError
from .formats import open_input
from .scorer import Scorer, _score_chunk
from .scoring import BATCH_SIZE, LABEL_COLUMNS, find_column
from .validation import check_probability

if TYPE_CHECKING:  # pragma: no cover
    from .detector import ClickbaitDetector


def evaluate(detector: ClickbaitDetector, texts, labels, *, threshold: float | None = None) -> dict:
    """Accuracy, precision, recall, F1, ROC-AUC and the confusion matrix of the detector on
    labelled headlines in memory (labels 0/1; 1 = clickbait), at its threshold by default."""
    from .reports import classification_metrics

    labels = np.asarray(labels)
    if len(labels) != len(texts):
        raise ValueError(f"got {len(texts)} headlines but {len(labels)} labels")
    if not np.isin(labels, [0, 1]).all():
        raise ValueError(f"labels must be 0 or 1; got {np.unique(labels)[:5].tolist()}")
    proba = detector.predict_proba(texts)[:, 1]
    return classification_metrics(labels.astype(int), proba,
                                  detector.threshold_ if threshold is None else float(threshold))


def evaluate_csv(detector: ClickbaitDetector, input: str | os.PathLike, *, label_column: str | None = None,
                 text_column: str | None = None, reports: str | os.PathLike = "build/evaluation",
                 threshold: float | None = None, batch_size: int = BATCH_SIZE, encoding: str = "utf-8",
                 encoding_errors: str = "strict", retrieval: str | None = None,
                 input_format: str | None = None, stdin: TextIO | None = None,
                 tsv_quoting: str = "rfc4180") -> dict:
    """Metrics of the detector on a labelled table (labels 0/1), read as `score_csv` reads;
    writes metrics.json, roc.png and confusion.png into `reports`. Rows with missing text or
    label are left out and counted."""
    from .reports import classification_metrics, plot_confusion, plot_roc, write_json

    source = open_input(input, format=input_format, batch_size=batch_size, encoding=encoding,
                        encoding_errors=encoding_errors, stdin=stdin, tsv_quoting=tsv_quoting)
    try:
        col = find_column(source.header, text_column)
        lab = find_column(source.header, label_column, LABEL_COLUMNS, what="label")
        scorer = Scorer(detector, retrieval=retrieval)
        probas, labels, skipped = [], [], 0
        for chunk in source.chunks:
            raw = chunk.iloc[:, lab]
            raw = raw.astype(str).str.strip().str.lower().where(raw.notna().to_numpy(), "")
            known = raw.isin(["0", "1", "0.0", "1.0", "true", "false"])
            bad = raw[~known & (raw != "")]
            if len(bad):
                raise InputError(f"{source.name}: labels must be 0 or 1; got {bad.unique()[:5].tolist()}")
            scored = _score_chunk(scorer, chunk.iloc[:, col], 0)
            keep = known.to_numpy() & ~np.isnan(scored.proba)
            skipped += int((~keep).sum())
            probas.append(scored.proba[keep])
            labels.append(raw[keep].isin(["1", "1.0", "true"]).to_numpy().astype(int))
    finally:
        source.close()
    proba = np.concatenate(probas) if probas else np.zeros(0)
    y = np.concatenate(labels) if labels else np.zeros(0, int)
    if len(y) == 0:
        raise InputError(f"{source.name}: no rows with both a headline and a label")
    threshold = scorer.threshold if threshold is None else check_probability(threshold)
    metrics = classification_metrics(y, proba, threshold)
    metrics.update(input=source.name, skipped_rows=skipped, retrieval=scorer.retrieval)
    reports = Path(reports)
    write_json(metrics, reports / "metrics.json")
    if len(np.unique(y)) == 2:
        plot_roc(y, proba, reports / "roc.png", title=f"ROC: {Path(source.name).name}")
    plot_confusion(y, proba, threshold, reports / "confusion.png")
    return metrics
