"""`user export ... -o -` (issue 17, defect 9): stdout carries the CSV only; the message goes to
stderr, so the export can be redirected and read back by `adapt --cases`."""

from __future__ import annotations

import copy
import io

import pandas as pd

from clickbait import cli


def test_user_export_to_stdout_carries_data_only(small_detector, tmp_path, capsys):
    det = copy.copy(small_detector)
    det.cases_ = copy.deepcopy(small_detector.cases_)
    det.overlay_ = None
    model = det.save(tmp_path / "model")
    det.attach_user("bob", model)
    det.retain(["Senate passes budget bill", "You won't believe this"], [0, 1])
    det.save_user(model)
    capsys.readouterr()
    assert cli.main(["user", "export", str(model), "bob", "-o", "-"]) == cli.EXIT_OK
    out, err = capsys.readouterr()
    frame = pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)
    assert frame["headline"].tolist() == ["Senate passes budget bill", "You won't believe this"]
    assert frame["label"].tolist() == ["0", "1"] and "wrote" not in out
    assert "wrote -" in err
    (tmp_path / "back.csv").write_text(out)
    assert cli.main(["adapt", str(model), "--cases", str(tmp_path / "back.csv"), "--user", "ann"]) == 0
