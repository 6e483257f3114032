"""Fault injection: planted links, foreign content under --force, concurrent writers, killed
runs, corrupt artifacts and hostile input (issue 10). Each test names the defect it guards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from clickbait import files
from clickbait.files import OutputFile, TargetInTheWay, write_file
from clickbait.scoring import score_csv

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
HEADLINES = ["You Won't Believe What This Dog Did Next", "Senate passes budget bill"]


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def victim(tmp_path):
    v = tmp_path / "elsewhere" / "victim.txt"
    v.parent.mkdir()
    v.write_text("precious")
    return v


@pytest.fixture
def headlines_csv(tmp_path):
    path = tmp_path / "in.csv"
    pd.DataFrame({"headline": HEADLINES}).to_csv(path, index=False)
    return path


# -- security: temporaries and links ---------------------------------------------------------
def test_planted_links_at_the_old_predictable_temp_names_are_never_followed(
        small_detector, headlines_csv, victim, tmp_path):
    out_dir = tmp_path / "shared"
    out_dir.mkdir()
    pid = os.getpid()
    for name in (f".out.csv.{pid}.tmp", f".out.csv.tmp{pid}", f".alice.csv.tmp{pid}"):
        (out_dir / name).symlink_to(victim)
    score_csv(small_detector, headlines_csv, out_dir / "out.csv")
    write_file(out_dir / "alice.csv", "a,b\n")
    assert victim.read_text() == "precious"
    assert len(pd.read_csv(out_dir / "out.csv")) == 2
    made = [n for n in listing(out_dir) if n.endswith(files.TMP_SUFFIX)]
    assert made == []  # and nothing of ours is left behind


def test_temporaries_are_unpredictable_private_and_exclusive(tmp_path):
    names = set()
    for _ in range(3):
        with OutputFile(tmp_path / "o.txt", force=True) as out:
            names.add(out.tmp.name)
            assert out.tmp.stat().st_mode & 0o077 == 0  # 0600 while written
            out.handle.write("x")
    assert len(names) == 3 and all(n.startswith(f".o.txt.{os.getpid()}.") for n in names)
    assert listing(tmp_path) == ["o.txt"]


def test_a_link_at_the_target_is_neither_followed_nor_replaced_even_with_force(
        small_detector, headlines_csv, victim, tmp_path):
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    for force in (False, True):
        with pytest.raises(TargetInTheWay, match=r"symbolic link"):
            score_csv(small_detector, headlines_csv, link, force=force)
    with pytest.raises(TargetInTheWay, match=r"symbolic link"):
        write_file(link, "x")
    assert link.is_symlink() and victim.read_text() == "precious"
    from clickbait import cli
    assert cli.main(["score", str(tmp_path / "nomodel"), str(headlines_csv), "-o", str(link),
                     "--force"]) == 1  # refused before the (missing) model is looked at


def _read_fifo(path: Path, into: list) -> threading.Thread:
    def reader():
        with open(path, "rb") as f:
            into.append(f.read())
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    return t


def test_a_fifo_output_is_written_in_place_not_replaced(small_detector, headlines_csv, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    t = _read_fifo(fifo, got)
    score_csv(small_detector, headlines_csv, fifo, force=True)
    t.join(10)
    assert fifo.is_fifo()
    lines = got[0].decode().splitlines()
    assert lines[0] == "headline,clickbait_probability,clickbait,support,low_support" and len(lines) == 3
    # Without --force too: a stream holds nothing to overwrite. And a link to a FIFO is written
    # through (that is what /dev/stdout is).
    link = tmp_path / "stdout-like"
    link.symlink_to(fifo)
    got.clear()
    t = _read_fifo(fifo, got)
    write_file(link, "hello\n", force=False)
    t.join(10)
    assert got == [b"hello\n"] and link.is_symlink() and fifo.is_fifo()


def test_a_folder_at_a_file_output_is_refused(tmp_path):
    (tmp_path / "out.csv").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        write_file(tmp_path / "out.csv", "x", force=True)


def test_an_output_that_appears_meanwhile_is_not_overwritten_without_force(tmp_path):
    out = OutputFile(tmp_path / "o.txt")
    out.handle.write("mine")
    (tmp_path / "o.txt").write_text("theirs")
    with pytest.raises(FileExistsError):
        out.commit()
    assert (tmp_path / "o.txt").read_text() == "theirs" and listing(tmp_path) == ["o.txt"]


# -- killed runs: single files ---------------------------------------------------------------
WRITER = """
import sys, time
from clickbait.files import OutputFile
out = OutputFile(sys.argv[1], force=True)
out.handle.write("partial")
out.handle.flush()
print("ready", flush=True)
time.sleep(60)
"""


def _start_writer(target: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], env=ENV,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_leave_no_temporary_behind(tmp_path, sig):
    (tmp_path / "o.txt").write_text("old")
    proc = _start_writer(tmp_path / "o.txt")
    assert len(listing(tmp_path)) == 2  # the target and our temporary
    proc.send_signal(sig)
    assert proc.wait(30) == 128 + sig
    assert listing(tmp_path) == ["o.txt"] and (tmp_path / "o.txt").read_text() == "old"


def test_sigkill_leftovers_are_removed_by_the_next_write(tmp_path, caplog):
    proc = _start_writer(tmp_path / "o.txt")
    proc.kill()
    proc.wait(30)
    left = [n for n in listing(tmp_path) if n.endswith(files.TMP_SUFFIX)]
    assert len(left) == 1  # SIGKILL cannot be caught: the temporary stays ...
    write_file(tmp_path / "o.txt", "new")  # ... until the next write of that target
    assert listing(tmp_path) == ["o.txt"] and "leftover" in caplog.text
