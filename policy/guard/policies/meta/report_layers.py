"""LG-META-004: hand the pack's layer of every resource to a tool that asks for it.

Disabled by default, so `pulumi preview` users see nothing. Enabled (`{"report-layers":
"advisory"}` in the policy pack config), it reports ONE advisory diagnostic on the stack whose
message (after the policy description line the SDK puts first) is

    layerguard-layers:{"<urn>":"<layer>",...}

compact JSON of every resource of the `AnalyzeStack` call and the layer the pack's one layer
identity (`guard.layers.layer_of`) gives it: `network`, `edge`, `node`, `app` or `unclassified`.
The offline engine enables it to label its report with the pack's own decision instead of a
second implementation (the engine never imports the pack).
"""

from __future__ import annotations

import json

from pulumi_policy import StackValidationPolicy

from guard.framework import Rule, Stack, build_stack
from guard.rules import policy_kwargs

PREFIX = "layerguard-layers:"

RULE = Rule(
    id="LG-META-004",
    name="report-layers",
    description="When enabled, the layer the pack assigns to every resource is reported as one advisory diagnostic of compact JSON for tools that label a preview.",
    remediation="Nothing to fix; enable it as advisory only, since a mandatory level would fail every preview.",
    severity="low",
    level="disabled",
    link="https://www.pulumi.com/docs/iac/crossguard/configuration/",
)


def message(stack: Stack) -> str:
    return PREFIX + json.dumps(stack.layers(), separators=(",", ":"))


def _validate(args, report_violation) -> None:
    # Not `stack_policy`: the message must start with the prefix, without the rule ID, and a
    # suppression has nothing to suppress here.
    try:
        text = message(build_stack(args))
    except Exception as e:  # pragma: no cover - the view never raises; keep the promise
        text = f"[{RULE.id}] could not read the stack: {e}"
    report_violation(text, None)


POLICY = StackValidationPolicy(validate=_validate, **policy_kwargs(RULE))
