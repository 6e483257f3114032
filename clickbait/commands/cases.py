"""Commands on a saved model's cases: `explain`, `adapt` (retain or learn), `user` (overlays) and
`condense`.

Each command is a thin layer over a library function; heavy modules are imported inside it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from .common import (
    EXIT_OK,
    _say,
)


def _label_name(y: int) -> str:
    return "clickbait" if int(y) == 1 else "not clickbait"


def _explain_sentence(e, shown, label: bool) -> str:
    """One plain sentence: the label, P, and why (a retained label, not a headline, or the
    nearest cases shown)."""
    opening = f"{_label_name(label)}, P {e.clickbait_probability:.2f}: "
    if e.user_label == e.user_label:  # not NaN: a retained copy of this very headline
        return (opening + "decided by a retained label (this headline was retained as "
                f"{_label_name(int(e.user_label))})")
    if e.headline < 0.5:
        return opening + f"not a headline (P(headline) {e.headline:.2f}), so never labelled clickbait"
    n, clickbait = len(shown), int((shown["label"] == 1).sum())
    nearest = shown.sort_values("rank")["case_text"].iloc[0] if n else ""
    text = nearest if len(nearest) <= 70 else nearest[:67] + "..."
    return opening + f"{clickbait} of the {n} cases shown are clickbait; nearest: {text!r}"


def cmd_explain(a: argparse.Namespace) -> int:
    from ..trained import TrainedDetector

    det = TrainedDetector.load(a.model_dir, user=a.user)
    frame = det.explain(a.headlines, k=a.k)
    why = det.evidence(a.headlines)
    for q, headline in enumerate(a.headlines):
        e = why.iloc[q]
        label = e.clickbait_probability >= det.threshold_ and e.headline >= 0.5
        shown = frame[frame["query"] == q]
        print(f"{headline!r}: {_explain_sentence(e, shown, label)}")
        print(f"  P(clickbait) {e.clickbait_probability:.3f}, threshold {det.threshold_:.3f}; "
              f"support {e.support:.3f}{', LOW' if e.low_support else ''}; P(headline) {e.headline:.2f}")
        if a.verbose:
            terms = ", ".join(f"{name} {e[name]:+.3f} ({e[name + '_contribution']:+.2f})"
                              for name in det.combiner_.to_dict()["features"])
            print(f"  evidence (value, logit contribution): {terms}; intercept {e.intercept:+.2f} "
                  f"-> the cases say {e.cases_probability:.3f} (pulled toward the prior {e.prior:.2f} "
                  "only if P(headline) < 0.5)")
        if e.user_label != e.user_label and e.retained_other_mass + e.retained_clickbait_mass > 0:
            print(f"  retained cases (marked *) moved the cases' P(clickbait) from "
                  f"{e.base_probability:.3f} to {e.cases_probability:.3f} (their weight: clickbait "
                  f"{e.retained_clickbait_mass:.2f}, not clickbait {e.retained_other_mass:.2f})")
        print(f"  {'rank':>4} {'sim':>6} {'label':<13} {'source':<14} {'added':<19} {'case':>10}  headline")
        for r in shown.itertuples():
            weight = f" x{r.weight:g}" if r.weight != 1 else ""
            mark = "*" if r.retained else " "
            print(f" {mark}{r.rank:>4} {r.similarity:6.3f} {_label_name(r.label):<13} "
                  f"{(r.source + weight)[:14]:<14} {r.added:%Y-%m-%d %H:%M:%S} {r.case_id:>10}  "
                  f"{r.case_text[:70]}")
    return EXIT_OK


def cmd_adapt(a: argparse.Namespace) -> int:
    import time

    from ..data import read_labelled

    frame = read_labelled(a.cases)  # labels 0/1, headlines present: errors name the rows
    if a.learn:
        if a.user:
            raise ValueError("--learn fine-tunes the shared network, which every user shares; a "
                             "user's own cases adapt without it (drop --learn, or drop --user)")
        from ..detector import ClickbaitDetector

        started = time.perf_counter()
        det = ClickbaitDetector.load(a.model_dir)
        det.learn(frame["headline"].tolist(), frame["label"].to_numpy(), epochs=a.epochs,
                  source=a.source or "learned")
        det.save_learned(a.model_dir)
        _say(a, f"learned {len(frame):,} headlines in {time.perf_counter() - started:.1f} s; "
                f"new version of {a.model_dir} ({len(det.cases_):,} cases)")
        return EXIT_OK
    if not a.user and not a.force:
        raise ValueError(f"without --user, adapt changes the shared case base of {a.model_dir} for "
                         "every user; pass --force to do that, or --user NAME for one user's overlay")
    from ..trained import TrainedDetector

    det = TrainedDetector.load(a.model_dir, user=a.user, new_user=True)
    started = time.perf_counter()
    # Under the model folder's lock, re-reading the stored cases: concurrent runs lose nothing.
    ids = det.retain_and_save(frame["headline"].tolist(), frame["label"].to_numpy(), source=a.source)
    seconds = time.perf_counter() - started
    total = len(det.overlay_) if a.user else len(det.cases_)
    where = f"{a.model_dir}/users/{a.user}" if a.user else a.model_dir
    span = f" (ids {ids.min()}..{ids.max()})" if len(ids) else ""
    _say(a, f"retained {len(ids):,} cases{span} in {seconds:.2f} s; {total:,} cases in {where}")
    return EXIT_OK


def cmd_user(a: argparse.Namespace) -> int:
    from ..overlay import UserOverlay, drop_user, list_users

    if a.action == "list":
        rows = list_users(a.model_dir)
        if not rows:
            _say(a, f"no user overlays in {a.model_dir}")
        for r in rows:
            print(f"{r['name']:<20} {r['cases']:>7,} cases ({r['clickbait']:,} clickbait), "
                  f"user_weight {r['user_weight']:g}, saved {r['saved']}")
        return EXIT_OK
    if not a.name:
        raise ValueError(f"`clickbait user {a.action}` needs a user NAME")
    if a.action == "export":
        out = UserOverlay.load(a.model_dir, a.name).export(a.output or f"{a.name}_cases.csv",
                                                           force=a.force)
        # `-o -` carries the data only (redirected, it is a CSV `adapt --cases` reads back)
        _say(a, f"wrote {out}", file=sys.stderr if a.output == "-" else None)
    elif a.action == "drop":
        if not drop_user(a.model_dir, a.name):
            raise FileNotFoundError(f"no overlay for user {a.name!r} in {a.model_dir}")
        _say(a, f"dropped user {a.name!r}")
    return EXIT_OK


def cmd_condense(a: argparse.Namespace) -> int:
    from pathlib import Path

    from ..detector import ClickbaitDetector, check_model_target
    from ..maintenance import condense_detector

    out = Path(a.output)
    check_model_target(out, a.force)  # before minutes of work: refuses a folder clickbait did not write
    det = ClickbaitDetector.load(a.model_dir)
    reduced, report = condense_detector(det, edit=a.edit, margin=a.margin, seed=a.seed)
    _say(a, f"{report['cases_before']:,} -> {report['cases_after']:,} cases "
            f"({report['reduction']:g}x smaller; editing removed {report.get('removed_by_editing', 0):,}) "
            f"in {report['seconds']:.1f} s")
    try:
        from ..data import load_split

        x, y = load_split("test", a.data_dir)
    except FileNotFoundError:
        x = None
    if x is not None:
        before = float((det.predict(x) == y).mean())
        after = float((reduced.predict(x) == y).mean())
        report["test_accuracy_before"], report["test_accuracy_after"] = before, after
        _say(a, f"test accuracy {before:.4f} -> {after:.4f} ({(after - before) * 100:+.2f} points)")
    reduced.metrics_ = {**getattr(det, "metrics_", {}), "condensed": report}
    reduced.save(out, force=a.force)
    _say(a, f"condensed model in {out}")
    return EXIT_OK


def add_parsers(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add these commands' parsers (`command(name, help, func)` makes one)."""
    p = command("explain", "the nearest cases behind a headline's label (-v: evidence terms)",
                cmd_explain)
    p.add_argument("model_dir", help="a saved model directory")
    p.add_argument("headlines", nargs="+", help="one or more headlines (quote each)")
    p.add_argument("-k", "--k", type=int, default=5, help="cases to show per headline")
    p.add_argument("--user", default=None, help="include this user's overlay cases")

    p = command("adapt", "retain labelled headlines as cases, without retraining", cmd_adapt)
    p.add_argument("model_dir", help="a saved model directory")
    p.add_argument("--cases", required=True, help="CSV with columns headline,label (1 = clickbait)")
    p.add_argument("--user", default=None,
                   help="store them in this user's overlay (MODEL_DIR/users/NAME) instead of the base")
    p.add_argument("--source", default=None, help="provenance tag (default: user:NAME or user)")
    p.add_argument("--force", action="store_true",
                   help="without --user: change the shared case base (every user sees the cases)")
    p.add_argument("--learn", action="store_true",
                   help="also fine-tune the shared network on them (with a replay of training "
                        "cases), re-embed the cases and refit the vote: a new model version")
    p.add_argument("--epochs", type=int, default=3, help="with --learn: fine-tuning epochs")

    p = command("user", "list, export or drop per-user case overlays", cmd_user)
    p.add_argument("action", choices=["list", "export", "drop"], help="what to do")
    p.add_argument("model_dir", help="a saved model directory")
    p.add_argument("name", nargs="?", default=None, help="the user (export, drop)")
    p.add_argument("-o", "--output", default=None, help="CSV path for export (default NAME_cases.csv)")
    p.add_argument("--force", action="store_true", help="export: overwrite an existing file")

    p = command("condense", "Wilson-edit and condense the case base into a new model", cmd_condense)
    p.add_argument("model_dir", help="a saved model directory")
    p.add_argument("-o", "--output", required=True, help="the new model directory")
    p.add_argument("--force", action="store_true", help="overwrite an existing OUTPUT")
    p.add_argument("--edit", action=argparse.BooleanOptionalAction, default=True,
                   help="Wilson editing of noisy cases first")
    p.add_argument("--margin", type=float, default=0.5, help="coverage margin of the condensing")
    p.add_argument("--seed", type=int, default=0, help="seed of the condensing order")
    p.add_argument("--data-dir", default=None, help="test split for the before/after accuracy")
