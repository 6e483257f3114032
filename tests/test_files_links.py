"""Links planted inside a model folder (issue 17, defects 1-4 and 8): nothing is read, written or
deleted outside the folder; a link anywhere in its tree is an error naming it; clean-up removes
only versions clickbait provably wrote; no output is written inside a model folder."""

from __future__ import annotations

import copy
import logging
import os
import shutil
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clickbait import cli, files
from clickbait.errors import ArtifactError

HEADLINES = ["You Won't Believe What This Dog Did Next", "Senate passes budget bill"]


def snapshot(folder: Path) -> dict:
    """Every entry under `folder` (links not followed): kind and content."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(folder))
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                out[rel] = ("dir", None)
            else:
                out[rel] = ("file", path.read_bytes())
    return out


@pytest.fixture(scope="module")
def template(small_detector, tmp_path_factory) -> Path:
    """A saved model with one user overlay (bob), made once; tests copy it."""
    det = copy.copy(small_detector)
    det.cases_ = copy.deepcopy(small_detector.cases_)
    det.overlay_ = None
    path = det.save(tmp_path_factory.mktemp("template") / "model")
    det.attach_user("bob", path)
    det.retain(["a headline bob labelled"], [1])
    det.save_user(path)
    return path


def copy_model(template: Path, to: Path) -> Path:
    shutil.copytree(template, to, symlinks=True)  # `current` stays a pointer
    return to


def version_id(model: Path) -> str:
    return os.readlink(model / "current").split("/")[-1]


@pytest.fixture
def outside(tmp_path, template) -> Path:
    """Someone else's folder: a file, and what a followed link would take for a model."""
    home = tmp_path / "someone"
    home.mkdir()
    (home / "precious.txt").write_text("precious")
    shutil.copytree(template / "versions", home / "versions")
    (home / "versions" / "notes.txt").write_text("not a version")
    shutil.copy(template / "clickbait.json", home / "clickbait.json")
    return home


def _cases_csv(tmp_path: Path) -> Path:
    path = tmp_path / "cases.csv"
    pd.DataFrame({"headline": ["a headline to keep"], "label": [1]}).to_csv(path, index=False)
    return path


# -- defects 1-4 -----------------------------------------------------------------------------
def test_adapt_refuses_a_users_folder_that_is_a_link(template, outside, tmp_path, capsys):
    """Defect 1: `users` as a link to another folder: adapt wrote bob's versions there."""
    model = copy_model(template, tmp_path / "model")
    shutil.rmtree(model / "users")
    (model / "users").symlink_to(outside)
    before = snapshot(outside)
    status = cli.main(["adapt", str(model), "--cases", str(_cases_csv(tmp_path)), "--user", "carl"])
    assert status == cli.EXIT_FAILURE
    assert f"{model / 'users'} is a symbolic link" in capsys.readouterr().err
    assert snapshot(outside) == before


def test_adapt_refuses_a_user_folder_that_is_a_link_and_deletes_nothing_there(
        template, outside, tmp_path, capsys):
    """Defect 2: `users/bob` as a link to someone's folder: adapt deleted a file there as an
    "unfinished version left by a killed run", then wrote into it."""
    model = copy_model(template, tmp_path / "model")
    shutil.rmtree(model / "users" / "bob")
    (model / "users" / "bob").symlink_to(outside)
    before = snapshot(outside)
    status = cli.main(["adapt", str(model), "--cases", str(_cases_csv(tmp_path)), "--user", "bob"])
    assert status == cli.EXIT_FAILURE
    assert f"{model / 'users' / 'bob'} is a symbolic link" in capsys.readouterr().err
    assert snapshot(outside) == before


