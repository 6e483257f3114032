"""What the README's two commands cost: the disk the installed virtual environment and the
vectors take, and (with --tests) the wall time of the default test suite, `make test`'s pytest
run after installation. Results go to benchmarks/results/setup.json, which the README's set-up
block is written from (clickbait/model_card.py).

    .venv/bin/python benchmarks/bench_setup.py [--venv .venv] [--tests]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clickbait.files import write_file  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "setup.json"


def disk_bytes(path: Path) -> int:
    """Bytes of the files under `path` (links followed at the top only: .venv may be a link)."""
    path = path.resolve()
    if path.is_file():
        return path.stat().st_size
    return sum((Path(d) / f).lstat().st_size for d, _, names in os.walk(path) for f in names)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--venv", default=str(ROOT / ".venv"))
    ap.add_argument("--vectors", default=str(ROOT / "pretrained" / "glove.6B.50d.txt"))
    ap.add_argument("--tests", action="store_true", help="also time `pytest -m 'not slow'`")
    ap.add_argument("--results", default=str(RESULTS))
    a = ap.parse_args(argv)
    out = {"command": "python benchmarks/bench_setup.py " + shlex.join(argv or sys.argv[1:]),
           "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "cpus": os.cpu_count(), "load_average": list(os.getloadavg()),
           "venv_bytes": disk_bytes(Path(a.venv)), "vectors_bytes": disk_bytes(Path(a.vectors))}
    if a.tests:
        started = time.perf_counter()
        rc = subprocess.call([sys.executable, "-m", "pytest", "-q", "-m", "not slow"], cwd=ROOT)
        out["test_seconds"] = round(time.perf_counter() - started, 1)
        out["test_exit_status"] = rc
        out["load_average_after"] = list(os.getloadavg())
    write_file(a.results, json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
