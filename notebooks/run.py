"""Execute the notebooks top to bottom with papermill-style parameters (nbclient, no papermill).

Each notebook's first code cell is tagged ``parameters`` and holds its full-size settings. Given
parameters go into a new cell tagged ``injected-parameters`` right after it (what papermill
does, so ``papermill`` works on these notebooks too). Used by ``make notebooks`` (full size, into
``notebooks/executed/``) and by ``tests/test_notebooks.py`` (``SMALL``, into a temp dir)::

    python notebooks/run.py                       # all notebooks, full size
    python notebooks/run.py --small 02            # the CI size, notebooks whose name has "02"
    python notebooks/run.py -p EPOCHS 4 -o /tmp/nb 01_quickstart.ipynb

Each executed notebook is written as ``<output-dir>/<name>.ipynb`` and its figures as
``<output-dir>/<name>.figN.png``.
"""

from __future__ import annotations

import argparse
import ast
import base64
import copy
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOKS = sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
KERNEL = "python3"  # ipykernel's own spec: runs the Python that runs this (the venv)

# Small enough for CI (all four notebooks in well under 5 minutes on 2 cores); only the names a
# notebook's parameters cell defines are injected into it.
SMALL: dict[str, object] = {
    "N_TRAIN": 2000, "N_VALID": 500, "N_TEST": 400, "N_PLOT": 300, "EPOCHS": 2, "DIM": 16,
    "FILTERS": 32, "HIDDEN": 32, "LENGTH": 24, "TOP_N": 2000, "USER_SIZES": [0, 30, 100, 300],
    "N_USER_EVAL": 200,
}


def parameter_cell(nb: nbformat.NotebookNode) -> int:
    """Index of the cell tagged ``parameters``."""
    for i, cell in enumerate(nb.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return i
    raise ValueError("the notebook has no cell tagged 'parameters'")


def parameter_names(nb: nbformat.NotebookNode) -> list[str]:
    """Names assigned in the parameters cell, in order."""
    tree = ast.parse(nb.cells[parameter_cell(nb)].source)
    return [t.id for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)]


def inject(nb: nbformat.NotebookNode, parameters: Mapping[str, object], *, strict: bool = True
           ) -> nbformat.NotebookNode:
    """A copy of `nb` with `parameters` set in a cell after the parameters cell. With `strict`,
    a name the parameters cell does not define is an error (a typo would be silently ignored);
    otherwise such names are skipped."""
    nb = copy.deepcopy(nb)
    known = parameter_names(nb)
    unknown = [k for k in parameters if k not in known]
    if unknown and strict:
        raise KeyError(f"not parameters of this notebook: {unknown}; it has {known}")
    chosen = {k: v for k, v in parameters.items() if k in known}
    if chosen:
        lines = ["# Parameters", *(f"{k} = {v!r}" for k, v in chosen.items())]
        cell = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": ["injected-parameters"]})
        cell["id"] = "injected-parameters"
        nb.cells.insert(parameter_cell(nb) + 1, cell)
    return nb


def execute(path: str | os.PathLike, output: str | os.PathLike | None = None,
            parameters: Mapping[str, object] | None = None, *, strict: bool = True,
            timeout: int = 1200, kernel_name: str = KERNEL) -> nbformat.NotebookNode:
    """Run the notebook at `path` in its own directory (as Jupyter does) and return it executed;
    also write it to `output` if given. A failing cell raises ``nbclient.exceptions.CellExecutionError``."""
    path = Path(path)
    nb = inject(nbformat.read(path, as_version=4), parameters or {}, strict=strict)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # inherited by the kernel
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    finally:
        if output is not None:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, output)
    return nb


def figures(nb: nbformat.NotebookNode) -> list[bytes]:
    """The PNG images the executed notebook displayed, in order."""
    return [base64.b64decode(out["data"]["image/png"])
            for cell in nb.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]


def text_output(nb: nbformat.NotebookNode, tag: str | None = None) -> str:
    """Everything the code cells printed or displayed as text (only cells tagged `tag`, if given)."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "code" or (tag and tag not in cell.metadata.get("tags", [])):
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out["text"])  # a print may arrive in several stream chunks
            elif "text/plain" in out.get("data", {}):
                parts.append(f"\n{out['data']['text/plain']}\n")
    return "".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute the notebooks (see module docstring).")
    parser.add_argument("notebooks", nargs="*", help="paths or name fragments (default: all)")
    parser.add_argument("-o", "--output-dir", type=Path, default=HERE / "executed")
    parser.add_argument("--small", action="store_true", help="the small CI parameters")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"), help="a parameter (VALUE is a Python literal)")
    args = parser.parse_args(argv)
    chosen = NOTEBOOKS
    if args.notebooks:
        chosen = [Path(a) if Path(a).is_file() else next(p for p in NOTEBOOKS if a in p.name)
                  for a in args.notebooks]
    parameters: dict[str, object] = dict(SMALL) if args.small else {}
    for name, value in args.parameter:
        try:
            parameters[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parameters[name] = value
    total = time.perf_counter()
    for path in chosen:
        started = time.perf_counter()
        out = args.output_dir / path.name
        nb = execute(path, out, parameters, strict=False)
        for i, png in enumerate(figures(nb), 1):
            (args.output_dir / f"{path.stem}.fig{i}.png").write_bytes(png)
        print(f"{path.name}: {time.perf_counter() - started:.0f} s, {len(figures(nb))} figures "
              f"-> {out}", flush=True)
    print(f"total {time.perf_counter() - total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
