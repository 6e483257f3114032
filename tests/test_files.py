"""clickbait/files.py under attack and failure: planted links, temporaries, FIFOs, outputs that
appear meanwhile, signals and SIGKILL leftovers, --force on folders clickbait did not write,
model folders that point outside themselves, checksums, and killed saves."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from conftest import (
    ROOT,
    SUBPROCESS_ENV,
    copy_model,
    default_signals,
    leftovers,
    listing,
    rewrite_with_checksum,
    version_of,
)

from clickbait import files
from clickbait.files import OutputFile, TargetInTheWay, write_file
from clickbait.scoring import score_csv

NEW = ["Senate committee delays vote on farm subsidies", "You Won't Believe What This Cat Did Next"]


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
    assert lines[0].startswith("headline,clickbait_probability,clickbait") and len(lines) == 3
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
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], env=SUBPROCESS_ENV,
                            stdout=subprocess.PIPE, text=True, preexec_fn=default_signals)
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


def test_sigkill_leftovers_are_removed_by_the_next_write(tmp_path, clickbait_log):
    proc = _start_writer(tmp_path / "o.txt")
    proc.kill()
    proc.wait(30)
    left = [n for n in listing(tmp_path) if n.endswith(files.TMP_SUFFIX)]
    assert len(left) == 1  # SIGKILL cannot be caught: the temporary stays ...
    write_file(tmp_path / "o.txt", "new")  # ... until the next write of that target
    assert listing(tmp_path) == ["o.txt"] and "leftover" in clickbait_log.text


def test_every_write_of_the_package_goes_through_files_py():
    """One way to write a file or a folder: no module but files.py's own (fileops.py, output_file.py,
    folders.py) renames, makes temporaries or writes a path directly (table_output.py writes
    through files.OutputFile)."""
    direct = re.compile(r"os\.replace\(|os\.rename\(|mkstemp\(|mkdtemp\(|\.write_text\(|\.write_bytes\("
                        r"|shutil\.copy|savefig\((?!f,)|\bopen\([^)]*['\"][wax]b?['\"]")
    offenders = []
    for path in sorted((ROOT / "clickbait").rglob("*.py")):
        if path.name in ("files.py", "fileops.py", "output_file.py", "folders.py"):
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if direct.search(line) and not line.lstrip().startswith("#") \
                    and "# inside a private temporary folder" not in line:
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []


def test_force_never_replaces_a_folder_clickbait_did_not_write(model_copy, tmp_path, capsys):
    from clickbait import cli
    from clickbait.detector import ClickbaitDetector

    parent = tmp_path  # holds the model, its overlays and other things
    (parent / "notes.txt").write_text("mine")
    det = ClickbaitDetector.load(model_copy, user="alice", new_user=True)
    det.retain_and_save(NEW[:1], [1])
    before = sorted(str(p) for p in parent.rglob("*"))
    assert cli.main(["condense", str(model_copy), "-o", str(parent), "--force"]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert "refusing to replace it" in err and "notes.txt" in err and "model" in err
    with pytest.raises(TargetInTheWay, match=r"notes\.txt"):
        det.save(parent, force=True)
    assert sorted(str(p) for p in parent.rglob("*")) == before  # nothing touched
    # Inside a model folder, something clickbait did not put there is named and kept.
    (model_copy / "my-notes.md").write_text("keep me")
    with pytest.raises(TargetInTheWay, match=r"my-notes\.md"):
        det.save(model_copy, force=True)
    (model_copy / "my-notes.md").unlink()
    det.save(model_copy, force=True)  # its own folder: replaced, the overlay kept
    again = ClickbaitDetector.load(model_copy, user="alice")
    assert len(again.overlay_) == 1 and leftovers(model_copy) == []
    # A link where the model should go is not followed.
    (tmp_path / "link").symlink_to(parent / "elsewhere", target_is_directory=True)
    with pytest.raises(TargetInTheWay, match="symbolic link"):
        det.save(tmp_path / "link", force=True)


def test_a_strangers_model_folder_cannot_point_outside_itself(model_copy, tmp_path):
    from clickbait.detector import ClickbaitDetector
    from clickbait.files import ArtifactError

    for target in ("/etc", "../../elsewhere", "versions/../../x"):
        bad = copy_model(model_copy, tmp_path / f"s{len(target)}")
        (bad / "current").unlink()
        (bad / "current").symlink_to(target)
        with pytest.raises(ArtifactError, match="refusing to follow"):
            ClickbaitDetector.load(bad)
    bad = copy_model(model_copy, tmp_path / "inner-link")
    secret = tmp_path / "secret.parquet"
    shutil.copy(version_of(bad) / "cases.parquet", secret)
    (version_of(bad) / "cases.parquet").unlink()
    (version_of(bad) / "cases.parquet").symlink_to(secret)
    with pytest.raises(ArtifactError, match="not a regular file"):
        ClickbaitDetector.load(bad)
    bad = copy_model(model_copy, tmp_path / "bad-params")
    config = json.loads((version_of(bad) / "config.json").read_text())
    config["params"]["k"] = 0
    rewrite_with_checksum(version_of(bad), "config.json", json.dumps(config).encode())
    with pytest.raises(ArtifactError, match="'k'"):
        ClickbaitDetector.load(bad)


def test_config_json_is_checksummed_and_a_missing_checksum_is_an_error(model_copy, tmp_path):
    from clickbait.detector import ClickbaitDetector
    from clickbait.files import ArtifactError

    bad = copy_model(model_copy, tmp_path / "edited")
    config = json.loads((version_of(bad) / "config.json").read_text())
    config["threshold"] = 0.01  # an edit that would silently flip most answers
    (version_of(bad) / "config.json").write_text(json.dumps(config))
    with pytest.raises(ArtifactError, match=r"config\.json does not match"):
        ClickbaitDetector.load(bad)
    for files_entry in ({}, "x", None):  # what `"sha256": {}` did to overlay.json
        bad = copy_model(model_copy, tmp_path / f"empty{files_entry!s}")
        manifest = json.loads((version_of(bad) / "manifest.json").read_text())
        manifest["files"] = files_entry
        (version_of(bad) / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(ArtifactError, match="lists no files"):
            ClickbaitDetector.load(bad)
    bad = copy_model(model_copy, tmp_path / "one-less")
    manifest = json.loads((version_of(bad) / "manifest.json").read_text())
    del manifest["files"]["config.json"]
    (version_of(bad) / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"no checksum for config\.json"):
        ClickbaitDetector.load(bad)
    bad = copy_model(model_copy, tmp_path / "extra")
    (version_of(bad) / "extra.py").write_text("import os")
    with pytest.raises(ArtifactError, match=r"extra\.py has no checksum"):
        ClickbaitDetector.load(bad)


BASE_WRITER = """
import sys
from clickbait.detector import ClickbaitDetector
det = ClickbaitDetector.load(sys.argv[1])
print("ready", flush=True)
for i in range(100_000):
    det.retain_and_save([f"base {i}"], [i % 2])
    print(i, flush=True)
