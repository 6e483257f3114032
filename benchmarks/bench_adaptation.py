"""Adaptation curves: N labelled rows of a new source, used four ways, against the TF-IDF
reference refitted in the same run; the corpus test split judged after each (collateral).

    nice .venv/bin/python benchmarks/bench_adaptation.py --models build/models/seed0 ... \\
        [--sources youtube downs2014 no-lists] [--ns 0 100 300 1000 3000] [--retrain-n 1000]

Sources (model i uses split seed i, so three models give three seeds):
  youtube   youtube2018.csv without its development channels (`data.development_channel`, a
            fixed third on which `make train` fits the adapter), split by channel: the channels
            of a seeded half are the pool, the rest are judged (no channel on both sides).
  downs2014 downs2014.csv, a stratified pool of 3,000 rows, the other rows judged. A development
            source: `make train` fits the adapter's weights on it, so its curve is not zero-shot.
  no-lists  a persona: number-led list headlines ("17 Things ...") are not clickbait. Pool: the
            train-split headlines the rule matches, with the persona's labels; judged: the test
            split relabelled by the rule, on the rows it matches (`affected`: agreement at the
            model's threshold; the whole split's agreement beside it).
Methods at each N (nested, class-balanced prefixes of the shuffled pool):
  retain    `det.retain(rows)` (instant; the cases count through vote.Adapter);
  learn     `det.learn(rows)` (fine-tune with replay, re-embed, refit the vote; timed);
  refit     TF-IDF + LR (clickbait.baseline) refitted on corpus train + the rows, threshold on
            corpus valid;
  retrain   the network trained from scratch on corpus train + the rows (only at --retrain-n).
Every method is also judged on the corpus test split afterwards: ROC-AUC and ECE (15 bins).
Writes benchmarks/results/adaptation.json and .md (medians over the models, and each model).
"""

from __future__ import annotations

import argparse
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
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.metrics import roc_auc_score  # noqa: E402

from clickbait.baseline import tfidf_baseline  # noqa: E402
from clickbait.data import (  # noqa: E402
    DEFAULT_DATA_DIR,
    development_channel,
    development_sources,
    load_split,
    read_labelled,
)
from clickbait.detector import ClickbaitDetector, best_threshold  # noqa: E402
from clickbait.model_card import adaptation_cell  # noqa: E402
from clickbait.reports import expected_calibration_error  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_adapt import balanced_order  # noqa: E402

_LIST = re.compile(r"^\d+\s")
RESULTS = ROOT / "benchmarks" / "results"


