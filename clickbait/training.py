"""The `make train` job as a library function: fit on train (+ valid for early stopping, the
threshold and as extra cases), evaluate on test, save the model, write metrics and plots; and the
comparison of variants (frozen vs trainable vectors, metric vs softmax head, TF-IDF baseline)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .baseline import tfidf_baseline
from .data import development_sources, load_labelled, load_split, split_by_source
from .detector import ClickbaitDetector, best_threshold, check_model_target
from .files import write_file
from .reports import classification_metrics, plot_confusion, plot_projection, plot_roc, write_json
from .seeding import seeded

log = logging.getLogger("clickbait")


def _step(message: str) -> None:
    """A progress line through the `clickbait` logger (the CLI shows it at a terminal or with -v)."""
    log.info(f"[{time.strftime('%H:%M:%S')}] {message}")


def train(
    *,
    data_dir: str | os.PathLike | None = None,
    data: Sequence[str | os.PathLike] | None = None,
    validation_fraction: float = 0.1,
    output: str | os.PathLike = "models/default",
    reports: str | os.PathLike = "build/reports",
    force: bool = False,
    **params,
) -> dict:
    """Train the detector with `params` (ClickbaitDetector's), evaluate it on the test split,
    save it to `output` and write `metrics.json` and PNG plots into `reports` (by default the
    untracked build/reports: the committed reports/ come from `make report`). Returns the metrics.

    Without `data`, it trains on the corpus's train split and validates on its valid split. With
    `data` (labelled CSVs, see `clickbait.data.load_labelled`), it trains on all of them, keeps
    each row's source as case provenance and validates on a stratified `validation_fraction` of
    EACH source; the corpus test split (if present) is still the test, and each source's held-out
    part is reported as well, scored with its own rows set aside from the case base (it chose the
    threshold and the early stop, so it is not a clean test)."""
    output, reports = Path(output), Path(reports)
    check_model_target(output, force)  # before training: a foreign folder is refused
    started = time.perf_counter()
    by_source = None
    if data:
        _step(f"reading {len(data)} labelled file(s)")
        texts, labels, sources = load_labelled(data)
        tr, va = split_by_source(texts, labels, sources, validation_fraction, params.get("seed", 0))
        train_x, train_y, train_s = [texts[i] for i in tr], labels[tr], [sources[i] for i in tr]
        valid_x, valid_y, valid_s = [texts[i] for i in va], labels[va], [sources[i] for i in va]
        try:
            test_x, test_y = load_split("test", data_dir)
        except FileNotFoundError:
            test_x = test_y = None
    else:
        _step(f"reading the corpus from {data_dir or 'the default data directory'}")
        train_x, train_y = load_split("train", data_dir)
        valid_x, valid_y = load_split("valid", data_dir)
        test_x, test_y = load_split("test", data_dir)
        train_s = valid_s = None
    _step(f"training on {len(train_x):,} headlines ({len(valid_x):,} for validation)")
    validation = (valid_x, valid_y) if valid_s is None else (valid_x, valid_y, valid_s)
    # Development sources: the weights of retained cases' evidence are fitted on them.
    adaptation = [(f["headline"].tolist(), f["label"].to_numpy())
                  for f in development_sources(data_dir).values()]
    _step(f"adaptation episodes from {len(adaptation)} development source(s)")
    detector = ClickbaitDetector(**params).fit(train_x, train_y, validation=validation,
                                               sources=train_s, adaptation=adaptation)
    metrics: dict = {}
    if test_x is not None:
        _step(f"evaluating on {len(test_x):,} test headlines")
        proba = detector.predict_proba(test_x)[:, 1]
        metrics["test"] = classification_metrics(test_y, proba, detector.threshold_)
    if valid_s is not None:
        val_proba = held_out_proba(detector, valid_x)
        valid_s = np.asarray(valid_s, dtype=object)
        by_source = {s: {**classification_metrics(valid_y[valid_s == s], val_proba[valid_s == s],
                                                  detector.threshold_),
                         "train_rows": int(sum(t == s for t in train_s))}
                     for s in pd.unique(valid_s)}
        metrics["validation_by_source"] = by_source
        metrics["data"] = [str(p) for p in data]
        if test_x is None:  # no corpus test split: the plots show the held-out parts
            test_x, test_y, proba = valid_x, valid_y, val_proba
    metrics.update({
        "validation_accuracy": detector.validation_accuracy_,
        "threshold": detector.threshold_,
        "cases": detector.cases_.describe(),
        "coverage": str(detector.coverage_),
        "params": detector.get_params(),
        "fit_seconds": round(detector.fit_seconds_, 1),
    })
    detector.metrics_ = {k: metrics[k] for k in ("test", "validation_by_source") if k in metrics}
    detector.save(output, force=force)
    metrics["seconds"] = round(time.perf_counter() - started, 1)
    write_json(metrics, reports / "metrics.json")
    split = "test split" if "test" in metrics else "held-out validation rows"
    plot_roc(test_y, proba, reports / "roc.png", f"ROC curve, {split}")
    plot_confusion(test_y, proba, detector.threshold_, reports / "confusion.png")
    plot_projection(detector.cases_.embeddings, detector.cases_.labels, reports / "projection.png",
                    "Case embeddings by class (PCA)")
    for s, m in (by_source or {}).items():
        auc = "n/a" if m["roc_auc"] is None else f"{m['roc_auc']:.4f}"
        _step(f"held-out {s}: {m['rows']:,} rows, accuracy {m['accuracy']:.4f}, ROC-AUC {auc}")
    _step(f"done in {metrics['seconds']:.0f} s")
    return metrics


def held_out_proba(detector: ClickbaitDetector, texts: list[str]) -> np.ndarray:
    """P(clickbait) of `texts` with every case of the same text set aside (fit retains the
    validation rows as cases; a headline must not vote for itself)."""
    cases = detector.cases_
    keep = ~cases.meta["text"].isin(set(texts)).to_numpy()
    detector.cases_ = cases.subset(keep)
    try:
        return detector.predict_proba(texts)[:, 1]
    finally:
        detector.cases_ = cases


def _tfidf_baseline(train_x, train_y, valid_x, valid_y, test_x, test_y) -> dict:
    """The TF-IDF + logistic regression reference (clickbait.baseline), threshold on valid."""
    model = tfidf_baseline(train_x, train_y)
    t = best_threshold(model.predict_proba(valid_x)[:, 1], valid_y)
    return classification_metrics(test_y, model.predict_proba(test_x)[:, 1], t)


def compare(*, data_dir=None, reports: str | os.PathLike = "build/reports", **params) -> dict:
    """One run that trains each variant with the same seed and data and scores it on test:
    frozen vs trainable vectors, then fine-tuning; the metric head + nearest cases vs a softmax
    head on the same encoder; and the TF-IDF baseline. Writes reports/comparison.{json,md}."""
    import keras

    from .model import build_encoder
    from .text import encode, make_vectorizer, tokenize

    train_x, train_y = load_split("train", data_dir)
    valid_x, valid_y = load_split("valid", data_dir)
    test_x, test_y = load_split("test", data_dir)
    rows: dict[str, dict] = {}
    variants = {
        "metric head, frozen vectors": {"trainable": False},
        "metric head, trainable vectors": {"trainable": True},
        "metric head, frozen then fine-tuned": {"trainable": False, "fine_tune_epochs": 4},
    }
    frozen = None
    for name, extra in variants.items():
        _step(f"variant: {name}")
        t0 = time.perf_counter()
        det = ClickbaitDetector(**{**params, **extra}).fit(train_x, train_y, validation=(valid_x, valid_y))
        proba = det.predict_proba(test_x)[:, 1]
        rows[name] = {**classification_metrics(test_y, proba, det.threshold_),
                      "seconds": round(time.perf_counter() - t0, 1)}
        frozen = frozen or det
    for trainable in (False, True):
        name = f"softmax head, {'trainable' if trainable else 'frozen'} vectors"
        _step(f"variant: {name}")
        t0 = time.perf_counter()
        vectorizer = make_vectorizer(frozen.vocabulary_, frozen.length)
        matrix = frozen.network_.get_layer("embedding").get_weights()[0]
        xv = encode(vectorizer, valid_x)
        with seeded(frozen.seed):
            net = build_encoder(matrix, length=frozen.length, encoder=frozen.encoder, head="softmax",
                                hidden=frozen.hidden, filters=frozen.filters, dropout=frozen.dropout,
                                trainable=trainable)
            net.compile(optimizer=keras.optimizers.Adam(frozen.learning_rate),
                        loss="sparse_categorical_crossentropy")
            net.fit(encode(vectorizer, train_x), train_y, validation_data=(xv, valid_y),
                    epochs=frozen.epochs, batch_size=frozen.batch_size, verbose=0,
                    callbacks=[keras.callbacks.EarlyStopping(patience=frozen.patience,
                                                             restore_best_weights=True)])
        t = best_threshold(net.predict(xv, batch_size=2048, verbose=0)[:, 1], valid_y)
        proba = net.predict(encode(vectorizer, test_x), batch_size=2048, verbose=0)[:, 1]
        rows[name] = {**classification_metrics(test_y, proba, t),
                      "seconds": round(time.perf_counter() - t0, 1)}
    _step("variant: TF-IDF word+char n-grams + logistic regression")
    t0 = time.perf_counter()
    lower = [[s.lower() for s in xs] for xs in (train_x, valid_x, test_x)]
    rows["TF-IDF + logistic regression (reference)"] = {
        **_tfidf_baseline(lower[0], train_y, lower[1], valid_y, lower[2], test_y),
        "seconds": round(time.perf_counter() - t0, 1)}
    # The same baseline on this project's tokens: what removing the corpus shortcuts costs.
    ours = [[" ".join(t) for t in tokenize(xs)] for xs in (train_x, valid_x, test_x)]
    rows["TF-IDF + logistic regression on clickbait.text tokens"] = {
        **_tfidf_baseline(ours[0], train_y, ours[1], valid_y, ours[2], test_y), "seconds": 0.0}
    result = {"params": ClickbaitDetector(**params).get_params(), "test": rows}
    write_json(result, Path(reports) / "comparison.json")
    write_file(Path(reports) / "comparison.md", comparison_table(result) + "\n")
    return result


def comparison_table(result: dict) -> str:
    """`compare`'s result as a Markdown table."""
    lines = ["| variant | accuracy | ROC-AUC | F1 | seconds |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {k} | {v['accuracy']:.4f} | {v['roc_auc']:.4f} | {v['f1']:.4f} | {v['seconds']} |"
              for k, v in result["test"].items()]
    return "\n".join(lines)

