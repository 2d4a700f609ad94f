"""Entry settings: every bad value or combination is named with its key, the value and what is
allowed, before any resource is registered (same harness as test_program_settings.py)."""

from __future__ import annotations

import json

import pytest
from test_program_settings import problems  # noqa: F401  (the fixture)

VIEWER = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-4000-8000-0000000000cf"
REGIONAL = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-4000-8000-000000000001"
CLOUDFRONT = {"entry": "cloudfront", "cloudfrontCertificateArn": VIEWER,
              "cloudfrontAliases": '["www.example.com"]'}
NLB_EXEMPT = {"entry": "nlb", "nlbFrontedByCloudFront": "false",
              "nlbWafExemptionReason": "partner clients pin our static IPs"}
API = {"entry": "apigateway", "certificateArn": ""}

VALID = [
    ("alb", {}),
    ("cloudfront vpcOrigin", CLOUDFRONT),
    ("cloudfront publicAlb", {**CLOUDFRONT, "cloudfrontOriginStyle": "publicAlb"}),
    ("nlb behind CloudFront", {**CLOUDFRONT, "entry": "nlb"}),
    ("nlb exempt", NLB_EXEMPT),
    ("nlb exempt, no preservation", {**NLB_EXEMPT, "nlbClientIpPreservation": "off"}),
    ("apigateway", API),
    ("apigateway mTLS", {"entry": "apigateway", "apiGatewayDomainName": "api.example.com",
                         "apiGatewayMtlsTruststoreUri": "s3://trust-store/ca.pem"}),
]


@pytest.mark.parametrize("label,overrides", VALID, ids=[v[0] for v in VALID])
def test_valid_entries(problems, label, overrides):  # noqa: F811
    assert problems("dev", overrides) == []


INVALID = [
    # (keys named, overrides)
    ({"entry"}, {"entry": "globalaccelerator"}),
    ({"cloudfrontOriginStyle"}, {**CLOUDFRONT, "cloudfrontOriginStyle": "s3"}),
    ({"cloudfrontOriginStyle"}, {"cloudfrontOriginStyle": "publicAlb"}),          # entry alb
    ({"apiGatewayDomainName"}, {"apiGatewayDomainName": "api.example.com"}),       # entry alb
    ({"nlbWafExemptionReason"}, {**CLOUDFRONT, "nlbWafExemptionReason": "because reasons here"}),
    ({"cloudfrontCertificateArn", "cloudfrontAliases"}, {"entry": "cloudfront"}),
    ({"cloudfrontCertificateArn"}, {**CLOUDFRONT, "cloudfrontCertificateArn": REGIONAL}),
    ({"cloudfrontAliases"}, {**CLOUDFRONT, "cloudfrontAliases": '["not a name"]'}),
    ({"cloudfrontAliases"}, {**CLOUDFRONT, "cloudfrontAliases": "www.example.com"}),
    ({"certificateArn"}, {**CLOUDFRONT, "certificateArn": ""}),
    ({"allowHttpOnly"}, {**CLOUDFRONT, "allowHttpOnly": "true"}),
    # FORWARDED_IP on an entry whose web ACL is the first hop (CloudFront's sees the viewer).
    ({"wafRateLimitKey"}, {**CLOUDFRONT, "wafRateLimitKey": "FORWARDED_IP"}),
    ({"wafRateLimitKey"}, {"wafRateLimitKey": "FORWARDED_IP"}),
    # nlb facing the internet without WAF: a reason is required, and WAF settings mean nothing.
    ({"nlbWafExemptionReason"}, {"entry": "nlb", "nlbFrontedByCloudFront": "false"}),
    ({"nlbWafExemptionReason"}, {**NLB_EXEMPT, "nlbWafExemptionReason": "too short"}),
    ({"nlbWafExemptionReason"}, {**NLB_EXEMPT, "nlbWafExemptionReason": "no WAF; see ticket #42 please"}),
    ({"wafRateLimit"}, {**NLB_EXEMPT, "wafRateLimit": "500"}),
    ({"wafManagedRuleGroups"}, {**NLB_EXEMPT,
                                "wafManagedRuleGroups": json.dumps(["AWSManagedRulesCommonRuleSet"])}),
    ({"nlbFrontedByCloudFront"}, {**NLB_EXEMPT, "nlbFrontedByCloudFront": "maybe"}),
    ({"nlbClientIpPreservation"}, {**NLB_EXEMPT, "nlbClientIpPreservation": "true"}),
    ({"nlbClientIpPreservation"}, {"nlbClientIpPreservation": "on"}),          # entry alb
    ({"cloudfrontCertificateArn", "cloudfrontAliases"}, {"entry": "nlb"}),   # CloudFront by default
    ({"certificateArn"}, {**NLB_EXEMPT, "certificateArn": ""}),
    ({"apiGatewayThrottleRateLimit"}, {**API, "apiGatewayThrottleRateLimit": "0"}),
    ({"apiGatewayThrottleBurstLimit"}, {**API, "apiGatewayThrottleBurstLimit": "9000"}),
    ({"apiGatewayMtlsTruststoreUri"}, {**API, "apiGatewayMtlsTruststoreUri": "s3://trust-store/ca.pem"}),
    ({"apiGatewayMtlsTruststoreUri"}, {"entry": "apigateway", "apiGatewayDomainName": "api.example.com",
                                       "apiGatewayMtlsTruststoreUri": "https://example.com/ca.pem"}),
    ({"apiGatewayDomainName"}, {"entry": "apigateway", "apiGatewayDomainName": "-bad-.example"}),
    ({"certificateArn"}, {"entry": "apigateway"}),              # a certificate with no domain to use it
    ({"certificateArn"}, {**API, "apiGatewayDomainName": "api.example.com"}),
    ({"allowHttpOnly"}, {**API, "allowHttpOnly": "true"}),
    # The custom domain is an alias to the edge ALB: CloudFront and API Gateway take their own names.
    ({"domainName"}, {**CLOUDFRONT, "domainName": "api.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"}),
    ({"domainName"}, {**API, "domainName": "api.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"}),
]


@pytest.mark.parametrize("keys,overrides", INVALID,
                         ids=[f"{'+'.join(sorted(k))}={list(o.values())[-1]}" for k, o in INVALID])
def test_each_bad_entry_setting_is_named(problems, keys, overrides):  # noqa: F811
    found = problems("dev", overrides)
    assert {line.split(":")[0] for line in found} == keys, found
    for line in found:
        # What was given and what is allowed or required.
        assert "got" in line and any(w in line for w in ("allowed", "required", "applies only",
                                                          "must", "needs", "expected", "not used", "no web ACL",
                                                          "CloudFront takes", "supported with")), line


def test_bad_entry_combination_exits_2_with_nothing_registered():
    from _program import run
    result = run("dev", "preview", config={"layerguard:entry": "nlb",
                                           "layerguard:nlbFrontedByCloudFront": "false",
                                           "layerguard:wafRateLimitKey": "FORWARDED_IP"})
    assert result.exit_code == 2 and result.resources == []
    assert "nlbWafExemptionReason: got ''" in result.error
    assert "wafRateLimitKey: got 'FORWARDED_IP'" in result.error
