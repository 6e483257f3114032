"""Fault injection: planted links, foreign content under --force, concurrent writers, killed
runs, corrupt artifacts and hostile input (issue 10). Each test names the defect it guards."""

from __future__ import annotations

import copy
import gzip
import io
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

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from clickbait import files
from clickbait.files import OutputFile, TargetInTheWay, write_file
from clickbait.scoring import score_csv, score_frame

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


# -- model and overlay folders ---------------------------------------------------------------
NEW = ["Senate committee delays vote on farm subsidies", "You Won't Believe What This Cat Did Next"]


@pytest.fixture
def model(small_detector, tmp_path):
    return small_detector.save(tmp_path / "model")


def copy_model(model: Path, to: Path) -> Path:
    shutil.copytree(model, to, symlinks=True)  # the pointer stays a pointer
    return to


def version_of(model: Path) -> Path:
    return files.VersionedFolder(model, "model").current()


def leftovers(folder: Path) -> list[str]:
    """Temporaries and unfinished versions anywhere under `folder`."""
    found = [str(p.relative_to(folder)) for p in folder.rglob(f"*{files.TMP_SUFFIX}")]
    for versions in folder.rglob("versions"):
        live = os.readlink(versions.parent / "current").split("/")[-1]
        found += [str(p.relative_to(folder)) for p in versions.iterdir() if p.name != live]
    return found


