"""Where B2's growth comes from: per-resource cost of each stage of `AnalyzeStack`, by stack size.

    python bench/b2_scaling.py --sizes 1000 5000 20000 [--runs 3]

In one process, the pack loaded in-process (`profile_pack.load_servicer`, its SDK memo installed),
on the synthetic stacks of B2, with the cyclic collector off (as the pack runs the call), this
times in CPU microseconds per resource (best of `runs`):

* `unpack`: `sdk_memo._Request`, each resource taken out of protobuf once;
* `properties`: each resource's properties made into the SDK's proxy (MessageToDict, deserialize,
  proxy), once per resource as the memo does it;
* `sdk_loop_x10`: what pulumi_policy's `AnalyzeStack` does per stack policy, ten times (our pack has
  ten stack policies): a `PolicyResource` per resource, then parents and dependencies looked up by
  URN (pulumi_policy/policy.py, `_PolicyAnalyzerServicer.AnalyzeStack`);
* `pack`: the whole call (`AnalyzeStack`) minus nothing: the pack's own view, model and rules on
  top of the above.

A stage whose per-resource figure stays flat as the stack grows is linear; the figures are what
docs/BENCHMARKS.md quotes about B2's ratio. A diagnostic, not a benchmark median.
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


def _best(fn, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python bench/b2_scaling.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)

    from pulumi.runtime.proto import analyzer_pb2
    with tempfile.TemporaryDirectory(prefix="lgbench-") as tmp:
        templates = synth.capture_templates(Path(tmp))
    servicer = profile_pack.load_servicer((HERE.parent / "policy").resolve())
    profile_pack.configure(servicer)
    from pulumi_policy import policy as sdk
    from pulumi_policy.policy import PolicyResource

    from guard import sdk_memo  # the pack's own module, importable once the pack is loaded
    model = sys.modules["guard.reachability.model"]

    rows = []
    gc.disable()
    try:
        for size in args.sizes:
            stack, _plan = synth.replicate(templates, max(1, round(size / templates.per_unit)))
            request = analyzer_pb2.AnalyzeStackRequest(resources=[e for _r, _q, e in analyzer_messages(stack)])
            n = len(request.resources)
            unpacked = sdk_memo._Request(request)

            def properties(unpacked=unpacked):
                for r in unpacked.resources:
                    r.properties._proxy = None
                    sdk.unknown_checking_proxy(sdk.deserialize_properties(sdk.json_format.MessageToDict(r.properties)))

            def sdk_loop_x10(unpacked=unpacked):
                for _policy in range(10):
                    intermediates = []
                    for r in unpacked.resources:
                        resource = PolicyResource(r.type, sdk.unknown_checking_proxy(r.properties), r.urn, r.name,
                                                  servicer._get_resource_options(r),
                                                  servicer._get_provider_resource(r), None, [], {})
                        deps = {k: list(v.urns) for k, v in r.propertyDependencies.items()}
                        intermediates.append((resource, r.parent, list(r.dependencies), deps))
                    by_urn = {i[0].urn: i[0] for i in intermediates}
                    for resource, parent, dependencies, _deps in intermediates:
                        if parent in by_urn:
                            resource.parent = by_urn[parent]
                        resource.dependencies.extend(by_urn[d] for d in dependencies if d in by_urn)

            def pack(request=request):
                model._CACHE.update({"key": None, "model": None})
                servicer.AnalyzeStack(request, None)

            gc.enable()  # the pack's call turns it off itself, as in the pack process
            whole = _best(pack, args.runs)
            gc.disable()
            row = {"size": size, "resources": n,
                   "unpack_us": _best(lambda request=request: sdk_memo._Request(request), args.runs) / n * 1e6,
                   "properties_us": _best(properties, args.runs) / n * 1e6,
                   "sdk_loop_x10_us": _best(sdk_loop_x10, args.runs) / n * 1e6,
                   "pack_us": whole / n * 1e6, "pack_s": whole}
            rows.append(row)
            print(f"{size:>6}: " + "  ".join(f"{k} {v:.1f}" for k, v in row.items() if k.endswith("_us"))
                  + f"  (AnalyzeStack {whole:.2f} s)", file=sys.stderr)
    finally:
        gc.enable()
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
