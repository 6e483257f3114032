"""Time the whole `clickbait score` command against a TF-IDF + logistic-regression CSV job.

    .venv/bin/python benchmarks/bench_score.py --rows 300000 --rss-rows 100000 1000000

Every figure is a whole process, from the command's start to its output file closed, with its
peak RSS (the largest of its processes) and the peak of its processes' summed PSS (worker
processes included, shared pages counted once); the reference runs in the same benchmark run, on
the same file, alternately with ours (`--repeats` pairs: the median pair is reported, with the
spread), so that the machine's load (this is a shared 2-core box) hits both alike:
  distinct   the main figure: DISTINCT headlines, as real feeds are. Each row joins the first
             half of one test headline with the second half of another (about the corpus's
             lengths; nothing repeats, so de-duplication saves nothing).
  threads    the same file with `--no-processes` (model workers as threads in one process, as
             before the worker processes of clickbait/workers.py).
  exact      the same file with `--retrieval exact` (every case scanned; the default is the
             fast retrieval, clickbait.index), and how many labels and probabilities differ
             between the two, row by row.
  baseline   the distinct file against the baseline users compare with (clickbait/baseline.py:
             TF-IDF word 1-2 and char_wb 2-5 grams, LogisticRegression(C=10)), run the same way
             as the reference; for information (the targets are against the faster reference).
  start-up   the same two commands on a one-row file: start-up to the first scored row.
  repeated   the test split's 3,200 headlines repeated (de-duplication scores each once).
  rss        `clickbait score` alone on distinct files of each --rss-rows size: the peak memory of
             its processes (PSS) stays flat as the file grows.
  stages     `score_csv` in one process on the distinct file: seconds per stage.
  costs      CPU per headline of each step on one thread (50,000 distinct headlines), with the
             bare matrix product the exact search cannot go below, and the ratio the distinct run
             would reach if the search cost only that product (its CPU, less the difference,
             over the cores it used).
ours = `clickbait score MODEL IN -o OUT --force`. reference = TF-IDF word 1-2 grams (lowercased,
sublinear tf) + LogisticRegression, fitted on the train split before the run, saved with joblib
and loaded by its own process, which reads the CSV in chunks of 8,192 rows with pandas and writes
every input column plus `clickbait_probability` and `clickbait` (what ours writes).
Targets: distinct >= 1.0x the reference; start-up <= 2 s; peak memory (all processes, PSS)
<= 1.5 GB and flat from the smallest to the largest --rss-rows size. Results: benchmarks/results/score.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
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
TARGET_RATIO, TARGET_STARTUP_S, TARGET_RSS_MB, TARGET_RSS_GROWTH = 1.0, 2.0, 1500, 0.10
CLI = "import sys; from clickbait.cli import main; sys.exit(main())"


def test_headlines(data_dir: Path) -> list[str]:
    import pandas as pd

    return pd.read_csv(data_dir / "chakraborty2016_test.csv", keep_default_na=False)["headline"].tolist()


def distinct_headlines(rows: int, data_dir: Path) -> list[str]:
    """`rows` distinct headlines: the first half (in words) of test headline i joined with the
    second half of headline i + j, for j = 1, 2, ... until there are enough."""
    heads = [h.split() for h in test_headlines(data_dir)]
    n, out, seen, j = len(heads), [], set(), 1
    while len(out) < rows:
        if j >= n:
            raise ValueError(f"cannot make {rows:,} distinct headlines from {n:,}")
        for i, a in enumerate(heads):
            b = heads[(i + j) % n]
            text = " ".join(a[:(len(a) + 1) // 2] + b[len(b) // 2:])
            if text not in seen:
                seen.add(text)
                out.append(text)
                if len(out) == rows:
                    break
        j += 1
    return out


def write_csv(path: Path, headlines: list[str]) -> Path:
    import pandas as pd

    pd.DataFrame({"id": range(len(headlines)), "headline": headlines}).to_csv(path, index=False)
    return path


def repeated_headlines(rows: int, data_dir: Path) -> list[str]:
    heads = test_headlines(data_dir)
    return (heads * (-(-rows // len(heads))))[:rows]


# -- the reference, as its own process --------------------------------------------------------
def fit_reference(data_dir: Path, path: Path, baseline: bool = False) -> float:
    """Fit TF-IDF word 1-2 grams + logistic regression on the train split (with `baseline`, the
    baseline users compare with: clickbait/baseline.py, word and char_wb grams); save it with
    joblib. Returns its test accuracy."""
    import joblib
    import pandas as pd
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from clickbait.baseline import tfidf_baseline

    train = pd.read_csv(data_dir / "chakraborty2016_train.csv", keep_default_na=False)
    if baseline:
        pipe = tfidf_baseline(train["headline"], train["label"])
    else:
        pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                             LogisticRegression(max_iter=1000))
        pipe.fit(train["headline"], train["label"])
    joblib.dump(pipe, path)
    test = pd.read_csv(data_dir / "chakraborty2016_test.csv", keep_default_na=False)
    return float((pipe.predict(test["headline"]) == test["label"]).mean())


def reference_job(model: Path, source: Path, output: Path) -> None:
    """The reference's whole CSV-to-CSV job (run as `bench_score.py --reference-job ...`)."""
    import joblib
    import pandas as pd

    pipe = joblib.load(model)
    with open(output, "w", encoding="utf-8", newline="") as out:
        for i, chunk in enumerate(pd.read_csv(source, dtype=str, keep_default_na=False, chunksize=8192)):
            p = pipe.predict_proba(chunk["headline"])[:, 1]
            chunk["clickbait_probability"] = p
            chunk["clickbait"] = (p >= 0.5).astype(int)
            chunk.to_csv(out, header=i == 0, index=False, float_format="%.6f", lineterminator="\n")


