"""LG-ALB-001: HTTPS and TLS listeners negotiate TLS 1.2 or newer, with TLS 1.3 available."""

from __future__ import annotations

import re

from guard.framework import Resource, Rule, is_unknown, resource_policy, waiting
from guard.types import LISTENERS

RULE = Rule(
    id="LG-ALB-001",
    name="enforce-listener-tls-policy",
    description="HTTPS and TLS listeners must use a security policy that refuses TLS 1.0 and 1.1 and offers TLS 1.3.",
    remediation="Set ssl_policy explicitly to ELBSecurityPolicy-TLS13-1-2-2021-06 or a newer TLS13-1-2/1-3 policy; the API default is the 2016 policy.",
    severity="high",
    link="https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html",
    resource_types=LISTENERS,
    config={"allowedPolicyPattern": {
        "type": "string", "default": r"^ELBSecurityPolicy-TLS13-1-[23]-",
        "description": "Regular expression an allowed ssl_policy must match."}},
)

ENCRYPTED = ("HTTPS", "TLS")


def check(res: Resource, cfg: dict):
    protocol = res.get("protocol")
    if protocol is None or protocol not in ENCRYPTED:
        return
    policy = res.get("sslPolicy")
    if is_unknown(policy):
        yield waiting(policy, f"ssl_policy is not known yet; it must match {cfg['allowedPolicyPattern']!r}")
    elif policy is None:
        yield "ssl_policy is not set, so the listener gets the API default ELBSecurityPolicy-2016-08 (TLS 1.0)"
    elif not re.search(cfg["allowedPolicyPattern"], policy):
        yield f"ssl_policy {policy!r} does not match {cfg['allowedPolicyPattern']!r}"


POLICY = resource_policy(RULE, check)
