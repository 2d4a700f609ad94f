"""Profile the policy pack's `Analyze` / `AnalyzeStack` in-process with pyinstrument.

    python bench/profile_pack.py --size 1000            # AnalyzeStack profile (text, to stdout)
    python bench/profile_pack.py --size 1000 --analyze  # the Analyze calls of every resource
    python bench/profile_pack.py --size 5000 --html out.html

The pack is loaded the way `python -m pulumi.policy` loads it (cwd = the pack directory, the
pack's `__main__.py` run with the PolicyPack's server start intercepted), and the servicer is called
directly with the very messages the engine sends (`layerguard.engine.analyzer_messages`), so the
profile shows the SDK's deserialization and the pack's own work without gRPC or process noise.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import synth  # noqa: E402

from layerguard.analyzer import PackInfo, resolve_policy_config  # noqa: E402
from layerguard.engine import analyzer_messages  # noqa: E402


def load_servicer(pack_dir: Path):
    """The pack's `_PolicyAnalyzerServicer`, built by running its `__main__.py` in this process."""
    import pulumi_policy.policy as pp

    captured = {}
    # Stop the pack right after it builds its servicer, before it serves. The class itself stays in
    # place, so whatever the pack's entry point patches on it (guard/sdk_memo.py) is patched.
    original_init = pp._PolicyAnalyzerServicer.__init__

    def capture(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        captured["servicer"] = self
        raise SystemExit(0)

    os.environ.update({"PULUMI_PROJECT": synth.PROJECT, "PULUMI_STACK": synth.STACK, "PULUMI_DRY_RUN": "true",
                       "PULUMI_ORGANIZATION": "organization",
                       "PULUMI_CONFIG": f'{{"aws:region": "{synth.REGION}"}}'})
    os.chdir(pack_dir)
    sys.path.insert(0, str(pack_dir))
    pp._PolicyAnalyzerServicer.__init__ = capture
    saved_argv = sys.argv
    sys.argv = ["pulumi.policy", "127.0.0.1:0", "."]
    try:
        runpy.run_path(str(pack_dir / "__main__.py"), run_name="__main__")
    except SystemExit:
        pass
    finally:
        pp._PolicyAnalyzerServicer.__init__ = original_init
        sys.argv = saved_argv
    if "servicer" not in captured:
        raise RuntimeError(f"{pack_dir}: the pack did not construct a PolicyPack")
    return captured["servicer"]


def configure(servicer) -> None:
    from google.protobuf import empty_pb2, json_format
    from pulumi.runtime.proto import analyzer_pb2

    from layerguard.analyzer import LEVEL_VALUES, LEVELS

    response = servicer.GetAnalyzerInfo(empty_pb2.Empty(), None)
    policies = [{"name": p.name, "enforcementLevel": LEVELS.get(p.enforcementLevel, "advisory"),
                 "configSchema": json_format.MessageToDict(p.configSchema.properties)
                 if p.HasField("configSchema") else {},
                 "required": list(p.configSchema.required) if p.HasField("configSchema") else []}
                for p in response.policies]
    resolved = resolve_policy_config(PackInfo(response.name, response.version, policies, {}), None)
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, entry in resolved.items():
        request.policyConfig[name].enforcementLevel = LEVEL_VALUES[entry["enforcementLevel"]]
        request.policyConfig[name].properties.update(entry.get("properties") or {})
    servicer.Configure(request, None)
    servicer.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(stack=synth.STACK, project=synth.PROJECT,
                                                                       dry_run=True), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000, help="synthetic stack size (resources)")
    parser.add_argument("--analyze", action="store_true", help="profile Analyze (every resource) instead")
    parser.add_argument("--pack", type=Path, default=ROOT / "policy")
    parser.add_argument("--html", type=Path, default=None, help="write an HTML profile here")
    args = parser.parse_args(argv)

    from pulumi.runtime.proto import analyzer_pb2
    from pyinstrument import Profiler

    with tempfile.TemporaryDirectory(prefix="lgbench-") as tmp:
        templates = synth.capture_templates(Path(tmp))
    units = max(1, round(args.size / templates.per_unit))
    stack, _plan = synth.replicate(templates, units)
    messages = list(analyzer_messages(stack))
    servicer = load_servicer(args.pack.resolve())
    configure(servicer)

    profiler = Profiler(interval=0.0005)
    t0 = time.perf_counter()
    with profiler:
        if args.analyze:
            for _res, request, _entry in messages:
                if request is not None:
                    servicer.Analyze(request, None)
        else:
            response = servicer.AnalyzeStack(
                analyzer_pb2.AnalyzeStackRequest(resources=[e for _r, _q, e in messages]), None)
    elapsed = time.perf_counter() - t0
    what = f"Analyze x {sum(1 for _r, q, _e in messages if q is not None)}" if args.analyze else "AnalyzeStack"
    print(f"{what} on {len(stack.resources)} resources: {elapsed:.2f} s (in-process, under the profiler)",
          file=sys.stderr)
    if not args.analyze:
        print(f"diagnostics: {len(response.diagnostics)}", file=sys.stderr)
    if args.html:
        args.html.write_text(profiler.output_html(), encoding="utf-8")
    else:
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
