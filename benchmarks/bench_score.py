"""Time `clickbait score` against a TF-IDF + logistic-regression pipeline on the same CSV job.

    .venv/bin/python benchmarks/bench_score.py --rows 100000 1000000

For each size, a CSV of `id,headline` is built (in a temporary folder) by repeating the test
split's headlines, and each job runs in its own subprocess (so its peak RSS is its own):
  ours          `clickbait score` with the default model (clickbait.scoring.score_csv)
  ours-nodedup  the same with --no-dedup (every row tokenized and encoded: the honest worst
                case, since this CSV repeats 3,200 headlines and ours scores repeats once)
  reference     TF-IDF word 1-2 grams + logistic regression trained on the train split, reading
                with pandas in chunks and writing the same two columns
Rows/s counts the CSV-to-CSV job (model loading and training excluded; the command's wall
time, start-up included, is shown too). Targets (2 cores): ours >= 1.0x the reference's rows/s
and >= 30,000 rows/s; peak RSS < 1.5 GB and within 10% between the smallest and largest size.
Results go to benchmarks/results/score.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "score.json"
TARGET_RATIO, TARGET_RPS, TARGET_RSS_MB, TARGET_RSS_GROWTH = 1.0, 30_000, 1500, 0.10


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def cpu_seconds() -> float:
    """CPU time of this process, all threads: a measure that other agents' load barely moves."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_csv(path: Path, rows: int, data_dir: Path) -> None:
    import pandas as pd

    heads = pd.read_csv(data_dir / "chakraborty2016_test.csv", keep_default_na=False)["headline"]
    reps = -(-rows // len(heads))
    frame = pd.DataFrame({"id": range(rows), "headline": pd.concat([heads] * reps).to_numpy()[:rows]})
    frame.to_csv(path, index=False)


def job_ours(args) -> dict:
    import pandas as pd

    from clickbait.detector import ClickbaitDetector
    from clickbait.scoring import Scorer, score_csv

    det = ClickbaitDetector.load(args.model)
    cpu = cpu_seconds()
    summary = score_csv(det, args.input, args.output, batch_size=args.batch_size, force=True,
                        progress=False, dedup=not args.no_dedup)
    result = summary.to_dict()
    result["cpu_seconds"] = cpu_seconds() - cpu
    test = pd.read_csv(args.data_dir / "chakraborty2016_test.csv", keep_default_na=False)
    for mode in ("exact", "ivf"):
        p = Scorer(det, retrieval=mode).proba(test["headline"].to_numpy(object))
        result[f"test_accuracy_{mode}"] = float(((p >= det.threshold_) == test["label"]).mean())
    return result


def job_reference(args) -> dict:
    import numpy as np
    import pandas as pd
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    train = pd.read_csv(args.data_dir / "chakraborty2016_train.csv", keep_default_na=False)
    pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                         LogisticRegression(max_iter=1000))
    pipe.fit(train["headline"], train["label"])
    started, rows, cpu = time.perf_counter(), 0, cpu_seconds()
    with open(args.output, "w", encoding="utf-8", newline="") as out:
        for i, chunk in enumerate(pd.read_csv(args.input, dtype=str, keep_default_na=False,
                                              chunksize=args.batch_size)):
            p = pipe.predict_proba(chunk["headline"])[:, 1]
            chunk["clickbait_probability"] = p
            chunk["clickbait"] = (p >= 0.5).astype(int)
            chunk.to_csv(out, header=i == 0, index=False, float_format="%.6f", lineterminator="\n")
            rows += len(chunk)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    test = pd.read_csv(args.data_dir / "chakraborty2016_test.csv", keep_default_na=False)
    acc = float((pipe.predict(test["headline"]) == test["label"]).mean())
    return {"rows": rows, "seconds": seconds, "rows_per_second": rows / seconds, "cpu_seconds": cpu,
            "test_accuracy": acc, "numpy": np.__version__}


