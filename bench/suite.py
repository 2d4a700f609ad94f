"""B5: the whole test suite on a fresh clone, wall time and number of previews.

    python bench/suite.py [--rev REV ...] [--runs N]

For each revision (default HEAD): `git clone` the repository into a temporary directory, check the
revision out, and time what `make test` runs there: `make bytecode` (where the Makefile has it)
and `python -m pytest -q -p count_previews` (the packages are already installed; CI's install step
and ruff are not part of the figure). The plugin counts the in-process previews.
Prints one JSON line per run: rev, wall_s, previews, passed/failed as pytest's closing line says.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def run_once(rev: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="lgbench-suite-") as tmp:
        clone = Path(tmp, "repo")
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", rev], check=True)
        count_file = Path(tmp, "count")
        env = {**os.environ, "PYTHONPATH": str(HERE), "LAYERGUARD_COUNT_FILE": str(count_file)}
        env.pop("LAYERGUARD_ZYGOTE", None)
        t0 = time.perf_counter()
        if "bytecode:" in Path(clone, "Makefile").read_text(encoding="utf-8"):  # what `make test` does first
            subprocess.run(["make", "-s", "bytecode", f"PYTHON={sys.executable}"], cwd=clone, env=env, check=True)
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "count_previews"], cwd=clone,
                              env=env, capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - t0
        closing = [line for line in proc.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
        previews = (sum(int(line) for line in count_file.read_text().split() if line.strip())
                    if count_file.exists() else None)
        return {"rev": rev, "sha": subprocess.run(["git", "-C", str(clone), "rev-parse", "--short", "HEAD"],
                                                  capture_output=True, text=True).stdout.strip(),
                "wall_s": round(wall, 1), "previews": previews, "exit": proc.returncode,
                "closing": closing[-1] if closing else proc.stdout[-500:]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python bench/suite.py")
    p.add_argument("--rev", action="append", default=None, help="revision(s) to measure (default HEAD)")
    p.add_argument("--runs", type=int, default=1)
    args = p.parse_args(argv)
    for rev in args.rev or ["HEAD"]:
        for _ in range(args.runs):
            print(json.dumps(run_once(rev)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
