"""LG-WAF-002: every web ACL limits request rates with a rate-based rule that acts.

A stack policy: a rate-based rule may sit inline in the web ACL (`rules` or `ruleJson`), in a
standalone `aws.wafv2.WebAclRule` (found through `webAclArn`), or in a rule group the ACL's
`rules` were computed from (property dependency on an `aws.wafv2.RuleGroup`).
"""

from __future__ import annotations

import json

from guard.framework import Finding, Resource, Rule, Stack, Unresolved, each, is_unknown, plain, stack_policy
from guard.types import RULE_GROUP, WEB_ACL, WEB_ACL_RULE

RULE = Rule(
    id="LG-WAF-002",
    name="require-rate-based-rule",
    description="Every WAFv2 web ACL must contain a rate-based rule whose action blocks, challenges or asks for a CAPTCHA.",
    remediation="Add a rule with a rate_based_statement (limit >= 10, aggregated on the client or forwarded IP) and action block to the web ACL.",
    severity="high",
    link="https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html",
)

ACTING = ("block", "captcha", "challenge")


def _rate_rules(rules) -> list:
    if is_unknown(rules):
        raise Unresolved(rules)  # fail closed, naming the unknown list
    return [r for r in rules or [] if (r.get("statement") or {}).get("rateBasedStatement") is not None]


def _acts(rule: dict) -> bool:
    action = rule.get("action") or {}
    return any(action.get(kind) is not None for kind in ACTING)


def _json_rules(raw) -> list:
    if raw is None:
        return []
    if is_unknown(raw):
        raise Unresolved(raw)
    doc = plain(json.loads(raw), "ruleJson")
    # ruleJson uses the API's PascalCase: Statement.RateBasedStatement, Action.Block
    out = []
    for r in doc if isinstance(doc, list) else []:
        if (r.get("Statement") or {}).get("RateBasedStatement") is not None:
            action = r.get("Action") or {}
            out.append({"action": {k.lower(): v for k, v in action.items()}})
    return out


def check(stack: Stack, cfg: dict):
    standalone: dict[str, list[Resource]] = {}
    for rule in stack.of_type(WEB_ACL_RULE):
        for acl in stack.deps(rule, "webAclArn"):
            standalone.setdefault(acl.urn, []).append(rule)

    def judge(acl: Resource):
        candidates = _rate_rules(acl.get("rules")) + _json_rules(acl.get("ruleJson"))
        candidates += [r.props for r in standalone.get(acl.urn, []) if _rate_rules([r.props])]
        for group in stack.deps(acl, "rules"):
            if group.type == RULE_GROUP:
                candidates += _rate_rules(group.get("rules"))
        if not candidates:
            yield Finding(acl.urn, "the web ACL has no rate-based rule")
        elif not any(_acts(r) for r in candidates):
            yield Finding(acl.urn, "the web ACL's rate-based rules only count; none blocks, challenges or asks for a CAPTCHA")

    yield from each(stack, (WEB_ACL,), judge)


POLICY = stack_policy(RULE, check)
