"""`make report`'s last step (clickbait/model_card.py): runs gathered with their spread, the
README's block rewritten between its markers, and a model card from whatever reports exist."""

from __future__ import annotations

import json
import statistics

import pytest

from clickbait import model_card


def _run(folder, seed, accuracy, auc):
    folder.mkdir(parents=True)
    test = {"rows": 3200, "accuracy": accuracy, "roc_auc": auc, "f1": accuracy - 0.001,
            "precision": 0.9, "recall": 0.9}
    (folder / "metrics.json").write_text(json.dumps({"test": test, "params": {"seed": seed, "k": 25}}))
    (folder / "roc.png").write_bytes(b"\x89PNG seed %d" % seed)
    return folder


def test_report_gathers_seeds_rewrites_readme_and_card(tmp_path):
    runs = [_run(tmp_path / f"s{s}", s, acc, auc)
            for s, acc, auc in ((0, 0.975, 0.990), (1, 0.979, 0.992), (2, 0.977, 0.991))]
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "comparison.md").write_text("| variant | accuracy |\n|---|---:|\n| x | 0.9 |\n")
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{model_card.README_BEGIN}\nold figures 0.9791\n"
                      f"{model_card.README_END}\nrest\n")
    card = tmp_path / "MODEL_CARD.md"
    assert model_card.main(["--runs", *map(str, runs), "--reports", str(reports),
                            "--readme", str(readme), "--card", str(card)]) == 0
    metrics = json.loads((reports / "metrics.json").read_text())
    assert metrics["seeds"] == [0, 1, 2]
    acc = metrics["summary"]["accuracy"]
    assert acc["mean"] == pytest.approx(0.977)
    assert acc["sd"] == pytest.approx(statistics.stdev([0.975, 0.979, 0.977]))
    assert (reports / "roc.png").read_bytes() == b"\x89PNG seed 0"  # the first seed's plots
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "0.9791" not in text
    assert "0.9770 ± 0.0020" in text and "| seed 2 | 0.9770 | 0.9910 |" in text
    card_text = card.read_text()
    for section in ("## Intended use", "## Training data", "## Metrics", "## Cross-source results",
                    "## Limitations and risks", "casing shortcut", "| x | 0.9 |"):
        assert section in card_text, section
    assert "`cross_source.md`" in card_text  # missing reports are named
    # Run again without --runs: the card is rebuilt from the gathered reports/metrics.json.
    assert model_card.main(["--reports", str(reports), "--card", str(card), "--readme", str(readme)]) == 0
    assert "0.9770 ± 0.0020" in card.read_text()
