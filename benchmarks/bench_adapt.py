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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--no-retrain", action="store_true", help="skip the retraining reference")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reports", default=str(ROOT / "reports"))
    ap.add_argument("--condense", action="store_true",
                    help="only the case-base maintenance part, merged into the existing results")
    a = ap.parse_args()

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
    _write(results, [reports / "adaptation.json", ROOT / "benchmarks" / "results" / "adapt.json"])
    plot(results, reports / "adaptation.png")
    print(f"retaining 1,000 cases: {results['retain_1000_seconds']:.3f} s; "
          f"wrote {reports / 'adaptation.json'}, {reports / 'adaptation.png'}")
    return 0


def _write(results: dict, paths: list[Path]) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(results, indent=2) + "\n")
        os.replace(tmp, path)


def plot(results: dict, path: Path) -> None:
    from clickbait.reports import _save, plt

    users = results["users"]
    fig, axes = plt.subplots(2, len(users), figsize=(5.2 * len(users), 7.5), squeeze=False)
    xs = np.array(results["ns"])
    xpos = np.arange(len(xs))
    for col, (user, row) in enumerate(users.items()):
        for r, part in enumerate(("affected", "all")):
            ax = axes[r, col]
            lines = (("overlay", "o-", f"user overlay (weight {results['user_weight']:g})"),
                     ("retain_base", "s--", "retain into shared base"),
                     ("tfidf", "^:", "TF-IDF + LR refit"))
            for method, style, name in lines:
                ax.plot(xpos, [row[method][n][part] for n in xs], style, label=name)
            if "retrain" in row:
                ax.axhline(row["retrain"][part], color="k", lw=1, ls="-.", label="network retrained")
            ax.set_xticks(xpos, [str(n) for n in xs])
            ax.set_xlabel("user's labelled headlines retained (N)")
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
