"""LG-EDGE-001: every internet entry that reaches the Wallarm nodes is protected by AWS WAF."""

from __future__ import annotations

from guard.framework import Finding, Rule, Stack, stack_policy
from guard.policies.stack._config import MODEL_CONFIG, model_args
from guard.reachability import model_for
from guard.reachability.perimeter import perimeter_for

RULE = Rule(
    id="LG-EDGE-001",
    name="enforce-perimeter-waf",
    description="Every internet entry that reaches the Wallarm nodes must be protected by AWS WAF: a regional web ACL association on an ALB or REST API stage, or a CLOUDFRONT-scope web ACL created in us-east-1 on a CloudFront distribution in front of an NLB or HTTP API.",
    remediation="Associate a REGIONAL web ACL with the ALB or REST API stage, set webAclId on the CloudFront distribution to a CLOUDFRONT web ACL created in us-east-1, and put CloudFront with WAF in front of NLBs and HTTP APIs.",
    severity="critical",
    link="https://docs.aws.amazon.com/waf/latest/developerguide/waf-chapter.html",
    config=MODEL_CONFIG,
)


def check(stack: Stack, cfg: dict):
    model = model_for(stack, *model_args(cfg))
    seen = set()
    for entry, openers, path, reason in perimeter_for(model).unprotected_paths():
        for opener in openers:
            if (opener, entry) in seen:
                continue
            seen.add((opener, entry))
            yield Finding(opener, f"internet entry {model.label(entry)} reaches the Wallarm nodes without "
                                  f"AWS WAF: {reason} ({' -> '.join(path)})")
    for p in model.problems:
        if p.area == "perimeter":
            yield Finding(p.urn, f"{model.label(p.urn)}: {p.message} [property {p.prop}]")


POLICY = stack_policy(RULE, check)
