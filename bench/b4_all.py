"""B4: `python -m layerguard preview --all` (every stack, one zygote) as a whole process tree.

Compared with B1's cold single-stack preview: the target is that previewing all three stacks costs
at most 1.5 x one cold preview, because the SDK import (most of a cold preview) is paid once.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from measure import Stat, run_tree


def run_all(root: Path, runs: int, warmup: int = 1, log=print) -> dict:
    wall, cpu = Stat(), Stat()
    codes: set[int] = set()
    env = {k: v for k, v in os.environ.items() if k != "LAYERGUARD_ZYGOTE"}
    for i in range(warmup + runs):
        run = run_tree([sys.executable, "-m", "layerguard", "preview", "--all"], cwd=root, env=env)
        if run.returncode not in (0, 1):
            tail = run.stderr.decode("utf-8", "replace").strip()[-1500:]
            raise RuntimeError(f"B4: preview --all failed (exit {run.returncode}): {tail}")
        codes.add(run.returncode)
        if i >= warmup:
            wall.add(run.wall_s)
            cpu.add(run.cpu_s)
        log(f"    preview --all run {i + 1}/{warmup + runs}{'' if i >= warmup else ' (warm-up)'}: "
            f"{run.wall_s:.2f} s wall, {run.cpu_s:.2f} s CPU, exit {run.returncode}")
    stacks = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
    return {"stacks": stacks, "exit_codes": sorted(codes), "wall_s": wall.as_dict(), "cpu_s": cpu.as_dict()}
