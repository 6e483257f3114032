"""Per-user overlays (clickbait/overlay.py) under concurrency and damage: concurrent writers,
readers during writes, killed writers, stranded or damaged overlays, bad user_weight, bad
folder names, misspelled users."""

from __future__ import annotations

import copy
import json
import random
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import (
    SUBPROCESS_ENV,
    damage,
    default_signals,
    leftovers,
    rewrite_with_checksum,
)

from clickbait import files

NEW = ["Senate committee delays vote on farm subsidies", "You Won't Believe What This Cat Did Next"]


OVERLAY_WRITER = """
import sys
import numpy as np
from clickbait.overlay import UserOverlay
model_dir, name, writer, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rng = np.random.default_rng(int(writer))
print("ready", flush=True)
for i in range(n):
    with UserOverlay.update(model_dir, name, 16) as ov:
        e = rng.normal(size=(1, 16)).astype("float32")
        ov.cases.add(e / np.linalg.norm(e), [i % 2], [f"w{writer}-{i}"], source=f"w{writer}")
    print(i, flush=True)
"""


def _overlay_writer(model: Path, name: str, writer: int, n: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", OVERLAY_WRITER, str(model), name, str(writer), str(n)],
                            env=SUBPROCESS_ENV, stdout=subprocess.PIPE, text=True,
                            preexec_fn=default_signals)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_concurrent_overlay_writers_lose_nothing_and_ids_stay_unique(model_copy):
    from clickbait.overlay import UserOverlay

    procs = [_overlay_writer(model_copy, "bob", w, 25) for w in range(4)]
    assert [p.wait(120) for p in procs] == [0] * 4
    ov = UserOverlay.load(model_copy, "bob")
    texts = ov.cases.meta["text"].tolist()
    assert len(ov) == 100 and len(set(ov.cases.ids)) == 100  # 4 writers x 25 cases, all kept
    for w in range(4):  # each writer's cases in its own order
        assert [t for t in texts if t.startswith(f"w{w}-")] == [f"w{w}-{i}" for i in range(25)]
    assert leftovers(model_copy) == []


def test_a_base_save_racing_overlay_saves_loses_neither(small_detector, model_copy):
    from clickbait.detector import ClickbaitDetector
    from clickbait.overlay import UserOverlay

    det = ClickbaitDetector.load(model_copy)
    proc = _overlay_writer(model_copy, "carol", 0, 20)
    for i in range(3):  # base writes while the overlay writer runs
        det.retain_and_save([f"shared {i}"], [i % 2])
    assert proc.wait(120) == 0
    assert len(UserOverlay.load(model_copy, "carol")) == 20
    assert len(ClickbaitDetector.load(model_copy).cases_) == len(small_detector.cases_) + 3


def test_readers_never_fail_or_see_half_a_version_during_writes(model_copy):
    from clickbait.overlay import UserOverlay

    with UserOverlay.update(model_copy, "dan", 16):
        pass  # an empty overlay exists before the writer starts
    proc = _overlay_writer(model_copy, "dan", 0, 60)
    sizes = []
    while proc.poll() is None:
        sizes.append(len(UserOverlay.load(model_copy, "dan")))  # raises on a half version
    assert proc.wait() == 0 and len(sizes) > 5
    assert sizes == sorted(sizes) and sizes[-1] <= 60  # whole versions, in order


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
def test_a_killed_adapt_leaves_a_whole_overlay_and_no_leftovers_after_the_next_write(model_copy, sig):
    from clickbait.overlay import UserOverlay

    rng = random.Random(sig)
    proc = _overlay_writer(model_copy, "erin", 0, 100_000)
    done = [proc.stdout.readline() for _ in range(rng.randint(3, 12))]  # a random point
    proc.send_signal(sig)
    code = proc.wait(60)
    # Caught during a write (exit 128 + signal, cleaned up on the way out); between writes the
    # default action ends the process, with nothing open to leave behind.
    assert code in ((-sig,) if sig == signal.SIGKILL else (128 + sig, -sig))
    if sig != signal.SIGKILL:
        assert leftovers(model_copy) == []
    ov = UserOverlay.load(model_copy, "erin")  # never empty, never half
    n = len(ov)
    assert len(done) <= n and ov.cases.meta["text"].tolist() == [f"w0-{i}" for i in range(n)]
    with UserOverlay.update(model_copy, "erin", 16) as again:  # the next write cleans up
        assert len(again) == n
    assert leftovers(model_copy) == []


def test_a_stranded_or_damaged_overlay_is_refused_never_silently_empty(model_copy):
    from clickbait.detector import ClickbaitDetector
    from clickbait.files import ArtifactError

    # What the old two-rename save left when killed between its renames.
    stranded = model_copy / "users" / ".frank.old4242"
    stranded.mkdir(parents=True)
    (stranded / "overlay.json").write_text("{}")
    for create in (False, True):
        with pytest.raises(ArtifactError, match=r"\.frank\.old4242"):
            ClickbaitDetector.load(model_copy, user="frank", new_user=create)
    # A pointer to a version that is gone.
    det = ClickbaitDetector.load(model_copy, user="gina", new_user=True)
    det.retain_and_save(NEW[:1], [1])
    gone = files.VersionedFolder(model_copy / "users" / "gina", "overlay").current()
    shutil.rmtree(gone)
    with pytest.raises(ArtifactError, match="missing"):
        ClickbaitDetector.load(model_copy, user="gina")
    # An older layout in the user's folder.
    (model_copy / "users" / "hal").mkdir()
    (model_copy / "users" / "hal" / "overlay.json").write_text("{}")
    with pytest.raises(ArtifactError, match=r"overlay\.json"):
        ClickbaitDetector.load(model_copy, user="hal", new_user=True)


