"""The published figures, regenerated from report files: `make report` trains the default model
once per seed (into build/), then this module gathers the runs into reports/metrics.json (each
seed, mean and spread), copies the first seed's plots to reports/, rewrites the README's results
block and writes MODEL_CARD.md (Mitchell et al. 2019 / Hugging Face model card sections).

It reads whatever report files exist (reports/comparison.md, cross_source.md, adaptation.json,
...) and says which are missing, so it can run before or after the other report commands:

    python -m clickbait.model_card --runs build/reports/seed0 build/reports/seed1 build/reports/seed2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

from .files import write_file
from .version import __version__

METRICS = ("accuracy", "roc_auc", "f1", "precision", "recall")
FIGURES = ("roc.png", "confusion.png", "projection.png")
README_BEGIN, README_END = "<!-- report:begin -->", "<!-- report:end -->"
SETUP_BEGIN, SETUP_END = "<!-- setup:begin -->", "<!-- setup:end -->"
ADAPT_BEGIN, ADAPT_END = "<!-- adaptation:begin -->", "<!-- adaptation:end -->"
_ADAPT_SOURCES = (("youtube", "judge_auc", "youtube2018, judged channels: ROC-AUC"),
                  ("no-lists", "affected_agreement", "no-lists persona: agreement on affected test rows"))


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def gather_runs(runs: Sequence[str | os.PathLike]) -> dict:
    """One entry per run folder (its metrics.json from `clickbait train`), plus mean and sample
    standard deviation of each test metric over the runs."""
    entries = []
    for folder in map(Path, runs):
        m = _read_json(folder / "metrics.json")
        if m is None:
            raise FileNotFoundError(f"{folder}/metrics.json not found: train that run first")
        entries.append({"seed": m.get("params", {}).get("seed"), "folder": str(folder),
                        "test": m["test"], "validation_accuracy": m.get("validation_accuracy"),
                        "threshold": m.get("threshold"), "seconds": m.get("seconds")})
    if not entries:
        raise ValueError("no runs given")
    summary = {}
    for key in METRICS:
        values = [e["test"][key] for e in entries if e["test"].get(key) is not None]
        if values:
            summary[key] = {"mean": statistics.fmean(values),
                            "sd": statistics.stdev(values) if len(values) > 1 else None,
                            "min": min(values), "max": max(values)}
    first = _read_json(Path(runs[0]) / "metrics.json")
    return {"runs": entries, "summary": summary, "seeds": [e["seed"] for e in entries],
            "params": first.get("params", {}), "figures_seed": entries[0]["seed"],
            "written": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "clickbait": __version__}


def _spread(summary: dict, key: str) -> str:
    s = summary.get(key)
    if s is None:
        return "n/a"
    sd = "" if s["sd"] is None else f" ± {s['sd']:.4f}"
    return f"{s['mean']:.4f}{sd}"


BASELINE = "TF-IDF + LR"
# (label, data set, measure, format) of the README's comparison with the baseline
CROSS_ROWS = (
    ("corpus test accuracy", "corpus test", "accuracy", ".4f"),
    ("corpus test ROC-AUC", "corpus test", "roc_auc", ".4f"),
    ("corpus test calibration error (ECE, 15 bins)", "corpus test", "ece", ".4f"),
    ("corpus test news flagged", "corpus test", "news_flagged", ".2%"),
    ("downs2014 ROC-AUC (development set)", "downs2014", "roc_auc", ".4f"),
    ("downs2014 NYT news flagged (development set)", "downs2014", "news_flagged", ".2%"),
    ("corpus test probabilities at exactly 0 or 1", "corpus test", "extreme_proba", ".1%"),
)


def _range(values: list[float], spec: str) -> str:
    """min-max of the seeds' values ("" for one value, or when they all print the same)."""
    low, high = format(min(values), spec), format(max(values), spec)
    return f"{low}-{high}" if len(values) > 1 and low != high else ""


