"""Metrics and plots of a detector's predictions (scikit-learn metrics, matplotlib figures).

Plots use matplotlib's object-oriented API (`matplotlib.figure.Figure` drawn by `FigureCanvasAgg`
into files): no pyplot state and no backend switch, so importing this module in a notebook
leaves its inline plots alone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.decomposition import PCA
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    RocCurveDisplay,
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from .files import write_file


def classification_metrics(labels: np.ndarray, proba: np.ndarray, threshold: float,
                           predicted: np.ndarray | None = None) -> dict:
    """Accuracy, precision, recall, F1 at `threshold` (or of the `predicted` labels, when the
    model's decision is more than a cut on the probability), ROC-AUC, and the confusion matrix."""
    labels = np.asarray(labels)
    pred = (np.asarray(proba) >= threshold).astype(int) if predicted is None else np.asarray(predicted)
    both = len(np.unique(labels)) == 2
    return {
        "rows": len(labels),
        "threshold": float(threshold),
        "accuracy": float(accuracy_score(labels, pred)),
        "precision": float(precision_score(labels, pred, zero_division=0)),
        "recall": float(recall_score(labels, pred, zero_division=0)),
        "f1": float(f1_score(labels, pred, zero_division=0)),
        "roc_auc": float(roc_auc_score(labels, proba)) if both else None,
        "confusion_matrix": confusion_matrix(labels, pred, labels=[0, 1]).tolist(),
    }


def plot_roc(labels: np.ndarray, proba: np.ndarray, path: str | os.PathLike, title: str = "") -> Path:
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    RocCurveDisplay.from_predictions(labels, proba, ax=ax, name="nearest cases")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_title(title or "ROC curve")
    return _save(fig, path)


def plot_confusion(labels: np.ndarray, proba: np.ndarray, threshold: float,
                   path: str | os.PathLike, title: str = "") -> Path:
    fig = Figure(figsize=(4.5, 4))
    ax = fig.subplots()
    ConfusionMatrixDisplay.from_predictions(
        labels, (np.asarray(proba) >= threshold).astype(int), labels=[0, 1],
        display_labels=["not clickbait", "clickbait"], ax=ax, colorbar=False)
    ax.set_title(title or f"Confusion matrix (threshold {threshold:.2f})")
    return _save(fig, path)


def plot_projection(embeddings: np.ndarray, labels: np.ndarray, path: str | os.PathLike,
                    title: str = "", max_points: int = 4000, seed: int = 0) -> Path:
    """A 2-D PCA projection of case embeddings, coloured by class."""
    rng = np.random.default_rng(seed)
    take = rng.choice(len(embeddings), min(max_points, len(embeddings)), replace=False)
    xy = PCA(n_components=2, random_state=seed).fit_transform(embeddings[take])
    fig = Figure(figsize=(5.5, 5))
    ax = fig.subplots()
    for label, name, colour in ((0, "not clickbait", "tab:blue"), (1, "clickbait", "tab:red")):
        m = np.asarray(labels)[take] == label
        ax.scatter(xy[m, 0], xy[m, 1], s=4, alpha=0.4, c=colour, label=name)
    ax.legend(markerscale=4)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(title or "Case embeddings (PCA)")
    return _save(fig, path)


def write_json(data: dict, path: str | os.PathLike) -> Path:
    return write_file(path, json.dumps(data, indent=2, default=str) + "\n")


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    """Draw `fig` into the PNG `path` with the Agg canvas (no pyplot, no backend change)."""
    FigureCanvasAgg(fig)
    fig.tight_layout()
    return write_file(path, lambda f: fig.savefig(f, dpi=110, format="png"))


def expected_calibration_error(labels: np.ndarray, proba: np.ndarray, bins: int = 15) -> float:
    """ECE: the gap |share of clickbait - mean P(clickbait)| in `bins` equal-width probability
    bins, weighted by the share of rows in each (Guo et al. 2017, on the positive class)."""
    labels, proba = np.asarray(labels, dtype="float64"), np.asarray(proba, dtype="float64")
    if len(labels) == 0:
        raise ValueError("expected_calibration_error needs at least one row")
    which = np.clip((proba * bins).astype(int), 0, bins - 1)  # bin b holds [b/B, (b+1)/B)
    n = np.bincount(which, minlength=bins)
    gap = np.abs(np.bincount(which, labels, bins) - np.bincount(which, proba, bins))
    return float(gap.sum() / n.sum())


def reliability_curve(labels: np.ndarray, proba: np.ndarray, bins: int = 15) -> dict:
    """Per non-empty bin: mean P(clickbait), share of clickbait, rows (the diagram's points)."""
    labels, proba = np.asarray(labels, dtype="float64"), np.asarray(proba, dtype="float64")
    which = np.clip((proba * bins).astype(int), 0, bins - 1)
    n = np.bincount(which, minlength=bins)
    keep = n > 0
    return {"mean_proba": (np.bincount(which, proba, bins)[keep] / n[keep]).tolist(),
            "share_clickbait": (np.bincount(which, labels, bins)[keep] / n[keep]).tolist(),
            "rows": n[keep].tolist()}


def plot_reliability(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: str | os.PathLike,
                     title: str = "", bins: int = 15) -> Path:
    """Reliability diagram: share of clickbait against mean P(clickbait) per bin, one line per
    named (labels, proba), with each one's ECE in the legend and the rows per bin below.
    Built on matplotlib.figure.Figure: no pyplot state, no backend switch."""
    fig = Figure(figsize=(5.5, 6.2))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], "k:", lw=0.8, label="perfectly calibrated")
    width = 1 / bins / max(len(curves), 1)
    for i, (name, (labels, proba)) in enumerate(curves.items()):
        c = reliability_curve(labels, proba, bins)
        ece = expected_calibration_error(labels, proba, bins)
        (line,) = top.plot(c["mean_proba"], c["share_clickbait"], "o-", ms=4,
                           label=f"{name} (ECE {ece:.3f})")
        bottom.bar(np.asarray(c["mean_proba"]) + (i - (len(curves) - 1) / 2) * width, c["rows"],
                   width=width, alpha=0.7, color=line.get_color())
    top.set_ylabel("share of clickbait")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.legend(fontsize=8, loc="upper left")
    top.grid(alpha=0.3)
    top.set_title(title or f"Reliability diagram ({bins} bins)")
    bottom.set_yscale("log")
    bottom.set_ylabel("rows")
    bottom.set_xlabel("mean P(clickbait) in bin")
    return _save(fig, path)