@pytest.mark.parametrize("how", ["truncated", "flipped", "empty", "deleted"])
@pytest.mark.parametrize("name", ["cases.npz", "cases.parquet", "overlay.json", "manifest.json"])
def test_every_damaged_overlay_file_is_refused_by_name(model_copy, name, how):
    from clickbait.files import ArtifactError
    from clickbait.overlay import UserOverlay

    with UserOverlay.update(model_copy, "ivy", 16) as ov:
        ov.cases.add(np.eye(16, dtype="float32")[:2], [0, 1], ["a", "b"])
    damage(files.VersionedFolder(model_copy / "users" / "ivy", "overlay").current() / name, how)
    with pytest.raises(ArtifactError, match=re.escape(name)):
        UserOverlay.load(model_copy, "ivy")


@pytest.mark.parametrize("weight", [-1.0, 0.0, float("nan"), float("inf")])
def test_a_user_weight_that_is_not_positive_and_finite_is_refused(small_detector, model_copy, weight):
    from clickbait.files import ArtifactError
    from clickbait.overlay import UserOverlay

    det = copy.copy(small_detector)
    with pytest.raises(ValueError, match="user_weight"):
        det.attach_user("kim", model_copy, user_weight=weight)
    with pytest.raises(ValueError, match="user_weight"):
        UserOverlay.new("kim", 16, user_weight=weight)
    with UserOverlay.update(model_copy, "kim", 16):
        pass
    version = files.VersionedFolder(model_copy / "users" / "kim", "overlay").current()
    info = json.loads((version / "overlay.json").read_text())
    info["user_weight"] = weight
    rewrite_with_checksum(version, "overlay.json", json.dumps(info).encode())
    with pytest.raises(ArtifactError, match="user_weight"):
        UserOverlay.load(model_copy, "kim")


def test_user_list_survives_a_bad_folder_name_and_a_damaged_overlay(model_copy, capsys, clickbait_log):
    from clickbait import cli
    from clickbait.detector import ClickbaitDetector

    ClickbaitDetector.load(model_copy, user="alice", new_user=True).retain_and_save(NEW[:1], [1])
    ClickbaitDetector.load(model_copy, user="bob", new_user=True).retain_and_save(NEW[1:], [0])
    (model_copy / "users" / "not a name").mkdir()
    (model_copy / "users" / "x.y").mkdir()
    bob = files.VersionedFolder(model_copy / "users" / "bob", "overlay").current()
    damage(bob / "cases.npz", "flipped")
    assert cli.main(["user", "list", str(model_copy)]) == 0
    out = capsys.readouterr().out
    assert "alice" in out and "bob" not in out
    text = clickbait_log.text
    assert "not a name" in text and "x.y" in text and "bob" in text


def test_a_misspelled_user_is_an_error_naming_the_known_users(model_copy, headlines_csv, tmp_path, capsys):
    from clickbait import cli
    from clickbait.detector import ClickbaitDetector

    ClickbaitDetector.load(model_copy, user="alice", new_user=True).retain_and_save(NEW[:1], [1])
    with pytest.raises(FileNotFoundError, match=r"no overlay for user 'alcie'.*users: alice"):
        ClickbaitDetector.load(model_copy, user="alcie")
    assert cli.main(["score", str(model_copy), str(headlines_csv), "-o", str(tmp_path / "o.csv"),
                     "--user", "alcie"]) == cli.EXIT_FAILURE
    assert "alcie" in capsys.readouterr().err and not (tmp_path / "o.csv").exists()
    assert cli.main(["explain", str(model_copy), NEW[0], "--user", "alcie"]) == cli.EXIT_FAILURE


@pytest.mark.slow  # ~20 s (two TensorFlow start-ups); the library-level tests above run by default
def test_concurrent_adapt_commands_for_one_user_keep_every_case(model_copy, tmp_path):
    """The CLI path of the defect: 2 `clickbait adapt --user` runs at once (each loads the model,
    embeds, then adds under the lock) keep both runs' cases, with unique ids."""
    from clickbait.overlay import UserOverlay

    procs = []
    for w in range(2):
        cases = tmp_path / f"cases{w}.csv"
        pd.DataFrame({"headline": [f"run {w} headline {i}" for i in range(15)],
                      "label": [i % 2 for i in range(15)]}).to_csv(cases, index=False)
        procs.append(subprocess.Popen([sys.executable, "-m", "clickbait.cli", "adapt", str(model_copy),
                                       "--cases", str(cases), "--user", "nia"], env=SUBPROCESS_ENV,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    ov = UserOverlay.load(model_copy, "nia")
    assert len(ov) == 30 and len(set(ov.cases.ids)) == 30
    assert leftovers(model_copy) == []
