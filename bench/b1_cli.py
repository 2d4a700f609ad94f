"""B1: `python -m layerguard preview --stack NAME` end to end, as a whole process tree.

Each run starts the command exactly as a user types it (repository root as the working
directory, the pack found at ./policy, preview mode), with `--json FILE` added so the resource and
violation counts come from the run itself. Wall time is measured around the process; memory and
CPU time of the whole tree (CLI, language host, pack) by `measure.run_tree`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from measure import Stat, run_tree


@dataclass
class StackResult:
    stack: str
    command: str
    resources: int = 0
    violations: int = 0
    mandatory: int = 0
    exit_codes: set = field(default_factory=set)
    wall_s: Stat = field(default_factory=Stat)
    cpu_s: Stat = field(default_factory=Stat)
    peak_rss_mb: Stat = field(default_factory=Stat)
    hwm_sum_mb: Stat = field(default_factory=Stat)
    largest_process_mb: Stat = field(default_factory=Stat)
    processes: int = 0
    cpu_by_role: dict = field(default_factory=dict)    # role -> Stat of CPU s
    rss_by_role: dict = field(default_factory=dict)    # role -> Stat of peak RSS MB

    def as_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if not isinstance(v, (Stat, set))}
        out["cpu_by_role"] = {k: v.as_dict() for k, v in self.cpu_by_role.items()}
        out["rss_by_role"] = {k: v.as_dict() for k, v in self.rss_by_role.items()}
        out["exit_codes"] = sorted(self.exit_codes)
        out.update({k: v.as_dict() for k, v in self.__dict__.items() if isinstance(v, Stat) and v.values})
        return out


def command(stack: str) -> list[str]:
    return [sys.executable, "-m", "layerguard", "preview", "--stack", stack]


def run_stack(root: Path, stack: str, runs: int, warmup: int = 1, log=print) -> StackResult:
    res = StackResult(stack=stack, command=f"python -m layerguard preview --stack {stack}")
    with tempfile.TemporaryDirectory(prefix="lgbench-b1-") as tmp:
        out = Path(tmp, "result.json")
        for i in range(warmup + runs):
            if out.exists():
                out.unlink()
            run = run_tree([*command(stack), "--json", str(out)], cwd=root, env=dict(os.environ))
            if run.returncode not in (0, 1) or not out.exists():
                tail = run.stderr.decode("utf-8", "replace").strip()[-1500:]
                raise RuntimeError(f"B1 {stack}: the preview failed (exit {run.returncode}): {tail}")
            doc = json.loads(out.read_text(encoding="utf-8"))
            res.resources = len(doc["resources"])
            res.violations = len(doc["violations"])
            res.mandatory = sum(1 for v in doc["violations"] if v["enforcement"] == "mandatory")
            res.exit_codes.add(run.returncode)
            res.processes = max(res.processes, run.processes)
            counted = i >= warmup
            if counted:
                res.wall_s.add(run.wall_s)
                res.cpu_s.add(run.cpu_s)
                res.peak_rss_mb.add(run.peak_rss_mb)
                res.hwm_sum_mb.add(run.hwm_sum_mb)
                res.largest_process_mb.add(run.largest_process_mb)
                for name, value in run.cpu_by_role.items():
                    res.cpu_by_role.setdefault(name, Stat()).add(value)
                for name, value in run.rss_by_role.items():
                    res.rss_by_role.setdefault(name, Stat()).add(value)
            log(f"    {stack} run {i + 1}/{warmup + runs}{'' if counted else ' (warm-up)'}: "
                f"{run.wall_s:.2f} s wall, {run.cpu_s:.2f} s CPU, peak RSS {run.peak_rss_mb:.0f} MB "
                f"({run.processes} processes, {run.samples} samples), exit {run.returncode}; CPU by process: "
                + ", ".join(f"{k} {v:.2f} s" for k, v in sorted(run.cpu_by_role.items())))
    return res
