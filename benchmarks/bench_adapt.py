"""Measured adaptation: how fast does the nearest-case classifier learn a user's own idea of
clickbait by retaining their labelled headlines, against refitting TF-IDF + logistic regression
and against retraining the network?

    nice .venv/bin/python benchmarks/bench_adapt.py [--model models/default] [--no-retrain]

Simulated users (rules applied to the raw headline, on top of the corpus labels):
  (a) `no-lists`: number-led list headlines (`^\\d+\\s`, "17 Things ...") are NOT clickbait -> 0;
  (b) `questions`: question headlines (first word what/why/how/who/when/where/which/is/are/can/
      do/does/did/will/would/should, or a "?") ARE clickbait -> 1.
Pool and evaluation: the user's retained headlines are drawn uniformly, without replacement and
nested (the first 50 of the 200, ...), from the train-split headlines their rule matches (the
affected subset), labelled by the user; evaluation is on the whole test split relabelled by the
rule (never retained) and on its affected subset, where adaptation shows.
Methods at N = 0, 50, 200, 1000:
  retain-base:  detector.retain into the shared case base (user cases weigh like any other);
  overlay:      the same cases in a user overlay (user_weight 3, clickbait/overlay.py);
  tfidf:        TF-IDF word 1-2 grams + logistic regression refit on the train split in which
                the N retained headlines carry the user's labels (train headlines are already in
                the case base, so for both methods the user's label competes with the corpus one);
  retrain:      the network retrained with the default settings on train + valid fully
                relabelled by the rule (the upper reference; one run per user).
Gap recovered at N = 200: (acc_200 - acc_0) / (acc_retrain - acc_0), on the affected subset.
Writes reports/adaptation.{json,png} and benchmarks/results/adapt.json.

A new source (`--source-only`, also part of the full run; `adapt_to_source()` on any saved model
dir): downs2014.csv is split stratified (seed 0) into an adaptation pool of 1,000 rows and a judge
set of the other 5,170. The pool is ordered so that every prefix keeps the class balance (rows
sorted by their quantile rank inside their class, after a seeded shuffle), and its first N = 0,
100, 300, 1,000 rows are (1) retained into the shared case base (`det.retain`, then forgotten
again), (2) retained in a fresh user overlay (`det.attach_user`, never saved), against (3) the
TF-IDF baseline (clickbait.baseline) refitted on corpus train + those N rows, threshold on
corpus valid. Measured on the judge rows: ROC-AUC (the target: retained >= refit at N = 1,000),
accuracy at each model's threshold, and the share of NYT (label 0) rows flagged. Writes
reports/adapt_source.{json,png} and benchmarks/results/adapt_source.json.

Case-base maintenance (`--condense`, also part of the full run): Wilson editing + condensing of
the default case base (clickbait/maintenance.py): cases, test accuracy and scoring speed (rows/s
of predict_proba over the test split repeated to 102,400 rows; and of the vote alone on
precomputed embeddings) before and after.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import platform
import re
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clickbait.data import load_split  # noqa: E402
from clickbait.detector import ClickbaitDetector  # noqa: E402
from clickbait.files import write_file  # noqa: E402
from clickbait.overlay import USER_WEIGHT, UserOverlay  # noqa: E402

NS = (0, 50, 200, 1000)
_LIST = re.compile(r"^\d+\s")
_QUESTION = re.compile(r"^(what|why|how|who|when|where|which|is|are|can|do|does|did|will|would|should)\b",
                       re.IGNORECASE)


def rule_no_lists(texts: list[str], labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hit = np.array([bool(_LIST.match(t)) for t in texts])
    return np.where(hit, 0, labels), hit


def rule_questions(texts: list[str], labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hit = np.array([bool(_QUESTION.match(t)) or "?" in t for t in texts])
    return np.where(hit, 1, labels), hit


USERS = {"no-lists": ("number-led list headlines are not clickbait", rule_no_lists),
         "questions": ("question headlines are clickbait", rule_questions)}


def agreement(pred: np.ndarray, truth: np.ndarray, affected: np.ndarray) -> dict:
    ok = pred == truth
    return {"all": float(ok.mean()), "affected": float(ok[affected].mean())}


def tfidf_accuracy(train_x, train_y, test_x, test_y, affected) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2,
                                          lowercase=True),
                          LogisticRegression(C=10, max_iter=2000))
    model.fit(train_x, train_y)
    return agreement(model.predict(test_x), test_y, affected)


def measure_condensing(det: ClickbaitDetector, test_x: list[str], test_y: np.ndarray) -> dict:
    from clickbait.maintenance import condense_detector

    reduced, report = condense_detector(det)
    rows = test_x * 32
    emb, ids = det.transform(test_x), det._ids(test_x)
    out = {"maintenance": report}
    for name, d in (("before", det), ("after", reduced)):
        acc = float(((d._decide(ids, emb).proba >= d.threshold_) == test_y).mean())
        big = np.tile(emb, (32, 1))
        t0 = time.perf_counter()
        d._decide(np.tile(ids, (32, 1)), big)
        vote_rate = len(big) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        d.predict_proba(rows)
        rate = len(rows) / (time.perf_counter() - t0)
        out[name] = {"cases": len(d.cases_), "test_accuracy": acc,
                     "predict_proba_rows_per_s": round(rate), "vote_only_rows_per_s": round(vote_rate)}
        print(f"condensing {name}: {len(d.cases_):,} cases, test accuracy {acc:.4f}, "
              f"predict_proba {rate:,.0f} rows/s, vote alone {vote_rate:,.0f} rows/s", flush=True)
    out["accuracy_change_points"] = round((out["after"]["test_accuracy"]
                                           - out["before"]["test_accuracy"]) * 100, 3)
    out["reduction"] = round(out["before"]["cases"] / out["after"]["cases"], 1)
    return out


SOURCE_NS = (0, 100, 300, 1000)
SOURCE_USER = "bench-adapt-source"
SOURCE_RESULTS = (ROOT / "benchmarks" / "results" / "adapt_source.json",)


def balanced_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """A permutation of positions whose every prefix keeps the classes' shares (each row's
    quantile rank inside its class, after a seeded shuffle), so nested N-row samples are stratified."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(labels))
    rank = np.empty(len(labels))
    for c in np.unique(labels):
        rows = perm[labels[perm] == c]
        rank[rows] = (np.arange(len(rows)) + 0.5) / len(rows)
    return perm[np.argsort(rank[perm], kind="stable")]


