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
from .files import check_output, write_file
from .reports import classification_metrics, expected_calibration_error, plot_reliability, write_json

DOWNS = "downs2014.csv"
ECE_BINS = 15
BASELINE = "TF-IDF + LR"
MODEL = "this model"
REPORT_FILES = ("cross_source.json", "cross_source.md", "cross_source_reliability.png")

_CODE = (
    "for (int i = 0; i < {n}; i++) {{ total += xs[i]; }}",
    "def {w}(self, x): return x * {n}",
    "if err != nil {{ return nil, fmt.Errorf(\"{w}: %w\", err) }}",
    "SELECT id, {w} FROM orders WHERE total > {n} ORDER BY id;",
    "const {w} = require('./{w}');",
    "x = np.zeros(({n}, {m}), dtype=np.float32)",
    "#include <{w}.h>",
    "git commit -m \"fix {w}\" && git push origin main",
)
_LOG = (
    "2019-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d},{ms:03d} INFO [{w}] started in {n} ms",
    "{ip} - - [{d:02d}/Mar/2018:{h:02d}:{mi:02d}:{s:02d} +0000] \"GET /{w} HTTP/1.1\" {code} {n}",
    "ERROR {w}.service: connection refused (errno={m}) after {n} retries",
    "kernel: [{n}.{ms:03d}] usb {m}-1: new high-speed USB device number {d}",
    "WARN  pid={n} {w}: disk usage at {m}%",
)
_URL = (
    "https://www.{w}.com/{v}/{n}?ref={v}&utm_source=feed",
    "http://{w}.org/index.php?id={n}&page={m}",
    "www.{w}-{v}.net/{n}/{m}.html",
    "ftp://files.{w}.io/pub/{v}-{n}.tar.gz",
)
_PRODUCT = (
    "SKU {L}{L}-{n}-{L}{m}", "P/N {n}-{m}-{L}{L}", "{L}{L}{L}{n} rev {L}", "EAN {ean}",
    "Model {L}{L}-{n}{L} {m}W", "ISBN 978-{m}-{n}-{d}",
)
_FOREIGN = (
    # German, French, Spanish, Italian, Dutch, Portuguese: common words, randomly ordered
    "der die und nicht mit sich auf für ist im dem den eine auch nach wird bei einer über",
    "le la les des une est pour qui dans sur pas plus avec sont mais comme nous leur tout",
    "el los las una por con para como pero sus más este entre cuando muy sin sobre también",
    "il della che non per una sono alla anche nel come più questo dalla degli loro molto",
    "het een van niet zijn dat met voor ook maar bij door naar wordt nog werd onder tegen",
    "não uma com por mais como mas foi ao ele das tem seu sua ou ser quando muito nos já",
)
_LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
          "ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco "
          "laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate")
_TOKENS = ("cache", "parser", "billing", "auth", "worker", "queue", "render", "sync", "metrics",
           "upload", "session", "index", "router", "backup", "scheduler", "gateway")
UNRELATED_KINDS = ("code", "log", "url", "product code", "other language", "lorem ipsum")


def unrelated_text(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    """`n` lines of generated text that is no English headline, in six equal kinds (column
    `kind`): source code, log lines, URLs, product codes, common words of six other languages,
    and lorem ipsum. None of these kinds is among the generated non-headlines the headline check
    is fitted against (`clickbait.headline.non_headlines`: vocabulary word strings, numbers, letter
    salad), and no setting was chosen on them. Fixed `seed`: the same rows every run."""
    rng = np.random.default_rng(seed)
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    lorem = _LOREM.split()

    def fill(template: str) -> str:
        values = {"n": int(rng.integers(2, 10_000)), "m": int(rng.integers(1, 100)),
                  "d": int(rng.integers(1, 29)), "mo": int(rng.integers(1, 13)),
                  "h": int(rng.integers(0, 24)), "mi": int(rng.integers(0, 60)),
                  "s": int(rng.integers(0, 60)), "ms": int(rng.integers(0, 1000)),
                  "code": int(rng.choice([200, 301, 404, 500])),
                  "w": str(rng.choice(_TOKENS)), "v": str(rng.choice(_TOKENS)),
                  "ip": ".".join(str(int(b)) for b in rng.integers(1, 255, 4)),
                  "ean": "".join(str(int(c)) for c in rng.integers(0, 10, 13))}
        while "{L}" in template:  # each {L} its own random capital letter
            template = template.replace("{L}", letters[int(rng.integers(len(letters)))], 1)
        return template.format(**values)

    rows: list[tuple[str, str]] = []
    for i in range(n):
        kind = UNRELATED_KINDS[i % len(UNRELATED_KINDS)]
        if kind == "code":
            text = fill(str(rng.choice(_CODE)))
        elif kind == "log":
            text = fill(str(rng.choice(_LOG)))
        elif kind == "url":
            text = fill(str(rng.choice(_URL)))
        elif kind == "product code":
            text = fill(str(rng.choice(_PRODUCT)))
        elif kind == "other language":
            words = str(rng.choice(_FOREIGN)).split()
            text = " ".join(rng.choice(words, int(rng.integers(5, 13))))
        else:
            start = int(rng.integers(0, len(lorem) - 12))
            text = " ".join(lorem[start:start + int(rng.integers(5, 13))])
        rows.append((text, kind))
    return pd.DataFrame(rows, columns=["headline", "kind"])


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
    reports: str | os.PathLike = "build/reports",
    nonsense: int = 1000,
    seed: int = 0,
    user: str | None = None,
    force: bool = False,
) -> dict:
    """Score the model(s) in `model_dirs` and a TF-IDF baseline (fitted here on the corpus train
    split, threshold chosen on valid) on the corpus test split, downs2014 (`downs`, default
    DATA_DIR/downs2014.csv), each CSV in `extra` and generated nonsense; write
    REPORTS/cross_source.{md,json} and REPORTS/cross_source_reliability.png (default
    build/reports; existing files are replaced only with `force`, checked before any work).
    Several models (e.g. one per seed) get a row each and a row of their medians. Returns the
    results."""
    from .detector import ClickbaitDetector, best_threshold

    for name in REPORT_FILES:
        check_output(Path(reports) / name, force)

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
    gen = unrelated_text(nonsense, seed)
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
    counts = gen["kind"].value_counts()
    results["nonsense"] = {"rows": len(gen), "seed": seed, "generator": "unrelated_text",
                           "kinds": {k: int(counts[k]) for k in UNRELATED_KINDS if k in counts},
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
    write_json(results, reports / "cross_source.json")  # write_file replaces: checked above
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
        + ("downs2014 is a development set, not an unseen source: the vote's k and the headline "
           "check's cut were chosen on it (`make bench-vote`). " if "downs2014" in results["sets"] else "")
        + f"Written {results['when']} ({results['seconds']:.0f} s).", "",
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
    lines += ["", f"Generated unrelated text ({ns['rows']:,} rows, seed {ns['seed']}: source "
              "code, log lines, URLs, product codes, six other languages, lorem ipsum; no kind the "
              "headline check is fitted against, none used to choose a setting), share flagged as "
              "clickbait:", "",
              "| model | all | " + " | ".join(kinds) + " |", "|---|---:|" + "---:|" * len(kinds)]
    for model, m in ns["by_model"].items():
        lines.append(f"| {model} | {m['flagged']:.2%} | " + " | ".join(
            f"{m['by_kind'][k]:.2%}" for k in kinds) + " |")
    lines += ["", "Examples: " + "; ".join(f"`{e}`" for e in ns["examples"]), "",
              "Reliability diagram: `cross_source_reliability.png`.", ""]
    return "\n".join(lines)