def test_save_never_cleans_up_through_a_versions_link(small_detector, template, outside, tmp_path):
    """Defect 3: `versions` as a link to a victim folder (with clickbait's marker, no pointer:
    what a first save that never finished leaves): save() without force deleted every entry
    of the victim folder."""
    model = tmp_path / "model"
    model.mkdir()
    shutil.copy(template / "clickbait.json", model / "clickbait.json")
    (model / "versions").symlink_to(outside)
    before = snapshot(outside)
    with pytest.raises(ArtifactError, match=f"{model / 'versions'} is a symbolic link"):
        small_detector.save(model)
    assert snapshot(outside) == before
    assert sorted(os.listdir(model)) == ["clickbait.json", "versions"]


def test_a_model_whose_versions_folder_is_a_link_is_not_loaded(template, outside, tmp_path):
    """Defect 4: `versions` as a link to a folder holding a valid version: the model loaded
    and scored from outside its folder."""
    from clickbait.detector import ClickbaitDetector

    model = copy_model(template, tmp_path / "model")
    shutil.rmtree(model / "versions")
    (model / "versions").symlink_to(outside / "versions")
    with pytest.raises(ArtifactError, match=f"{model / 'versions'} is a symbolic link"):
        ClickbaitDetector.load(model)


@pytest.mark.parametrize("where", ["users/bob/versions", "extra", "users/bob/current-old", ".lock",
                                   "users/bob/clickbait.json"])
def test_a_link_anywhere_in_the_tree_is_an_error_naming_it(template, outside, tmp_path, where):
    from clickbait.detector import ClickbaitDetector

    model = copy_model(template, tmp_path / "model")
    planted = model / where
    if planted.is_dir():
        shutil.rmtree(planted)
    elif planted.exists():
        planted.unlink()
    planted.symlink_to(outside / "precious.txt")
    with pytest.raises(ArtifactError, match=f"{planted} is a symbolic link"):
        ClickbaitDetector.load(model, user="bob")


def test_clean_up_removes_only_versions_clickbait_provably_wrote(small_detector, template, tmp_path,
                                                                  caplog):
    model = copy_model(template, tmp_path / "model")
    stray = model / "versions" / "20200101T000000-notours"
    stray.mkdir()
    (stray / "data.bin").write_bytes(b"someone's")
    (model / "versions" / "README").write_text("someone's note")
    killed = model / "versions" / "20200101T000000-killed"  # a writer killed mid-version
    killed.mkdir()
    (killed / files.WRITING).touch()
    (killed / "cases.npz").write_bytes(b"half")
    with caplog.at_level(logging.WARNING, logger="clickbait"):
        small_detector.save(model, force=True)
    left = sorted(os.listdir(model / "versions"))
    assert "20200101T000000-notours" in left and "README" in left
    assert "20200101T000000-killed" not in left and version_id(template) not in left
    assert (stray / "data.bin").read_bytes() == b"someone's"
    assert "not a version clickbait wrote" in caplog.text
    assert not list((model / "versions").glob(f"*/{files.WRITING}"))  # none in the new version


# -- defect 8 --------------------------------------------------------------------------------
def test_no_output_is_written_inside_a_model_folder(template, tmp_path, capsys):
    """Defect 8: `score -o MODEL/current/out.csv` succeeded, and every later load failed."""
    from clickbait.detector import ClickbaitDetector

    model = copy_model(template, tmp_path / "model")
    src = tmp_path / "in.csv"
    pd.DataFrame({"headline": HEADLINES}).to_csv(src, index=False)
    for out in (model / "current" / "out.csv", model / "out.csv", model / "users" / "bob" / "o.csv"):
        assert cli.main(["score", str(model), str(src), "-o", str(out)]) == cli.EXIT_FAILURE
        assert "inside the clickbait model folder" in capsys.readouterr().err
        assert not out.exists()
    with pytest.raises(files.TargetInTheWay, match="inside the clickbait model folder"):
        files.write_file(model / "versions" / "x.txt", "x")
    assert len(ClickbaitDetector.load(model, user="bob").predict(HEADLINES)) == 2


# -- the property: random links, nothing outside touched -------------------------------------
_watch = threading.local()
_touched: list[str] = []
_ACCESS = {"open", "os.listdir", "os.scandir", "os.remove", "os.rmdir", "os.rename", "os.mkdir",
           "os.unlink", "os.truncate", "os.chmod", "os.utime", "shutil.rmtree", "shutil.copyfile",
           "os.symlink", "os.link"}


