"""The human-readable report of an offline preview."""

from __future__ import annotations

import sys
import time
from collections import Counter

from . import paths
from .engine import LAYERS, PreviewResult

LISTING = ("listener", "listenerrule", "targetgroup")


def render(result: PreviewResult) -> str:
    out: list[str] = []
    title = "first preview of a fresh stack: computed values unknown" if result.mode == "preview" \
        else "update: computed values known (placeholders)"
    out.append(f"Offline {result.mode} of stack '{result.stack}' (project '{result.project}'), {title}")
    out.append("")
    custom = [r for r in result.resources if r.custom and r.kind not in ("default-provider", "read")
              and not r.type.startswith("pulumi:providers:")]
    reads = [r for r in result.resources if r.kind == "read"]
    counts = Counter(r.layer for r in custom)
    imported = sum(1 for r in custom if r.import_id)
    out.append(f"Resources: {len(custom) - imported} to create"
               + (f", {imported} to import (existing, not created)" if imported else "")
               + (f", {len(reads)} existing read" if reads else "")
               + f" ({len(result.resources)} registrations in all, components and providers included)")
    for layer in (*LAYERS, "unclassified"):
        if counts.get(layer):
            out.append(f"  {layer:<13} {counts[layer]:>4}")
    out.append("")

    notes = [entry for entry in result.program_log if entry["severity"] in ("warning", "error")]
    if notes:
        out.append(f"Program messages: {len(notes)}")
        for entry in notes:
            out.append(f"  [{entry['severity']}] {entry['message']}")
        out.append("")

    by_urn = result.by_urn()
    found = paths.chains(result.resources)
    out.append("Traffic path from the internet:")
    if not found:
        # paths.py draws entry chains only; a direct exposure (a public instance) is the pack's to find
        out.append("  (no load balancer, CloudFront or API Gateway entry found; other paths, such as a "
                   "public instance, are the policy pack's to judge)")
    for chain in found:
        out.append("  internet")
        for urn in chain:
            res = by_urn[urn]
            if res.type.split(":")[-1].lower() in LISTING:
                port = res.inputs.get("port")
                proto = res.inputs.get("protocol", "")
                actions = res.inputs.get("defaultActions") or []
                kinds = sorted({a.get("type") for a in actions if isinstance(a, dict)} - {None})
                suffix = f" ({', '.join(kinds)})" if kinds and kinds != ["forward"] else ""
                out.append(f"    -> {res.name}: {res.type.split(':')[-1]} {proto}"
                           f"{':' + str(int(port)) if isinstance(port, (int, float)) else ''}{suffix}")
            else:
                out.append(f"    -> {paths.describe(res)}")
    out.append("")

    if result.pack is not None:
        out.append(f"Policy pack {result.pack.name}@v{result.pack.version}: "
                   f"{len(result.pack.policies)} policies")
    plain = [v for v in result.violations if not v.deferred]
    if result.pack is None:
        pass
    elif not plain:
        out.append("Policy diagnostics: none")
    else:
        out.append(f"Policy diagnostics: {len(plain)}")
        order = {"mandatory": 0, "remediate": 0, "advisory": 1, "disabled": 2}
        for v in sorted(plain, key=lambda v: (order.get(v.enforcement, 3), v.policy, v.urn)):
            tag = "could not run during preview" if v.could_not_run else v.enforcement
            _entry(out, v, tag, by_urn)
    if result.deferred:
        # Resource rules the pack can only decide when `pulumi up` analyses the resource, before
        # creating it: listed apart, never counted as advisories, never changing the exit code.
        out.append("")
        out.append(f"Decided at `pulumi up`: {len(result.deferred)}")
        for v in sorted(result.deferred, key=lambda v: (v.policy, v.urn)):
            _entry(out, v, "at pulumi up", by_urn)
    out.append("")
    mandatory = len(result.mandatory)
    verb = "pulumi up" if result.mode == "update" else "pulumi preview"
    if result.stopped is not None:
        out.append(f"UPDATE STOPPED at {result.stopped.name} ({result.stopped.type}): a mandatory "
                   "Analyze violation; it was not created, nothing after it was analysed, and "
                   "AnalyzeStack did not run.")
    if result.pack is None:
        out.append("No policy pack: nothing was analysed.")
    elif mandatory:
        out.append(f"FAILED: {mandatory} mandatory violation(s); `{verb} --policy-pack` would fail.")
    else:
        advisories = len(plain)
        deferred = f", {len(result.deferred)} decided at `pulumi up`" if result.deferred else ""
        out.append(f"PASSED: no mandatory violation ({advisories} advisory{deferred}).")
    if result.could_not_run:
        out.append(f"WARNING: {len(result.could_not_run)} policy run(s) could not decide during preview "
                   "(they read an unknown value); they are not enforced until the update.")
    return "\n".join(out)



def _entry(out: list[str], v, tag: str, by_urn) -> None:
    target = by_urn[v.urn].name if v.urn in by_urn else (v.urn or "(stack)")
    first, *rest = v.message.splitlines() or [""]
    out.append(f"  [{tag}] {v.policy}  {target}")
    for line in rest or [first]:
        out.append(f"      {line}")


class Progress:
    """Progress lines on stderr, one per phase, once a run has taken LONG seconds (a quick preview
    stays quiet); stdout keeps the report alone."""
    LONG = 3.0

    def __init__(self, label: str = "", start: float | None = None):
        self.start = time.monotonic() if start is None else start
        self.label = f"{label}: " if label else ""

    def __call__(self, phase: str) -> None:
        elapsed = time.monotonic() - self.start
        if elapsed >= self.LONG:
            print(f"[layerguard {elapsed:5.1f}s] {self.label}{phase}", file=sys.stderr, flush=True)
