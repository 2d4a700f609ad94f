"""Where `AnalyzeStack` time goes: the SDK's share, the pack's share and the garbage collector's.

    python bench/decompose.py --sizes 1000 5000     # prints JSON

Runs in one process, the pack loaded in-process (`profile_pack.load_servicer`), on the same
synthetic stacks as B2, and measures CPU seconds of one `AnalyzeStack` call four ways:

* `pack`: the pack as it is;
* `sdk_floor`: every policy's `validate` replaced by a no-op: what pulumi_policy costs before any
  policy code runs (it deserializes every resource once per stack policy: `MessageToDict`,
  `deserialize_properties`, proxies, the provider, parents and dependencies);
* `pack_nogc` and `sdk_floor_nogc`: the same with Python's cyclic garbage collector disabled for
  the call, which shows how much of the growth is collector passes over the (growing) heap.

Each figure is the best of REPEAT runs (a diagnostic split, not a benchmark median); the pack's
model cache is cleared before every run.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import profile_pack  # noqa: E402
import synth  # noqa: E402

from layerguard.engine import analyzer_messages  # noqa: E402

REPEAT = 2


def measure(servicer, request, *, noop: bool, nogc: bool, analyze: list | None = None) -> float:
    """CPU s of one AnalyzeStack(request), or with `analyze`, of Analyze over those requests."""
    policies = servicer._PolicyAnalyzerServicer__policies
    saved = [p.validate for p in policies]
    if noop:
        for p in policies:
            p.validate = lambda _args, _report: None
    # The pack caches its reachability model per stack fingerprint: start every measurement cold.
    model = sys.modules.get("guard.reachability.model")
    if model is not None and hasattr(model, "_CACHE"):
        model._CACHE.update({"key": None, "model": None})
    gc.collect()
    if nogc:
        gc.disable()
    try:
        c0 = time.process_time()
        if analyze is not None:
            for one in analyze:
                servicer.Analyze(one, None)
        else:
            servicer.AnalyzeStack(request, None)
        return time.process_time() - c0
    finally:
        gc.enable()
        for p, v in zip(policies, saved, strict=False):
            p.validate = v


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--pack", type=Path, default=HERE.parent / "policy")
    args = parser.parse_args(argv)
    from pulumi.runtime.proto import analyzer_pb2

    with tempfile.TemporaryDirectory(prefix="lgbench-") as tmp:
        templates = synth.capture_templates(Path(tmp))
    servicer = profile_pack.load_servicer(args.pack.resolve())
    profile_pack.configure(servicer)
    stack_policies = sum(1 for p in servicer._PolicyAnalyzerServicer__policies
                         if type(p).__name__ == "StackValidationPolicy")
    resource_policies = sum(1 for p in servicer._PolicyAnalyzerServicer__policies
                            if type(p).__name__ == "ResourceValidationPolicy")
    out = {"stack_policies": stack_policies, "resource_policies": resource_policies, "sizes": []}
    for size in args.sizes:
        stack, _plan = synth.replicate(templates, max(1, round(size / templates.per_unit)))
        messages = list(analyzer_messages(stack))
        request = analyzer_pb2.AnalyzeStackRequest(resources=[e for _r, _q, e in messages])
        singles = [q for _r, q, _e in messages if q is not None]
        row = {"target": size, "resources": len(stack.resources)}
        for name, noop, nogc in (("pack", False, False), ("sdk_floor", True, False),
                                 ("pack_nogc", False, True), ("sdk_floor_nogc", True, True)):
            # Best of REPEAT: on a shared machine, noise only ever adds CPU time.
            row[name] = min(measure(servicer, request, noop=noop, nogc=nogc) for _ in range(REPEAT))
        if size == min(args.sizes):
            # Analyze per resource, in-process (no gRPC): the pack vs the SDK's own deserialization.
            row["analyze_ms"] = measure(servicer, None, noop=False, nogc=False, analyze=singles) / len(singles) * 1000
            row["analyze_sdk_floor_ms"] = (measure(servicer, None, noop=True, nogc=False, analyze=singles)
                                           / len(singles) * 1000)
        out["sizes"].append(row)
        print(f"  decompose {size}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()
                                                  if isinstance(v, float)), file=sys.stderr, flush=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
