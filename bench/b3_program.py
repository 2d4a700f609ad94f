"""B3: a synthetic program of about 2,000 resources through `layerguard.engine.preview()`, without
the pack and with it, so the pack's share of a preview is visible.

The program (`synth.write_program`) is written into a temporary directory: units of the layered
pattern, each a shallow tree (stack -> layer component -> resources, dependency chains of at most
six hops: VPC -> subnet/SG -> ALB -> listener, ...), with bypass units spread in as in B2. Runs
alternate without/with the pack so load drift on the machine hits both alike.
"""

from __future__ import annotations

import resource
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import synth
from measure import Stat

from layerguard.engine import preview


@dataclass
class ProgramResult:
    target: int
    resources: int = 0
    units: int = 0
    violations: int = 0
    detected: str = ""
    without_pack_s: Stat = field(default_factory=Stat)
    with_pack_s: Stat = field(default_factory=Stat)
    without_pack_cpu_s: Stat = field(default_factory=Stat)
    with_pack_cpu_s: Stat = field(default_factory=Stat)

    def as_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if not isinstance(v, Stat)}
        out.update({k: v.as_dict() for k, v in self.__dict__.items() if isinstance(v, Stat) and v.values})
        return out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_program(root: Path, target: int, per_unit: int, runs: int, warmup: int = 1, log=print) -> ProgramResult:
    units = max(1, round(target / per_unit))
    plan = synth.bypass_plan(units)
    res = ProgramResult(target=target, units=units)
    pack = root / "policy"
    with tempfile.TemporaryDirectory(prefix="lgbench-b3-") as tmp:
        program = synth.write_program(Path(tmp, "program"), plan)
        # The warm-up (imports, .pyc files, page cache) uses a one-unit program of the same code:
        # the full program would add a minute to `make bench` and warm nothing more.
        small = synth.write_program(Path(tmp, "warmup"), ["clean"])
        for i in range(warmup + runs):
            counted = i >= warmup
            for with_pack in (False, True):
                if not counted:
                    result = preview(small, synth.STACK, policy_pack=pack if with_pack else None)
                    if result.exit_code != 0:
                        raise RuntimeError(f"B3: the warm-up preview failed: {result.error or result.violations}")
                    log(f"    B3 warm-up {'with' if with_pack else 'without'} the pack (one unit)")
                    continue
                c0, s0, t0 = _children_cpu(), _self_cpu(), time.perf_counter()
                result = preview(program, synth.STACK, policy_pack=pack if with_pack else None)
                wall = time.perf_counter() - t0
                cpu = _children_cpu() - c0 + _self_cpu() - s0
                if result.exit_code == 2:
                    raise RuntimeError(f"B3: the preview failed: {result.error}")
                res.resources = len(result.resources)
                if with_pack:
                    res.violations = len(result.violations)
                    hit = {synth.unit_of(v.urn) for v in result.violations if v.urn}
                    bypass_units = [u for u, kind in enumerate(plan) if kind != "clean"]
                    found = sum(1 for u in bypass_units if u in hit)
                    clean_hit = sum(1 for u, kind in enumerate(plan) if kind == "clean" and u in hit)
                    res.detected = f"{found}/{len(bypass_units)}"
                    if found != len(bypass_units) or clean_hit:
                        raise RuntimeError(f"B3: the pack reported {found}/{len(bypass_units)} bypass units and "
                                           f"{clean_hit} clean units")
                if counted:
                    (res.with_pack_s if with_pack else res.without_pack_s).add(wall)
                    (res.with_pack_cpu_s if with_pack else res.without_pack_cpu_s).add(cpu)
                log(f"    B3 run {i + 1}/{warmup + runs}{'' if counted else ' (warm-up)'} "
                    f"{'with' if with_pack else 'without'} the pack: {wall:.2f} s wall, {cpu:.2f} s CPU, "
                    f"{len(result.resources)} resources")
    return res
