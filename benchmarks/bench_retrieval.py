"""What approximate (IVF) retrieval costs in answers, against the exact scan, on distinct headlines.

    .venv/bin/python benchmarks/bench_retrieval.py --rows 50000

The headlines are bench_score.py's distinct ones; their embeddings come from the scorer. For each
k (the vote's, and the larger ones a learned combiner asks for) and nprobe, IVF's neighbours are
compared with the exact ones: recall@k, and through the detector's own `_vote` (the only place
neighbours become a probability) the labels that flip at the model's threshold and the largest
and mean change of P(clickbait); CPU microseconds per query for each (faiss on one thread).
Results: benchmarks/results/retrieval.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
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

    import faiss

    from clickbait.detector import ClickbaitDetector
    from clickbait.scoring import Scorer, single_threaded

    det = ClickbaitDetector.load(args.model)
    texts = np.asarray(distinct_headlines(args.rows, args.data_dir), object)
    scorer = Scorer(det)
    emb = np.ascontiguousarray(scorer.embed(scorer.ids(texts)))
    cases = det.cases_
    nlist = max(1, min(len(cases) // 39, round(2 * math.sqrt(len(cases)))))  # the scorer's
    results = {"command": shlex.join([Path(sys.executable).name, *sys.argv]),
               "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "load_average": os.getloadavg(), "rows": len(texts), "cases": len(cases),
               "nlist": nlist, "threshold": det.threshold_, "runs": []}

    def timed(search):
        cpu = time.process_time()
        out = search()
        return out, (time.process_time() - cpu) / len(emb) * 1e6

    with single_threaded():
        quantizer = faiss.IndexFlatIP(cases.dim)
        ivf = faiss.IndexIVFFlat(quantizer, cases.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.train(cases.embeddings)
        ivf.add(cases.embeddings)
        original_k = det.k
        try:
            for k in args.k:
                det.k = k  # the vote over k neighbours (a learned combiner asks for more)
                (sims, pos), exact_us = timed(lambda k=k: cases.kneighbors(emb, k))
                p_exact = det._vote(emb, search=lambda q, kk, s=sims, p=pos: (s[:, :kk], p[:, :kk]))
                print(f"k={k}: exact {exact_us:.1f} us/query", flush=True)
                for nprobe in args.nprobe:
                    ivf.nprobe = nprobe
                    (s2, p2), us = timed(lambda k=k: ivf.search(emb, k))
                    short = (p2 < 0).any(axis=1)
                    if short.any():  # as the scorer does: too few found -> exact for those rows
                        s2[short], p2[short] = cases.kneighbors(emb[short], k)
                    p_ivf = det._vote(emb, search=lambda q, kk, s=s2, p=p2: (s[:, :kk], p[:, :kk]))
                    recall = np.mean([len(np.intersect1d(a, b, assume_unique=True)) / k
                                      for a, b in zip(p2[:5000], pos[:5000], strict=True)])
                    dp = np.abs(p_ivf - p_exact)
                    flips = int(((p_ivf >= det.threshold_) != (p_exact >= det.threshold_)).sum())
                    run = {"k": k, "nprobe": nprobe, "recall_at_k": float(recall), "label_flips": flips,
                           "label_flip_share": flips / len(emb), "max_abs_dp": float(dp.max()),
                           "mean_abs_dp": float(dp.mean()), "ivf_cpu_us_per_query": us,
                           "exact_cpu_us_per_query": exact_us}
                    results["runs"].append(run)
                    print(f"  nprobe {nprobe:>3}: recall@{k} {recall:.4f}, {flips} labels flip "
                          f"({flips / len(emb):.3%}), max |dp| {dp.max():.3f}, mean |dp| {dp.mean():.1e}; "
                          f"{us:.1f} us/query (exact {exact_us:.1f})", flush=True)
        finally:
            det.k = original_k
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