def source_split(name: str, seed: int, data_dir: Path, corpus: dict) -> dict:
    """pool (texts, labels, in retaining order), judge (texts, labels), and for a persona the
    judge rows it affects."""
    if name == "youtube":
        f = pd.read_csv(data_dir / "youtube2018.csv", keep_default_na=False, dtype={"headline": str})
        f = f[~f["channel"].map(development_channel).to_numpy(bool)]  # those chose the adapter
        channels = np.random.default_rng(seed).permutation(np.sort(f["channel"].unique()))
        in_pool = f["channel"].isin(channels[: len(channels) // 2]).to_numpy()
        pool, judge = f[in_pool], f[~in_pool]
        order = balanced_order(pool["label"].to_numpy(), seed)
        return {"pool": (pool["headline"].to_numpy()[order].tolist(), pool["label"].to_numpy()[order]),
                "judge": (judge["headline"].tolist(), judge["label"].to_numpy()), "affected": None}
    if name == "downs2014":
        f = read_labelled(data_dir / "downs2014.csv")
        order = balanced_order(f["label"].to_numpy(), seed)
        pool, judge = order[:3000], np.sort(order[3000:])
        x, y = f["headline"].tolist(), f["label"].to_numpy()
        pool = pool[balanced_order(y[pool], seed)]
        return {"pool": ([x[i] for i in pool], y[pool]), "judge": ([x[i] for i in judge], y[judge]),
                "affected": None}
    if name == "no-lists":
        (tx, _), (sx, sy) = corpus["train"], corpus["test"]
        hit = np.array([bool(_LIST.match(t)) for t in tx])
        pool = np.random.default_rng(seed).permutation(np.flatnonzero(hit))
        test_hit = np.array([bool(_LIST.match(t)) for t in sx])
        return {"pool": ([tx[i] for i in pool], np.zeros(len(pool), "int64")),
                "judge": (sx, np.where(test_hit, 0, sy)), "affected": test_hit}
    raise ValueError(f"unknown source {name!r}")


def judge(proba: np.ndarray, threshold: float, split: dict, test: tuple, test_proba: np.ndarray) -> dict:
    y = split["judge"][1]
    out = {"corpus_test_auc": float(roc_auc_score(test[1], test_proba)),
           "corpus_test_ece": float(expected_calibration_error(test[1], test_proba))}
    if split["affected"] is None:
        out["judge_auc"] = float(roc_auc_score(y, proba))
    else:
        ok = (proba >= threshold) == y
        out["affected_agreement"] = float(ok[split["affected"]].mean())
        out["all_agreement"] = float(ok.mean())
    return out


def run(model: str, seed: int, sources: list[str], ns: list[int], retrain_n: int | None,
        data_dir: Path, learn_ns: list[int] | None = None, retrain_sources: tuple = ("youtube",)
        ) -> dict:
    corpus = {s: load_split(s, data_dir) for s in ("train", "valid", "test")}
    test = corpus["test"]
    development = [(f["headline"].tolist(), f["label"].to_numpy())
                   for f in development_sources(data_dir).values()]
    base = ClickbaitDetector.load(model)
    out: dict = {}
    for name in sources:
        split = source_split(name, seed, data_dir, corpus)
        jx = split["judge"][0]
        curves: dict = {m: {} for m in ("retain", "learn", "refit", "retrain")}
        seconds: dict = {"learn": {}, "retrain": {}}
        for n in ns:
            x, y = split["pool"][0][:n], split["pool"][1][:n]
            if n > len(split["pool"][0]):
                continue
            det = ClickbaitDetector.load(model)
            if n:
                det.retain(x, y, source=f"bench:{name}")
            curves["retain"][n] = judge(det.predict_proba(jx)[:, 1], det.threshold_, split, test,
                                        det.predict_proba(test[0])[:, 1])
            if n and (learn_ns is None or n in learn_ns):
                det = ClickbaitDetector.load(model)
                t0 = time.perf_counter()
                det.learn(x, y)
                seconds["learn"][n] = round(time.perf_counter() - t0, 1)
                curves["learn"][n] = judge(det.predict_proba(jx)[:, 1], det.threshold_, split, test,
                                           det.predict_proba(test[0])[:, 1])
            ref = tfidf_baseline(corpus["train"][0] + x, np.concatenate([corpus["train"][1], y]))
            t = best_threshold(ref.predict_proba(corpus["valid"][0])[:, 1], corpus["valid"][1])
            curves["refit"][n] = judge(ref.predict_proba(jx)[:, 1], t, split, test,
                                       ref.predict_proba(test[0])[:, 1])
            if n and n == retrain_n and name in retrain_sources:
                t0 = time.perf_counter()
                params = {**base.get_params(), "verbose": 0}
                new = ClickbaitDetector(**params).fit(
                    corpus["train"][0] + x, np.concatenate([corpus["train"][1], y]),
                    validation=corpus["valid"],
                    adaptation=development)
                seconds["retrain"][n] = round(time.perf_counter() - t0, 1)
                curves["retrain"][n] = judge(new.predict_proba(jx)[:, 1], new.threshold_, split, test,
                                             new.predict_proba(test[0])[:, 1])
            line = "  ".join(f"{m} {_headline(curves[m][n])}" for m in curves if n in curves[m])
            print(f"[{model} seed {seed}] {name} N={n}: {line}", flush=True)
        out[name] = {"curves": curves, "seconds": seconds, "pool_rows": len(split["pool"][0]),
                     "judge_rows": len(jx)}
    return out


def _headline(r: dict) -> str:
    main = r.get("judge_auc", r.get("affected_agreement"))
    return f"{main:.4f} (corpus {r['corpus_test_auc']:.4f}/{r['corpus_test_ece']:.3f})"


def medians(runs: list[dict]) -> dict:
    """Per source, method and N: the median (and min, max) of every figure over the models."""
    out: dict = {}
    for name in runs[0]:
        for method, curve in runs[0][name]["curves"].items():
            for n in curve:
                cells = [r[name]["curves"][method].get(n) for r in runs]
                cells = [c for c in cells if c is not None]
                out.setdefault(name, {}).setdefault(method, {})[n] = {
                    key: {"median": float(np.median([c[key] for c in cells])),
                          "min": float(min(c[key] for c in cells)), "max": float(max(c[key] for c in cells)),
                          "runs": len(cells)}
                    for key in cells[0]}
    return out


def table(med: dict) -> str:
    lines = []
    for name, methods in med.items():
        key = "affected_agreement" if "affected_agreement" in next(iter(methods["retain"].values())) \
            else "judge_auc"
        lines += [f"### {name}: {key.replace('_', ' ')} (median of the models; corpus test "
                  "ROC-AUC / ECE after adapting)", "",
                  "| N | retain | learn | TF-IDF refit | retrain |", "|---:|---|---|---|---|"]
        ns = sorted({n for m in methods.values() for n in m}, key=int)
        for n in ns:
            cells = [adaptation_cell(methods.get(m, {}).get(n), key)
                     for m in ("retain", "learn", "refit", "retrain")]
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=[str(ROOT / "models" / "default")])
    ap.add_argument("--sources", nargs="+", default=["youtube", "downs2014", "no-lists"])
    ap.add_argument("--ns", nargs="+", type=int, default=[0, 100, 300, 1000, 3000])
    ap.add_argument("--retrain-n", type=int, default=1000)
    ap.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    ap.add_argument("--learn-ns", nargs="+", type=int, default=None,
                    help="the N at which `learn` runs (default: every N > 0)")
    ap.add_argument("--retrain-sources", nargs="+", default=["youtube"])
    ap.add_argument("--seeds", nargs="+", type=int, default=None,
                    help="split seed of each model (default 0, 1, 2, ...)")
    ap.add_argument("--out", default=str(RESULTS / "adaptation.json"))
    ap.add_argument("--combine", nargs="+", default=None, metavar="JSON",
                    help="only merge runs written by earlier invocations (one model each) into --out")
    a = ap.parse_args()
    started = time.perf_counter()
    if a.combine:
        # Runs of the same model (several invocations: other sources or other N) are merged.
        parts = [json.loads(Path(p).read_text()) for p in a.combine]
        merged: dict = {}
        for part in parts:
            for model, seed, run_ in zip(part["models"], part["seeds"], part["runs"], strict=True):
                into = merged.setdefault((model, seed), {})
                for name, result in run_.items():
                    have = into.setdefault(name, {"curves": {}, "seconds": {},
                                                  "pool_rows": result["pool_rows"],
                                                  "judge_rows": result["judge_rows"]})
                    for key in ("curves", "seconds"):
                        for method, by_n in result[key].items():
                            have[key].setdefault(method, {}).update(by_n)
        a.models, seeds = [m for m, _ in merged], [s for _, s in merged]
        runs = list(merged.values())
        commands = [p["command"] for p in parts]
    else:
        seeds = a.seeds or list(range(len(a.models)))
        runs = [run(m, seed, a.sources, a.ns, a.retrain_n, Path(a.data_dir), a.learn_ns,
                    tuple(a.retrain_sources)) for seed, m in zip(seeds, a.models, strict=True)]
        runs = json.loads(json.dumps(runs))  # N as strings, as in the file
        commands = []
    med = medians(runs)
    results = {
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "models": a.models, "seeds": seeds, "ns": a.ns, "medians": med, "runs": runs,
        "seconds": round(time.perf_counter() - started), "combined_from": commands,
        "adapters": {m: ClickbaitDetector.load(m).adapter_.to_dict() for m in a.models},
    }
    from clickbait.files import write_file
    from clickbait.reports import write_json

    out = Path(a.out)
    write_json(json.loads(json.dumps(results)), out)
    write_file(out.with_suffix(".md"), lambda f: f.write(table(json.loads(json.dumps(med))) + "\n"),
               binary=False, force=True)
    print(table(json.loads(json.dumps(med))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
