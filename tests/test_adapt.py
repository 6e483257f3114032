"""Retain, revise, forget, explain provenance, per-user overlays, crash-safe saves and the CLI."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from clickbait import cli, overlay
from clickbait.cases import USER_ID_OFFSET, CaseBase, class_neighbours
from clickbait.detector import ClickbaitDetector
from clickbait.files import sha256_file
from clickbait.vote import FEATURES, evidence

NEW = ["Senate committee delays vote on farm subsidies", "You Won't Believe What This Cat Did Next"]


def test_retain_is_used_by_the_very_next_predict_then_revise_and_forget(det):
    det.k = 1
    before = det.predict(NEW)
    ids = det.retain(NEW, 1 - before, source="mine")
    assert ids.tolist() == [4800, 4801]
    np.testing.assert_array_equal(det.predict(NEW), 1 - before)
    det.revise(ids, before)
    np.testing.assert_array_equal(det.predict(NEW), before)
    det.revise(ids[:1], 1 - before[:1])
    assert det.forget(case_ids=ids[:1]) == 1 and det.forget(source="mine") == 1
    assert len(det.cases_) == 4800 and set(det.cases_.meta["source"]) == {"train", "validation"}


def test_1000_retained_cases_are_used_by_the_next_predict(det, corpus):
    """Bulk retention (its time is a benchmark: bench_adapt.py): every retained headline is then
    scored with the label it was retained with, even where that contradicts the corpus."""
    from clickbait.retained import text_keys

    texts, labels = corpus["test"][0][:1000], corpus["test"][1][:1000]
    flipped = 1 - labels
    det.retain(texts, flipped, source="bulk")
    assert len(det.cases_) == 5800
    keys = text_keys(texts)
    last = dict(zip(keys, flipped.tolist(), strict=True))  # same text twice: the later case wins
    np.testing.assert_array_equal(det.predict_proba(texts)[:, 1], [last[k] for k in keys])


def test_explain_shows_provenance_of_retained_cases(det):
    start = pd.Timestamp.now(tz="UTC") - pd.Timedelta(seconds=5)
    det.retain(NEW[:1], [0], source="editor:bob")
    frame = det.explain(NEW[:1], k=3)
    top = frame.iloc[0]
    assert top["case_text"] == NEW[0] and top["source"] == "editor:bob" and top["label"] == 0
    assert top["added"] >= start and top["similarity"] == pytest.approx(1.0, abs=1e-5)
    assert list(frame.columns[:9]) == ["query", "headline", "rank", "case_id", "similarity", "label",
                                       "case_text", "source", "added"]
    assert (frame["weight"] == 1).all()


def test_user_overlay_round_trip_list_export_drop(small_detector, model_copy, tmp_path):
    base_sha = json.loads((model_copy / "current" / "manifest.json").read_text())["files"]
    det = ClickbaitDetector.load(model_copy, user="alice", new_user=True)
    assert len(det.overlay_) == 0
    det.k = 1
    flipped = 1 - det.predict(NEW)
    ids = det.retain(NEW, flipped)
    assert (ids >= USER_ID_OFFSET).all() and len(det.cases_) == 4800  # the base is untouched
    det.save_user()
    # The base files still match their checksums; loading without the user ignores the overlay.
    assert {f: sha256_file(model_copy / "current" / f) for f in base_sha} == base_sha
    plain = ClickbaitDetector.load(model_copy)
    plain.k = 1
    np.testing.assert_array_equal(plain.predict(NEW), 1 - flipped)
    again = ClickbaitDetector.load(model_copy, user="alice")
    again.k = 1
    np.testing.assert_array_equal(again.predict(NEW), flipped)
    frame = again.explain(NEW, k=2)
    mine = frame[frame["source"] == "user:alice"]
    assert len(mine) == 2 and (mine["weight"] == overlay.USER_WEIGHT).all()
    assert set(mine["case_id"]) == set(ids.tolist())
    # Revise and forget reach overlay ids too.
    again.revise(ids[:1], 1 - flipped[:1])
    assert again.overlay_.cases.labels[0] == 1 - flipped[0]
    assert again.forget(case_ids=ids[1:]) == 1 and len(again.overlay_) == 1
    rows = overlay.list_users(model_copy)
    assert [(r["name"], r["cases"]) for r in rows] == [("alice", 2)]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", rows[0]["saved"])  # to the second
    alice = overlay.UserOverlay.load(model_copy, "alice")
    assert (alice.to_frame()["added"] == alice.to_frame()["added"].dt.floor("s")).all()
    out = alice.export(tmp_path / "alice.csv")
    exported = pd.read_csv(out)
    assert exported["headline"].tolist() == NEW and exported["label"].tolist() == flipped.tolist()
    assert exported["added"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00").all()
    assert overlay.drop_user(model_copy, "alice") and overlay.list_users(model_copy) == []
    assert not overlay.drop_user(model_copy, "alice")


@pytest.mark.parametrize("name", ["", "../x", "a/b", "bob smith", "x" * 65, "ünï"])
def test_user_names_are_validated(name):
    with pytest.raises(ValueError, match="invalid user name"):
        overlay.user_dir("models/default", name)


def test_user_weight_decides_against_equally_near_shared_cases():
    base = CaseBase.empty(2)
    base.add(np.tile([[1.0, 0.0]], (9, 1)).astype("float32"), [1] * 9, ["shared"] * 9)
    mine = CaseBase.empty(2, first_id=USER_ID_OFFSET)
    mine.add(np.array([[1.0, 0.0]], "float32"), [0], ["mine"])
    q = np.array([[1.0, 0.0]], "float32")
    share25 = FEATURES.index("share25")
    assert evidence(class_neighbours([base, mine], [1, 1], q, 10))[0, share25] == pytest.approx(0.9)
    assert evidence(class_neighbours([base, mine], [1, 9], q, 10))[0, share25] == pytest.approx(0.5)
    # Merged by similarity: a far user case is not among the 5 nearest, whatever its weight.
    far = CaseBase.empty(2, first_id=USER_ID_OFFSET)
    far.add(np.array([[0.0, 1.0]], "float32"), [0], ["far"])
    nb = class_neighbours([base, far], [1, 100], q, 10)
    assert evidence(nb)[0, FEATURES.index("share5")] == pytest.approx(1.0)
    assert nb.layer[0][0, 0] == 1 and nb.weights[0][0, 0] == 100 and nb.pos[0][0, 1] == -1


def test_overlay_save_survives_a_crash(det, model_copy, monkeypatch):
    ov = det.attach_user("carol", model_copy)
    det.retain(NEW[:1], [1])
    det.save_user()
    det.retain(NEW[1:], [0])

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)  # npz written, parquet fails
    with pytest.raises(OSError, match="disk full"):
        det.save_user()
    monkeypatch.undo()
    kept = overlay.UserOverlay.load(model_copy, "carol")
    assert kept.cases.meta["text"].tolist() == NEW[:1] and len(ov) == 2
    assert [p.name for p in (model_copy / "users").iterdir()] == ["carol"]  # no temp leftovers
    assert len(list((model_copy / "users" / "carol" / "versions").iterdir())) == 1
    overlay.drop_user(model_copy, "carol")


def test_model_save_survives_a_crash_and_keeps_overlays(model_copy, tmp_path, monkeypatch):
    path = model_copy
    det = ClickbaitDetector.load(path, user="dave", new_user=True)
    det.retain(NEW[:1], [1])
    det.save_user()
    det.detach_user()
    det.retain(NEW, [1, 1])
    monkeypatch.setattr(np, "savez", lambda *a, **k: (_ for _ in ()).throw(OSError("killed")))
    with pytest.raises(OSError, match="killed"):
        det.save(path, force=True)
    monkeypatch.undo()
    assert len(ClickbaitDetector.load(path).cases_) == 4800  # the previous model, intact
    det.save(path, force=True)
    again = ClickbaitDetector.load(path, user="dave")
    assert len(again.cases_) == 4802 and len(again.overlay_) == 1  # the overlay survived
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert len(list((path / "versions").iterdir())) == 1  # the failed version was removed


def test_cli_adapt_explain_and_user_commands(model_copy, tmp_path, capsys):
    path = model_copy
    csv = tmp_path / "labels.csv"
    pd.DataFrame({"headline": NEW, "label": [1, 0]}).to_csv(csv, index=False)
    assert cli.main(["adapt", str(path), "--cases", str(csv), "--user", "erin"]) == 0
    assert "retained 2 cases" in capsys.readouterr().out
    other = "Ten things every renter should know about the new housing law"
    assert cli.main(["explain", str(path), NEW[0], other, "-k", "3", "--user", "erin"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()  # each headline opens with one plain sentence: the label, P, and why
    assert lines[0].startswith(f"{NEW[0]!r}: clickbait, P ")
    assert lines[0].endswith(": decided by a retained label (this headline was retained as clickbait)")
    second = next(line for line in lines if line.startswith(f"{other!r}: "))
    assert re.fullmatch(r".*: (not )?clickbait, P \d\.\d\d: ([0-3] of the 3 cases shown are "
                        r"clickbait; nearest: '.+'|not a headline .*)", second), second
    assert "user:erin" in out and "P(clickbait)" in out and NEW[0][:30] in out and "support " in out
    assert "share25 " not in out and "the cases say" not in out  # the evidence terms: with -v
    assert re.search(r" \d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", out)  # `added` to the second
    assert cli.main(["explain", str(path), NEW[0], "-k", "3", "--user", "erin", "-v"]) == 0
    assert "share25 " in capsys.readouterr().out
    assert cli.main(["user", "list", str(path)]) == 0
    assert "erin" in capsys.readouterr().out
    assert cli.main(["user", "export", str(path), "erin", "-o", str(tmp_path / "e.csv")]) == 0
    assert pd.read_csv(tmp_path / "e.csv")["label"].tolist() == [1, 0]
    # Scoring with --user includes the overlay's cases in the vote.
    pd.DataFrame({"headline": NEW}).to_csv(tmp_path / "in.csv", index=False)
    probs = {}
    for extra in ([], ["--user", "erin"]):
        out = tmp_path / f"scored{len(extra)}.csv"
        assert cli.main(["score", str(path), str(tmp_path / "in.csv"), "-o", str(out), *extra]) == 0
        probs[len(extra)] = pd.read_csv(out)["clickbait_probability"].to_numpy()
    assert not np.allclose(probs[0], probs[2])
    capsys.readouterr()
    assert cli.main(["user", "drop", str(path), "erin"]) == 0
    assert cli.main(["user", "drop", str(path), "../etc"]) == 1
    assert "invalid user name" in capsys.readouterr().err
    # Without --user, adapt retains into the shared case base and re-saves the model.
    assert cli.main(["adapt", str(path), "--cases", str(csv)]) == 1  # the shared base: --force
    assert "--force" in capsys.readouterr().err
    assert cli.main(["adapt", str(path), "--cases", str(csv), "--force"]) == 0
    assert len(ClickbaitDetector.load(path).cases_) == 4802


def test_retained_cases_score_a_headline_alike_alone_and_in_any_batch(det, corpus, monkeypatch):
    """A hostile probe found P(clickbait) moving by up to 2e-5 with the batch size once cases
    were retained (one-off on models/default with 3,000 retained titles: 1.8e-7 for a headline
    alone, 5.9e-6 in batches of 7): faiss's float32 search of the retained cases rounds
    differently with the number of queries, and the adapter's kernel magnifies that. The search
    now only finds the candidates; their similarities are float64 dot products
    (retained.nearest). Here the search is made to round by the batch size on purpose."""
    real = CaseBase.kneighbors

    def rounding_by_batch(self, queries, k, *args, **kwargs):
        sims, pos = real(self, queries, k, *args, **kwargs)
        return sims + np.float32(1e-6 * (len(queries) % 5)), pos

    monkeypatch.setattr(CaseBase, "kneighbors", rounding_by_batch)
    det.retain(corpus["train"][0][:2000], corpus["train"][1][:2000], source="mine")
    texts = list(corpus["test"][0][:700])
    whole = det.predict_proba(texts)[:, 1]
    alone = np.concatenate([det.predict_proba([t])[:, 1] for t in texts[:40]])
    sevens = np.concatenate([det.predict_proba(texts[i:i + 7])[:, 1] for i in range(0, len(texts), 7)])
    # float64 sums in other orders may still differ in the last bit (1e-17), far below what is
    # written (six decimals); the float32 search's differences showed there
    np.testing.assert_allclose(alone, whole[:40], rtol=0, atol=1e-12)
    np.testing.assert_allclose(sevens, whole, rtol=0, atol=1e-12)
