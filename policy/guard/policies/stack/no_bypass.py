"""LG-PATH-001: no path from the internet reaches an app resource without passing a Wallarm node."""

from __future__ import annotations

from guard import layers
from guard.framework import Finding, Rule, Stack, stack_policy
from guard.policies.stack._config import MODEL_CONFIG, model_args
from guard.reachability import model_for

RULE = Rule(
    id="LG-PATH-001",
    name="disallow-node-bypass",
    description="Every network path from the internet to an app-layer resource must pass through a Wallarm filtering node.",
    remediation="Remove the resource that opens the path (security group rule, listener or rule, target registration, public IP, origin or integration) or route it through the node fleet's load balancer.",
    severity="critical",
    link="https://docs.aws.amazon.com/vpc/latest/network-access-analyzer/what-is-network-access-analyzer.html",
    config=MODEL_CONFIG,
)


def check(stack: Stack, cfg: dict):
    model = model_for(stack, *model_args(cfg))
    bypasses = list(model.bypasses())
    if bypasses and not layers.adopted(stack):
        # One finding first that says why every path below is a bypass; the rest stay (fail closed).
        yield Finding("", layers.not_adopted_message(stack))
    for opener, target, path, note in bypasses:
        what = "app-layer" if model.layer(target) == "app" else "unclassified (it may be app, so it is protected)"
        yield Finding(opener, f"{' -> '.join(path)} (bypasses the Wallarm nodes to {what} "
                              f"{model.label(target)}; opened by {model.label(opener)}: {note})")
    for urn, why in model.unproven.items():
        yield Finding(urn, f"{model.label(urn)} is labelled node but is not a proven Wallarm node: {why}; "
                           "it is not trusted as a filter (fail closed)")
    for p in model.problems:
        if p.area == "reach":
            yield Finding(p.urn, f"{model.label(p.urn)}: {p.message} [property {p.prop}]")


POLICY = stack_policy(RULE, check)
