"""The arithmetic of benchmarks/bench_score.py's derived figures (the timings themselves are
benchmarks, not tests)."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import load_benchmark

bench = load_benchmark("bench_score")


def test_agreement_counts_changed_labels_and_probabilities(tmp_path):
    exact = pd.DataFrame({"headline": list("abcd"), "clickbait_probability": [0.1, 0.6, 0.9, None],
                          "clickbait": [0, 1, 1, None]})
    fast = exact.assign(clickbait_probability=[0.1, 0.4, 0.95, None], clickbait=[0, 0, 1, None])
    exact.to_csv(tmp_path / "exact.csv", index=False)
    fast.to_csv(tmp_path / "fast.csv", index=False)
    a = bench.agreement(tmp_path / "exact.csv", tmp_path / "fast.csv")
    assert a["rows"] == 4 and a["label_flips"] == 1 and a["label_flip_share"] == 0.25
    assert a["max_abs_dp"] == pytest.approx(0.2) and a["mean_abs_dp"] == pytest.approx(0.25 / 3)


def test_tree_memory_counts_forked_children_once_for_shared_pages():
    """bench_score's memory figure sums PSS over the process tree: a child's own pages count,
    pages it shares with its parent (copy-on-write) are not counted twice."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = ("import os, sys, time\n"
              "shared = bytearray(os.urandom(1 << 20)) * 120\n"  # 120 MB, written: resident
              "if os.fork() == 0:\n"
              "    own = bytearray(os.urandom(1 << 20)) * 80\n"  # the child's own 80 MB
              "    print('ready', flush=True); time.sleep(60); os._exit(0)\n"
              "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        total, anon = bench.tree_pss_mb(proc.pid)
        assert 190 < total < 260, total  # 120 shared once + 80 own (+ two interpreters), not 320
        assert 195 < anon < total, anon  # the bytearrays are anonymous; the interpreters' code is not
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the parent and its child
        proc.wait()
