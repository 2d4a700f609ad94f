"""LG-ALB-004: application load balancers classify and stop HTTP desync requests."""

from __future__ import annotations

from guard.framework import Resource, Rule, ValueCheck, resource_policy
from guard.policies.aws.lb.load_balancer_headers import is_application
from guard.types import LOAD_BALANCERS

RULE = Rule(
    id="LG-ALB-004",
    name="enforce-desync-mitigation-mode",
    description="Application load balancers must use the defensive or strictest HTTP desync mitigation mode.",
    remediation="Set desync_mitigation_mode to \"strictest\" (or \"defensive\"), never \"monitor\".",
    severity="medium",
    link="https://docs.aws.amazon.com/config/latest/developerguide/alb-desync-mode-check.html",
    resource_types=LOAD_BALANCERS,
    config={"allowedModes": {
        "type": "array", "items": {"type": "string", "enum": ["monitor", "defensive", "strictest"]},
        "default": ["defensive", "strictest"],
        "description": "Desync mitigation modes accepted; an unset mode is the API default, defensive."}},
)

DESYNC_MODE = ValueCheck("desyncMitigationMode", "desync_mitigation_mode",
                         expected=lambda cfg: cfg["allowedModes"], absent="defensive")


def check(res: Resource, cfg: dict):
    if is_application(res):
        yield from DESYNC_MODE.judge(res, cfg)


POLICY = resource_policy(RULE, check)
