"""Time the tokenizer and the numpy encoder, first versions against current ones, on one thread.

    .venv/bin/python benchmarks/bench_stages.py --model models/default --rows 50000 --repeats 3

Issue 20: batch scoring of distinct headlines should keep up with TF-IDF, and per headline it
spends its CPU in `tokens.ids` and `NumpyTextModel.embed` (the search and vote aside). This
times, on the same 50,000 distinct headlines (`bench_score.distinct_headlines`) and in one
process, so that the shared machine's load hits both alike:
  tokenize   `tokens._ids_reference` (old) and `tokens.ids` (new)
  encode     `NumpyTextModel.embed_reference` (old) and `embed` (new), on the same ids
each `--repeats` times, old and new in turn, with BLAS/OpenMP held to one thread; it reports the
median and the spread (min, max) in microseconds per headline, wall and CPU, and checks the
outputs (ids identical, embeddings within 1e-6) before writing benchmarks/results/stages.json.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy loads its BLAS

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
from bench_score import DATA, distinct_headlines  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from clickbait import files, tokens  # noqa: E402
from clickbait.inference import NumpyTextModel  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "stages.json"


def load_model(model: Path) -> NumpyTextModel:
    """The numpy text model of a saved model folder (its current version's model.keras)."""
    version = files.VersionedFolder(model, "model").current()
    return NumpyTextModel.from_bytes((version / "model.keras").read_bytes())


def _time(fn: Callable[[], object]) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def _summary(seconds: list[float], rows: int) -> dict[str, float | list[float]]:
    us = [s / rows * 1e6 for s in seconds]
    return {"median_us": statistics.median(us), "min_us": min(us), "max_us": max(us), "runs_us": us}


def compare(old: Callable[[], object], new: Callable[[], object], rows: int,
            repeats: int) -> tuple[dict, object, object]:
    """Old and new `repeats` times each, in turn; per-headline wall and CPU figures of both."""
    times: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in ("old", "new")}
    outs: dict[str, object] = {}
    for _ in range(repeats):
        for name, fn in (("old", old), ("new", new)):
            wall, cpu, outs[name] = _time(fn)
            times[name]["wall"].append(wall)
            times[name]["cpu"].append(cpu)
    result = {name: {kind: _summary(v, rows) for kind, v in t.items()} for name, t in times.items()}
    result["speed-up (median wall)"] = result["old"]["wall"]["median_us"] / result["new"]["wall"]["median_us"]
    result["speed-up (median cpu)"] = result["old"]["cpu"]["median_us"] / result["new"]["cpu"]["median_us"]
    return result, outs["old"], outs["new"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--results", type=Path, default=RESULTS)
    a = parser.parse_args(argv)

    texts = distinct_headlines(a.rows, a.data_dir)
    model = load_model(a.model)
    load = os.getloadavg()
    model.embed_reference(np.zeros((1, model.length), np.int64))  # builds its whole table once
    with threadpool_limits(limits=1):
        tok, old_ids, new_ids = compare(lambda: tokens._ids_reference(texts, model.vocabulary, model.length),
                                        lambda: tokens.ids(texts, model.vocabulary, model.length),
                                        a.rows, a.repeats)
        if not np.array_equal(old_ids, new_ids):
            raise SystemExit("tokens.ids differs from tokens._ids_reference")
        enc, old_emb, new_emb = compare(lambda: model.embed_reference(new_ids), lambda: model.embed(new_ids),
                                        a.rows, a.repeats)
        diff = float(np.abs(np.asarray(old_emb) - np.asarray(new_emb)).max())
        if diff > 1e-6:
            raise SystemExit(f"embed differs from embed_reference by {diff}")
    enc["max_abs_difference"] = diff
    argv_shown = sys.argv[1:] if argv is None else argv
    result = {
        "command": "python benchmarks/bench_stages.py " + shlex.join(argv_shown),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
                    "load_average": list(load), "load_average_after": list(os.getloadavg())},
        "model": str(a.model.relative_to(ROOT) if a.model.is_relative_to(ROOT) else a.model),
        "rows": a.rows, "repeats": a.repeats, "threads": 1,
        "mean_tokens": float((new_ids != 0).sum(axis=1).mean()),
        "tokenize": tok,
        "encode": enc,
    }
    a.results.parent.mkdir(parents=True, exist_ok=True)
    a.results.write_text(json.dumps(result, indent=2) + "\n")
    for stage in ("tokenize", "encode"):
        old, new = result[stage]["old"], result[stage]["new"]
        print(f"{stage:9s} old {old['wall']['median_us']:6.2f} us  new {new['wall']['median_us']:6.2f} us"
              f"  (cpu {old['cpu']['median_us']:.2f} -> {new['cpu']['median_us']:.2f})"
              f"  x{result[stage]['speed-up (median wall)']:.2f}")
    print(f"wrote {a.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