def test_force_never_replaces_a_folder_clickbait_did_not_write(model, tmp_path, capsys):
    from clickbait import cli
    from clickbait.detector import ClickbaitDetector

    parent = tmp_path  # holds the model, its overlays and other things
    (parent / "notes.txt").write_text("mine")
    det = ClickbaitDetector.load(model, user="alice", new_user=True)
    det.retain_and_save(NEW[:1], [1])
    before = sorted(str(p) for p in parent.rglob("*"))
    assert cli.main(["condense", str(model), "-o", str(parent), "--force"]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert "refusing to replace it" in err and "notes.txt" in err and "model" in err
    with pytest.raises(TargetInTheWay, match=r"notes\.txt"):
        det.save(parent, force=True)
    assert sorted(str(p) for p in parent.rglob("*")) == before  # nothing touched
    # Inside a model folder, something clickbait did not put there is named and kept.
    (model / "my-notes.md").write_text("keep me")
    with pytest.raises(TargetInTheWay, match=r"my-notes\.md"):
        det.save(model, force=True)
    (model / "my-notes.md").unlink()
    det.save(model, force=True)  # its own folder: replaced, the overlay kept
    again = ClickbaitDetector.load(model, user="alice")
    assert len(again.overlay_) == 1 and leftovers(model) == []
    # A link where the model should go is not followed.
    (tmp_path / "link").symlink_to(parent / "elsewhere", target_is_directory=True)
    with pytest.raises(TargetInTheWay, match="symbolic link"):
        det.save(tmp_path / "link", force=True)


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
                            env=ENV, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_concurrent_overlay_writers_lose_nothing_and_ids_stay_unique(model):
    from clickbait.overlay import UserOverlay

    procs = [_overlay_writer(model, "bob", w, 25) for w in range(4)]
    assert [p.wait(120) for p in procs] == [0] * 4
    ov = UserOverlay.load(model, "bob")
    texts = ov.cases.meta["text"].tolist()
    assert len(ov) == 100 and len(set(ov.cases.ids)) == 100  # 4 writers x 25 cases, all kept
    for w in range(4):  # each writer's cases in its own order
        assert [t for t in texts if t.startswith(f"w{w}-")] == [f"w{w}-{i}" for i in range(25)]
    assert leftovers(model) == []


def test_a_base_save_racing_overlay_saves_loses_neither(small_detector, model):
    from clickbait.detector import ClickbaitDetector
    from clickbait.overlay import UserOverlay

    det = ClickbaitDetector.load(model)
    proc = _overlay_writer(model, "carol", 0, 20)
    for i in range(3):  # base writes while the overlay writer runs
        det.retain_and_save([f"shared {i}"], [i % 2])
    assert proc.wait(120) == 0
    assert len(UserOverlay.load(model, "carol")) == 20
    assert len(ClickbaitDetector.load(model).cases_) == len(small_detector.cases_) + 3


def test_readers_never_fail_or_see_half_a_version_during_writes(model):
    from clickbait.overlay import UserOverlay

    with UserOverlay.update(model, "dan", 16):
        pass  # an empty overlay exists before the writer starts
    proc = _overlay_writer(model, "dan", 0, 60)
    sizes = []
    while proc.poll() is None:
        sizes.append(len(UserOverlay.load(model, "dan")))  # raises on a half version
    assert proc.wait() == 0 and len(sizes) > 5
    assert sizes == sorted(sizes) and sizes[-1] <= 60  # whole versions, in order


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
def test_a_killed_adapt_leaves_a_whole_overlay_and_no_leftovers_after_the_next_write(model, sig):
    from clickbait.overlay import UserOverlay

    rng = random.Random(sig)
    proc = _overlay_writer(model, "erin", 0, 100_000)
    done = [proc.stdout.readline() for _ in range(rng.randint(3, 12))]  # a random point
    proc.send_signal(sig)
    code = proc.wait(60)
    # Caught during a write (exit 128 + signal, cleaned up on the way out); between writes the
    # default action ends the process, with nothing open to leave behind.
    assert code in ((-sig,) if sig == signal.SIGKILL else (128 + sig, -sig))
    if sig != signal.SIGKILL:
        assert leftovers(model) == []
    ov = UserOverlay.load(model, "erin")  # never empty, never half
    n = len(ov)
    assert len(done) <= n and ov.cases.meta["text"].tolist() == [f"w0-{i}" for i in range(n)]
    with UserOverlay.update(model, "erin", 16) as again:  # the next write cleans up
        assert len(again) == n
    assert leftovers(model) == []


BASE_WRITER = """
import sys
from clickbait.detector import ClickbaitDetector
det = ClickbaitDetector.load(sys.argv[1])
print("ready", flush=True)
for i in range(100_000):
    det.retain_and_save([f"base {i}"], [i % 2])
    print(i, flush=True)
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL])  # SIGTERM: the overlay and file tests (TF start-up is slow)
def test_a_killed_model_save_leaves_the_previous_or_the_new_version(small_detector, model, sig):
    from clickbait.detector import ClickbaitDetector

    proc = subprocess.Popen([sys.executable, "-c", BASE_WRITER, str(model)], env=ENV,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    done = [proc.stdout.readline() for _ in range(random.Random(sig).randint(1, 4))]
    proc.send_signal(sig)
    proc.wait(60)
    det = ClickbaitDetector.load(model)
    added = len(det.cases_) - len(small_detector.cases_)
    assert len(done) <= added <= len(done) + 1
    assert det.cases_.meta["text"].tolist()[-added:] == [f"base {i}" for i in range(added)]
    if sig == signal.SIGTERM:
        assert leftovers(model) == []
    det.retain_and_save(["one more"], [0])
    assert leftovers(model) == []


def test_a_stranded_or_damaged_overlay_is_refused_never_silently_empty(model):
    from clickbait.detector import ClickbaitDetector
    from clickbait.files import ArtifactError

    # What the old two-rename save left when killed between its renames.
    stranded = model / "users" / ".frank.old4242"
    stranded.mkdir(parents=True)
    (stranded / "overlay.json").write_text("{}")
    for create in (False, True):
        with pytest.raises(ArtifactError, match=r"\.frank\.old4242"):
            ClickbaitDetector.load(model, user="frank", new_user=create)
    # A pointer to a version that is gone.
    det = ClickbaitDetector.load(model, user="gina", new_user=True)
    det.retain_and_save(NEW[:1], [1])
    gone = files.VersionedFolder(model / "users" / "gina", "overlay").current()
    shutil.rmtree(gone)
    with pytest.raises(ArtifactError, match="missing"):
        ClickbaitDetector.load(model, user="gina")
    # An older layout in the user's folder.
    (model / "users" / "hal").mkdir()
    (model / "users" / "hal" / "overlay.json").write_text("{}")
    with pytest.raises(ArtifactError, match=r"overlay\.json"):
        ClickbaitDetector.load(model, user="hal", new_user=True)


# -- corrupt, truncated or hand-edited artifacts ---------------------------------------------
def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flipped":
        path.write_bytes(data[:100] + bytes(b ^ 0xFF for b in data[100:110]) + data[110:])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "deleted":
        path.unlink()


@pytest.mark.parametrize("how", ["truncated", "flipped", "empty", "deleted"])
@pytest.mark.parametrize("name", ["model.keras", "cases.npz", "cases.parquet", "config.json",
                                  "manifest.json"])
def test_every_damaged_model_file_is_refused_by_name(model, tmp_path, name, how):
    from clickbait.detector import ClickbaitDetector
    from clickbait.files import ArtifactError

    bad = copy_model(model, tmp_path / "bad")
    _damage(version_of(bad) / name, how)
    with pytest.raises(ArtifactError, match=re.escape(name)):
        ClickbaitDetector.load(bad)


@pytest.mark.parametrize("how", ["truncated", "flipped", "empty", "deleted"])
@pytest.mark.parametrize("name", ["cases.npz", "cases.parquet", "overlay.json", "manifest.json"])
def test_every_damaged_overlay_file_is_refused_by_name(model, name, how):
    from clickbait.files import ArtifactError
    from clickbait.overlay import UserOverlay

    with UserOverlay.update(model, "ivy", 16) as ov:
        ov.cases.add(np.eye(16, dtype="float32")[:2], [0, 1], ["a", "b"])
    _damage(files.VersionedFolder(model / "users" / "ivy", "overlay").current() / name, how)
    with pytest.raises(ArtifactError, match=re.escape(name)):
        UserOverlay.load(model, "ivy")


def _rewrite(version: Path, name: str, data: bytes) -> None:
    """Change a file AND its checksum: what a hand edit or a hostile folder can do."""
    (version / name).write_bytes(data)
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"][name] = files.sha256_file(version / name)
    (version / "manifest.json").write_text(json.dumps(manifest))


def test_config_json_is_checksummed_and_a_missing_checksum_is_an_error(model, tmp_path):
    from clickbait.detector import ClickbaitDetector
    from clickbait.files import ArtifactError

    bad = copy_model(model, tmp_path / "edited")
    config = json.loads((version_of(bad) / "config.json").read_text())
    config["threshold"] = 0.01  # an edit that would silently flip most answers
    (version_of(bad) / "config.json").write_text(json.dumps(config))
    with pytest.raises(ArtifactError, match=r"config\.json does not match"):
        ClickbaitDetector.load(bad)
    for files_entry in ({}, "x", None):  # what `"sha256": {}` did to overlay.json
        bad = copy_model(model, tmp_path / f"empty{files_entry!s}")
        manifest = json.loads((version_of(bad) / "manifest.json").read_text())
        manifest["files"] = files_entry
        (version_of(bad) / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(ArtifactError, match="lists no files"):
            ClickbaitDetector.load(bad)
    bad = copy_model(model, tmp_path / "one-less")
    manifest = json.loads((version_of(bad) / "manifest.json").read_text())
    del manifest["files"]["config.json"]
    (version_of(bad) / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"no checksum for config\.json"):
        ClickbaitDetector.load(bad)
    bad = copy_model(model, tmp_path / "extra")
    (version_of(bad) / "extra.py").write_text("import os")
    with pytest.raises(ArtifactError, match=r"extra\.py has no checksum"):
        ClickbaitDetector.load(bad)


@pytest.mark.parametrize("labels", [[2, 0], [np.nan, 1.0], [0.5, 1.0], [-1, 1]])
def test_case_labels_other_than_0_and_1_are_refused_even_with_valid_checksums(model, tmp_path, labels):
    from clickbait.detector import ClickbaitDetector
    from clickbait.files import ArtifactError

    bad = copy_model(model, tmp_path / "labels")
    version = version_of(bad)
    with np.load(version / "cases.npz") as z:
        arrays = dict(z)
    arrays["labels"] = np.concatenate([np.asarray(labels), arrays["labels"][2:]])
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    _rewrite(version, "cases.npz", buf.getvalue())
    with pytest.raises(ArtifactError, match="labels must be 0 or 1"):
        ClickbaitDetector.load(bad)


def test_a_strangers_model_folder_cannot_point_outside_itself(model, tmp_path):
    from clickbait.detector import ClickbaitDetector
    from clickbait.files import ArtifactError

    for target in ("/etc", "../../elsewhere", "versions/../../x"):
        bad = copy_model(model, tmp_path / f"s{len(target)}")
        (bad / "current").unlink()
        (bad / "current").symlink_to(target)
        with pytest.raises(ArtifactError, match="refusing to follow"):
            ClickbaitDetector.load(bad)
    bad = copy_model(model, tmp_path / "inner-link")
    secret = tmp_path / "secret.parquet"
    shutil.copy(version_of(bad) / "cases.parquet", secret)
    (version_of(bad) / "cases.parquet").unlink()
    (version_of(bad) / "cases.parquet").symlink_to(secret)
    with pytest.raises(ArtifactError, match="not a regular file"):
        ClickbaitDetector.load(bad)
    bad = copy_model(model, tmp_path / "bad-params")
    config = json.loads((version_of(bad) / "config.json").read_text())
    config["params"]["k"] = 0
    _rewrite(version_of(bad), "config.json", json.dumps(config).encode())
    with pytest.raises(ArtifactError, match="'k'"):
        ClickbaitDetector.load(bad)


def test_a_model_saved_by_the_older_flat_layout_gets_a_clear_error(tmp_path):
    from clickbait.detector import ClickbaitDetector
    from clickbait.files import ArtifactError

    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "config.json").write_text('{"format": 1}')
    with pytest.raises(ArtifactError, match="older clickbait"):
        ClickbaitDetector.load(tmp_path / "old")


# -- bad input at every door -----------------------------------------------------------------
def _vectors(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


GOOD = [f"w{i} " + " ".join(f"{(i * 7 + j) % 11 / 10:.1f}" for j in range(5)) for i in range(150)]


def test_a_bad_first_line_does_not_decide_the_dimension(tmp_path):
    from clickbait.vectors import read_vectors

    vec = read_vectors(_vectors(tmp_path / "v.txt", ["the 0.1 0.2", *GOOD]))
    assert vec.dim == 5 and len(vec) == 150 and vec.stats.skipped_bad == 1


def test_vectors_without_numbers_or_with_non_finite_values_are_refused(tmp_path):
    from clickbait.vectors import VectorFormatError, read_vectors

    words = [f"w{i} a b c d e" for i in range(150)]
    with pytest.raises(VectorFormatError, match="line 1"):
        read_vectors(_vectors(tmp_path / "words.txt", words))
    with pytest.raises(VectorFormatError):
        read_vectors(_vectors(tmp_path / "nan.txt", [f"w{i} nan 1 2 3 inf" for i in range(150)]))
    bad = [*GOOD[:120], "x nan 0.1 0.2 0.3 0.4", "y 0.1 inf 0.2 0.3 0.4", "z -inf 0 0 0 0", *GOOD[120:]]
    vec = read_vectors(_vectors(tmp_path / "some.txt", bad))
    assert len(vec) == 150 and np.isfinite(vec.matrix).all() and vec.stats.skipped_bad == 3
    assert not {"x", "y", "z"} & set(vec.words)


def test_training_stops_when_the_vectors_cover_too_little_of_the_text(corpus, tmp_path):
    from conftest import subset

    from clickbait.detector import ClickbaitDetector
    from clickbait.vectors import VectorFormatError

    path = _vectors(tmp_path / "foreign.txt", [w.replace("w", "zz", 1) for w in GOOD])
    det = ClickbaitDetector(str(path), epochs=1, dim=8, filters=8, hidden=8, pretrained_top_n=0)
    with pytest.raises(VectorFormatError, match=r"min_coverage=50%.*training stopped"):
        det.fit(*subset(corpus["train"], 300), validation=subset(corpus["valid"], 100))


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_vectors_cache_is_rebuilt_not_a_crash(tmp_path, damage):
    from clickbait.vectors import read_vectors

    src = _vectors(tmp_path / "v.txt", GOOD)
    first = read_vectors(src, ["w1", "w2"], cache_dir=tmp_path / "cache")
    (cache,) = (tmp_path / "cache").glob("*.npz")
    data = cache.read_bytes()
    cache.write_bytes(os.urandom(300) if damage == "garbage" else data[: len(data) // 2])
    again = read_vectors(src, ["w1", "w2"], cache_dir=tmp_path / "cache")
    assert again.words == first.words and not again.stats.cached
    assert read_vectors(src, ["w1", "w2"], cache_dir=tmp_path / "cache").stats.cached  # rewritten


@pytest.mark.parametrize("param, value", [("k", 2.5), ("k", float("nan")),
                                          ("k", 0), ("dropout", 1.0), ("encoder", "lstm"),
                                          ("epochs", -1), ("learning_rate", 0.0),
                                          ("min_coverage", 1.5), ("trainable", "yes")])
def test_constructor_parameters_are_checked_scikit_learn_style(param, value):
    from sklearn.utils._param_validation import InvalidParameterError

    from clickbait.detector import ClickbaitDetector

    with pytest.raises(InvalidParameterError, match=rf"'{param}' parameter .* Got {re.escape(repr(value))}"):
        ClickbaitDetector(**{param: value}).fit(["a", "b"], [0, 1])


def test_k_zero_after_fitting_is_refused(small_detector):
    det = copy.copy(small_detector)
    det.k = 0
    with pytest.raises(ValueError, match="'k'"):
        det.predict_proba(HEADLINES)


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA])
def test_a_missing_headline_is_an_error_not_a_confident_zero(small_detector, missing):
    with pytest.raises(ValueError, match=r"headline 1 is missing"):
        small_detector.predict_proba([HEADLINES[0], missing])
    with pytest.raises(TypeError, match="None"):
        small_detector.predict_proba(None)


@pytest.mark.parametrize("threshold", [1.5, -0.1, float("nan"), float("inf")])
def test_a_threshold_outside_0_1_is_refused_everywhere(small_detector, model, headlines_csv,
                                                       tmp_path, threshold, capsys):
    from clickbait import cli

    with pytest.raises(ValueError, match="threshold must be a number between 0 and 1"):
        small_detector.predict(HEADLINES, threshold=threshold)
    with pytest.raises(ValueError, match="threshold"):
        score_csv(small_detector, headlines_csv, tmp_path / "o.csv", threshold=threshold)
    with pytest.raises(ValueError, match="threshold"):
        score_frame(small_detector, pd.DataFrame({"headline": HEADLINES}), threshold=threshold)
    assert cli.main(["score", str(model), str(headlines_csv), "-o", str(tmp_path / "o.csv"),
                     "--threshold", str(threshold)]) == cli.EXIT_FAILURE
    assert "threshold" in capsys.readouterr().err and not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("weight", [-1.0, 0.0, float("nan"), float("inf")])
def test_a_user_weight_that_is_not_positive_and_finite_is_refused(small_detector, model, weight):
    from clickbait.files import ArtifactError
    from clickbait.overlay import UserOverlay

    det = copy.copy(small_detector)
    with pytest.raises(ValueError, match="user_weight"):
        det.attach_user("kim", model, user_weight=weight)
    with pytest.raises(ValueError, match="user_weight"):
        UserOverlay.new("kim", 16, user_weight=weight)
    with UserOverlay.update(model, "kim", 16):
        pass
    version = files.VersionedFolder(model / "users" / "kim", "overlay").current()
    info = json.loads((version / "overlay.json").read_text())
    info["user_weight"] = weight
    _rewrite(version, "overlay.json", json.dumps(info).encode())
    with pytest.raises(ArtifactError, match="user_weight"):
        UserOverlay.load(model, "kim")


@pytest.mark.parametrize("labels", [[2], [np.nan], [0.5], ["1"], [True, 1]])
def test_labels_other_than_0_and_1_are_refused_when_retained(small_detector, labels):
    det = copy.copy(small_detector)
    det.cases_ = copy.deepcopy(small_detector.cases_)
    det.overlay_ = None
    texts = (HEADLINES * 2)[: len(labels)]
    if labels == [True, 1]:
        det.retain(texts, labels)  # booleans are 0/1
        return
    with pytest.raises(ValueError, match="labels must be 0"):
        det.retain(texts, labels)
    assert len(det.cases_) == len(small_detector.cases_)


def test_revise_with_mismatched_lengths_is_refused_not_broadcast(small_detector):
    det = copy.copy(small_detector)
    det.cases_ = copy.deepcopy(small_detector.cases_)
    before = det.cases_.labels.copy()
    with pytest.raises(ValueError, match="one label per case id"):
        det.revise([0, 1, 2], [1])
    with pytest.raises(ValueError, match="one label per case id"):
        det.cases_.revise([0, 1, 2], [1])
    np.testing.assert_array_equal(det.cases_.labels, before)


def test_a_misspelled_user_is_an_error_naming_the_known_users(model, headlines_csv, tmp_path, capsys):
    from clickbait import cli
    from clickbait.detector import ClickbaitDetector

    ClickbaitDetector.load(model, user="alice", new_user=True).retain_and_save(NEW[:1], [1])
    with pytest.raises(FileNotFoundError, match=r"no overlay for user 'alcie'.*users: alice"):
        ClickbaitDetector.load(model, user="alcie")
    assert cli.main(["score", str(model), str(headlines_csv), "-o", str(tmp_path / "o.csv"),
                     "--user", "alcie"]) == cli.EXIT_FAILURE
    assert "alcie" in capsys.readouterr().err and not (tmp_path / "o.csv").exists()
    assert cli.main(["explain", str(model), NEW[0], "--user", "alcie"]) == cli.EXIT_FAILURE


def test_adapt_without_user_needs_force_to_change_the_shared_cases(small_detector, model, tmp_path, capsys):
    from clickbait import cli
    from clickbait.detector import ClickbaitDetector

    cases = tmp_path / "cases.csv"
    pd.DataFrame({"headline": NEW, "label": [0, 1]}).to_csv(cases, index=False)
    before = os.readlink(model / "current")
    assert cli.main(["adapt", str(model), "--cases", str(cases)]) == cli.EXIT_FAILURE
    assert "--force" in capsys.readouterr().err and os.readlink(model / "current") == before
    assert cli.main(["adapt", str(model), "--cases", str(cases), "--force"]) == 0
    assert len(ClickbaitDetector.load(model).cases_) == len(small_detector.cases_) + 2


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_gzip_input_is_a_clear_error_not_a_traceback(model, tmp_path, damage, capsys):
    from clickbait import cli
    from clickbait.scoring import InputError

    good = gzip.compress(("headline\n" + "\n".join(HEADLINES * 2000) + "\n").encode())
    data = good[:10] + os.urandom(200) if damage == "garbage" else good[: len(good) // 2]
    path = tmp_path / "in.csv.gz"
    path.write_bytes(data)
    assert cli.main(["score", str(model), str(path), "-o", str(tmp_path / "o.csv")]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert "in.csv.gz" in err and "Traceback" not in err and not (tmp_path / "o.csv").exists()
    from clickbait.detector import ClickbaitDetector
    with pytest.raises(InputError, match=r"in\.csv\.gz: cannot be read"):
        score_csv(ClickbaitDetector.load(model), path, tmp_path / "o.csv")
    assert listing(tmp_path) == sorted(["in.csv.gz", "model"])


def test_user_list_survives_a_bad_folder_name_and_a_damaged_overlay(model, capsys, caplog):
    from clickbait import cli
    from clickbait.detector import ClickbaitDetector

    ClickbaitDetector.load(model, user="alice", new_user=True).retain_and_save(NEW[:1], [1])
    ClickbaitDetector.load(model, user="bob", new_user=True).retain_and_save(NEW[1:], [0])
    (model / "users" / "not a name").mkdir()
    (model / "users" / "x.y").mkdir()
    bob = files.VersionedFolder(model / "users" / "bob", "overlay").current()
    _damage(bob / "cases.npz", "flipped")
    assert cli.main(["user", "list", str(model)]) == 0
    out = capsys.readouterr().out
    assert "alice" in out and "bob" not in out
    assert "not a name" in caplog.text and "x.y" in caplog.text and "bob" in caplog.text


def test_score_frame_never_overwrites_the_callers_columns(small_detector):
    from clickbait.scoring import InputError

    frame = pd.DataFrame({"headline": HEADLINES, "clickbait": ["mine", "also mine"]})
    with pytest.raises(InputError, match="clickbait"):
        score_frame(small_detector, frame)
    assert frame["clickbait"].tolist() == ["mine", "also mine"]


# -- hostile tables: generated CSV/TSV, every row kept, in order, values unchanged ----------
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
_FIELD = st.one_of(_TEXT, st.just(""), st.sampled_from(['"', '""', ",", "\t", "\n", "\r\n", " ", "NA",
                                                         "null", "\ufeff", "=1+1", "#x"]),
                   st.text("ab \t,\"\n", min_size=2000, max_size=5000))  # huge fields too


@st.composite
def tables(draw):
    sep = draw(st.sampled_from([",", "\t"]))
    ncol = draw(st.integers(1, 3))
    header = ["headline", *(f"c{i}" for i in range(1, ncol))]
    rows = draw(st.lists(st.lists(_FIELD, min_size=ncol, max_size=ncol), max_size=12))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return sep, header, rows, encoding


def _encodable(rows, encoding):
    try:
        "".join(v for r in rows for v in r).encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


# The same 30 tables every run (a default test run must not flake); raise max_examples and drop
# derandomize to explore further.
@settings(max_examples=30, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(table=tables())
@example(table=(",", ["headline"], [["\r"], ["a\rb"]], "utf-8"))  # found by hypothesis: a row split
@example(table=("\t", ["headline", "c\r1"], [["x", "\r\n"]], "utf-8"))
def test_generated_csv_and_tsv_are_scored_with_every_row_kept_in_order(small_detector, table):
    import csv
    import tempfile

    sep, header, rows, encoding = table
    assume(_encodable(rows, encoding))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / ("in.tsv" if sep == "\t" else "in.csv")
        with open(src, "w", encoding=encoding, newline="") as f:
            csv.writer(f, delimiter=sep, lineterminator="\r\n").writerows([header, *rows])
        out = Path(tmp) / ("out.tsv" if sep == "\t" else "out.csv")
        summary = score_csv(small_detector, src, out, encoding=encoding.replace("-sig", ""))
        csv.field_size_limit(1 << 24)
        with open(out, encoding="utf-8", newline="") as f:
            back = list(csv.reader(f, delimiter=sep))
    got_header, got = back[0], back[1:]
    assert got_header[: len(header)] == header  # the input's columns first, then the scores
    proba, label = got_header.index("clickbait_probability"), got_header.index("clickbait")
    assert len(got) == len(rows) == summary.rows
    for want, row in zip(rows, got, strict=True):
        assert row[: len(header)] == want  # every value exactly as it was
        blank = not want[0].strip()  # missing or blank text: kept, with empty outputs
        assert (row[proba] == "") == blank and (row[label] == "") == blank
        if not blank:
            assert 0 <= float(row[proba]) <= 1 and row[label] in ("0", "1")


def test_every_write_of_the_package_goes_through_files_py():
    """One way to write a file or a folder: no module but files.py renames, makes temporaries or
    writes a path directly (formats.py writes through files.OutputFile)."""
    direct = re.compile(r"os\.replace\(|os\.rename\(|mkstemp\(|mkdtemp\(|\.write_text\(|\.write_bytes\("
                        r"|shutil\.copy|savefig\((?!f,)|\bopen\([^)]*['\"][wax]b?['\"]")
    offenders = []
    for path in sorted((ROOT / "clickbait").glob("*.py")):
        if path.name == "files.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if direct.search(line) and not line.lstrip().startswith("#") \
                    and "# inside a private temporary folder" not in line:
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []


def test_adapt_cases_with_bad_labels_or_blank_headlines_name_the_rows(model, tmp_path, capsys):
    from clickbait import cli

    cases = tmp_path / "cases.csv"
    cases.write_text("headline,label\nfine,1\nnot a label,2\n,0\n")
    before = os.readlink(model / "current")
    assert cli.main(["adapt", str(model), "--cases", str(cases), "--user", "lee"]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err
    assert "cases.csv" in err and "row 2" in err and "'2'" in err
    assert os.readlink(model / "current") == before and not (model / "users" / "lee").exists()


def test_user_export_needs_force_to_overwrite(model, tmp_path, capsys):
    from clickbait import cli
    from clickbait.detector import ClickbaitDetector

    ClickbaitDetector.load(model, user="mo", new_user=True).retain_and_save(NEW[:1], [1])
    out = tmp_path / "mo.csv"
    out.write_text("my own file")
    assert cli.main(["user", "export", str(model), "mo", "-o", str(out)]) == cli.EXIT_FAILURE
    assert "--force" in capsys.readouterr().err and out.read_text() == "my own file"
    assert cli.main(["user", "export", str(model), "mo", "-o", str(out), "--force"]) == 0
    assert pd.read_csv(out)["headline"].tolist() == NEW[:1]


@pytest.mark.parametrize("args, word", [(["explain", "{m}", "x", "-k", "0"], "k must be"),
                                        (["score", "{m}", "{i}", "-o", "{o}", "--nprobe", "0"], "nprobe"),
                                        (["score", "{m}", "{i}", "-o", "{o}", "--explain", "-1"], "explain"),
                                        (["score", "{m}", "{i}", "-o", "{o}", "--batch-size", "0"], "batch")])
def test_cli_numbers_out_of_range_are_refused_by_name(model, headlines_csv, tmp_path, capsys, args, word):
    from clickbait import cli

    argv = [a.format(m=model, i=headlines_csv, o=tmp_path / "o.csv") for a in args]
    assert cli.main(argv) in (cli.EXIT_FAILURE, cli.EXIT_USAGE)
    assert word in capsys.readouterr().err and not (tmp_path / "o.csv").exists()


def test_tsv_on_stdin_is_read_as_tsv_when_named_and_an_unknown_extension_is_refused(small_detector, tmp_path):
    from clickbait.scoring import InputError

    tsv = "id\theadline\n1\t" + HEADLINES[0] + "\n2\t" + HEADLINES[1] + "\n"
    score_csv(small_detector, "-", tmp_path / "o.tsv", input_format="tsv", stdin=io.StringIO(tsv))
    back = pd.read_csv(tmp_path / "o.tsv", sep="\t", dtype=str)
    assert back["id"].tolist() == ["1", "2"] and back["headline"].tolist() == HEADLINES
    (tmp_path / "in.xlsx").write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match=r"cannot tell the format from '\.xlsx'"):
        score_csv(small_detector, tmp_path / "in.xlsx", tmp_path / "o2.csv")
    assert not (tmp_path / "o2.csv").exists()


def test_a_first_save_killed_before_its_pointer_is_finished_by_the_next_save(small_detector, tmp_path):
    from clickbait.detector import ClickbaitDetector

    target = tmp_path / "model"
    (target / "versions" / "20260101T000000-abandoned").mkdir(parents=True)
    (target / "versions" / "20260101T000000-abandoned" / "cases.npz").write_bytes(b"half")
    (target / files.MARKER).write_text('{"tool": "clickbait", "kind": "model"}')
    small_detector.save(target)  # no --force needed: nothing was ever committed there
    assert len(ClickbaitDetector.load(target).cases_) == len(small_detector.cases_)
    assert leftovers(target) == [] and len(list((target / "versions").iterdir())) == 1


@pytest.mark.slow  # ~20 s (two TensorFlow start-ups); the library-level tests above run by default
def test_concurrent_adapt_commands_for_one_user_keep_every_case(model, tmp_path):
    """The CLI path of the defect: 2 `clickbait adapt --user` runs at once (each loads the model,
    embeds, then adds under the lock) keep both runs' cases, with unique ids."""
    from clickbait.overlay import UserOverlay

    procs = []
    for w in range(2):
        cases = tmp_path / f"cases{w}.csv"
        pd.DataFrame({"headline": [f"run {w} headline {i}" for i in range(15)],
                      "label": [i % 2 for i in range(15)]}).to_csv(cases, index=False)
        procs.append(subprocess.Popen([sys.executable, "-m", "clickbait.cli", "adapt", str(model),
                                       "--cases", str(cases), "--user", "nia"], env=ENV,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    ov = UserOverlay.load(model, "nia")
    assert len(ov) == 30 and len(set(ov.cases.ids)) == 30
    assert leftovers(model) == []