def cross_table(cross: dict) -> list[str]:
    """Markdown lines: the model (median of the seeds, with their range) next to the baseline
    fitted in the same run, from reports/cross_source.json."""
    first = cross["sets"]["corpus test"]
    median = next((k for k in first if k.startswith("median of")), None)
    ours = median or next(k for k in first if k != BASELINE)
    seeds = [k for k in first if k not in (BASELINE, median)]
    name = f"this model, {median} (range)" if median else "this model"
    lines = [f"| measure | {name} | {BASELINE} |", "|---|---:|---:|"]

    def row(label: str, values: dict[str, float], spec: str) -> str:
        spread = _range([values[k] for k in seeds], spec) if median else ""
        return (f"| {label} | {format(values[ours], spec)}{f' ({spread})' if spread else ''} | "
                f"{format(values[BASELINE], spec)} |")

    for label, data, key, spec in CROSS_ROWS:
        out = cross["sets"].get(data)
        if out is None or out[ours].get(key) is None:
            continue
        if key == "news_flagged" and data == "downs2014":
            values = {k: m["flagged_by_site"]["nytimes"] for k, m in out.items()}
        else:
            values = {k: m[key] for k, m in out.items()}
        lines.append(row(label, values, spec))
    ns = cross.get("nonsense")
    if ns:
        values = {k: m["flagged"] for k, m in ns["by_model"].items()}
        lines.append(row(f"generated unrelated text flagged ({ns['rows']:,} lines: "
                         f"{', '.join(ns['kinds'])})", values, ".2%"))
    return lines


def results_block(multi: dict, cross: dict | None = None) -> str:
    """The README's results: mean ± sample sd over the seeds, each seed, and (from
    reports/cross_source.json) the model next to the baseline on the corpus, downs2014 and
    generated unrelated text."""
    s, runs = multi["summary"], multi["runs"]
    lines = [README_BEGIN,
             f"Test split (3,200 headlines), the default model trained once per seed "
             f"({', '.join(str(r['seed']) for r in runs)}); mean ± sample standard deviation over "
             f"the {len(runs)} runs (`make report`, {multi['written'][:10]}; `reports/metrics.json`):",
             "",
             "| test split | accuracy | ROC-AUC | F1 |", "|---|---:|---:|---:|",
             f"| nearest-case classifier, {len(runs)} seeds | {_spread(s, 'accuracy')} | "
             f"{_spread(s, 'roc_auc')} | {_spread(s, 'f1')} |"]
    for r in runs:
        t = r["test"]
        auc = "n/a" if t.get("roc_auc") is None else f"{t['roc_auc']:.4f}"
        lines.append(f"| seed {r['seed']} | {t['accuracy']:.4f} | {auc} | {t['f1']:.4f} |")
    if cross:
        lines += ["", f"Next to the baseline, same run (`reports/cross_source.json`, written "
                      f"{cross['when'][:10]}): TF-IDF word 1-2 + char 2-5 grams + logistic regression, "
                      "fitted on the corpus train split in that run. downs2014 is a development set: the "
                      "vote's k and the headline check's cut were chosen on it. The generated unrelated "
                      "text was kept apart from all tuning.", "", *cross_table(cross)]
    lines += ["", f"The plots in `reports/` (`roc.png`, `confusion.png`, `projection.png`) are from "
                  f"seed {multi['figures_seed']}. A single `make train` on another machine lands "
                  "within about this spread, not on any one of these numbers.", README_END]
    return "\n".join(lines)


def readme_block(reports: Path) -> str | None:
    """The README's results block as `make report` writes it from the files in `reports`
    (None without a gathered reports/metrics.json)."""
    metrics = _read_json(reports / "metrics.json")
    if not metrics or "runs" not in metrics:
        return None
    return results_block(metrics, _read_json(reports / "cross_source.json"))


