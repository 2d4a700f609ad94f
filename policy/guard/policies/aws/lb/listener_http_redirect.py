"""LG-ALB-002: plain-HTTP listeners of internet-facing load balancers only redirect to HTTPS.

A stack policy: the load balancer's scheme and the listener rules attached to a listener are only
reachable through property dependencies (`loadBalancerArn`, `listenerArn`).
"""

from __future__ import annotations

from guard.framework import Finding, Resource, Rule, Stack, each, is_unknown, stack_policy
from guard.types import LISTENER_RULES, LISTENERS, LOAD_BALANCERS

RULE = Rule(
    id="LG-ALB-002",
    name="require-https-redirect",
    description="A plain-HTTP listener on an internet-facing load balancer must only redirect to HTTPS, by default and in every listener rule.",
    remediation="Make the HTTP listener's only action a redirect with protocol HTTPS and status HTTP_301, and attach forwarding rules to the HTTPS listener instead.",
    severity="high",
    link="https://docs.aws.amazon.com/config/latest/developerguide/alb-http-to-https-redirection-check.html",
    config={"includeInternal": {
        "type": "boolean", "default": False,
        "description": "Also judge listeners of internal load balancers."}},
)


def _redirects_to_https(action: dict) -> bool:
    return action.get("type") == "redirect" and (action.get("redirect") or {}).get("protocol") == "HTTPS"


def _offenders(actions, where: str):
    if is_unknown(actions):
        yield f"{where} are unknown at preview"
        return
    for i, action in enumerate(actions or []):
        if is_unknown(action) or is_unknown(action.get("type")):
            yield f"{where}[{i}] is unknown at preview"
        elif action.get("type") == "fixed-response" and where != "default actions":
            continue  # a rule answering by itself sends nothing to a target
        elif not _redirects_to_https(action):
            yield f"{where}[{i}] is {action.get('type')!r}, not a redirect to HTTPS"


def _judged(stack: Stack, listener: Resource, include_internal: bool) -> bool:
    """Internet-facing, or we cannot tell (fail closed: an LB we cannot find is treated as public)."""
    if include_internal:
        return True
    lbs = [r for r in stack.deps(listener, "loadBalancerArn") if r.type in LOAD_BALANCERS]
    if not lbs:
        return True
    internal = lbs[0].get("internal")
    return is_unknown(internal) or internal is not True


def check(stack: Stack, cfg: dict):
    rules_by_listener: dict[str, list[Resource]] = {}
    for rule in stack.of_type(*LISTENER_RULES):
        for listener in stack.deps(rule, "listenerArn"):
            rules_by_listener.setdefault(listener.urn, []).append(rule)

    def judge(listener: Resource):
        protocol = listener.get("protocol")
        if protocol is None:
            certificate = listener.get("certificateArn")
            protocol = "HTTPS?" if certificate is not None else "HTTP"  # ALB default is HTTP
        if protocol != "HTTP" or not _judged(stack, listener, cfg["includeInternal"]):
            return
        for problem in _offenders(listener.get("defaultActions"), "default actions"):
            yield Finding(listener.urn, f"HTTP listener: {problem}")
        for rule in rules_by_listener.get(listener.urn, []):
            for problem in _offenders(rule.get("actions"), "rule actions"):
                yield Finding(rule.urn, f"listener rule on an HTTP listener: {problem}")

    yield from each(stack, LISTENERS, judge)


POLICY = stack_policy(RULE, check)