def adapt_to_source(model: str | os.PathLike, data: str | os.PathLike | None = None, *,
                    data_dir: str | os.PathLike | None = None, pool_size: int = 1000,
                    ns: tuple[int, ...] = SOURCE_NS, seed: int = 0,
                    baseline_cache: dict | None = None) -> dict:
    """Adaptation to a new source without retraining (see the module docstring): the ROC-AUC on
    `data`'s judge rows after retaining N of its pool rows, against the baseline refitted on
    corpus train + the same N rows. Uses only the public detector API. `baseline_cache` (a dict)
    lets runs on several models with the same data and seed fit the baseline once."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from clickbait.baseline import tfidf_baseline
    from clickbait.data import DEFAULT_DATA_DIR, read_labelled
    from clickbait.detector import best_threshold

    path = Path(data) if data else Path(data_dir or DEFAULT_DATA_DIR) / "downs2014.csv"
    frame = read_labelled(path)
    texts, labels = frame["headline"].tolist(), frame["label"].to_numpy()
    if max(ns) > pool_size or pool_size >= len(texts):
        raise ValueError(f"{path}: {len(texts):,} rows cannot give a pool of {pool_size:,} "
                         f"and retain up to {max(ns):,} of it with rows left to judge")
    pool, judge = train_test_split(np.arange(len(texts)), train_size=pool_size, stratify=labels,
                                   random_state=seed)
    pool = pool[balanced_order(labels[pool], seed)]
    judge_x, judge_y = [texts[i] for i in judge], labels[judge]
    train_x, train_y = load_split("train", data_dir)
    valid_x, valid_y = load_split("valid", data_dir)
    det = ClickbaitDetector.load(model)

    def measure(proba: np.ndarray, threshold: float) -> dict:
        flagged = proba >= threshold
        return {"roc_auc": float(roc_auc_score(judge_y, proba)),
                "accuracy": float((flagged == judge_y).mean()),
                "news_flagged": float(flagged[judge_y == 0].mean())}

    curves: dict[str, dict] = {"retain": {}, "overlay": {}, "tfidf_refit": {}}
    seconds: dict[str, dict] = {"retain": {}, "tfidf_refit": {}}
    source = f"adapt:{path.name.split('.')[0]}"
    for n in ns:
        x, y = [texts[i] for i in pool[:n]], labels[pool[:n]]
        t0 = time.perf_counter()
        ids = det.retain(x, y, source=source) if n else []
        curves["retain"][n] = measure(det.predict_proba(judge_x)[:, 1], det.threshold_)
        seconds["retain"][n] = round(time.perf_counter() - t0, 2)
        if n:
            det.forget(case_ids=ids)
        overlay = det.attach_user(SOURCE_USER)
        if len(overlay.cases):
            raise RuntimeError(f"{model}: user {SOURCE_USER!r} already has cases; this benchmark "
                               "needs that overlay name free")
        if n:
            det.retain(x, y)
        curves["overlay"][n] = measure(det.predict_proba(judge_x)[:, 1], det.threshold_)
        det.detach_user()
        t0 = time.perf_counter()
        key = (str(path), str(data_dir), pool_size, seed, n)
        if baseline_cache is None or key not in baseline_cache:
            base = tfidf_baseline(train_x + x, np.concatenate([train_y, y]))
            t = best_threshold(base.predict_proba(valid_x)[:, 1], valid_y)
            fitted = {**measure(base.predict_proba(judge_x)[:, 1], t), "threshold": t}
            if baseline_cache is not None:
                baseline_cache[key] = fitted
        curves["tfidf_refit"][n] = dict(baseline_cache[key] if baseline_cache is not None else fitted)
        seconds["tfidf_refit"][n] = round(time.perf_counter() - t0, 1)
        print(f"N={n:5d} ROC-AUC retain {curves['retain'][n]['roc_auc']:.4f} "
              f"overlay {curves['overlay'][n]['roc_auc']:.4f} "
              f"TF-IDF refit {curves['tfidf_refit'][n]['roc_auc']:.4f}", flush=True)
    top = max(ns)
    return {
        "data": str(path), "model": str(model), "seed": seed, "ns": list(ns),
        "pool_rows": int(pool_size), "judge_rows": len(judge), "judge_clickbait": int(judge_y.sum()),
        "cases_before": len(det.cases_), "threshold": float(det.threshold_),
        "curves": curves, "seconds": seconds,
        "target": _target(curves, top),
        "design": "stratified pool/judge split of the new source; nested class-balanced prefixes "
                  "of the pool retained without retraining vs TF-IDF + LR refitted on corpus "
                  "train + the same rows; ROC-AUC on the judge rows",
    }


def _target(curves: dict, n: int) -> dict:
    """The adaptation target at N = n: retained cases reach the refitted baseline's AUC."""
    auc = {method: curves[method][n]["roc_auc"] for method in curves}
    return {"n": n, "retain_auc": auc["retain"], "overlay_auc": auc["overlay"],
            "tfidf_refit_auc": auc["tfidf_refit"],
            "met_by_retain": auc["retain"] >= auc["tfidf_refit"],
            "met_by_overlay": auc["overlay"] >= auc["tfidf_refit"]}


