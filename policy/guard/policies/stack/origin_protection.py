"""LG-EDGE-002: a public origin behind CloudFront rejects requests that bypass CloudFront."""

from __future__ import annotations

from guard.framework import Finding, Rule, Stack, stack_policy
from guard.policies.stack._config import MODEL_CONFIG, model_args
from guard.reachability import model_for
from guard.reachability.perimeter import perimeter_for

RULE = Rule(
    id="LG-EDGE-002",
    name="disallow-direct-origin-access",
    description="An internet-facing load balancer used as a CloudFront origin must reject requests that did not come through CloudFront, or CloudFront's WAF is bypassed.",
    remediation="Limit the origin's security group to the com.amazonaws.global.cloudfront.origin-facing prefix list, or forward only requests carrying a secret CloudFront custom header and answer 403 by default, or use a CloudFront VPC origin with an internal load balancer.",
    severity="high",
    link="https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/restrict-access-to-load-balancer.html",
    config=MODEL_CONFIG,
)


def check(stack: Stack, cfg: dict):
    model = model_for(stack, *model_args(cfg))
    for lb, dist, reason, names in perimeter_for(model).unprotected_origins():
        for urn in names:
            yield Finding(urn, f"{model.label(lb)} is an origin of {model.label(dist)} but {reason}")


POLICY = stack_policy(RULE, check)
