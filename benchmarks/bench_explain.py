"""Are the cases `explain` names about the same thing as the headline?

    nice .venv/bin/python benchmarks/bench_explain.py --models build/models/seed0 ... [--rows 400]

For `--rows` corpus test headlines (seeded sample), the share whose 5 cases named by
`det.explain` share at least one content word with the headline (a token of 3+ letters, not an
English stop word), against the reference from the same run: the 5 nearest training headlines of
the headline's own label by the cosine of the plain mean of their GloVe vectors, and the 5
nearest cases by the metric similarity alone (what `explain` named before). Writes
benchmarks/results/explain.json (each model, and the median).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # noqa: E402

from clickbait.data import load_split  # noqa: E402
from clickbait.detector import ClickbaitDetector  # noqa: E402
from clickbait.tokens import split, standardize  # noqa: E402


def content_words(texts: list[str]) -> list[set[str]]:
    return [{t for t in split(s) if len(t) >= 3 and t.isalpha() and t not in ENGLISH_STOP_WORDS}
            for s in standardize(texts)]


def shares_word(queries: list[set[str]], named: list[list[set[str]]]) -> float:
    return float(np.mean([any(q & c for c in cases) for q, cases in zip(queries, named, strict=True)]))


def glove_reference(query: list[str], qy: np.ndarray, train: list[str], ty: np.ndarray, glove: str,
                    k: int = 5) -> list[list[str]]:
    from clickbait.vectors import read_vectors

    tokens = [split(s) for s in standardize(query + train)]
    vectors = read_vectors(glove, sorted({t for row in tokens for t in row}))
    index = {w: i for i, w in enumerate(vectors.words)}

    def mean(row):
        rows = [vectors.matrix[index[t]] for t in row if t in index]
        v = np.mean(rows, axis=0) if rows else np.zeros(vectors.matrix.shape[1])
        return v / max(np.linalg.norm(v), 1e-9)

    m = np.array([mean(r) for r in tokens])
    q, t = m[:len(query)], m[len(query):]
    out = []
    for i in range(len(query)):
        same = np.flatnonzero(ty == qy[i])
        sims = t[same] @ q[i]
        out.append([train[j] for j in same[np.argsort(-sims)[:k]]])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=[str(ROOT / "models" / "default")])
    ap.add_argument("--rows", type=int, default=400)
    ap.add_argument("--glove", default=str(ROOT / "pretrained" / "glove.6B.50d.txt"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "explain.json"))
    a = ap.parse_args()
    test_x, test_y = load_split("test")
    train_x, train_y = load_split("train")
    pick = np.random.default_rng(0).permutation(len(test_x))[:a.rows]
    qx, qy = [test_x[i] for i in pick], test_y[pick]
    words = content_words(qx)
    ref = glove_reference(qx, qy, train_x, train_y, a.glove)
    reference = shares_word(words, [content_words(r) for r in ref])
    runs, metric_only = {}, {}
    for model in a.models:
        det = ClickbaitDetector.load(model)
        frame = det.explain(qx, k=5)
        named = [content_words(g["case_text"].tolist()) for _, g in frame.groupby("query", sort=True)]
        runs[model] = shares_word(words, named)
        # The 5 nearest cases by the metric similarity alone (what explain named before).
        _, pos = det.cases_.kneighbors(det.transform(qx), 5)
        texts = det.cases_.meta["text"].to_numpy()
        metric_only[model] = shares_word(words, [content_words(texts[p].tolist()) for p in pos])
        print(f"{model}: {runs[model]:.3f} of headlines share a content word with a named case "
              f"(metric similarity alone {metric_only[model]:.3f}; mean-GloVe reference "
              f"{reference:.3f})", flush=True)
    from clickbait.reports import write_json

    write_json({"command": shlex.join([Path(sys.executable).name, *sys.argv]),
                "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "rows": a.rows, "reference_mean_glove_same_label": reference, "models": runs,
                "median": float(np.median(list(runs.values()))), "metric_only": metric_only,
                "metric_only_median": float(np.median(list(metric_only.values())))}, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
