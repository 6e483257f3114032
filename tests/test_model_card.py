"""`make report`'s last step (clickbait/model_card.py): runs gathered with their spread, the
README's block rewritten between its markers, and a model card from whatever reports exist."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

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


def _cross(models: dict[str, float]) -> dict:
    sets = {}
    for name in ("corpus test", "downs2014"):
        sets[name] = {m: {"accuracy": v, "roc_auc": v, "ece": v / 10, "news_flagged": v / 20,
                          "extreme_proba": 0.0, **({"flagged_by_site": {"nytimes": v / 30}}
                                                   if name == "downs2014" else {})}
                      for m, v in models.items()}
    return {"when": "2026-01-02T00:00:00+00:00", "sets": sets,
            "nonsense": {"rows": 12, "kinds": {"code": 6, "url": 6},
                         "by_model": {m: {"flagged": v / 100} for m, v in models.items()}}}


def test_cross_table_shows_the_median_its_range_and_the_baseline():
    cross = _cross({"seed0": 0.91, "seed1": 0.95, "seed2": 0.93, "median of 3": 0.93, "TF-IDF + LR": 0.97})
    lines = model_card.cross_table(cross)
    assert lines[0] == "| measure | this model, median of 3 (range) | TF-IDF + LR |"
    assert "| corpus test accuracy | 0.9300 (0.9100-0.9500) | 0.9700 |" in lines
    assert "| downs2014 NYT news flagged (development set) | 3.10% (3.03%-3.17%) | 3.23% |" in lines
    assert "| generated unrelated text flagged (12 lines: code, url) | 0.93% (0.91%-0.95%) | 0.97% |" in lines
    one = model_card.cross_table(_cross({"this model": 0.9, "TF-IDF + LR": 0.8}))
    assert "| corpus test ROC-AUC | 0.9000 | 0.8000 |" in one


def test_the_readme_results_block_is_what_make_report_writes_from_the_committed_files(monkeypatch):
    """The figures in README.md cannot drift from reports/: the block between the markers is
    exactly what `make report`'s last step writes from the committed files, and so is MODEL_CARD.md."""
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text()

    def block(begin: str, end: str) -> str:
        return readme[readme.index(begin):readme.index(end) + len(end)]

    assert block(model_card.README_BEGIN, model_card.README_END) == model_card.readme_block(ROOT / "reports")
    assert block(model_card.SETUP_BEGIN, model_card.SETUP_END) == model_card.setup_block_from(
        ROOT, ROOT / "reports")
    assert block(model_card.ADAPT_BEGIN, model_card.ADAPT_END) == model_card.adaptation_block_from(ROOT)
    monkeypatch.chdir(ROOT)
    assert (ROOT / "MODEL_CARD.md").read_text() == model_card.model_card(Path("reports"), None)


def test_setup_block_names_its_files():
    text = model_card.setup_block({"cpus": 2, "venv_bytes": 2_986_061_710, "vectors_bytes": 171_350_079,
                                   "test_seconds": 301.0}, {"runs": [{"seconds": 49.7}, {"seconds": 62.8}]})
    assert "2.8 GiB" in text and "163 MiB" in text and "50-63 s of wall time" in text and "5 min" in text
    assert text.startswith(model_card.SETUP_BEGIN) and text.endswith(model_card.SETUP_END)
    assert "Not measured yet" in model_card.setup_block(None, None)


def test_adaptation_block_reads_the_medians():
    cell = {k: {"median": v} for k, v in (("judge_auc", 0.81), ("corpus_test_auc", 0.9969),
                                           ("corpus_test_ece", 0.011))}
    results = {"models": ["a", "b"], "seeds": [0, 1],
               "medians": {"youtube": {"retain": {"0": cell, "1000": {**cell, "judge_auc": {"median": 0.85}}},
                                       "refit": {"1000": {**cell, "judge_auc": {"median": 0.88}}}}}}
    text = model_card.adaptation_block(results)
    assert "| 1,000 | 0.850 (0.9969 / 0.011) |  | 0.880 (0.9969 / 0.011) |  |" in text
    assert text.startswith(model_card.ADAPT_BEGIN) and "seeds 0, 1" in text
    assert "Not measured" in model_card.adaptation_block(None)
