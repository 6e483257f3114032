"""Build the notebooks (``notebooks/*.ipynb``) from their sources (``notebooks/src/*.py``).

The sources are plain Python in the "percent" format that Jupytext, VS Code and Spyder read:
a line ``# %%`` starts a code cell, ``# %% [markdown]`` a Markdown cell (each line commented with
``# ``), and ``# %% tags=["parameters"]`` a code cell with tags. They are what reviewers read and
ruff checks; the ``.ipynb`` files are generated from them without outputs, so they stay small and
their diffs stay readable. Edit a source, then run::

    python notebooks/build.py            # rewrite notebooks/*.ipynb
    python notebooks/build.py --check    # exit 1 if a notebook is out of date (tests do this)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"
_MARKER = re.compile(r"^# %%(?P<rest>.*)$")
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def _cells(text: str) -> list[tuple[str, list[str], str]]:
    """(kind, tags, source) for each cell of a percent-format file."""
    cells: list[tuple[str, list[str], list[str]]] = []
    for line in text.splitlines():
        m = _MARKER.match(line)
        if m:
            rest = m.group("rest").strip()
            kind = "markdown" if rest.startswith("[markdown]") else "code"
            tags: list[str] = []
            t = re.search(r"tags=(\[.*\])", rest)
            if t:
                tags = json.loads(t.group(1))
            cells.append((kind, tags, []))
        elif cells:
            cells[-1][2].append(line)
        elif line.strip() and not line.startswith("#"):
            raise ValueError("code before the first '# %%' marker")
    out = []
    for kind, tags, lines in cells:
        if kind == "markdown":
            lines = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines]
        source = "\n".join(lines).strip("\n")
        out.append((kind, tags, source))
    return out


def build(source: Path) -> nbformat.NotebookNode:
    """The notebook (no outputs, deterministic cell ids) for one percent-format source."""
    nb = new_notebook(metadata={"kernelspec": KERNELSPEC,
                                "language_info": {"name": "python"}})
    for i, (kind, tags, text) in enumerate(_cells(source.read_text(encoding="utf-8"))):
        metadata = {"tags": tags} if tags else {}
        make = new_markdown_cell if kind == "markdown" else new_code_cell
        cell = make(text, metadata=metadata)
        cell["id"] = f"{source.stem[:40]}-{i}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def target(source: Path) -> Path:
    return HERE / f"{source.stem}.ipynb"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report out-of-date notebooks")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(SOURCES.glob("*.py")):
        text, path = render(build(source)), target(source)
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(HERE.parent)}")
    if args.check and stale:
        print("out of date (run python notebooks/build.py): " + ", ".join(p.name for p in stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