def plot_source(results: dict, path: Path) -> Path:
    """The adaptation curve: judge-set ROC-AUC and NYT rows flagged against N (Figure API)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.2))
    axes = fig.subplots(1, 2)
    ns = results["ns"]
    xpos = np.arange(len(ns))
    names = {"retain": ("o-", "retained into the case base"),
             "overlay": ("s--", "retained in a user overlay"),
             "tfidf_refit": ("^:", "TF-IDF + LR refit on corpus + N")}
    for ax, key, label in ((axes[0], "roc_auc", "ROC-AUC on the judge rows"),
                           (axes[1], "news_flagged", "share of NYT (label 0) rows flagged")):
        for method, (style, name) in names.items():
            ax.plot(xpos, [results["curves"][method][n][key] for n in ns], style, label=name)
        ax.set_xticks(xpos, [str(n) for n in ns])
        ax.set_xlabel(f"rows of {Path(results['data']).name} retained / added (N)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Adapting {Path(results['model']).name} to a new source "
                 f"({results['judge_rows']:,} judge rows, seed {results['seed']})", fontsize=10)
    fig.tight_layout()
    return write_file(path, lambda f: fig.savefig(f, dpi=110, format="png"))


def run_source(models: list[str], reports: Path, seed: int, also: tuple[Path, ...] = (),
               **options) -> dict:
    """adapt_to_source on each model (e.g. one per seed; `options` go to it); with several, the
    curve and the target are the per-point medians and each run is kept under "runs". Writes
    REPORTS/adapt_source.{json,png} and the JSON to each path in `also`."""
    cache: dict = {}
    runs = [adapt_to_source(m, seed=seed, baseline_cache=cache, **options) for m in models]
    if len(runs) == 1:
        results = runs[0]
    else:
        ns, methods = runs[0]["ns"], runs[0]["curves"]
        curves = {method: {n: {key: float(np.median([r["curves"][method][n][key] for r in runs]))
                               for key in ("roc_auc", "accuracy", "news_flagged")} for n in ns}
                  for method in methods}
        results = {**{k: v for k, v in runs[0].items() if k not in ("curves", "seconds", "model",
                                                                      "cases_before", "threshold")},
                   "model": f"median of {len(runs)}: " + ", ".join(Path(m).name for m in models),
                   "models": models, "curves": curves, "target": _target(curves, max(ns)),
                   "runs": runs}
    results["command"] = shlex.join([Path(sys.executable).name, *sys.argv])
    results["when"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    _write(results, [reports / "adapt_source.json", *also])
    plot_source(results, reports / "adapt_source.png")
    t = results["target"]
    print(f"N={t['n']}: retained {t['retain_auc']:.4f}, overlay {t['overlay_auc']:.4f}, TF-IDF refit "
          f"{t['tfidf_refit_auc']:.4f}; wrote {reports / 'adapt_source.json'}, "
          f"{reports / 'adapt_source.png'}", flush=True)
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--no-retrain", action="store_true", help="skip the retraining reference")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reports", default=str(ROOT / "reports"))
    ap.add_argument("--condense", action="store_true",
                    help="only the case-base maintenance part, merged into the existing results")
    ap.add_argument("--source-only", action="store_true",
                    help="only the new-source adaptation (downs2014), ~1 min")
    ap.add_argument("--source-models", nargs="+", default=None, metavar="MODEL_DIR",
                    help="new-source adaptation on these models (e.g. one per seed; their median "
                         "is the curve); default: --model")
    ap.add_argument("--replot", action="store_true",
                    help="only redraw REPORTS/adaptation.png from REPORTS/adaptation.json")
    a = ap.parse_args()
    if a.replot:
        reports = Path(a.reports)
        plot(json.loads((reports / "adaptation.json").read_text()), reports / "adaptation.png")
        return 0
    if a.source_only:
        run_source(a.source_models or [a.model], Path(a.reports), a.seed, SOURCE_RESULTS)
        return 0

    det = ClickbaitDetector.load(a.model)
    base_cases = det.cases_
    train_x, train_y = load_split("train")
    valid_x, valid_y = load_split("valid")
    test_x, test_y = load_split("test")
    if a.condense:
        path = ROOT / "benchmarks" / "results" / "adapt.json"
        results = json.loads(path.read_text()) if path.is_file() else {}
        results["condensing"] = measure_condensing(det, test_x, test_y)
        results["condensing"]["command"] = shlex.join([Path(sys.executable).name, *sys.argv])
        _write(results, [path, Path(a.reports) / "adaptation.json"])
        return 0
    test_emb = det.transform(test_x)  # retaining cases never changes a query's embedding
    test_ids = det._ids(test_x)
    det.transform(train_x[:1000])  # warm-up, so retain timings are steady-state

    def predict_cbr() -> np.ndarray:
        return (det._decide(test_ids, test_emb).proba >= det.threshold_).astype(int)

    # Diagnosis: how spread out is the neighbourhood the vote sees?
    sims, base_pos = base_cases.kneighbors(test_emb, det.k)
    results: dict = {"users": {}, "neighbour_similarity_median": {
        "nearest": float(np.median(sims[:, 0])), f"k={det.k}th": float(np.median(sims[:, -1]))}}
    case_texts = base_cases.meta["text"].tolist()
    rng = np.random.default_rng(a.seed)
    for user, (description, rule) in USERS.items():
        print(f"== user {user}: {description}", flush=True)
        user_train_y, train_hit = rule(train_x, train_y)
        user_test_y, test_hit = rule(test_x, test_y)
        pool = rng.permutation(np.flatnonzero(train_hit))[:max(NS)]
        row: dict = {"description": description, "pool_size": int(train_hit.sum()),
                     "pool_changed_labels": int((user_train_y != train_y)[train_hit].sum()),
                     "test_rows": len(test_x), "test_affected": int(test_hit.sum()),
                     "test_affected_changed": int((user_test_y != test_y)[test_hit].sum()),
                     "corpus_labels_agreement": agreement(test_y, user_test_y, test_hit),
                     "retain_base": {}, "overlay": {}, "tfidf": {}, "retain_seconds": {}}
        # Does the embedding keep the user's distinction? Share of rule-matching cases among the
        # k nearest of rule-matching test headlines, against their share of the case base.
        case_hit = rule(case_texts, base_cases.labels.astype("int64"))[1]
        row["rule_share_among_neighbours"] = {
            "affected_queries": float(case_hit[base_pos[test_hit]].mean()),
            "case_base": float(case_hit.mean())}
        for n in NS:
            take = pool[:n]
            texts, labels = [train_x[i] for i in take], user_train_y[take]
            # (1) retain into the shared case base.
            det.cases_ = copy.deepcopy(base_cases)
            t0 = time.perf_counter()
            det.retain(texts, labels, source=f"user:{user}")
            det._decide(test_ids[:1], test_emb[:1])  # the next predict: includes the lazy index rebuild
            row["retain_seconds"][n] = round(time.perf_counter() - t0, 4)
            row["retain_base"][n] = agreement(predict_cbr(), user_test_y, test_hit)
            det.cases_ = base_cases
            # (2) the same cases in a user overlay.
            det.overlay_ = UserOverlay.new(user, det.dim, USER_WEIGHT)
            det.retain(texts, labels)
            row["overlay"][n] = agreement(predict_cbr(), user_test_y, test_hit)
            det.detach_user()
            # (3) TF-IDF + LR refit with the user's labels on those N train headlines.
            y = train_y.copy()
            y[take] = labels
            row["tfidf"][n] = tfidf_accuracy(train_x, y, test_x, user_test_y, test_hit)
            print(f"N={n:5d} retain {row['retain_base'][n]['affected']:.4f} "
                  f"overlay {row['overlay'][n]['affected']:.4f} tfidf {row['tfidf'][n]['affected']:.4f} "
                  f"(affected); retain took {row['retain_seconds'][n]:.3f} s", flush=True)
        if not a.no_retrain:
            t0 = time.perf_counter()
            params = {**det.get_params(), "verbose": 0}
            retrained = ClickbaitDetector(**params).fit(
                train_x, user_train_y, validation=(valid_x, rule(valid_x, valid_y)[0]))
            row["retrain"] = agreement(retrained.predict(test_x), user_test_y, test_hit)
            row["retrain_seconds"] = round(time.perf_counter() - t0, 1)
            print(f"retrain {row['retrain']['affected']:.4f} in {row['retrain_seconds']} s", flush=True)
            for method in ("retain_base", "overlay", "tfidf"):
                for part in ("affected", "all"):
                    gap = row["retrain"][part] - row[method][0][part]
                    row.setdefault("gap_recovered_at_200", {}).setdefault(method, {})[part] = (
                        round((row[method][200][part] - row[method][0][part]) / gap, 3)
                        if abs(gap) > 1e-9 else None)
        results["users"][user] = row

    # Retaining 1,000 headlines, timed on its own (steady state, default case base).
    det.cases_ = copy.deepcopy(base_cases)
    texts = train_x[:1000]
    t0 = time.perf_counter()
    det.retain(texts, train_y[:1000], source="timing")
    det._decide(test_ids[:1], test_emb[:1])
    results["retain_1000_seconds"] = round(time.perf_counter() - t0, 4)
    det.cases_ = base_cases
    results.update({
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "note": "2 cores shared with other jobs: timings are noisy"},
        "model": str(a.model), "base_cases": len(base_cases), "user_weight": USER_WEIGHT,
        "ns": list(NS), "seed": a.seed,
        "design": "retained: uniform nested sample of the train headlines the user's rule matches, "
                  "with the user's labels; evaluated on the test split relabelled by the rule",
    })
    results["condensing"] = measure_condensing(det, test_x, test_y)
    reports = Path(a.reports)
    run_source(a.source_models or [a.model], reports, a.seed, SOURCE_RESULTS)
    _write(results, [reports / "adaptation.json", ROOT / "benchmarks" / "results" / "adapt.json"])
    plot(results, reports / "adaptation.png")
    print(f"retaining 1,000 cases: {results['retain_1000_seconds']:.3f} s; "
          f"wrote {reports / 'adaptation.json'}, {reports / 'adaptation.png'}")
    return 0


def _write(results: dict, paths: list[Path]) -> None:
    from clickbait.reports import write_json

    for path in paths:
        write_json(results, path)


def plot(results: dict, path: Path) -> None:
    """Agreement against N, one column per user, affected rows above and the whole split below.
    Every panel has the same y scale (0 to 1), so a flat line looks flat and a gap of 0.01 looks
    small; N is on a symmetric-log axis at its true values (0, 50, 200, 1000 are not evenly
    spaced)."""
    from matplotlib.figure import Figure

    from clickbait.reports import _save

    users = results["users"]
    fig = Figure(figsize=(5.2 * len(users), 7.5))
    axes = fig.subplots(2, len(users), squeeze=False, sharey=True)
    xs = np.array(results["ns"])
    xpos = xs
    for col, (user, row) in enumerate(users.items()):
        for r, part in enumerate(("affected", "all")):
            ax = axes[r, col]
            lines = (("overlay", "o-", f"user overlay (weight {results['user_weight']:g})"),
                     ("retain_base", "s--", "retain into shared base"),
                     ("tfidf", "^:", "TF-IDF + LR refit"))
            for method, style, name in lines:
                by_n = {int(k): v for k, v in row[method].items()}  # JSON keys are strings
                ax.plot(xpos, [by_n[int(n)][part] for n in xs], style, label=name)
            if "retrain" in row:
                ax.axhline(row["retrain"][part], color="k", lw=1, ls="-.", label="network retrained")
            linthresh = max(1, int(xs[xs > 0].min()) if (xs > 0).any() else 1)
            ax.set_xscale("symlog", linthresh=linthresh)
            ax.set_xlim(-0.15 * linthresh, 1.3 * xs.max())
            ax.set_xticks(xpos, [str(n) for n in xs])
            ax.minorticks_off()
            ax.set_ylim(0, 1.02)
            ax.set_xlabel("user's labelled headlines retained (N, symmetric-log scale)")
            ax.set_ylabel("agreement with the user's labels")
            subset = (f"affected test headlines ({row['test_affected']})" if part == "affected"
                      else f"whole test split ({row['test_rows']})")
            ax.set_title(f"{user}: {row['description']}\n{subset}", fontsize=9)
            ax.grid(alpha=0.3)
            if r == 0 and col == 0:
                ax.legend(fontsize=8)
    _save(fig, path)


if __name__ == "__main__":
    sys.exit(main())