def _audit(event: str, args: tuple) -> None:
    """Records every path a Python-level file operation names that resolves into the watched
    folder (every file of a version is hashed through Python before anything parses it)."""
    root = getattr(_watch, "root", None)
    if root is None or event not in _ACCESS or getattr(_watch, "busy", False):
        return
    _watch.busy = True
    try:
        # An open with O_NOFOLLOW fails at a link: only the folders on its way count.
        no_follow = event == "open" and isinstance(args[2], int) and args[2] & os.O_NOFOLLOW
        for arg in args[:1] if event == "open" else args[:2]:
            if isinstance(arg, (str, bytes, os.PathLike)):
                path = Path(os.fsdecode(arg))
                real = os.path.join(os.path.realpath(path.parent), path.name) if no_follow \
                    else os.path.realpath(path)
                if real == root or real.startswith(root + os.sep):
                    _touched.append(f"{event} {path}")
    finally:
        _watch.busy = False


sys.addaudithook(_audit)

_SPOTS = ["users", "users/bob", "users/bob/versions", "users/bob/current", "users/bob/VERSION",
          "users/bob/VERSION/cases.npz", "users/bob/clickbait.json", "users/zed", "versions",
          "VERSION", "VERSION/cases.parquet", "VERSION/config.json", "current", "clickbait.json",
          ".lock", "extra"]
_TARGETS = ["", "precious.txt", "versions", "versions/VERSION", "missing"]


@settings(max_examples=25, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(links=st.lists(st.tuples(st.sampled_from(_SPOTS), st.sampled_from(_TARGETS)),
                      min_size=1, max_size=3, unique_by=lambda t: t[0]))
def test_random_links_in_a_model_tree_never_lead_outside(small_detector, template, links):
    import tempfile

    from clickbait.detector import ClickbaitDetector
    from clickbait.overlay import UserOverlay, drop_user, list_users

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = copy_model(template, tmp / "model")
        vid = version_id(model)
        bob_vid = version_id(model / "users" / "bob")
        outside = tmp / "someone"
        outside.mkdir()
        (outside / "precious.txt").write_text("precious")
        shutil.copytree(template / "versions", outside / "versions")
        planted = []
        for spot, target in sorted(links):
            spot = spot.replace("users/bob/VERSION", f"users/bob/versions/{bob_vid}")
            spot = spot.replace("VERSION", f"versions/{vid}")
            path = model / spot
            if any(p.is_symlink() for p in [path, *path.parents] if p != path and model in p.parents):
                continue  # under a link already planted: that would write outside
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path)
            path.symlink_to(outside / target.replace("VERSION", vid))
            planted.append(str(path))
        before = snapshot(outside)
        det = copy.copy(small_detector)
        det.cases_ = copy.deepcopy(small_detector.cases_)
        det.overlay_ = None
        operations = {
            "load": lambda: ClickbaitDetector.load(model),
            "load bob": lambda: ClickbaitDetector.load(model, user="bob"),
            "save": lambda: det.save(model, force=True),
            "adapt bob": lambda: ClickbaitDetector.load(model, user="bob").retain_and_save(
                ["a new case"], [1]),
            "new user": lambda: UserOverlay.new("zed", det.dim).save(model),
            "list users": lambda: list_users(model),
            "drop bob": lambda: drop_user(model, "bob"),
        }
        _watch.root = str(outside.resolve())
        _touched.clear()
        try:
            for name, run in operations.items():
                try:
                    run()
                except (ArtifactError, OSError) as e:  # naming a planted link
                    assert any(p in str(e) or Path(p).name in str(e) for p in planted), (name, str(e))
                else:
                    assert name == "list users", f"{name} succeeded with links in the tree"
        finally:
            _watch.root = None
        assert _touched == []
        assert snapshot(outside) == before