# -- running and measuring one command ----------------------------------------------------------
# Seconds between samples of the process tree's PSS. Reading /proc/PID/smaps_rollup walks a
# process's page tables: about 9 ms of CPU a sample for our three processes (one-off, see
# docs/scoring.md), taken from the cores our command uses, while the one-thread reference leaves
# a core idle for it. So the timed runs sample every 0.5 s (under 1% of our two cores), and only
# the memory runs (rss) and start-up (one core busy until the first row) every 0.1 s.
TIMED_INTERVAL, MEMORY_INTERVAL = 0.5, 0.1


def measured(cmd: list[str], rows: int, interval: float = TIMED_INTERVAL) -> dict:
    """Wall seconds from the command's start to its exit, and its peak memory (the --wrap mode of
    this script runs it, samples its process tree every `interval` seconds and reads its rusage
    with os.wait4)."""
    proc = subprocess.run([sys.executable, __file__, "--wrap", "--interval", str(interval), "--", *cmd],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    lines = proc.stderr.strip().splitlines()
    result = json.loads(lines[-1])
    result.update(rows=rows, rows_per_second=rows / result["seconds"], sample_interval_s=interval,
                  summary=lines[-2] if len(lines) > 1 else "")
    return result


def tree_pss_mb(pid: int) -> tuple[float, float]:
    """The memory of a process and its descendants: the sum of their PSS (proportional set size:
    a page shared by k processes counts 1/k in each, so forked workers' shared model pages count
    once), and of its anonymous part (Pss_Anon: the heap and arrays, without the pages of mapped
    libraries, whose share moves with whatever else on the machine maps them), from
    /proc/PID/smaps_rollup; 0 where /proc cannot tell."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    total, anon, todo = 0.0, 0.0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 1024
                elif line.startswith("Pss_Anon:"):
                    anon += int(line.split()[1]) / 1024
        except (OSError, ValueError):
            pass
    return total, anon


def wrap(cmd: list[str], interval: float) -> int:
    """Run cmd; print its wall time, its peak RSS (the largest of its processes: rusage) and the
    peaks of its process tree's summed PSS and anonymous PSS (sampled every `interval` seconds:
    see TIMED_INTERVAL) as JSON on stderr's last line."""
    import threading

    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak_tree, done = [0.0, 0.0], threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            peak_tree[:] = map(max, peak_tree, tree_pss_mb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    err = proc.stderr.read()  # until the command closes it (at its exit)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    code = os.waitstatus_to_exitcode(status)
    sys.stderr.write(err)
    if code:
        return code
    sys.stderr.write("\n" + json.dumps({"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024,
                                         "peak_tree_pss_mb": peak_tree[0],
                                         "peak_tree_anon_mb": peak_tree[1],
                                         "cpu_seconds": usage.ru_utime + usage.ru_stime}) + "\n")
    return 0


def ours(args, source: Path, output: Path, *extra: str) -> list[str]:
    return [sys.executable, "-c", CLI, "score", str(args.model), str(source), "-o", str(output),
            "--force", *extra]


def reference(args, model: Path, source: Path, output: Path) -> list[str]:
    return [sys.executable, __file__, "--reference-job", str(model), str(source), str(output)]


def stages(args, source: Path, output: Path) -> dict:
    """score_csv in this process: seconds per stage (they overlap: see scoring.py)."""
    from clickbait.detector import ClickbaitDetector
    from clickbait.scoring import score_csv

    summary = score_csv(ClickbaitDetector.load(args.model), source, output, force=True, progress=False)
    d = summary.to_dict()
    return {"rows_per_second": d["rows_per_second"], "retrieval": d["retrieval"],
            "stages_seconds": d["stages"], "stage_shares": d["stage_shares"]}


def costs(args, rows: int = 50_000) -> dict:
    """CPU per headline of each step of `clickbait score`, on one thread, in this process (best of
    two runs): tokenizer, encoder, and the search with the vote for each retrieval."""
    from threadpoolctl import threadpool_limits

    from clickbait.detector import ClickbaitDetector
    from clickbait.scoring import Scorer

    texts = distinct_headlines(rows, args.data_dir)

    def us(step) -> float:
        best = float("inf")
        for _ in range(2):
            t = time.process_time()
            step()
            best = min(best, time.process_time() - t)
        return best / rows * 1e6

    with threadpool_limits(limits=1):
        det = ClickbaitDetector.load(args.model)
        scorer = Scorer(det)
        if scorer.runtime is None:
            return {"skipped": "the model's encoder runs in TensorFlow"}
        ids = scorer.runtime.ids(texts)
        emb = scorer.runtime.embed(ids)
        parts = [slice(s, s + 8192) for s in range(0, rows, 8192)]
        out = {"rows": rows, "k": det.k, "retrieval": det.retrieval_,
               "tokenize_us": us(lambda: scorer.runtime.ids(texts)),
               "encode_us": us(lambda: scorer.runtime.embed(ids))}
        for retrieval in ("exact", "fast"):
            det._decide(ids[:10], emb[:10], retrieval=retrieval)  # its index, built once
            out[f"{retrieval}_search_vote_us"] = us(
                lambda r=retrieval: [det._decide(ids[p], emb[p], retrieval=r) for p in parts])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000, help="distinct and repeated rows")
    parser.add_argument("--rss-rows", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parts = ["distinct", "threads", "exact", "baseline", "start-up", "repeated", "rss", "stages", "costs"]
    parser.add_argument("--parts", nargs="+", default=parts, choices=parts)
    parser.add_argument("--repeats", type=int, default=3,
                        help="pairs of runs (ours, reference) for distinct, threads and start-up")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--wrap", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--interval", type=float, default=TIMED_INTERVAL, help=argparse.SUPPRESS)
    parser.add_argument("--reference-job", nargs=3, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("cmd", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.wrap:
        return wrap(args.cmd, args.interval)
    if args.reference_job:
        reference_job(*args.reference_job)
        return 0

    results: dict = {"command": shlex.join([Path(sys.executable).name, *sys.argv]),
                     "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                     "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg(),
                                 "python": platform.python_version()},
                     "model": str(args.model), "rows": args.rows}
    with tempfile.TemporaryDirectory(prefix="bench_score_") as tmp:
        tmp = Path(tmp)
        model = tmp / "reference.joblib"
        results["reference_test_accuracy"] = fit_reference(args.data_dir, model)
        out = tmp / "out.csv"

        def pair(name: str, source: Path, rows: int, output: Path = out, *extra: str,
                 repeats: int = 1, interval: float = TIMED_INTERVAL, against: Path = model) -> dict:
            """Ours and the reference, alternately, `repeats` times: the median ratio of the pairs
            (and each pair's), with the runs of the median pair."""
            print(f"{name}: {rows:,} rows ...", flush=True)
            runs = []
            for _ in range(repeats):
                r = {"ours": measured(ours(args, source, output, *extra), rows, interval),
                     "reference": measured(reference(args, against, source, out), rows, interval)}
                r["ratio"] = r["ours"]["rows_per_second"] / r["reference"]["rows_per_second"]
                runs.append(r)
            ranked = sorted(runs, key=lambda r: r["ratio"])
            median = dict(ranked[len(ranked) // 2])
            if repeats > 1:
                median["ratios"] = [r["ratio"] for r in runs]
                median["ratio_min"], median["ratio_max"] = ranked[0]["ratio"], ranked[-1]["ratio"]
            return median

        distinct = write_csv(tmp / "distinct.csv", distinct_headlines(args.rows, args.data_dir))
        if "distinct" in args.parts or "exact" in args.parts:
            results["distinct"] = pair("distinct", distinct, args.rows, tmp / "fast.csv",
                                       repeats=args.repeats)
        if "threads" in args.parts:
            results["threads"] = pair("distinct, --no-processes", distinct, args.rows, tmp / "threads.csv",
                                      "--no-processes", repeats=args.repeats)
        if "exact" in args.parts:
            results["exact"] = pair("distinct, --retrieval exact", distinct, args.rows,
                                    tmp / "exact.csv", "--retrieval", "exact")
            results["exact"]["agreement"] = agreement(tmp / "exact.csv", tmp / "fast.csv")
        if "baseline" in args.parts:  # informational: the target is against the word-only reference
            baseline = tmp / "baseline.joblib"
            results["baseline_test_accuracy"] = fit_reference(args.data_dir, baseline, baseline=True)
            results["baseline"] = pair("distinct, against the users' baseline", distinct, args.rows,
                                       against=baseline)
        if "start-up" in args.parts:
            one = write_csv(tmp / "one.csv", distinct_headlines(1, args.data_dir))
            # one process on one core until its first row: the sampler has a core to itself
            results["start-up"] = pair("start-up (one row)", one, 1, repeats=args.repeats,
                                       interval=MEMORY_INTERVAL)
        if "repeated" in args.parts:
            results["repeated"] = pair("repeated", write_csv(tmp / "repeated.csv", repeated_headlines(
                args.rows, args.data_dir)), args.rows)
        if "rss" in args.parts:
            results["rss"] = {}
            for rows in args.rss_rows:
                print(f"rss: {rows:,} distinct rows ...", flush=True)
                source = write_csv(tmp / f"distinct_{rows}.csv", distinct_headlines(rows, args.data_dir))
                results["rss"][str(rows)] = measured(ours(args, source, out), rows, MEMORY_INTERVAL)
                source.unlink()
        if "stages" in args.parts:
            print("stages ...", flush=True)
            results["stages"] = stages(args, distinct, out)
        if "costs" in args.parts:
            print("costs per headline ...", flush=True)
            results["costs"] = costs(args)
    results["machine"]["load_average_after"] = os.getloadavg()
    results["verdicts"] = report(results)
    from clickbait.reports import write_json

    write_json(results, args.results)
    print(f"wrote {args.results.relative_to(ROOT) if args.results.is_relative_to(ROOT) else args.results}")
    return 0


def agreement(exact: Path, fast: Path) -> dict:
    """How far the fast path's output is from the exact one, row by row."""
    import numpy as np
    import pandas as pd

    a, b = (pd.read_csv(p, usecols=["clickbait_probability", "clickbait"]) for p in (exact, fast))
    dp = np.abs(a["clickbait_probability"].to_numpy() - b["clickbait_probability"].to_numpy())
    flips = int((a["clickbait"].fillna(-1) != b["clickbait"].fillna(-1)).sum())  # rows without text: no label
    return {"rows": len(a), "label_flips": flips, "label_flip_share": flips / len(a),
            "max_abs_dp": float(np.nanmax(dp)), "mean_abs_dp": float(np.nanmean(dp))}


def report(results: dict) -> dict:
    """Print the figures; return PASS/MISS per target."""
    verdicts = {}

    def verdict(label: str, value: float, ok: bool) -> None:
        verdicts[label] = {"value": value, "pass": bool(ok)}
        print(f"  {'PASS' if ok else 'MISS'}  {label}  ({value:,.3f})")

    print(f"\n{'':<22} {'ours rows/s':>12} {'reference':>10} {'ratio':>6} {'ours s':>7} {'ref s':>6} "
          f"{'ours RSS MB':>11} {'ref RSS MB':>10}")
    for part in ("distinct", "threads", "exact", "baseline", "start-up", "repeated"):
        if part in results:
            r = results[part]
            o, f = r["ours"], r["reference"]
            rps = (f"{o['rows_per_second']:>12,.0f} {f['rows_per_second']:>10,.0f}" if part != "start-up"
                   else f"{'-':>12} {'-':>10}")
            print(f"{part:<22} {rps} "
                  f"{r['ratio']:>5.2f}x {o['seconds']:>7.2f} {f['seconds']:>6.2f} {o['peak_rss_mb']:>11,.0f} "
                  f"{f['peak_rss_mb']:>10,.0f}")
    for rows, r in results.get("rss", {}).items():
        print(f"{'rss ' + f'{int(rows):,}':<22} {r['rows_per_second']:>12,.0f} {'':>10} {'':>6} "
              f"{r['seconds']:>7.2f} {'':>6} {r['peak_rss_mb']:>11,.0f}  (all processes, PSS: "
              f"{r['peak_tree_pss_mb']:,.0f} MB, anonymous {r['peak_tree_anon_mb']:,.0f} MB)")
    for part in ("distinct", "threads", "start-up"):
        if "ratios" in results.get(part, {}):
            r = results[part]
            print(f"{part}: ratio median {r['ratio']:.2f}x of {len(r['ratios'])} pairs, "
                  f"{r['ratio_min']:.2f}x to {r['ratio_max']:.2f}x")
    if "exact" in results:
        a = results["exact"]["agreement"]
        print(f"fast (the default) against exact, row by row: {a['label_flips']:,} of {a['rows']:,} "
              f"labels differ "
              f"({a['label_flip_share']:.3%}); P(clickbait) differs by {a['mean_abs_dp']:.2g} on average, "
              f"{a['max_abs_dp']:.2g} at most")
    if "stages" in results:
        s = results["stages"]
        print(f"stages (distinct, one process, {s['retrieval']} retrieval; they overlap): " + ", ".join(
            f"{k} {s['stages_seconds'][k]:.1f} s ({v:.0%})" for k, v in s["stage_shares"].items()))
    c = results.get("costs", {})
    if "fast_search_vote_us" in c:
        ref = results.get("distinct", {}).get("reference")
        per_row = (f"; the reference's whole job {ref['seconds'] / ref['rows'] * 1e6:.1f} us a row"
                   if ref else "")
        print(f"CPU per headline, one thread ({c['rows']:,} distinct): tokenize {c['tokenize_us']:.1f} us, "
              f"encode {c['encode_us']:.1f} us, search and vote: fast {c['fast_search_vote_us']:.1f} us, "
              f"exact {c['exact_search_vote_us']:.1f} us{per_row}")
    print("targets:")
    if "distinct" in results:
        verdict(f"distinct headlines, whole process: >= {TARGET_RATIO}x the reference",
                results["distinct"]["ratio"], results["distinct"]["ratio"] >= TARGET_RATIO)
    if "start-up" in results:
        s = results["start-up"]["ours"]["seconds"]
        verdict(f"start-up to first scored row <= {TARGET_STARTUP_S} s", s, s <= TARGET_STARTUP_S)
    rss = results.get("rss", {})
    if rss:  # the whole process tree (the worker processes too), by PSS
        peak = max(r["peak_tree_pss_mb"] for r in rss.values())
        verdict(f"peak memory of all its processes (PSS) <= {TARGET_RSS_MB} MB", peak, peak <= TARGET_RSS_MB)
        if len(rss) > 1:  # what could grow with the rows: the heap and arrays, not library pages
            sizes = sorted(rss, key=int)
            for kind, key in (("anonymous", "peak_tree_anon_mb"), ("all", "peak_tree_pss_mb")):
                growth = rss[sizes[-1]][key] / rss[sizes[0]][key] - 1
                verdict(f"peak memory growth ({kind} pages, all processes) {int(sizes[0]):,} -> "
                        f"{int(sizes[-1]):,} rows <= {TARGET_RSS_GROWTH:.0%}", growth,
                        abs(growth) <= TARGET_RSS_GROWTH)
    return verdicts


if __name__ == "__main__":
    sys.exit(main())
