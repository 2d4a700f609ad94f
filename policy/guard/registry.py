"""The ordered list of every policy in the layerguard pack.

Order matters for stack policies (CrossGuard runs them in this order in one AnalyzeStack call):
the two suppression policies read what the others recorded, so they always come last.
"""

from __future__ import annotations

from guard.policies.aws.apigateway import private_api_access, private_api_policy
from guard.policies.aws.ecs import service_public_ip
from guard.policies.aws.lb import (
    listener_http_redirect,
    listener_tls,
    load_balancer_deletion,
    load_balancer_desync,
    load_balancer_headers,
)
from guard.policies.aws.wafv2 import web_acl_logging, web_acl_rate_rule
from guard.policies.meta import report_deferred, report_layers, report_suppressions, suppression_reason
from guard.policies.stack import acknowledged_gaps, no_bypass, origin_protection, perimeter_waf
from guard.policies.wallarm import node_mode, node_version, token_secret

# Per-resource hygiene (resource policies and resource-scoped stack policies).
HYGIENE = [
    listener_tls,
    listener_http_redirect,
    load_balancer_headers,
    load_balancer_desync,
    load_balancer_deletion,
    web_acl_logging,
    web_acl_rate_rule,
    service_public_ip,
    token_secret,
    node_mode,
    node_version,
    private_api_policy,
]

# Stack policies over the reachability model (no-bypass, perimeter coverage) go here: append each
# module (exposing RULE and POLICY) to this list.
STACK: list = [no_bypass, perimeter_waf, origin_protection, acknowledged_gaps, private_api_access]

# Reports: deferred resource checks (a resource policy: after every resource policy above), the
# layers (disabled unless a tool asks), then the two suppression policies, which must stay last:
# they report on what every policy above recorded.
META = [report_deferred, report_layers, suppression_reason, report_suppressions]

MODULES = HYGIENE + STACK + META


def policies() -> list:
    return [m.POLICY for m in MODULES]


def rules() -> list:
    return [m.RULE for m in MODULES]
