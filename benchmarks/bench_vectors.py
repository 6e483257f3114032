"""Time read_vectors (cold and cached) against gensim on the same GloVe file and vocabulary.

    .venv/bin/python benchmarks/bench_vectors.py [--glove pretrained/glove.6B.50d.txt]

Target: a cold (uncached) filtered read is at least 20x faster than gensim's full load, which
is what the training vocabulary actually needs. Results go to benchmarks/results/vectors.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import re
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clickbait.vectors import read_vectors  # noqa: E402

DEFAULT_GLOVE = ROOT / "pretrained" / "glove.6B.50d.txt"
DEFAULT_TRAIN = ROOT.parent / "shared" / "data" / "chakraborty2016_train.csv"
RESULTS = ROOT / "benchmarks" / "results" / "vectors.json"
TARGET = 20.0
_TOKEN = re.compile(r"\w+|[^\w\s]")


def vocabulary(train_csv: Path) -> tuple[set[str], str]:
    """Training vocabulary: clickbait.text.tokenize if available, else a simple regex split."""
    headlines = pd.read_csv(train_csv, keep_default_na=False)["headline"].astype(str).tolist()
    try:
        from clickbait.text import tokenize

        tokens = tokenize(headlines)
        how = "clickbait.text.tokenize"
    except (ImportError, AttributeError):
        tokens = [_TOKEN.findall(h.lower()) for h in headlines]
        how = "regex \\w+|[^\\w\\s] on lowercased text"
    return {t for row in tokens for t in row}, how


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, list[float], object]:
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--glove", type=Path, default=DEFAULT_GLOVE)
    parser.add_argument("--train", type=Path, default=DEFAULT_TRAIN)
    parser.add_argument("--repeat", type=int, default=3, help="runs of read_vectors (best kept)")
    parser.add_argument("--gensim-repeat", type=int, default=1)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    if not args.glove.exists():
        print(f"{args.glove} not found; create it with:  make pretrained", file=sys.stderr)
        print("  (or: clickbait pretrained)", file=sys.stderr)
        return 2
    vocab, how = vocabulary(args.train)
    size_mb = args.glove.stat().st_size / 1e6
    print(f"file: {args.glove} ({size_mb:,.1f} MB); vocabulary: {len(vocab):,} words ({how})")
    args.glove.read_bytes()  # same page-cache state for every contender

    cold, cold_all, vec = best_of(lambda: read_vectors(args.glove, vocab), args.repeat)
    with tempfile.TemporaryDirectory() as cache_dir:
        read_vectors(args.glove, vocab, cache_dir=cache_dir)  # prime
        cached, cached_all, hit = best_of(
            lambda: read_vectors(args.glove, vocab, cache_dir=cache_dir), args.repeat
        )
    assert hit.stats.cached and hit.words == vec.words

    from gensim.models import KeyedVectors

    gensim_s, gensim_all, kv = best_of(
        lambda: KeyedVectors.load_word2vec_format(args.glove, binary=False, no_header=True),
        args.gensim_repeat,
    )
    # same values as gensim for every kept word
    for word in vec.words[:: max(1, len(vec) // 500)]:
        np.testing.assert_array_equal(vec.vector(word), kv[word])

    cold_ratio = gensim_s / cold
    cached_ratio = gensim_s / cached
    verdict = "PASS" if cold_ratio >= TARGET else "MISS"
    print()
    table = [
        ("gensim load_word2vec_format (all)", gensim_s, len(kv), 1.0),
        ("read_vectors, vocabulary, cold", cold, len(vec), cold_ratio),
        ("read_vectors, vocabulary, cached", cached, len(hit), cached_ratio),
    ]
    print(f"{'loader':<36}{'seconds':>10}{'words':>10}{'gensim / this':>16}")
    for name, seconds, words, ratio in table:
        print(f"{name:<36}{seconds:>10.4f}{words:>10,}{ratio:>15.1f}x")
    print()
    print(f"target: cold >= {TARGET:.0f}x faster than gensim -> {cold_ratio:.1f}x {verdict}")

    result = {
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gensim": __import__("gensim").__version__,
        "platform": platform.platform(),
        "glove": str(args.glove),
        "glove_mb": round(size_mb, 1),
        "vocabulary_words": len(vocab),
        "vocabulary_from": how,
        "kept_words": len(vec),
        "seconds": {
            "gensim": round(gensim_s, 4),
            "read_vectors_cold": round(cold, 4),
            "read_vectors_cached": round(cached, 5),
        },
        "all_runs": {"gensim": gensim_all, "cold": cold_all, "cached": cached_all},
        "ratio_gensim_over_cold": round(cold_ratio, 1),
        "ratio_gensim_over_cached": round(cached_ratio, 1),
        "target_ratio_cold": TARGET,
        "verdict": verdict,
    }
    from clickbait.reports import write_json

    write_json(result, args.output)
    print(f"wrote {args.output}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
