"""The package face: `import clickbait` is cheap (no TensorFlow), the public names resolve, the
command line answers --help/--version without TensorFlow, and the package has no import cycle."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

import clickbait

PACKAGE = ROOT / "clickbait"


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    """`python -c code args...` with this checkout first on the path."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def test_import_clickbait_does_not_import_tensorflow():
    r = _python("import sys, clickbait; print(clickbait.__version__); "
                "print(sorted(m for m in ('tensorflow', 'keras', 'pandas', 'sklearn', 'matplotlib') "
                "if m in sys.modules))")
    assert r.returncode == 0, r.stderr
    version, loaded = r.stdout.split("\n")[:2]
    assert version == clickbait.__version__
    assert loaded == "[]"


def test_public_names_resolve_lazily():
    r = _python("import sys, clickbait\n"
                "assert 'tensorflow' not in sys.modules\n"
                "from clickbait import InputError, ArtifactError, CollapseError, VectorFormatError\n"
                "assert 'tensorflow' not in sys.modules\n"
                "clickbait.load_split\n"
                "assert 'tensorflow' not in sys.modules, 'load_split needs no TensorFlow'\n"
                "det = clickbait.ClickbaitDetector\n"
                "assert 'tensorflow' not in sys.modules, 'the detector imports TensorFlow where used'\n"
                "print(det.__module__)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "clickbait.detector"


def test_all_names_exist_and_errors_are_shared():
    from clickbait import detector, losses, scoring, vectors

    for name in clickbait.__all__:
        assert getattr(clickbait, name) is not None, name
    assert set(clickbait.__all__) <= set(dir(clickbait))
    assert clickbait.ClickbaitDetector is detector.ClickbaitDetector
    assert clickbait.InputError is scoring.InputError and issubclass(clickbait.InputError, ValueError)
    assert clickbait.ArtifactError is detector.ArtifactError
    assert clickbait.CollapseError is losses.CollapseError
    assert clickbait.VectorFormatError is vectors.VectorFormatError
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        clickbait.nope  # noqa: B018


def test_load_is_the_detector_load(small_detector, saved_model, tmp_path):
    path = saved_model
    det = clickbait.load(path)
    texts = ["You Won't Believe This", "Senate passes budget"]
    assert (det.predict(texts) == small_detector.predict(texts)).all()
    with pytest.raises(clickbait.ArtifactError, match="is not a saved ClickbaitDetector"):
        clickbait.load(tmp_path)


def test_load_without_a_path_finds_models_default_or_the_env(saved_model, tmp_path, monkeypatch):
    monkeypatch.delenv("CLICKBAIT_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(clickbait.ArtifactError, match=r"models/default.*run `make train`"):
        clickbait.load()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "default").symlink_to(saved_model)
    assert clickbait.load().model_dir_ == Path("models/default")
    monkeypatch.setenv("CLICKBAIT_MODEL", str(tmp_path / "elsewhere"))
    with pytest.raises(clickbait.ArtifactError, match=r"CLICKBAIT_MODEL=.*elsewhere.*make train"):
        clickbait.load()
    monkeypatch.setenv("CLICKBAIT_MODEL", str(saved_model))
    assert clickbait.load().model_dir_ == saved_model


def test_a_notebook_session_writes_nothing_to_stderr(saved_model):
    """`import clickbait; clickbait.load().predict_proba(...)` in a fresh process, as a notebook
    does it: nothing from TensorFlow or anyone else on stderr, and the answers on stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}  # no help from outside
    env.update(PYTHONPATH=str(ROOT), CLICKBAIT_MODEL=str(saved_model))
    code = ("import clickbait\n"
            "det = clickbait.load()\n"
            "p = det.predict_proba(['You Won\\'t Believe What This Dog Did', 'Senate passes budget'])\n"
            f"q = clickbait.load({str(saved_model)!r}).predict_proba(['Senate passes budget'])\n"
            "print(p.shape, q.shape, repr(det).startswith('ClickbaitDetector('))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "(2, 2) (1, 2) True"
    assert r.stderr == ""


def test_load_takes_the_detector_loads_arguments(model_copy):
    det = clickbait.load(model_copy, user="ann", new_user=True)
    assert det.overlay_.name == "ann" and len(det.overlay_) == 0
    with pytest.raises(FileNotFoundError, match="no overlay for user 'bob'"):
        clickbait.load(model_copy, user="bob")


def test_dir_lists_only_the_public_names():
    assert dir(clickbait) == sorted(clickbait.__all__)
    for leaked in ("Any", "os", "importlib", "TYPE_CHECKING"):
        assert leaked not in dir(clickbait)
    assert not hasattr(clickbait, "os") and not hasattr(clickbait, "importlib")


def test_evaluate_in_memory(small_detector, corpus):
    texts, labels = corpus["test"][0][:300], corpus["test"][1][:300]
    m = clickbait.evaluate(small_detector, texts, labels)
    assert m["rows"] == 300 and m["accuracy"] == pytest.approx(small_detector.score(texts, labels))
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        clickbait.evaluate(small_detector, texts[:2], [0, 2])


def test_cli_defaults_match_the_library():
    from clickbait import cli, formats
    from clickbait.detector import DEFAULT_VECTORS

    assert cli.DEFAULT_VECTORS == DEFAULT_VECTORS
    assert cli.FORMATS == formats.FORMATS


def test_cli_model_options_come_from_the_estimator():
    """One source of defaults: train's and compare's model options are ClickbaitDetector's
    parameters, with its defaults and choices; other commands do not even import scikit-learn."""
    import argparse
    import inspect

    from clickbait import cli
    from clickbait.commands.common import MODEL_OPTIONS, _params
    from clickbait.detector import ClickbaitDetector

    parser = cli.build_parser("train")
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    signature = inspect.signature(ClickbaitDetector).parameters
    for name in ("train", "compare"):
        a = commands[name].parse_args([])
        params = _params(a)
        assert {n: params[n] for n in MODEL_OPTIONS} == {n: signature[n].default for n in MODEL_OPTIONS}
        ClickbaitDetector(**params)._validate_params()
    encoder = next(x for x in commands["train"]._actions if x.dest == "encoder")
    assert set(encoder.choices) == ClickbaitDetector._parameter_constraints["encoder"][0].options
    r = _python("import sys; from clickbait import cli; cli.build_parser('score'); "
                "print('sklearn' in sys.modules)")
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr


@pytest.mark.parametrize("args", [["-m", "clickbait", "--help"], ["-m", "clickbait", "--version"],
                                  ["-m", "clickbait", "score", "--help"]])
def test_help_and_version_do_not_import_tensorflow(args):
    code = ("import sys, runpy; sys.argv = ['clickbait', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('clickbait', run_name='__main__')\n"
            "except SystemExit as e:\n    code = e.code\n"
            "print('TF-LOADED' if 'tensorflow' in sys.modules else 'TF-NOT-LOADED', code)")
    r = _python(code, *args[2:])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("TF-NOT-LOADED 0"), r.stdout[-300:]
    if "--version" in args:
        assert f"clickbait {clickbait.__version__}" in r.stdout
    elif "score" in args:
        assert "--format {csv,tsv,jsonl,parquet}" in r.stdout and "(default: 8192)" in r.stdout
    else:
        assert "exit status: 0 success" in r.stdout


def test_usage_error_exits_2_without_traceback():
    r = subprocess.run([sys.executable, "-m", "clickbait", "score"], capture_output=True, text=True,
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert r.returncode == 2 and "usage:" in r.stderr and "Traceback" not in r.stderr


def _modules() -> dict[str, Path]:
    """Every module under clickbait/, by dotted name ("clickbait", "clickbait.detector", ...)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> dict[str, bool]:
    """The package's own modules that module `name` imports -> whether at module level (False:
    only inside a function or method). `from . import x` names module x where there is one, else
    the package's `__init__` itself. Imports under `if TYPE_CHECKING:` never run: not counted."""
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    typing_only = {id(n) for stmt in ast.walk(tree) if isinstance(stmt, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(stmt.test) for n in ast.walk(stmt)}
    top = {id(n) for stmt in tree.body if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                ast.ClassDef))
           for n in ast.walk(stmt)}
    found: dict[str, bool] = {}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # `if TYPE_CHECKING:` imports never run
            continue
        targets = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module.split(".")[0] != "clickbait":
                continue
            subs = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in modules]
            targets = subs if subs and len(subs) == len(node.names) else [*subs, module]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.split(".")[0] == "clickbait"]
        for target in targets:
            found[target] = found.get(target, False) or id(node) in top
    found.pop(name, None)
    return found


