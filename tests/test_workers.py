"""Model workers as forked processes (clickbait/workers.py, `clickbait score --processes`): the
same bytes as threads, nothing duplicated on stdout, a worker's death or a signal ends the run
with no output file and no process left behind, and threads where fork is unsafe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import default_signals, leftovers

from clickbait import scorer, scoring, workers
from clickbait.scoring import score_csv

HEADLINES = [
    "You Won't Believe What This Dog Did Next", "Senate passes budget bill after long debate",
    "NA", "null", "", "   ", 'He said "no, never", then left', "multi\nline, headline",
    "17 Things Only 90s Kids Will Understand", "Stocks fall as oil prices rise",
]


def run(*args: str, **kw) -> subprocess.CompletedProcess:
    """The CLI in a fresh process: no TensorFlow there, so worker processes can run."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-m", "clickbait", *args], capture_output=True, env=env,
                          timeout=300, **kw)


@pytest.fixture
def source(tmp_path) -> Path:
    rows = pd.DataFrame({"id": range(len(HEADLINES) * 9), "headline": HEADLINES * 9})
    rows.to_csv(tmp_path / "in.csv", index=False)
    return tmp_path / "in.csv"


def test_processes_write_the_bytes_threads_write_and_stdout_is_not_duplicated(saved_model, source, tmp_path):
    threads, procs = tmp_path / "threads.csv", tmp_path / "procs.csv"
    common = ["--batch-size", "4", "--workers", "2", "-q"]
    done = run("score", str(saved_model), str(source), "-o", str(threads), "--no-processes", *common)
    assert done.returncode == 0, done.stderr.decode()
    done = run("score", str(saved_model), str(source), "-o", str(procs), "--processes", *common)
    assert done.returncode == 0, done.stderr.decode()
    assert procs.read_bytes() == threads.read_bytes()
    assert len(pd.read_csv(procs, keep_default_na=False)) == len(HEADLINES) * 9
    # to stdout: the header is written before the fork; a child must not write it again
    out = run("score", str(saved_model), str(source), "-o", "-", "--processes", *common)
    assert out.returncode == 0, out.stderr.decode()
    assert out.stdout == threads.read_bytes()
    # from stdin, a file (seekable: a child must not move the offset the parent reads from) or a pipe
    with open(source, "rb") as f:
        piped = run("score", str(saved_model), "-", "-o", "-", "--processes", *common, stdin=f)
    assert piped.returncode == 0 and piped.stdout == threads.read_bytes(), piped.stderr.decode()
    piped = run("score", str(saved_model), "-", "-o", "-", "--processes", *common, input=source.read_bytes())
    assert piped.returncode == 0 and piped.stdout == threads.read_bytes(), piped.stderr.decode()
    # without de-duplication, and with three workers (more than the cores)
    more = run("score", str(saved_model), str(source), "-o", "-", "--processes", "--no-dedup",
               "--batch-size", "3", "--workers", "3", "-q")
    assert more.returncode == 0 and more.stdout == threads.read_bytes()


SCRIPT = """
import os, sys, time
from clickbait import workers
from clickbait.detector import ClickbaitDetector
from clickbait.scoring import score_csv

how = sys.argv[4]
real = workers._serve

def serve(conn, others, scorer, *deferred):
    if how == "die":
        conn.recv()  # the first chunk, then killed (out of memory, say)
        os._exit(9)
    if how == "fail":
        scorer.predictor = None  # an error inside the worker
    if how == "slow":
        print("worker", os.getpid(), flush=True)
    real(conn, others, scorer, *deferred)

workers._serve = serve
if how == "slow":
    real_result = workers.WorkerProcesses.result
    def result(self, w):
        print("writing 0", flush=True)  # the output's temporary is open: the guard is on
        time.sleep(0.2)
        return real_result(self, w)
    workers.WorkerProcesses.result = result
    print("parent", os.getpid(), flush=True)
det = ClickbaitDetector.load(sys.argv[1])
try:
    score_csv(det, sys.argv[2], sys.argv[3], batch_size=2, workers=2, processes=True)
except Exception as e:
    print(type(e).__name__, e)
import multiprocessing
print("children left:", len(multiprocessing.active_children()))
"""


