"""LG-PATH-002: what the pack accepts without being able to prove it is reported at every preview."""

from __future__ import annotations

from guard.framework import Finding, Rule, Stack, stack_policy
from guard.policies.stack._config import MODEL_CONFIG, model_args
from guard.reachability import model_for
from guard.reachability.perimeter import perimeter_for

RULE = Rule(
    id="LG-PATH-002",
    name="report-acknowledged-gaps",
    description="Every gap the stack acknowledges instead of closing is reported at every preview: an internet-facing NLB exempted from AWS WAF, and a backend security group the stack adds a rule to but does not own (its other rules are invisible to the pack).",
    remediation="Put CloudFront with WAF in front of the NLB to drop its exemption; audit the foreign security groups' other rules after every deploy with `layerguard verify`.",
    severity="medium",
    level="advisory",
    link="https://docs.aws.amazon.com/waf/latest/developerguide/waf-chapter.html",
    config=MODEL_CONFIG,
)


def check(stack: Stack, cfg: dict):
    model = model_for(stack, *model_args(cfg))
    for urn, reason in sorted(perimeter_for(model).exemptions.items()):
        yield Finding(urn, f"{model.label(urn)} faces the internet without AWS WAF by exemption "
                           f"(layerguard:waf-exemption: {reason!r}); the Wallarm nodes are its only filter")
    for rule, group in model.foreign_groups:
        yield Finding(rule, f"security group {group} is not owned by this stack: the pack sees only the rule "
                            f"{model.label(rule)} adds (from the Wallarm nodes), not the group's other rules; "
                            "`layerguard verify` audits them in the account")


POLICY = stack_policy(RULE, check)