def test_no_module_imports_the_package_init():
    modules = _modules()
    offenders = [name for name, path in modules.items()
                 if name != "clickbait" and "clickbait" in _imports(name, path, modules)]
    assert not offenders, f"these import the package's __init__ (use .version etc.): {offenders}"


def test_no_import_cycles():
    modules = _modules()
    edges = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert "clickbait.scoring" not in edges["clickbait.detector"], "detector must not import scoring"

    def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
        found = []
        for start in graph:
            stack = [(start, [start])]
            while stack:
                node, trail = stack.pop()
                for nxt in graph.get(node, ()):
                    if nxt == start:
                        found.append([*trail, start])
                    elif nxt not in trail:
                        stack.append((nxt, [*trail, nxt]))
        return found

    # Module-level imports first (a cycle there can break an import), then all, lazy ones included.
    module_level = {m: {t for t, top in e.items() if top and t in modules} for m, e in edges.items()}
    assert not cycles(module_level), cycles(module_level)[:3]
    everything = {m: set(e) & set(modules) for m, e in edges.items()}
    assert not cycles(everything), cycles(everything)[:3]


def test_no_module_over_500_lines():
    """A module of the size it earns (issue 18): none over 500 lines."""
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 500}
    assert not long, long


def test_import_graph_sees_the_packages_own_imports():
    """The graph above is not vacuous: known edges are found."""
    modules = _modules()
    trained = _imports("clickbait.trained", modules["clickbait.trained"], modules)
    assert trained["clickbait.cases"] is True and trained["clickbait.persistence"] is True
    assert "clickbait.predictor" in trained  # a lazy import (inside a method) is an edge too
    assert _imports("clickbait.detector", modules["clickbait.detector"], modules)["clickbait.trained"] is True
    assert "clickbait.losses" in _imports("clickbait.fitting", modules["clickbait.fitting"], modules)
