"""A newcomer's first calls, timed as whole processes: `clickbait explain` on one headline, and
in a fresh Python, `clickbait.load()` then the first `predict_proba` (each run a different
headline, so nothing is cached between runs).

    .venv/bin/python benchmarks/bench_latency.py [--model models/default] [--runs 5]

Reference in the same run: a fresh Python that loads the TF-IDF + LR pipeline with joblib and
scores one headline. Targets (issue 18): `clickbait explain` <= 2 s; first `predict_proba`
<= 3 s after `load`. Results: benchmarks/results/latency.json (median and range of --runs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results" / "latency.json"
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
FIRST_CALL = """
import json, sys, time
t0 = time.perf_counter()
import clickbait
det = clickbait.load(sys.argv[1])
t1 = time.perf_counter()
det.predict_proba([sys.argv[2]])
t2 = time.perf_counter()
print(json.dumps({"load_s": t1 - t0, "first_predict_s": t2 - t1}))
"""
REFERENCE = """
import json, sys, time
t0 = time.perf_counter()
import joblib
pipe = joblib.load(sys.argv[1])
pipe.predict_proba([sys.argv[2]])
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def headlines(n: int) -> list[str]:
    import pandas as pd

    frame = pd.read_csv(DATA / "chakraborty2016_valid.csv", keep_default_na=False)
    return frame["headline"].sample(n, random_state=0).tolist()


def timed(cmd: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=ENV, check=True)
    return time.perf_counter() - t, out.stdout


def summary(values: list[float]) -> dict:
    s = sorted(values)
    return {"median": s[len(s) // 2], "min": s[0], "max": s[-1], "runs": len(s)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--results", type=Path, default=RESULTS)
    a = ap.parse_args(argv)
    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    sys.path.insert(0, str(ROOT))
    from clickbait.data import load_split

    texts, labels = load_split("train", DATA)
    heads = headlines(3 * a.runs)
    explain, load, first, whole, ref = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        ref_model = Path(tmp) / "ref.joblib"
        joblib.dump(make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                                  LogisticRegression(C=10, max_iter=2000)).fit(texts, labels), ref_model)
        for i in range(a.runs):
            seconds, _ = timed([sys.executable, "-m", "clickbait.cli", "explain", str(a.model), heads[i]])
            explain.append(seconds)
            seconds, out = timed([sys.executable, "-c", FIRST_CALL, str(a.model), heads[a.runs + i]])
            part = json.loads(out)
            load.append(part["load_s"])
            first.append(part["first_predict_s"])
            whole.append(seconds)
            seconds, _ = timed([sys.executable, "-c", REFERENCE, str(ref_model), heads[2 * a.runs + i]])
            ref.append(seconds)
    result = {
        "command": "python benchmarks/bench_latency.py " + " ".join(argv or sys.argv[1:]),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_average": list(os.getloadavg())},
        "model": str(a.model),
        "explain_command_s": summary(explain),
        "load_s": summary(load), "first_predict_after_load_s": summary(first),
        "python_process_s": summary(whole),
        "reference_process_s": summary(ref),
    }
    explain_s, first_s = result["explain_command_s"]["median"], result["first_predict_after_load_s"]["median"]
    result["verdicts"] = {"clickbait explain on one headline <= 2 s (median)": explain_s <= 2.0,
                          "first predict_proba <= 3 s after load (median)": first_s <= 3.0}
    a.results.write_text(json.dumps(result, indent=1) + "\n")
    print(f"clickbait explain: {result['explain_command_s']['median']:.2f} s "
          f"({result['explain_command_s']['min']:.2f}-{result['explain_command_s']['max']:.2f}); "
          f"load {result['load_s']['median']:.2f} s, first predict_proba "
          f"{result['first_predict_after_load_s']['median']:.2f} s; whole Python process "
          f"{result['python_process_s']['median']:.2f} s; reference process "
          f"{result['reference_process_s']['median']:.2f} s")
    for k, v in result["verdicts"].items():
        print(f"{'PASS' if v else 'MISS'}  {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
