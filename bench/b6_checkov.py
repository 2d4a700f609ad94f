"""B6: our prod preview with the pack beside checkov scanning Wallarm's own Terraform module.

    python bench/b6_checkov.py --module DIR [--checkov PATH] [--runs 5]

DIR is a checkout of wallarm/terraform-aws-wallarm (not vendored here: bring it yourself);
`--checkov` is the `checkov` executable of a scratch environment (`python -m venv v &&
v/bin/pip install checkov`), so its dependencies never meet the project's. Both are timed as whole
processes, alternately, in one run; prints medians and the ratio as JSON. The two tools do different
work (checkov: static checks of HCL; layerguard: the program run under the SDK's mocks plus a
CrossGuard pack over the Analyzer protocol), so the ratio says what a CI job pays for each, not which
is faster at the same job.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _time(argv: list[str], cwd: Path) -> tuple[float, float, int]:
    """(wall s, CPU s of the process tree, exit code). CPU is the fairer figure here: checkov makes
    network calls (guidelines, registry modules) that only time out on a machine without internet."""
    env = {k: v for k, v in os.environ.items() if k != "LAYERGUARD_ZYGOTE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, timeout=900, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.returncode


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python bench/b6_checkov.py")
    p.add_argument("--module", type=Path, required=True, help="checkout of wallarm/terraform-aws-wallarm")
    p.add_argument("--checkov", default="checkov")
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args(argv)
    ours_cmd = [sys.executable, "-m", "layerguard", "preview", "--stack", "prod"]
    theirs_cmd = [args.checkov, "-d", str(args.module), "--quiet", "--compact", "-o", "json",
                  "--framework", "terraform", "--download-external-modules", "false", "--skip-download"]
    _time(ours_cmd, ROOT)
    _time(theirs_cmd, ROOT)  # warm-up of both
    ours, theirs, codes = [], [], set()
    for _ in range(args.runs):
        wall, cpu, code = _time(ours_cmd, ROOT)
        ours.append((wall, cpu))
        wall, cpu, ccode = _time(theirs_cmd, ROOT)
        theirs.append((wall, cpu))
        codes.add((code, ccode))
    med = {name: [statistics.median(x[i] for x in runs) for i in (0, 1)]
           for name, runs in (("ours", ours), ("theirs", theirs))}
    result = {"runs": args.runs,
              "layerguard_prod_wall_s": med["ours"][0], "layerguard_prod_cpu_s": med["ours"][1],
              "checkov_module_wall_s": med["theirs"][0], "checkov_module_cpu_s": med["theirs"][1],
              "ratio_wall": med["ours"][0] / med["theirs"][0], "ratio_cpu": med["ours"][1] / med["theirs"][1],
              "exit_codes": sorted(codes)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