def setup_block(setup: dict | None, metrics: dict | None) -> str:
    """The README's cost of the two commands: disk (benchmarks/results/setup.json, written by
    benchmarks/bench_setup.py), training time per model and test-suite time."""
    lines = [SETUP_BEGIN]
    seconds = [r["seconds"] for r in (metrics or {}).get("runs", []) if r.get("seconds") is not None]
    if setup:
        gib, mib = setup["venv_bytes"] / 2**30, setup["vectors_bytes"] / 2**20
        lines.append(f"Measured on the {setup['cpus']}-core machine that wrote the committed results: "
                     f"the virtual environment takes {gib:.1f} GiB of disk and the vectors {mib:.0f} MiB "
                     "(`benchmarks/results/setup.json`).")
    if seconds:
        lines.append(f"Training one model took {min(seconds):.0f}-{max(seconds):.0f} s of wall time "
                     "(`reports/metrics.json`; the machine is shared, so this varies with its load).")
    if setup and setup.get("test_seconds") is not None:
        lines.append(f"The test suite took {setup['test_seconds'] / 60:.0f} min after installation.")
    if len(lines) == 1:
        lines.append("Not measured yet: `python benchmarks/bench_setup.py --tests`, `make report`.")
    return "\n".join([lines[0], " ".join(lines[1:]), SETUP_END])


def setup_block_from(root: Path, reports: Path) -> str:
    """setup_block from ROOT/benchmarks/results/setup.json and REPORTS/metrics.json."""
    return setup_block(_read_json(root / "benchmarks" / "results" / "setup.json"),
                       _read_json(reports / "metrics.json"))


def adaptation_cell(cell: dict | None, key: str) -> str:
    """One method at one N: the median `key` figure, then (corpus test ROC-AUC / ECE)."""
    if cell is None:
        return ""
    return (f"{cell[key]['median']:.3f} ({cell['corpus_test_auc']['median']:.4f} / "
            f"{cell['corpus_test_ece']['median']:.3f})")


def adaptation_block(results: dict | None) -> str:
    """The README's adaptation table from benchmarks/results/adaptation.json (`make bench-adapt`):
    median over the models, with the corpus test ROC-AUC / ECE after adapting."""
    if not results:
        return f"{ADAPT_BEGIN}\n*Not measured yet: run `make bench-adapt`.*\n{ADAPT_END}"
    med = results["medians"]
    out = [ADAPT_BEGIN, f"Median of {len(results['models'])} models (seeds "
           f"{', '.join(map(str, results['seeds']))}), `benchmarks/results/adaptation.json`; in "
           "brackets the corpus test ROC-AUC / ECE after adapting.", "",
           "| new labelled rows | N | retain (instant) | learn | TF-IDF + LR refit | retrain |",
           "|---|---:|---|---|---|---|"]
    for name, key, title in _ADAPT_SOURCES:
        methods = med.get(name)
        if not methods:
            continue
        for n in sorted(methods["retain"], key=int):
            if int(n) not in (0, 300, 1000):
                continue
            cells = [adaptation_cell(methods.get(m, {}).get(n), key)
                     for m in ("retain", "learn", "refit", "retrain")]
            out.append(f"| {title if n == '0' else ''} | {int(n):,} | " + " | ".join(cells) + " |")
    persona = med.get("no-lists")
    if persona:
        whole = "; ".join(f"{m} N={int(n):,} {c['all_agreement']['median']:.3f}"
                          for m in ("retain", "learn", "refit") for n, c in persona.get(m, {}).items()
                          if "all_agreement" in c)
        out += ["", "The persona overrules the corpus on list headlines, so its corpus columns score "
                "labels it rejects; its agreement on the whole test split: " + whole + "."]
    return "\n".join([*out, ADAPT_END])


def adaptation_block_from(root: Path) -> str:
    return adaptation_block(_read_json(root / "benchmarks" / "results" / "adaptation.json"))


def update_readme(readme: Path, block: str, begin: str = README_BEGIN, end: str = README_END) -> bool:
    """Replace the text between the markers; False if the README has no markers."""
    text = readme.read_text()
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        return False
    write_file(readme, pattern.sub(lambda _: block, text))
    return True


def _section(reports: Path, name: str, missing: list[str]) -> str | None:
    path = reports / name
    if not path.is_file():
        missing.append(name)
        return None
    text = path.read_text().strip()
    return re.sub(r"^# .*\n+", "", text)  # the file's own title goes; the card has its heading


