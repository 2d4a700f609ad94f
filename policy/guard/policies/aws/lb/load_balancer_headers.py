"""LG-ALB-003: application load balancers drop header fields that are not valid HTTP."""

from __future__ import annotations

from guard.framework import Resource, Rule, ValueCheck, resource_policy
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

# The ELBv2 attribute routing.http.drop_invalid_header_fields.enabled defaults to false.
DROP_INVALID = ValueCheck("dropInvalidHeaderFields", "drop_invalid_header_fields", expected=(True,), absent=False)


def is_application(res: Resource) -> bool:
    """An unset load_balancer_type means application (the provider's default)."""
    kind = res.get("loadBalancerType")
    return kind is None or kind == "application"


def check(res: Resource, cfg: dict):
    if is_application(res):
        yield from DROP_INVALID.judge(res, cfg)


POLICY = resource_policy(RULE, check)
