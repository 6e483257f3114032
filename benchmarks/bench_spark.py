"""Spark local[N] (and Dask's process scheduler) against the single-process `clickbait score`,
on the same distinct headlines.

    .venv/bin/python benchmarks/bench_spark.py --rows 200000 --master 'local[2]'

Both read the same CSV and write every row back with its probability, as Parquet. The Spark
run is split into what a job pays once and what it pays per row:
  session      SparkSession start (JVM, context)
  model load   a two-partition job of two rows: each Python worker starts and loads the model
               (it stays loaded: workers are reused, the model is cached in clickbait.batch)
  first job    `clickbait.spark.score_files` on the file: read (in line-aligned parts: the file
               has no quoted line breaks), score, write Parquet, on a JVM that has not run these
               paths yet
  steady       the same job again (rows/s here is what more rows would get), --repeats times,
               each after a run of the command: the ratio of each pair, and their median
Dask is split the same way: its process pool (N = the cores in --master) with the model loaded
in each worker, then `clickbait.dask.score(dd.read_csv(...)).to_parquet(...)` on the file, twice.
The single-process figures are bench_score's: the whole `clickbait score` command, and the same
on a one-row file (its start-up); its rows/s after start-up is the rows over the difference.
Results: benchmarks/results/spark.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_score import DATA, distinct_headlines, measured, ours, write_csv  # noqa: E402


def spark_job(args) -> None:
    """Run as a subprocess (`--job`): prints the session, model-load and first-job timings as a
    JSON line, then runs the job again for each `run` line on stdin, printing each timing."""
    import pandas as pd

    from clickbait import spark

    t = time.perf_counter()
    session = spark.session(args.master, app="clickbait-bench", log_level="ERROR")
    session.range(1).count()
    started = time.perf_counter() - t
    t = time.perf_counter()
    tiny = session.createDataFrame(pd.DataFrame({"headline": ["a headline", "another one"]})).repartition(2)
    spark.score(tiny, args.model).collect()
    load = time.perf_counter() - t
    first = spark.score_files(args.model, str(args.input), str(args.output), force=True)
    print(json.dumps({"session_seconds": started, "model_load_seconds": load,
                      "first_job_seconds": first["seconds"], "rows": first["rows"],
                      "partitions": first["partitions"],
                      "first_job_rows_per_second": first["rows"] / first["seconds"]}), flush=True)
    # The same job again: the JVM has compiled its CSV and Parquet paths by now, as in any job
    # that runs for more than a few seconds (the first run pays that warm-up).
    # Each time, the one-row file first: what every job pays whatever its size (planning, tasks,
    # the commit), as the command's one-row run measures its start-up.
    for line in sys.stdin:
        if line.strip() != "run":
            break
        one = spark.score_files(args.model, str(args.one), str(args.output), force=True)
        r = spark.score_files(args.model, str(args.input), str(args.output), force=True)
        print(json.dumps({"seconds": r["seconds"], "rows": r["rows"], "one_row_seconds": one["seconds"]}),
              flush=True)
    session.stop()


def _load_model(model: str) -> None:
    """A Dask worker process's initializer: the model loads once, before the job, as Spark's
    first batch does (clickbait.batch caches it per process)."""
    from clickbait.batch import BatchScorer

    BatchScorer(model).predict_batch(["a headline"])


def dask_job(args) -> None:
    """Run as a subprocess (`--dask-job`): prints the Dask timings as JSON."""
    import multiprocessing
    import re
    from concurrent.futures import ProcessPoolExecutor

    import dask
    import dask.dataframe as dd
    import pandas as pd

    from clickbait.dask import score

    found = re.fullmatch(r"local\[(\d+)\]", args.master)
    workers = int(found.group(1)) if found else os.cpu_count()
    t = time.perf_counter()
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_load_model, initargs=(str(args.model),))
    list(pool.map(time.sleep, [0.5] * workers))  # every worker has started (and loaded the model)
    load = time.perf_counter() - t
    size = args.input.stat().st_size
    seconds = []
    for run in range(2):  # a first job, then the same again (as for Spark)
        t = time.perf_counter()
        frame = dd.read_csv(args.input, dtype=str, keep_default_na=False,
                            blocksize=size // (4 * workers) + 1)
        job = score(frame, args.model).to_parquet(args.output / str(run), compute=False)
        dask.compute(job, scheduler="processes", pool=pool)
        seconds.append(time.perf_counter() - t)
    rows = len(pd.read_parquet(args.output / "1", columns=["clickbait_probability"]))
    print(json.dumps({"pool_and_model_load_seconds": load, "first_job_seconds": seconds[0],
                      "steady_seconds": seconds[1], "rows": rows, "partitions": frame.npartitions,
                      "workers": workers, "first_job_rows_per_second": rows / seconds[0],
                      "steady_rows_per_second": rows / seconds[1]}))
    pool.shutdown()


def _reply(job: subprocess.Popen) -> dict:
    """The Spark job's next JSON line (its stderr, Spark's log, goes to ours)."""
    line = job.stdout.readline()
    if not line:
        sys.exit(f"spark job failed ({job.wait()}): see its log above")
    return json.loads(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "spark.json")
    parser.add_argument("--repeats", type=int, default=3, help="alternating pairs (median reported)")
    parser.add_argument("--no-dask", dest="dask", action="store_false", help="skip the Dask run")
    parser.add_argument("--job", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dask-job", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        spark_job(args)
        return 0
    if args.dask_job:
        dask_job(args)
        return 0

    results = {"command": shlex.join([Path(sys.executable).name, *sys.argv]),
               "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "load_average": os.getloadavg(), "rows": args.rows, "master": args.master,
               "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench_spark_") as tmp:
        tmp = Path(tmp)
        source = write_csv(tmp / "distinct.csv", distinct_headlines(args.rows, args.data_dir))
        one = write_csv(tmp / "one.csv", distinct_headlines(1, args.data_dir))
        print(f"spark {args.master} ...", flush=True)
        started = time.perf_counter()
        job = subprocess.Popen([sys.executable, __file__, "--job", "--master", args.master, "--model",
                                str(args.model), "--input", str(source), "--one", str(one),
                                "--output", str(tmp / "out.parquet")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        results["spark"] = _reply(job)
        # Alternating pairs, as bench_score: the command (the whole run, and its start-up on a
        # one-row file), then Spark's steady-state job; the ratio of each pair, and the median.
        pairs = []
        for i in range(args.repeats):
            print(f"pair {i + 1}: single process, then spark ...", flush=True)
            whole = measured(ours(args, source, tmp / "out_cli.parquet"), args.rows)
            start_up = measured(ours(args, one, tmp / "one_out.parquet"), 1)
            job.stdin.write("run\n")
            job.stdin.flush()
            steady = _reply(job)
            cli = args.rows / (whole["seconds"] - start_up["seconds"])
            marginal = steady["rows"] / (steady["seconds"] - steady["one_row_seconds"])
            pairs.append({"cli": whole, "cli_start_up": start_up,
                          "cli_rows_per_second_after_start_up": cli,
                          "spark_steady_seconds": steady["seconds"],
                          "spark_one_row_job_seconds": steady["one_row_seconds"],
                          "spark_steady_rows_per_second": steady["rows"] / steady["seconds"],
                          "spark_rows_per_second_after_job_overhead": marginal,
                          "ratio": steady["rows"] / steady["seconds"] / cli,
                          "ratio_after_job_overhead": marginal / cli})
        job.stdin.close()
        if job.wait():
            sys.exit(f"spark job failed ({job.returncode})")
        results["spark"]["process_seconds"] = time.perf_counter() - started
        results["pairs"] = pairs
        mid = sorted(pairs, key=lambda p: p["ratio"])[len(pairs) // 2]
        results["cli"], results["cli_start_up"] = mid["cli"], mid["cli_start_up"]
        results["spark"].update(steady_seconds=mid["spark_steady_seconds"],
                                steady_rows_per_second=mid["spark_steady_rows_per_second"])
        if args.dask:
            print("dask (processes) ...", flush=True)
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, __file__, "--dask-job", "--master", args.master,
                                   "--model", str(args.model), "--input", str(source),
                                   "--output", str(tmp / "dask.parquet")],
                                  capture_output=True, text=True, check=False)
            if proc.returncode:
                sys.exit(f"dask job failed:\n{proc.stderr[-3000:]}")
            results["dask"] = json.loads(proc.stdout.strip().splitlines()[-1])
            results["dask"]["process_seconds"] = time.perf_counter() - started
    cli, sp = results["cli"], results["spark"]
    cli_steady = mid["cli_rows_per_second_after_start_up"]
    results["cli_rows_per_second_after_start_up"] = cli_steady
    results["steady_ratio_spark_to_cli"] = mid["ratio"]
    results["steady_ratio_range"] = [min(p["ratio"] for p in pairs), max(p["ratio"] for p in pairs)]
    # Both sides without what they pay once per run: the command's start-up, the job's overhead.
    over = sorted(p["ratio_after_job_overhead"] for p in pairs)
    results["marginal_ratio_spark_to_cli"] = over[len(over) // 2]
    results["marginal_ratio_range"] = [over[0], over[-1]]
    print(f"\nsingle process: {cli['seconds']:.1f} s whole ({cli['rows_per_second']:,.0f} rows/s; "
          f"start-up {results['cli_start_up']['seconds']:.1f} s, {cli_steady:,.0f} rows/s after it)")
    print(f"spark {args.master}: session {sp['session_seconds']:.1f} s, model load (workers) "
          f"{sp['model_load_seconds']:.1f} s, first job {sp['first_job_seconds']:.1f} s "
          f"({sp['first_job_rows_per_second']:,.0f} rows/s), steady {sp['steady_seconds']:.1f} s "
          f"({sp['steady_rows_per_second']:,.0f} rows/s, {sp['partitions']} partitions); whole process "
          f"{sp['process_seconds']:.1f} s")
    print(f"steady-state spark / single process: {results['steady_ratio_spark_to_cli']:.2f}x (median "
          f"of {len(pairs)} pairs: " + " / ".join(f"{p['ratio']:.2f}" for p in pairs) + ")")
    print(f"the same without a one-row job's seconds (the command's without its start-up): "
          f"{results['marginal_ratio_spark_to_cli']:.2f}x (" + " / ".join(
              f"{p['ratio_after_job_overhead']:.2f}" for p in pairs) + ")")
    if "dask" in results:
        dk = results["dask"]
        results["steady_ratio_dask_to_cli"] = dk["steady_rows_per_second"] / cli_steady
        print(f"dask, {dk['workers']} processes: pool start and model load "
              f"{dk['pool_and_model_load_seconds']:.1f} s, first job {dk['first_job_seconds']:.1f} s, "
              f"steady {dk['steady_seconds']:.1f} s ({dk['steady_rows_per_second']:,.0f} rows/s, "
              f"{dk['partitions']} partitions); whole process {dk['process_seconds']:.1f} s; "
              f"steady-state dask / single process: {results['steady_ratio_dask_to_cli']:.2f}x")
    from clickbait.reports import write_json

    write_json(results, args.results)
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
