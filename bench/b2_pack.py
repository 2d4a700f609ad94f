"""B2: the policy pack alone, through the real Analyzer protocol, on synthetic stacks.

For each size the stack is built by replicating captured units (`synth.replicate`), its messages
are built once by the engine's own `analyzer_messages()`, and each run then does what the offline
preview does with them, in a fresh pack process (as every `pulumi preview` starts one; a fresh
process also keeps the pack's in-process model cache from serving a repeated stack):
start + Handshake/ConfigureStack/GetAnalyzerInfo/Configure, `Analyze` for every custom resource
(each call timed on the client: request out, response in), then one `AnalyzeStack` (timed the
same way). The first run of each size is a warm-up and is not counted.

The pack must earn its time: every run's diagnostics are mapped back to the synthetic units and
the run fails unless every unit carrying a bypass is reported and no clean unit is.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import synth
from measure import Stat

from layerguard.analyzer import PolicyPackProcess, resolve_policy_config
from layerguard.engine import ORGANIZATION, analyzer_messages, violations

RPC_FLOOR_CALLS = 200
STACK_TAGS = {"pulumi:project": synth.PROJECT, "pulumi:runtime": "python",
              "pulumi:description": "synthetic layerguard-shaped program (benchmarks)"}


@dataclass
class SizeResult:
    target: int
    resources: int = 0
    custom: int = 0
    units: int = 0
    bypass_units: int = 0
    detected: int = 0
    false_positive_units: int = 0
    analyze_stride: int = 1
    violations: int = 0
    by_policy: dict = field(default_factory=dict)
    request_mb: float = 0.0
    build_s: float = 0.0
    startup: Stat = field(default_factory=Stat)
    analyze_median_ms: Stat = field(default_factory=Stat)    # per run: median over its calls
    analyze_p95_ms: Stat = field(default_factory=Stat)
    analyze_total_s: Stat = field(default_factory=Stat)
    analyze_stack_s: Stat = field(default_factory=Stat)
    rpc_floor_ms: Stat = field(default_factory=Stat)         # per run: median of trivial round trips

    def as_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if not isinstance(v, Stat)}
        out.update({k: v.as_dict() for k, v in self.__dict__.items() if isinstance(v, Stat) and v.values})
        return out


def _check_detection(result: SizeResult, plan: list[str], found) -> None:
    per_unit: dict[int, int] = Counter()
    for v in found:
        unit = synth.unit_of(v.urn) if v.urn else None
        if unit is not None:
            per_unit[unit] += 1
    bypass_units = [u for u, kind in enumerate(plan) if kind != "clean"]
    result.bypass_units = len(bypass_units)
    result.detected = sum(1 for u in bypass_units if per_unit.get(u))
    result.false_positive_units = sum(1 for u, kind in enumerate(plan) if kind == "clean" and per_unit.get(u))
    result.violations = len(found)
    result.by_policy = dict(sorted(Counter(v.policy for v in found).items()))


def run_size(templates: synth.Templates, target: int, pack_dir: Path, runs: int, warmup: int = 1,
             analyze_limit: int = 5000, log=print) -> SizeResult:
    """`analyze_limit`: above this many custom resources, `Analyze` is sent for an evenly spread
    sample of that many (every k-th resource, so every type is in it) to keep the run short; the
    per-call median does not depend on the stack's size. `AnalyzeStack` always gets every resource."""
    units = max(1, round(target / templates.per_unit))
    stack, plan = synth.replicate(templates, units)
    t0 = time.perf_counter()
    messages = list(analyzer_messages(stack))
    res = SizeResult(target=target, resources=len(stack.resources), units=units,
                     build_s=time.perf_counter() - t0)
    res.custom = sum(1 for _r, req, _e in messages if req is not None)
    stride = max(1, -(-res.custom // analyze_limit))
    res.analyze_stride = stride
    res.request_mb = sum(e.ByteSize() for _r, _q, e in messages) / 1e6
    log(f"  B2 {target:>6}: {res.resources} resources ({units} units, "
        f"{sum(1 for p in plan if p != 'clean')} with a bypass), AnalyzeStack request {res.request_mb:.1f} MB")
    signature = None
    for i in range(warmup + runs):
        counted = i >= warmup
        t0 = time.perf_counter()
        with PolicyPackProcess(pack_dir, project=synth.PROJECT, stack=synth.STACK, organization=ORGANIZATION,
                               dry_run=True, config={"aws:region": synth.REGION}, secret_keys=set()) as pack:
            pack.handshake()
            pack.configure_stack(STACK_TAGS)
            info = pack.info()
            pack.configure(resolve_policy_config(info, None))
            startup = time.perf_counter() - t0
            # The protocol's own floor: a round trip that does no work in the pack (ConfigureStack
            # again, with the same tags), so Analyze's figure can be read against it.
            rtt = []
            for _ in range(RPC_FLOOR_CALLS):
                c0 = time.perf_counter()
                pack.configure_stack(STACK_TAGS)
                rtt.append((time.perf_counter() - c0) * 1000)
            diagnostics, entries, call_ms = [], [], []
            seen = 0
            for r, request, entry in messages:
                if request is not None:
                    seen += 1
                if request is not None and (seen - 1) % stride == 0:
                    c0 = time.perf_counter()
                    response = pack.analyze(request)
                    call_ms.append((time.perf_counter() - c0) * 1000)
                    for d in response.diagnostics:
                        d.urn = d.urn or r.urn
                        diagnostics.append(d)
                entries.append(entry)
            s0 = time.perf_counter()
            response = pack.analyze_stack(entries)
            stack_s = time.perf_counter() - s0
            diagnostics.extend(response.diagnostics)
        found = violations(diagnostics)
        run_signature = sorted((v.policy, v.urn) for v in found)
        if signature is not None and run_signature != signature:
            raise RuntimeError(f"B2 {target}: the pack's verdict changed between runs")
        signature = run_signature
        if counted:
            res.startup.add(startup)
            res.analyze_median_ms.add(statistics.median(call_ms))
            res.analyze_p95_ms.add(statistics.quantiles(call_ms, n=20)[-1])
            res.analyze_total_s.add(sum(call_ms) / 1000)
            res.analyze_stack_s.add(stack_s)
            res.rpc_floor_ms.add(statistics.median(rtt))
        log(f"    run {i + 1}/{warmup + runs}{'' if counted else ' (warm-up)'}: Analyze median "
            f"{statistics.median(call_ms):.3f} ms, total {sum(call_ms) / 1000:.2f} s; AnalyzeStack {stack_s:.2f} s")
    # With a sampled Analyze pass, resource-policy findings cover the sample only; every bypass
    # kind is also a stack-policy finding (the stack policies see every resource), so the check holds.
    _check_detection(res, plan, found)
    if res.detected != res.bypass_units or res.false_positive_units:
        raise RuntimeError(f"B2 {target}: the pack reported {res.detected}/{res.bypass_units} bypass units and "
                           f"{res.false_positive_units} clean units: the synthetic stack or the pack is wrong")
    return res
