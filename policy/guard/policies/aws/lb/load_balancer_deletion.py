"""LG-ALB-005: load balancers of the configured stacks cannot be deleted by accident."""

from __future__ import annotations

import fnmatch

from guard.framework import Resource, Rule, ValueCheck, is_unknown, resource_policy
from guard.policies import production
from guard.types import LOAD_BALANCERS

RULE = Rule(
    id="LG-ALB-005",
    name="require-deletion-protection",
    description="Load balancers in the stacks listed in the policy config, and in every stack declared production, must have deletion protection enabled.",
    remediation="Set enable_deletion_protection=True, or remove the stack from this policy's 'stacks' config.",
    severity="medium",
    link="https://docs.aws.amazon.com/config/latest/developerguide/elb-deletion-protection-enabled.html",
    resource_types=LOAD_BALANCERS,
    config={"stacks": {
        "type": "array", "items": {"type": "string"}, "default": ["prod", "prod-*", "production"],
        "description": "Stack name globs where deletion protection is required; a stack declared production (layerguard:environment) is judged as the stack prod."},
        **production.CONFIG},
)

# The ELBv2 attribute deletion_protection.enabled defaults to false.
DELETION_PROTECTION = ValueCheck("enableDeletionProtection", "enable_deletion_protection",
                                 expected=(True,), absent=False)


def check(res: Resource, cfg: dict):
    judged, stack = production.judged_stack(res, cfg, cfg["stacks"])
    if is_unknown(judged):
        yield "the stack name is unknown to the policy pack (PULUMI_STACK unset), so the rule cannot tell whether it applies"
        return
    if not any(fnmatch.fnmatchcase(judged, pattern) for pattern in cfg["stacks"]):
        return
    for problem in DELETION_PROTECTION.judge(res, cfg):
        yield problem if not isinstance(problem, str) else f"{problem} in stack {stack}, which requires it"


POLICY = resource_policy(RULE, check)
