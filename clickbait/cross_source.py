"""The cross-source report: does the detector hold up away from its training corpus? For the
corpus test split, `downs2014.csv` (another source, another decade) and any labelled CSVs a user
adds, this model next to the TF-IDF baseline trained in the same run: accuracy, ROC-AUC, F1,
calibration (15-bin ECE), the share of news (label 0) flagged; and the share of generated
unrelated text (nonsense) flagged. Only the public detector API is used (predict_proba,
threshold_), so the report stays valid whatever the vote does inside."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .baseline import tfidf_baseline
from .data import DEFAULT_DATA_DIR, load_split, read_labelled
from .files import write_file
from .reports import classification_metrics, expected_calibration_error, plot_reliability, write_json

DOWNS = "downs2014.csv"
ECE_BINS = 15
BASELINE = "TF-IDF + LR"
MODEL = "this model"

_TEAMS = (
    "Arsenal", "Chelsea", "Liverpool", "Everton", "Tottenham", "Fulham", "Brentford", "Burnley",
    "Leeds", "Wolves", "Real Madrid", "Barcelona", "Sevilla", "Valencia", "Bayern Munich",
    "Dortmund", "Juventus", "Inter", "Napoli", "Ajax", "PSV", "Porto", "Benfica", "Celtic",
    "Rangers", "Lakers", "Celtics", "Knicks", "Bulls", "Warriors", "Yankees", "Red Sox", "Mets",
    "Dodgers", "Cubs", "Packers", "Bears", "Giants", "Eagles", "Cowboys",
)


def nonsense_headlines(vocabulary: Sequence[str], n: int = 1000, seed: int = 0) -> pd.DataFrame:
    """`n` lines of generated text that is no headline, in four equal kinds (column `kind`):
    random strings of 3-10 words from `vocabulary`, digit strings, letter salad, and sports
    results ("Arsenal 2-1 Chelsea", "Lakers 104, Celtics 99"). Fixed `seed`: the same rows
    every run."""
    vocabulary = sorted(set(vocabulary))
    if not vocabulary:
        raise ValueError("nonsense_headlines needs a non-empty vocabulary")
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    rows: list[tuple[str, str]] = []
    for i in range(n):
        kind = ("words", "digits", "letters", "sports")[i % 4]
        if kind == "words":
            text = " ".join(rng.choice(vocabulary, rng.integers(3, 11)))
        elif kind == "digits":
            text = " ".join(str(rng.integers(0, 10 ** rng.integers(1, 7))) for _ in range(rng.integers(1, 7)))
        elif kind == "letters":
            text = " ".join("".join(rng.choice(letters, rng.integers(2, 10)))
                            for _ in range(rng.integers(2, 9)))
        else:
            home, away = rng.choice(len(_TEAMS), 2, replace=False)
            if rng.random() < 0.5:
                text = f"{_TEAMS[home]} {rng.integers(0, 6)}-{rng.integers(0, 6)} {_TEAMS[away]}"
            else:
                text = f"{_TEAMS[home]} {rng.integers(80, 131)}, {_TEAMS[away]} {rng.integers(80, 131)}"
        rows.append((text, kind))
    return pd.DataFrame(rows, columns=["headline", "kind"])


def _words(texts: Sequence[str]) -> list[str]:
    """Lowercase alphabetic words of the texts (the nonsense generator's vocabulary)."""
    return sorted({w for t in texts for w in t.lower().split() if w.isalpha()})


def source_metrics(labels: np.ndarray, proba: np.ndarray, threshold: float,
                   flagged: np.ndarray | None = None) -> dict:
    """classification_metrics plus ECE, the share of news (label 0) flagged, and the share of
    probabilities at exactly 0 or 1. `flagged`: the model's own labels (default: P >= threshold)."""
    labels, proba = np.asarray(labels), np.asarray(proba, dtype="float64")
    flagged = proba >= threshold if flagged is None else np.asarray(flagged, dtype=bool)
    news = labels == 0
    return {**classification_metrics(labels, proba, threshold, flagged.astype(int)),
            "ece": expected_calibration_error(labels, proba, ECE_BINS),
            "news_rows": int(news.sum()),
            "news_flagged": float(flagged[news].mean()) if news.any() else None,
            "extreme_proba": float(((proba == 0) | (proba == 1)).mean())}


def _labels(model_dirs: Sequence[Path]) -> list[str]:
    """Row names: "this model" for one model; the folder names (made unique) for several."""
    if len(model_dirs) == 1:
        return [MODEL]
    names = [d.name for d in model_dirs]
    return [n if names.count(n) == 1 else str(d) for n, d in zip(names, model_dirs, strict=True)]


def _median(rows: list[dict]) -> dict:
    """Per-measure median over several models' metrics (numbers, and per-site shares)."""
    out: dict = {}
    for key, value in rows[0].items():
        values = [r[key] for r in rows]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and None not in values:
            out[key] = float(np.median(values))
        elif isinstance(value, dict) and all(isinstance(v, float) for v in value.values()):
            out[key] = {k: float(np.median([r[key][k] for r in rows])) for k in value}
        elif value is None:
            out[key] = None
    return out


def evaluate_sources(
    model_dirs: str | os.PathLike | Sequence[str | os.PathLike],
    extra: Sequence[str | os.PathLike] = (),
    *,
    data_dir: str | os.PathLike | None = None,
    downs: str | os.PathLike | None = None,
    reports: str | os.PathLike = "reports",
    nonsense: int = 1000,
    seed: int = 0,
    user: str | None = None,
) -> dict:
    """Score the model(s) in `model_dirs` and a TF-IDF baseline (fitted here on the corpus train
    split, threshold chosen on valid) on the corpus test split, downs2014 (`downs`, default
    DATA_DIR/downs2014.csv), each CSV in `extra` and generated nonsense; write
    reports/cross_source.{md,json} and reports/cross_source_reliability.png. Several models
    (e.g. one per seed) get a row each and a row of their medians. Returns the results."""
    from .detector import ClickbaitDetector, best_threshold

    started = time.perf_counter()
    dirs = [Path(model_dirs)] if isinstance(model_dirs, (str, os.PathLike)) else [Path(d) for d in model_dirs]
    if not dirs:
        raise ValueError("evaluate_sources needs at least one model directory")
    data_dir = Path(data_dir or DEFAULT_DATA_DIR)
    train_x, train_y = load_split("train", data_dir)
    valid_x, valid_y = load_split("valid", data_dir)
    test_x, test_y = load_split("test", data_dir)
    sets: dict[str, pd.DataFrame] = {
        "corpus test": pd.DataFrame({"headline": test_x, "label": test_y})}
    downs = Path(downs) if downs else data_dir / DOWNS
    for path in ([downs] if downs.is_file() else []) + [Path(p) for p in extra]:
        frame = read_labelled(path)
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, sep="\t" if ".tsv" in path.name else ",")
        if "site" in raw.columns:  # downs2014: which site each row is from
            frame["site"] = raw["site"].to_numpy()
        name = path.name.split(".")[0]
        sets[name if name not in sets else str(path)] = frame
    gen = nonsense_headlines(_words(train_x), nonsense, seed)
    labels_ = _labels(dirs)
    detectors = {label: ClickbaitDetector.load(d, user=user) for label, d in zip(labels_, dirs, strict=True)}
    baseline = tfidf_baseline(train_x, train_y)
    thresholds = {label: float(det.threshold_) for label, det in detectors.items()}
    thresholds[BASELINE] = best_threshold(baseline.predict_proba(valid_x)[:, 1], valid_y)

    def probas(texts: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(P(clickbait), label) per model: a detector's labels are its own `predict` (text that
        is not a headline is never clickbait), the baseline's are P >= its threshold."""
        out = {}
        for label, det in detectors.items():
            a = det.assess(texts)
            out[label] = (a["clickbait_probability"].to_numpy(), a["clickbait"].to_numpy() == 1)
        p = baseline.predict_proba(texts)[:, 1]
        return {**out, BASELINE: (p, p >= thresholds[BASELINE])}

    median = f"median of {len(dirs)}" if len(dirs) > 1 else None
    results: dict = {"models": [str(d) for d in dirs], "user": user, "thresholds": thresholds,
                     "ece_bins": ECE_BINS, "sets": {}}
    curves: dict = {}
    for name, frame in sets.items():
        texts, labels = frame["headline"].tolist(), frame["label"].to_numpy()
        out = {}
        for model, (proba, flags) in probas(texts).items():
            m = source_metrics(labels, proba, thresholds[model], flags)
            if "site" in frame.columns:
                m["flagged_by_site"] = {site: float(flags[(frame["site"] == site).to_numpy()].mean())
                                        for site in sorted(frame["site"].unique())}
            out[model] = m
            curves.setdefault(name, {})[model] = (labels, proba)
        if median:
            out = {**{k: out[k] for k in labels_}, median: _median([out[k] for k in labels_]),
                   BASELINE: out[BASELINE]}
        results["sets"][name] = out

    flagged_by: dict = {}
    for model, (proba, flagged) in probas(gen["headline"].tolist()).items():
        flagged_by[model] = {
            "flagged": float(flagged.mean()),
            "by_kind": {k: float(flagged[(gen["kind"] == k).to_numpy()].mean())
                        for k in gen["kind"].unique()},
            "median_proba": float(np.median(proba))}
    if median:
        flagged_by = {**{k: flagged_by[k] for k in labels_},
                      median: _median([flagged_by[k] for k in labels_]), BASELINE: flagged_by[BASELINE]}
    results["nonsense"] = {"rows": len(gen), "seed": seed, "kinds": gen["kind"].value_counts().to_dict(),
                           "by_model": flagged_by,
                           "examples": gen.groupby("kind").head(2)["headline"].tolist()}

    reports = Path(reports)
    first = labels_[0]
    plot_reliability({f"{model}, {name}": curves[name][model] for name in list(curves)[:2]
                      for model in (first, BASELINE)},
                     reports / "cross_source_reliability.png",
                     f"Reliability: {dirs[0].name} and the TF-IDF baseline")
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["when"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    write_json(results, reports / "cross_source.json")
    write_file(reports / "cross_source.md", markdown(results))
    return results


def _f(value, spec: str = ".4f") -> str:
    return "n/a" if value is None else format(value, spec)


def markdown(results: dict) -> str:
    """The report as a Markdown page: one table of labelled sets, one of generated nonsense."""
    th = results["thresholds"]
    models = ", ".join(f"`{d}` (threshold {t:.3f})" for d, t in
                       zip(results["models"], [v for k, v in th.items() if k != BASELINE], strict=True))
    lines = [
        "# Cross-source report", "",
        f"Model{'s' if len(results['models']) > 1 else ''} {models}"
        + (f", user {results['user']}" if results.get("user") else "")
        + f"; {BASELINE}: lowercased TF-IDF word 1-2 + char_wb 2-5 grams, sublinear tf, min_df=2, "
        f"LogisticRegression(C=10), fitted in the same run on the corpus train split, threshold "
        f"{th[BASELINE]:.3f} chosen on the corpus valid split. ECE: {results['ece_bins']} "
        "equal-width bins. News flagged: share of label-0 rows scored as clickbait. "
        f"Written {results['when']} ({results['seconds']:.0f} s).", "",
        "| data | rows | model | accuracy | ROC-AUC | F1 | ECE | news flagged | P = 0 or 1 |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for name, out in results["sets"].items():
        for model, m in out.items():
            lines.append(f"| {name} | {m['rows']:,.0f} | {model} | {_f(m['accuracy'])} | "
                         f"{_f(m['roc_auc'])} | {_f(m['f1'])} | {_f(m['ece'])} | "
                         f"{_f(m['news_flagged'], '.2%')} | {_f(m['extreme_proba'], '.1%')} |")
    for name, out in results["sets"].items():
        first = next(iter(out.values()))
        if "flagged_by_site" not in first:
            continue
        lines += ["", f"Share flagged by site, {name}:", "",
                  "| site | " + " | ".join(out) + " |", "|---|" + "---:|" * len(out)]
        for site in first["flagged_by_site"]:
            lines.append(f"| {site} | " + " | ".join(
                f"{m['flagged_by_site'][site]:.2%}" for m in out.values()) + " |")
    ns = results["nonsense"]
    kinds = list(ns["kinds"])
    lines += ["", f"Generated unrelated text ({ns['rows']:,} rows, seed {ns['seed']}: random "
              "vocabulary word strings, digit strings, letter salad, sports results), share flagged "
              "as clickbait:", "",
              "| model | all | " + " | ".join(kinds) + " |", "|---|---:|" + "---:|" * len(kinds)]
    for model, m in ns["by_model"].items():
        lines.append(f"| {model} | {m['flagged']:.2%} | " + " | ".join(
            f"{m['by_kind'][k]:.2%}" for k in kinds) + " |")
    lines += ["", "Examples: " + "; ".join(f"`{e}`" for e in ns["examples"]), "",
              "Reliability diagram: `cross_source_reliability.png`.", ""]
    return "\n".join(lines)
