"""What B1 cannot go below: the CPU cost of importing the SDK modules the program needs.

The language host of a `pulumi preview` must import `pulumi` and every `pulumi_aws` submodule the
program touches before a single resource is registered. This measures exactly that, in a bare
process that imports those modules and nothing else (no program, no mocks, no pack):

1. run the stack's language host once under `python -X importtime` to list the `pulumi_aws`
   subpackages the program imports (e.g. ec2, wafv2, lb, ecs, iam, ...);
2. time `python -c "import pulumi, pulumi_aws.<each>"` (CPU s of the process, median of `runs`).
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import Stat

from layerguard import project as project_config
from layerguard.engine import ORGANIZATION


def _spec(root: Path, stack: str, tmp: Path) -> Path:
    cfg = project_config.load(root, stack)
    spec = tmp / "spec.json"
    spec.write_text(json.dumps({
        "program_dir": str(root.resolve()), "main": str(cfg.main.resolve()), "project": cfg.project,
        "stack": stack, "organization": ORGANIZATION, "mode": "preview", "config": cfg.config,
        "secret_keys": sorted(cfg.secret_keys)}), encoding="utf-8")
    return spec


def imported_aws_modules(root: Path, stack: str) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="lgbench-floor-") as tmp:
        spec = _spec(root, stack, Path(tmp))
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "layerguard.host", str(spec),
                               str(Path(tmp, "out.json"))], cwd=root, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(root)}, timeout=600)
    # A subpackage shows up through its modules (`pulumi_aws.ec2._inputs`, ...): importing the
    # subpackage (as `aws.ec2.Vpc` does) imports all of them.
    found = sorted(set(re.findall(r"\|\s*pulumi_aws\.([a-z0-9][a-z0-9_]*)\.", proc.stderr)))
    return [f"pulumi_aws.{m}" for m in found]


def _cpu_of(argv: list[str]) -> tuple[float, float]:
    """(CPU s, wall s) of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, timeout=600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def measure(root: Path, stack: str, runs: int, warmup: int = 1, log=print) -> dict:
    modules = imported_aws_modules(root, stack)
    # pulumi_aws loads its subpackages lazily: touch an attribute so each one really executes.
    code = "import importlib, pulumi, pulumi_aws\n" + "".join(
        f"getattr(importlib.import_module({m!r}), \"_lg_load\", None)\n" for m in modules)
    python_only, imports, walls = Stat(), Stat(), Stat()
    for i in range(warmup + runs):
        bare, _ = _cpu_of([sys.executable, "-c", "pass"])
        full, wall = _cpu_of([sys.executable, "-c", code])
        if i >= warmup:
            python_only.add(bare)
            imports.add(full)
            walls.add(wall)
    log(f"    SDK import floor ({stack}): {imports.median:.2f} s CPU for pulumi + {len(modules)} pulumi_aws "
        f"modules; bare interpreter {python_only.median:.2f} s")
    return {"stack": stack, "modules": modules, "import_cpu_s": imports.as_dict(), "import_wall_s": walls.as_dict(),
            "interpreter_cpu_s": python_only.as_dict()}
