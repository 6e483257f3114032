"""How long learned adaptation takes as a user meets it: the whole `clickbait adapt MODEL --cases
F --learn` process (start-up, TensorFlow import, fine-tuning, re-embedding, refitting the vote,
saving a new version) on 1,000 youtube2018 rows, against the TF-IDF + LR refit on corpus train +
the same rows, timed in the same run.

    nice .venv/bin/python benchmarks/bench_learn.py --model build/models/seed0 [--rows 1000]

Writes benchmarks/results/learn.json. The model folder is copied first; the original is untouched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clickbait.baseline import tfidf_baseline  # noqa: E402
from clickbait.data import DEFAULT_DATA_DIR, load_split  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "learn.json"))
    a = ap.parse_args()
    frame = pd.read_csv(Path(DEFAULT_DATA_DIR) / "youtube2018.csv", keep_default_na=False,
                        dtype={"headline": str}).sample(a.rows, random_state=0)
    train_x, train_y = load_split("train")
    learn, refit = [], []
    with tempfile.TemporaryDirectory(prefix="bench-learn-") as tmp:
        cases = Path(tmp) / "cases.csv"
        frame[["headline", "label"]].to_csv(cases, index=False)
        for _ in range(a.repeats):
            model = Path(tmp) / "model"
            shutil.rmtree(model, ignore_errors=True)
            shutil.copytree(a.model, model, symlinks=True)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "clickbait", "adapt", str(model), "--cases", str(cases),
                            "--learn"], check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
            learn.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            tfidf_baseline(train_x + frame["headline"].tolist(),
                           np.concatenate([train_y, frame["label"].to_numpy()]))
            refit.append(time.perf_counter() - t0)
            print(f"learn {learn[-1]:.1f} s (whole process); TF-IDF + LR refit {refit[-1]:.1f} s", flush=True)
    from clickbait.reports import write_json

    write_json({"command": shlex.join([Path(sys.executable).name, *sys.argv]),
                "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "cpus": os.cpu_count(), "rows": a.rows, "model": a.model,
                "learn_seconds": [round(s, 1) for s in learn],
                "tfidf_refit_seconds": [round(s, 1) for s in refit]}, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
