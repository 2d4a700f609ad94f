"""LG-PATH-001: no path from the internet reaches an app resource without passing a Wallarm node."""

from __future__ import annotations

from guard.framework import Finding, Rule, Stack, stack_policy
from guard.policies.stack._config import PREFIX_LIST_CONFIG
from guard.reachability import model_for

RULE = Rule(
    id="LG-PATH-001",
    name="disallow-node-bypass",
    description="Every network path from the internet to an app-layer resource must pass through a Wallarm filtering node.",
    remediation="Remove the resource that opens the path (security group rule, listener or rule, target registration, public IP, origin or integration) or route it through the node fleet's load balancer.",
    severity="critical",
    link="https://docs.aws.amazon.com/vpc/latest/network-access-analyzer/what-is-network-access-analyzer.html",
    config=PREFIX_LIST_CONFIG,
)


def check(stack: Stack, cfg: dict):
    model = model_for(stack, cfg.get("cloudfrontPrefixListIds") or ())
    for opener, app, path, note in model.bypasses():
        yield Finding(opener, f"{model.label(opener)} opens a path to app-layer {model.label(app)} that "
                              f"skips the Wallarm nodes: {' -> '.join(path)} ({note})")
    for p in model.problems:
        if p.area == "reach":
            yield Finding(p.urn, f"{model.label(p.urn)}: {p.message} [property {p.prop}]")


POLICY = stack_policy(RULE, check)