def run_job(name: str, csv: Path, out: Path, args) -> dict:
    cmd = [sys.executable, __file__, "--job", "reference" if name == "reference" else "ours",
           "--input", str(csv), "--output", str(out), "--model", str(args.model),
           "--batch-size", str(args.batch_size), "--data-dir", str(args.data_dir)]
    if name == "ours-nodedup":
        cmd.append("--no-dedup")
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["command_seconds"] = wall
    out.unlink(missing_ok=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--batch-size", type=int, default=8192)
    parser.add_argument("--jobs", nargs="+", default=["ours", "ours-nodedup", "reference"],
                        choices=["ours", "ours-nodedup", "reference"])
    parser.add_argument("--results", type=Path, default=RESULTS)
    # a single job, run in a subprocess by the benchmark itself
    parser.add_argument("--job", choices=["ours", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--no-dedup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.job:
        result = job_ours(args) if args.job == "ours" else job_reference(args)
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result, default=str))
        return 0

    results: dict = {"command": shlex.join([Path(sys.executable).name, *sys.argv]),
                     "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg(),
                                 "python": platform.python_version()},
                     "batch_size": args.batch_size, "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="bench_score_") as tmp:
        for rows in args.rows:
            csv = Path(tmp) / f"headlines_{rows}.csv"
            make_csv(csv, rows, args.data_dir)
            size = {}
            for name in args.jobs:
                print(f"{rows:,} rows: {name} ...", flush=True)
                size[name] = run_job(name, csv, Path(tmp) / f"out_{name}.csv", args)
            csv.unlink()
            results["sizes"][str(rows)] = size
    results["machine"]["load_average_after"] = os.getloadavg()
    verdicts = report(results)
    results["verdicts"] = verdicts
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {args.results.relative_to(ROOT) if args.results.is_relative_to(ROOT) else args.results}")
    return 0


def report(results: dict) -> dict:
    """Print the side-by-side table and the stage shares; return PASS/MISS per target."""
    verdicts = {}
    print(f"\n{'rows':>10} {'job':<13} {'rows/s':>9} {'rows/CPU-s':>10} {'job s':>7} {'command s':>9} "
          f"{'peak RSS MB':>11} {'test acc':>8}")
    for rows, size in results["sizes"].items():
        for name, r in size.items():
            acc = r.get("test_accuracy", r.get("test_accuracy_ivf"))
            r["rows_per_cpu_second"] = r["rows"] / r["cpu_seconds"]
            print(f"{int(rows):>10,} {name:<13} {r['rows_per_second']:>9,.0f} "
                  f"{r['rows_per_cpu_second']:>10,.0f} {r['seconds']:>7.1f} "
                  f"{r['command_seconds']:>9.1f} {r['peak_rss_mb']:>11,.0f} {acc:>8.4f}")
        if "ours" in size and "reference" in size:
            for name in ("ours", "ours-nodedup"):
                if name in size:
                    ratio = size[name]["rows_per_second"] / size["reference"]["rows_per_second"]
                    cpu_ratio = size[name]["rows_per_cpu_second"] / size["reference"]["rows_per_cpu_second"]
                    size[name]["ratio_to_reference"] = ratio
                    size[name]["cpu_ratio_to_reference"] = cpu_ratio
                    print(f"{'':>10} {name} / reference: {ratio:.2f}x rows/s, {cpu_ratio:.2f}x rows/CPU-s")
    largest = results["sizes"][max(results["sizes"], key=int)]
    smallest = results["sizes"][min(results["sizes"], key=int)]
    print("\ntargets (largest size):")
    for name in ("ours", "ours-nodedup"):
        if name not in largest:
            continue
        r = largest[name]
        checks = {
            f"{name}: rows/s >= {TARGET_RPS:,}": (r["rows_per_second"], r["rows_per_second"] >= TARGET_RPS),
            f"{name}: peak RSS < {TARGET_RSS_MB} MB": (r["peak_rss_mb"], r["peak_rss_mb"] < TARGET_RSS_MB),
        }
        if "ratio_to_reference" in r:
            checks[f"{name}: >= {TARGET_RATIO}x reference rows/s"] = (
                r["ratio_to_reference"], r["ratio_to_reference"] >= TARGET_RATIO)
        if largest is not smallest and name in smallest:
            growth = r["peak_rss_mb"] / smallest[name]["peak_rss_mb"] - 1
            checks[f"{name}: peak RSS growth smallest->largest <= 10%"] = (
                growth, abs(growth) <= TARGET_RSS_GROWTH)
        for label, (value, ok) in checks.items():
            verdicts[label] = {"value": value, "pass": bool(ok)}
            print(f"  {'PASS' if ok else 'MISS'}  {label}  ({value:,.3f})")
        shares = r["stage_shares"]
        print(f"  {name} time by stage (seconds in each; tokenizing overlaps the others): "
              + ", ".join(f"{k} {r['stages'][k]:.1f} s ({v:.0%})" for k, v in shares.items()))
        print(f"  {name} test accuracy: exact retrieval {r['test_accuracy_exact']:.4f}, "
              f"IVF {r['test_accuracy_ivf']:.4f}")
    return verdicts


if __name__ == "__main__":
    sys.exit(main())
