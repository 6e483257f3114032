"""What approximate (IVF) retrieval costs in answers, against the exact scan, on distinct headlines.

    .venv/bin/python benchmarks/bench_retrieval.py --rows 50000

The headlines are bench_score.py's distinct ones; their embeddings come from the scorer. The vote
reads the k nearest cases of each class; for each k (per class) and nprobe, the scorer's IVF
indexes (one per class) are compared with the exact scan: recall@k (both classes), and through
the detector's own vote (`_decide`, the only place neighbours become a probability) the labels
that flip at the model's threshold and the largest and mean change of P(clickbait); CPU
microseconds per query of each search (both classes; faiss on one thread).
Results: benchmarks/results/retrieval.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
from bench_score import DATA, distinct_headlines  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--k", type=int, nargs="+", default=[25, 100, 300])
    parser.add_argument("--nprobe", type=int, nargs="+", default=[8, 16, 32, 64, 128])
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "retrieval.json")
    args = parser.parse_args()


    from clickbait.detector import ClickbaitDetector
    from clickbait.scoring import Scorer, single_threaded

    det = ClickbaitDetector.load(args.model)
    texts = np.asarray(distinct_headlines(args.rows, args.data_dir), object)
    exact = Scorer(det)
    ids = exact.ids(texts)
    emb = np.ascontiguousarray(exact.embed(ids))
    cases = det.cases_
    results = {"command": shlex.join([Path(sys.executable).name, *sys.argv]),
               "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "load_average": os.getloadavg(), "rows": len(texts), "cases": len(cases),
               "cases_per_class": np.bincount(cases.labels, minlength=2).tolist(),
               "threshold": det.threshold_, "runs": []}

    def both(search, k):
        cpu = time.process_time()
        found = [search(emb, k, label) for label in (0, 1)]
        return found, (time.process_time() - cpu) / len(emb) * 1e6

    original_k = det.k
    with single_threaded():
        try:
            for k in args.k:
                det.k = k  # neighbours per class the vote reads
                truth, exact_us = both(cases.class_search, k)
                p_exact = exact.vote(ids, emb)[:, 0]
                print(f"k={k} per class: exact {exact_us:.1f} us/query", flush=True)
                for nprobe in args.nprobe:
                    ivf = Scorer(det, retrieval="ivf", nprobe=nprobe)
                    found, us = both(ivf.class_search, k)
                    p_ivf = ivf.vote(ids, emb)[:, 0]
                    recall = np.mean([len(np.intersect1d(a[a >= 0], b[b >= 0])) / max(1, (b >= 0).sum())
                                      for (_, fp), (_, tp) in zip(found, truth, strict=True)
                                      for a, b in zip(fp[:5000], tp[:5000], strict=True)])
                    dp = np.abs(p_ivf - p_exact)
                    flips = int(((p_ivf >= det.threshold_) != (p_exact >= det.threshold_)).sum())
                    run = {"k_per_class": k, "nprobe": nprobe, "nlist": {str(c): ivf._ivf[c][1].nlist
                                                                         for c in ivf._ivf},
                           "recall_at_k": float(recall), "label_flips": flips,
                           "label_flip_share": flips / len(emb), "max_abs_dp": float(dp.max()),
                           "mean_abs_dp": float(dp.mean()), "ivf_cpu_us_per_query": us,
                           "exact_cpu_us_per_query": exact_us}
                    results["runs"].append(run)
                    print(f"  nprobe {nprobe:>3}: recall@{k} {recall:.4f}, {flips} labels flip "
                          f"({flips / len(emb):.3%}), max |dp| {dp.max():.3f}, mean |dp| {dp.mean():.1e}; "
                          f"{us:.1f} us/query (exact {exact_us:.1f})", flush=True)
        finally:
            det.k = original_k
    from clickbait.reports import write_json

    write_json(results, args.results)
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