def model_card(reports: Path, multi: dict | None) -> str:
    """MODEL_CARD.md from the report files in `reports` (sections for missing files say so)."""
    missing: list[str] = []
    metrics = multi or _read_json(reports / "metrics.json") or {}
    params = metrics.get("params", {})
    if multi is None and "runs" in metrics:
        multi = metrics
    out = ["# Model card: clickbait nearest-case detector", "",
           f"Generated by `python -m clickbait.model_card` (`make report`) from the files in "
           f"`{reports}/`; clickbait {__version__}. Edit the generator, not this file.", "",
           "## Model details", "",
           f"- A {params.get('encoder', 'cnn').upper()} encoder over GloVe 6B 50d word vectors "
           f"({'trainable' if params.get('trainable', True) else 'frozen'}), projected to a "
           f"{params.get('dim', 32)}-d unit sphere trained with a {params.get('loss', 'contrastive')} "
           f"metric loss; P(clickbait) comes from a learned, calibrated vote over the evidence of "
           f"the k = {params.get('k', 100)} nearest stored headlines (cases) of each class, so each "
           "prediction can name the cases it rests on, and cases can be added or removed without "
           "retraining.",
           "- Keras 3 / TensorFlow; saved as `model.keras` (safe mode, no pickle) plus the case "
           "files, with checksums. Licence: MIT (code); data and vectors under their own terms.",
           "", "## Intended use", "",
           "- Flagging likely clickbait among English news headlines (batch scoring of feeds, a "
           "reader-side filter, a teaching example of metric learning with explainable "
           "nearest-case decisions), with a person able to inspect the cases behind a flag and "
           "to adapt it through a per-user overlay.",
           "- Not for: judging the truth or quality of an article, moderating people, languages "
           "other than English, or texts that are not headlines. Text the headline check rejects "
           "is marked `low_support` and never labelled clickbait, but the check misses some "
           "unrelated text (code, log lines, other languages: see the cross-source section). "
           "Probabilities are calibrated on the corpus (see the "
           "calibration error below); on other sources read the cross-source report.",
           "", "## Training data", "",
           "- Stop Clickbait corpus (Chakraborty, Paranjape, Kakarla and Ganguly, ASONAM 2016; MIT "
           "licence): 32,000 headlines, half clickbait (BuzzFeed, Upworthy, ViralNova, "
           "Thatscoop, Scoopwhoop, ViralStories) and half not (WikiNews, New York Times, The "
           "Guardian, The Hindu), labelled by publisher, not by reading each headline; split "
           "80/10/10 into train/valid/test (../shared/data/README.md). Validation headlines "
           "choose the threshold and then join the cases.",
           "- GloVe 6B 50d vectors (Pennington, Socher and Manning 2014; PDDL).",
           "", "## Metrics", ""]
    if multi:
        out += [results_block(multi).replace(README_BEGIN + "\n", "").replace("\n" + README_END, ""),
                ""]
    elif "test" in metrics:
        t = metrics["test"]
        out += ["One run only (spread unknown: run `make report` for three seeds):", "",
                "| test split | accuracy | ROC-AUC | F1 |", "|---|---:|---:|---:|",
                f"| seed {params.get('seed')} | {t['accuracy']:.4f} | {t.get('roc_auc') or 0:.4f} | "
                f"{t['f1']:.4f} |", ""]
    else:
        missing.append("metrics.json")
        out += ["No test metrics found.", ""]
    comparison = _section(reports, "comparison.md", missing)
    if comparison:
        cparams = (_read_json(reports / "comparison.json") or {}).get("params", {})
        older = ("temperature" in cparams and "not the current vote but an earlier one, a "
                 f"temperature-weighted share of the k = {cparams.get('k')} nearest cases. Read it for "
                 "the encoder and vector choices, not as this model's figures") or ""
        out += ["Variants and baselines, one run each (`make compare`, `reports/comparison.json`"
                + (f"; {older}" if older else "") + "):", "", comparison, ""]
    out += ["## Cross-source results", ""]
    cross = _section(reports, "cross_source.md", missing)
    out += [cross if cross else "Not measured yet: run `make evaluate-sources` (or `make report`).", ""]
    adaptation = _read_json(reports / "adaptation.json")
    if adaptation is None:
        missing.append("adaptation.json")
    out += ["## Adapting to a user", "",
            "Adapting to a new source or a user (retain, learn, against a refitted TF-IDF "
            "baseline): the README's adaptation table (`benchmarks/results/adaptation.json`); an "
            "older per-user overlay measurement: see `reports/adaptation.png` and "
            "`docs/adaptation.md`" + (f" (measured on `{adaptation.get('model')}`)." if adaptation else
                                      " (not measured yet: `make bench-adapt`)."), "",
            "## Limitations and risks", "",
            "- **The corpus's casing shortcut.** In Stop Clickbait nearly every clickbait headline "
            "is Title Case against few of the others, no clickbait headline ends in `?`, and "
            "non-ASCII characters occur only on the news side: a cased model can score well here "
            "by reading those quirks alone. This one lowercases, maps typographic quotes to ASCII "
            "and strips trailing `.`/`?`/`!` "
            "before anything else, so it cannot read them (tested); it pays a little accuracy "
            "on this corpus for it, and its corpus figures still overstate what to expect on "
            "headlines from other sources (see the cross-source section).",
            "- **Sources as labels.** Each class comes from a handful of sites, so topic and house "
            "style stand in for clickbait: a listicle from a newspaper, or a sober headline on a "
            "viral site, is judged by the company it keeps.",
            "- **Time and language.** English only, from the corpus's collection (2016 and "
            "earlier); new slang, topics and formats drift away from the cases.",
            "- **Scores.** P(clickbait) is calibrated on the corpus (its validation headlines, out "
            "of fold); on other sources it is less so (the ECE column of the cross-source table), "
            "and a threshold chosen on the corpus flags more news from elsewhere.",
            "- **User overlays** change decisions for that user only; a heavily weighted overlay "
            "spills over onto nearby headlines it was not meant for (`docs/adaptation.md`).",
            "", "## Reproducing", "",
            "`make report` (one training run per seed, then the cross-source report) rewrites "
            "`reports/metrics.json`, `reports/cross_source.*`, the plots, this card and the README's "
            "results block; `make train` alone writes to the untracked `build/reports/`."]
    if missing:
        out += ["", "Report files not found when this card was written: "
                + ", ".join(f"`{m}`" for m in missing) + "."]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m clickbait.model_card", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", nargs="*", default=[],
                    help="folders of `clickbait train --reports` runs, one per seed (first: figures)")
    ap.add_argument("--reports", default="reports", help="committed reports folder (read and written)")
    ap.add_argument("--readme", default="README.md", help="README whose report block is rewritten")
    ap.add_argument("--adaptation-only", action="store_true",
                    help="only rewrite the README's adaptation block (make bench-adapt)")
    ap.add_argument("--card", default="MODEL_CARD.md", help="model card to write")
    a = ap.parse_args(argv)
    if a.adaptation_only:
        readme = Path(a.readme)
        update_readme(readme, adaptation_block_from(readme.resolve().parent), ADAPT_BEGIN, ADAPT_END)
        print(f"wrote the adaptation block of {readme}")
        return 0
    reports = Path(a.reports)
    reports.mkdir(parents=True, exist_ok=True)
    multi = None
    if a.runs:
        multi = gather_runs(a.runs)
        write_file(reports / "metrics.json", json.dumps(multi, indent=2) + "\n")
        for name in FIGURES:
            if (Path(a.runs[0]) / name).is_file():
                write_file(reports / name, (Path(a.runs[0]) / name).read_bytes())
        readme = Path(a.readme)
        blocks = ((readme_block(reports), README_BEGIN, README_END),
                  (setup_block_from(readme.resolve().parent, reports), SETUP_BEGIN, SETUP_END),
                  (adaptation_block_from(readme.resolve().parent), ADAPT_BEGIN, ADAPT_END))
        for block, begin, end in blocks:
            if readme.is_file() and not update_readme(readme, block, begin, end):
                print(f"{a.readme}: no {begin} ... {end} block; left as it is", file=sys.stderr)
    write_file(a.card, model_card(reports, multi))
    print(f"wrote {a.card}" + (f", {reports}/metrics.json and the README's results" if multi else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
