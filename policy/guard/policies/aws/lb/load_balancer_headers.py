"""LG-ALB-003: application load balancers drop header fields that are not valid HTTP."""

from __future__ import annotations

from guard.framework import Resource, Rule, is_unknown, resource_policy
from guard.types import LOAD_BALANCERS

RULE = Rule(
    id="LG-ALB-003",
    name="enforce-drop-invalid-header-fields",
    description="Application load balancers must drop HTTP headers with invalid names before they reach the nodes.",
    remediation="Set drop_invalid_header_fields=True on the load balancer.",
    severity="medium",
    link="https://docs.aws.amazon.com/config/latest/developerguide/alb-http-drop-invalid-header-enabled.html",
    resource_types=LOAD_BALANCERS,
)


def is_application(res: Resource) -> bool:
    """An unset load_balancer_type means application (the provider's default)."""
    kind = res.get("loadBalancerType")
    return kind is None or kind == "application"


def check(res: Resource, cfg: dict):
    if not is_application(res):
        return
    value = res.get("dropInvalidHeaderFields")
    if is_unknown(value) or value is not True:
        yield f"drop_invalid_header_fields is {value!r}, not True"


POLICY = resource_policy(RULE, check)
