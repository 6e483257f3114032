"""The command line as a shell user meets it (subprocesses on a tiny model): quiet stderr (no
TensorFlow log lines), exit statuses 0/1/2, Ctrl-C and a closed pipe without a traceback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import (
    ROOT,
    default_signals,
    subset,
)

# What TensorFlow/absl write on their own: "I0000 00:00:17.. 123 port.cc:153] oneDNN ...",
# "2024-.. W tensorflow/...", absl's pre-initialisation note, Python-side "WARNING:tensorflow".
TF_LOG = re.compile(r"^[IWEF]\d{4} |tensorflow/|oneDNN|absl::|NodeDef|WARNING:(tensorflow|absl)",
                    re.MULTILINE)


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}  # no help from outside
    return {**env, "PYTHONPATH": str(ROOT)}


def clickbait(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clickbait", *map(str, args)], capture_output=True,
                          text=True, env=_env(), cwd=kw.pop("cwd", ROOT), timeout=300, **kw)


@pytest.fixture(scope="module")
def headlines(corpus, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-in") / "in.csv"
    texts, _ = subset(corpus["test"], 3000, seed=5)
    pd.DataFrame({"id": range(len(texts)), "headline": texts}).to_csv(path, index=False)
    return path


def test_train_is_quiet(corpus, glove_path, tmp_path):
    for split, n in (("train", 800), ("valid", 200), ("test", 200)):
        texts, labels = subset(corpus[split], n, seed=6)
        pd.DataFrame({"headline": texts, "label": labels}).to_csv(
            tmp_path / f"chakraborty2016_{split}.csv", index=False)
    r = clickbait("train", "--data-dir", tmp_path, "--vectors", glove_path, "-o", tmp_path / "m",
                  "--reports", tmp_path / "r", "--cache-dir", tmp_path / "c", "--dim", "8",
                  "--epochs", "1", "--length", "16")
    assert r.returncode == 0, r.stderr
    assert not TF_LOG.search(r.stderr), r.stderr  # nothing from TensorFlow
    assert r.stderr == ""  # not a terminal: no progress either
    assert r.stdout.startswith("test accuracy ") and (tmp_path / "m" / "current").is_dir()


def test_score_is_quiet(saved_model, headlines, tmp_path):
    r = clickbait("score", saved_model, headlines, "-o", tmp_path / "o.csv")
    assert r.returncode == 0, r.stderr
    assert not TF_LOG.search(r.stderr), r.stderr
    assert r.stderr.startswith("scored 3,000 rows") and r.stderr.count("\n") == 1
    assert len(pd.read_csv(tmp_path / "o.csv")) == 3000


def test_q_silences_the_summary(saved_model, headlines, tmp_path, capsys):
    from clickbait.cli import main

    assert main(["score", str(saved_model), str(headlines), "-o", str(tmp_path / "o.csv"), "-q"]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["-q", "score", str(saved_model), str(headlines), "-o", str(tmp_path / "o.csv")]) == 1
    assert "exists; pass --force" in capsys.readouterr().err  # -q keeps the errors


def test_exit_statuses_and_early_errors(saved_model, tmp_path):
    r = clickbait("score", saved_model, tmp_path / "missing.csv", "-o", tmp_path / "o.csv")
    assert r.returncode == 1 and "missing.csv: no such file" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "in.xlsx").write_text("x")
    r = clickbait("score", saved_model, tmp_path / "in.xlsx", "-o", tmp_path / "o.csv")
    assert r.returncode == 1 and "cannot tell the format from '.xlsx'" in r.stderr
    r = clickbait("score", saved_model, "in.csv", "-o", "o.csv", "--batch-size", "many")
    assert r.returncode == 2 and "invalid int value: 'many'" in r.stderr


def test_closed_pipe_ends_quietly(saved_model, headlines):
    """`clickbait score MODEL in.csv -o - | head -1`: the reader leaves early."""
    proc = subprocess.Popen([sys.executable, "-m", "clickbait", "score", str(saved_model), str(headlines),
                             "-o", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    assert proc.stdout.readline().startswith(b"id,headline,clickbait_probability")
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err and not TF_LOG.search(err), err


def test_ctrl_c_that_ends_a_string_exec_still_exits_130(tmp_path):
    """CPython marks an interrupt that ends a string exec (a lazy import building a dataclass,
    say) as unhandled even when caught; under `python -m` the process then died by SIGINT (-2)
    after printing "interrupted", about one Ctrl-C in eight here. The CLI clears the mark."""
    (tmp_path / "interrupt_probe.py").write_text(
        "import sys\nimport clickbait.cli as cli\nimport clickbait.commands.scoring as scoring\n"
        "def interrupted(a):\n    exec('raise KeyboardInterrupt')\n"
        "scoring.cmd_score = interrupted\n"
        "if __name__ == '__main__':\n"
        "    sys.exit(cli.main(['score', 'model', 'in.csv', '-o', 'out.csv']))\n")
    env = {**_env(), "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}
    r = subprocess.run([sys.executable, "-m", "interrupt_probe"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 130, (r.returncode, r.stderr)
    assert "interrupted" in r.stderr and "Traceback" not in r.stderr


def _reading_stdin(pid: int) -> bool:
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            call = (task / "syscall").read_text().split()
        except OSError:  # the thread ended meanwhile
            continue
        if call[:2] == ["0", "0x0"]:  # read(0, ...)
            return True
    return False


def test_ctrl_c_exits_130_without_traceback(saved_model, tmp_path):
    """Interrupted while it waits for rows on stdin."""
    proc = subprocess.Popen([sys.executable, "-m", "clickbait", "score", str(saved_model), "-",
                             "-o", str(tmp_path / "o.csv")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
                            preexec_fn=default_signals)  # a shell's background job ignores SIGINT
    proc.stdin.write(b"headline\nSenate votes\n")
    proc.stdin.flush()
    # Ready: the model is loaded and a thread of the command blocks in read(0) on stdin
    # (/proc/PID/task/*/syscall: number 0, first argument 0), waiting for more rows.
    deadline = time.monotonic() + 300
    while not _reading_stdin(proc.pid):
        assert proc.poll() is None and time.monotonic() < deadline, "never started reading stdin"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    try:  # stdin stays open, as at a terminal: the interrupt alone must end the run
        code = proc.wait(timeout=120)
    finally:
        proc.kill()
        _, err = proc.communicate()
    assert code == 130, err
    assert "interrupted" in err.decode() and "Traceback" not in err.decode()
    assert not (tmp_path / "o.csv").exists() and not list(tmp_path.iterdir())  # nothing half-written


# -- moved from the fault-injection tests ----------------------------------------------------
NEW = ["Senate committee delays vote on farm subsidies", "You Won't Believe What This Cat Did Next"]


def test_adapt_without_user_needs_force_to_change_the_shared_cases(small_detector, model_copy, tmp_path,
                                                                   capsys):
    from clickbait import cli
    from clickbait.detector import ClickbaitDetector

    cases = tmp_path / "cases.csv"
    pd.DataFrame({"headline": NEW, "label": [0, 1]}).to_csv(cases, index=False)
    before = os.readlink(model_copy / "current")
    assert cli.main(["adapt", str(model_copy), "--cases", str(cases)]) == cli.EXIT_FAILURE
    assert "--force" in capsys.readouterr().err and os.readlink(model_copy / "current") == before
    assert cli.main(["adapt", str(model_copy), "--cases", str(cases), "--force"]) == 0
    assert len(ClickbaitDetector.load(model_copy).cases_) == len(small_detector.cases_) + 2


def test_adapt_cases_with_bad_labels_or_blank_headlines_name_the_rows(model_copy, tmp_path, capsys):
    from clickbait import cli

    cases = tmp_path / "cases.csv"
    cases.write_text("headline,label\nfine,1\nnot a label,2\n,0\n")
    before = os.readlink(model_copy / "current")
    assert cli.main(["adapt", str(model_copy), "--cases", str(cases), "--user", "lee"]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert "cases.csv" in err and "row 2" in err and "'2'" in err
    assert os.readlink(model_copy / "current") == before and not (model_copy / "users" / "lee").exists()


def test_user_export_needs_force_to_overwrite(model_copy, tmp_path, capsys):
    from clickbait import cli
    from clickbait.detector import ClickbaitDetector

    ClickbaitDetector.load(model_copy, user="mo", new_user=True).retain_and_save(NEW[:1], [1])
    out = tmp_path / "mo.csv"
    out.write_text("my own file")
    assert cli.main(["user", "export", str(model_copy), "mo", "-o", str(out)]) == cli.EXIT_FAILURE
    assert "--force" in capsys.readouterr().err and out.read_text() == "my own file"
    assert cli.main(["user", "export", str(model_copy), "mo", "-o", str(out), "--force"]) == 0
    assert pd.read_csv(out)["headline"].tolist() == NEW[:1]


@pytest.mark.parametrize("args, word", [(["explain", "{m}", "x", "-k", "0"], "k must be"),
                                        (["score", "{m}", "{i}", "-o", "{o}", "--explain", "-1"], "explain"),
                                        (["score", "{m}", "{i}", "-o", "{o}", "--batch-size", "0"], "batch")])
def test_cli_numbers_out_of_range_are_refused_by_name(saved_model, headlines_csv, tmp_path, capsys, args,
                                                      word):
    from clickbait import cli

    argv = [a.format(m=saved_model, i=headlines_csv, o=tmp_path / "o.csv") for a in args]
    assert cli.main(argv) == cli.EXIT_FAILURE  # understood, then refused: 1, not a usage error
    assert word in capsys.readouterr().err and not (tmp_path / "o.csv").exists()