"""


def test_a_killed_model_save_leaves_the_previous_or_the_new_version(small_detector, model_copy):
    """SIGKILL at a random point of repeated saves (SIGTERM and SIGHUP: the overlay and file
    tests, which start faster than a process that loads TensorFlow)."""
    from clickbait.detector import ClickbaitDetector

    proc = subprocess.Popen([sys.executable, "-c", BASE_WRITER, str(model_copy)], env=SUBPROCESS_ENV,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    done = [proc.stdout.readline() for _ in range(random.Random(0).randint(1, 4))]
    proc.kill()
    assert proc.wait(60) == -signal.SIGKILL
    det = ClickbaitDetector.load(model_copy)
    added = len(det.cases_) - len(small_detector.cases_)
    assert len(done) <= added <= len(done) + 1
    assert det.cases_.meta["text"].tolist()[-added:] == [f"base {i}" for i in range(added)]
    det.retain_and_save(["one more"], [0])
    assert leftovers(model_copy) == []


def test_a_first_save_killed_before_its_pointer_is_finished_by_the_next_save(small_detector, tmp_path):
    from clickbait.detector import ClickbaitDetector

    target = tmp_path / "model"
    (target / "versions" / "20260101T000000-abandoned").mkdir(parents=True)
    (target / "versions" / "20260101T000000-abandoned" / "cases.npz").write_bytes(b"half")
    (target / files.MARKER).write_text('{"tool": "clickbait", "kind": "model"}')
    small_detector.save(target)  # no --force needed: nothing was ever committed there
    assert len(ClickbaitDetector.load(target).cases_) == len(small_detector.cases_)
    assert leftovers(target) == [] and len(list((target / "versions").iterdir())) == 1