@pytest.mark.parametrize("how", ["die", "fail"])
def test_a_worker_that_dies_or_fails_ends_the_run_with_no_output(saved_model, source, tmp_path, how):
    out = tmp_path / "out.csv"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(saved_model), str(source), str(out), how],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    said = done.stdout
    if how == "die":
        assert "WorkerEnded scoring worker process" in said and "exit code 9" in said, said + done.stderr
    else:
        assert "RuntimeError a scoring worker failed" in said and "AttributeError" in said, said + done.stderr
    assert "children left: 0" in said
    assert not out.exists() and leftovers(tmp_path) == []


def test_sigterm_ends_the_parent_and_its_workers_with_no_output(saved_model, tmp_path):
    big = tmp_path / "big.csv"
    rows = [f"{h} {i}" for i in range(3000) for h in HEADLINES[:2]]
    pd.DataFrame({"headline": rows}).to_csv(big, index=False)
    out = tmp_path / "out.csv"
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(saved_model), str(big), str(out), "slow"],
                            stdout=subprocess.PIPE, text=True, preexec_fn=default_signals,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    pids: dict[str, list[int]] = {"parent": [], "worker": [], "writing": []}
    while len(pids["worker"]) < 2 or not pids["writing"]:  # the parent and its workers say their pids
        kind, pid = proc.stdout.readline().split()
        pids[kind].append(int(pid))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 20
    for pid in pids["worker"]:  # each meets end-of-file on its pipe and exits
        while Path(f"/proc/{pid}").exists() and _state(pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{pid}").exists() or _state(pid) == "Z", f"worker {pid} still runs"
    assert not out.exists() and leftovers(tmp_path) == []


def test_ctrl_c_at_a_terminal_stops_everything_quietly(saved_model, tmp_path):
    """Ctrl-C reaches the whole process group: the command says it was interrupted (exit 130),
    the workers end without a traceback, and no output or temporary is left."""
    big = tmp_path / "big.csv"
    pd.DataFrame({"headline": [f"{h} {i}" for i in range(20000) for h in HEADLINES[:2]]}).to_csv(
        big, index=False)
    out = tmp_path / "out.csv"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "clickbait", "score", str(saved_model), str(big), "-o",
                             str(out), "--batch-size", "64", "--processes"], stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True, preexec_fn=default_signals)
    deadline = time.monotonic() + 60
    while len(_children(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    workers_ = _children(proc.pid)
    assert len(workers_) == 2, "the workers did not start"
    time.sleep(0.5)  # scoring
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err, err
    for pid in workers_:
        while Path(f"/proc/{pid}").exists() and _state(pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{pid}").exists() or _state(pid) == "Z"
    assert not out.exists() and leftovers(tmp_path) == []


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            pass
    return found


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_processes_where_they_cannot_run_say_why(small_detector, source, tmp_path):
    """Here TensorFlow is loaded (the fixture trained a model): fork would be unsafe."""
    with pytest.raises(ValueError, match="processes=True, but worker processes cannot run here: they need"):
        score_csv(small_detector, source, tmp_path / "a.csv", processes=True, workers=2)
    with pytest.raises(ValueError, match="--explain reads the cases in this process"):
        score_csv(small_detector, source, tmp_path / "b.csv", processes=True, explain=2, workers=2)
    with pytest.raises(ValueError, match="one worker"):
        score_csv(small_detector, source, tmp_path / "c.csv", processes=True, workers=1)
    assert not list(tmp_path.glob("[abc].csv"))
    summary = score_csv(small_detector, source, tmp_path / "d.csv", workers=2)  # None: threads here
    assert summary.rows == len(HEADLINES) * 9


def test_fork_only_from_a_process_whose_other_threads_are_marked_safe(small_detector, monkeypatch):
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    scorer = scoring.Scorer(small_detector)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    # the threads alive: this one and `other` (earlier tests may have left a tqdm monitor)
    monkeypatch.setattr(threading, "enumerate", lambda: [threading.current_thread(), other])
    try:
        assert not workers.usable(scorer)  # a thread that may hold a lock the child needs
        other.fork_safe = True
        assert workers.usable(scorer)
    finally:
        stop.set()
        other.join()
    assert workers.usable(scorer)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not workers.usable(scorer)


def test_text_presence_fast_path_equals_the_general_rule():
    texts = ["a", "", " ", "\t\n", "\u00a0", "\u2003x\u2003", "x ", "\u0085", "0", "NA", "\x1c"]
    series = pd.Series(texts, dtype=object)
    valid, values = scorer._present(series)
    assert valid.tolist() == [bool(t.strip()) for t in texts]
    assert values.tolist() == [t for t in texts if t.strip()]
    mixed = pd.Series(["a", None, 3, float("nan"), " "], dtype=object)  # JSON Lines, Parquet
    valid, values = scorer._present(mixed)
    assert valid.tolist() == [True, False, True, False, False] and values.tolist() == ["a", "3"]
    assert np.array_equal(scorer._present(pd.Series([], dtype=object))[0], np.zeros(0, bool))


SIZES = """
import sys
from pathlib import Path
import pandas as pd
from clickbait.detector import ClickbaitDetector
from clickbait.scoring import score_csv

det = ClickbaitDetector.load(sys.argv[1])
tmp = Path(sys.argv[2])
heads = sys.argv[3:]
checked = 0
for rows in (1, 3, 4, 5, 8, 9, 13, 21):
    src = tmp / f"in{rows}.csv"
    pd.DataFrame({"headline": [heads[i % len(heads)] for i in range(rows)]}).to_csv(src, index=False)
    for workers in (2, 3):
        for dedup in (True, False):
            a, b = tmp / "a.csv", tmp / "b.csv"
            score_csv(det, src, a, batch_size=4, workers=workers, processes=False, dedup=dedup, force=True)
            score_csv(det, src, b, batch_size=4, workers=workers, processes=rows > 4, dedup=dedup, force=True)
            assert a.read_bytes() == b.read_bytes(), (rows, workers, dedup)
            checked += 1
print("checked", checked)
"""


def test_every_chunk_count_and_worker_count_gives_the_threads_bytes(saved_model, tmp_path):
    """1 to 6 chunks of 4 rows over 2 or 3 workers (fewer chunks than workers, a partial last
    chunk, a worker's second round), with and without de-duplication."""
    done = subprocess.run([sys.executable, "-c", SIZES, str(saved_model), str(tmp_path), *HEADLINES],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 0 and "checked 32" in done.stdout, done.stdout + done.stderr


def test_a_ctrl_c_during_the_fork_is_not_lost(saved_model, source, tmp_path):
    """A signal that arrives while the workers are being forked used to land in an after-fork
    hook (logging's), be reported as ignored, and the run went on to exit 0. Here the hook
    itself sends the Ctrl-C: the run must stop as interrupted."""
    script = ("import os, signal, sys\n"
              "os.register_at_fork(after_in_parent=lambda: os.kill(os.getpid(), signal.SIGINT))\n"
              "from clickbait.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    out = tmp_path / "out.csv"
    done = subprocess.run([sys.executable, "-c", script, "score", str(saved_model), str(source), "-o",
                           str(out), "--batch-size", "4", "--processes"], capture_output=True, text=True,
                          timeout=300, preexec_fn=default_signals,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 130, done.stderr
    assert "interrupted" in done.stderr and "Traceback" not in done.stderr and "ignored" not in done.stderr
    assert not out.exists() and leftovers(tmp_path) == []


def test_the_cli_names_its_flags_when_processes_cannot_run(saved_model, source, tmp_path, capsys):
    from clickbait.cli import main

    assert main(["score", str(saved_model), str(source), "-o", str(tmp_path / "o.csv"), "--processes",
                 "--workers", "1"]) == 1
    err = capsys.readouterr().err
    assert "--processes, but worker processes cannot run here: one worker (--workers 1)" in err, err
    assert "processes=True" not in err and not (tmp_path / "o.csv").exists()


FROZEN = """
import gc, multiprocessing, sys
import numpy as np
from clickbait import workers
from clickbait.scorer import Scorer
from clickbait.trained import TrainedDetector

scorer = Scorer(TrainedDetector.load(sys.argv[1]))
before = gc.get_freeze_count()
with workers.WorkerProcesses(scorer, 2) as pool:
    frozen = gc.get_freeze_count()  # the objects made before the fork, out of the collector's reach
    pool.submit(0, ["You Will Not Believe This", "Senate passes budget"])
    scored = pool.result(0).shape
after = gc.get_freeze_count()
real = multiprocessing.context.ForkProcess.start
calls = []
def start(self):
    calls.append(1)
    if len(calls) == 2:
        raise OSError("no more processes")
    real(self)
multiprocessing.context.ForkProcess.start = start
try:
    workers.WorkerProcesses(scorer, 2)
except OSError:
    pass
failed_fork = gc.get_freeze_count()
multiprocessing.context.ForkProcess.start = real
join = multiprocessing.process.BaseProcess.join
def interrupted(self, timeout=None):  # a second Ctrl-C while the pool closes
    multiprocessing.process.BaseProcess.join = join
    raise KeyboardInterrupt
pool = workers.WorkerProcesses(scorer, 2)
multiprocessing.process.BaseProcess.join = interrupted
try:
    pool.close()
except KeyboardInterrupt:
    pass
for proc in pool._procs:  # the workers end; close() is not called again (as in `with pool:`)
    proc.kill()
    proc.join()
print(before, frozen > 1000, scored, after, failed_fork, gc.get_freeze_count(),
      len(multiprocessing.active_children()))
"""


def test_objects_made_before_the_fork_stay_frozen_while_the_workers_live(saved_model):
    """The scoring process unfroze them right after forking: its collections then wrote to
    every model object's header, copying the pages it shared with the workers, and the
    command's memory grew by about 25 MB over its first 150,000 rows (docs/scoring.md). They
    thaw when the pool closes, when a fork fails, and when its closing is interrupted."""
    done = subprocess.run([sys.executable, "-c", FROZEN, str(saved_model)], capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "True", "(2,", "4)", "0", "0", "0", "0"], done.stdout


def test_scores_come_in_sub_batches_and_do_not_depend_on_them(saved_model, monkeypatch):
    """A chunk is encoded and voted on in parts of SUB_BATCH rows (its temporaries were the
    workers' memory growth), with the scores the whole chunk gets at once."""
    from clickbait.trained import TrainedDetector

    s = scorer.Scorer(TrainedDetector.load(saved_model))
    texts = np.asarray([f"{h} {i}" for i in range(7) for h in HEADLINES], dtype=object)
    codes, ids, uniques = s.tokenize(texts)
    whole = s.score_ids(codes, ids, uniques)
    sizes = []
    real = scorer.Scorer.vote

    def vote(self, ids, emb, texts=None):
        sizes.append(len(ids))
        return real(self, ids, emb, texts)

    monkeypatch.setattr(scorer, "SUB_BATCH", 5)
    monkeypatch.setattr(scorer.Scorer, "vote", vote)
    parts = s.score_ids(codes, ids, uniques)
    assert max(sizes) == 5 and sum(sizes) == len(uniques) > 5
    np.testing.assert_array_equal(parts, whole)
    assert s.score_ids(None, ids[:0], uniques[:0]).shape == (0, 4)
    sizes.clear()  # the exact retrieval: whole chunks (faiss's exact search costs more in parts)
    exact = scorer.Scorer(TrainedDetector.load(saved_model), retrieval="exact")
    exact.score_ids(codes, ids, uniques)
    assert sizes == [len(uniques)]
