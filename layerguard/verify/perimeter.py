"""The perimeter, live: every internet entry has its web ACL attached, load balancers keep the
attributes the state declares, CloudFront origins stay protected.

WAF: `wafv2:GetWebACLForResource` for internet-facing ALBs and REST API stages; a CloudFront
distribution's `WebACLId`. Origin protection: a CloudFront custom origin carries a secret header
(the node or the origin's listener rule rejects requests without it) or is a VPC origin.
"""

from __future__ import annotations

from typing import Any

import botocore.exceptions

from .findings import Report
from .live import error_code
from .state import State

LB_TYPES = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
WEB_ACL_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
STAGE = "aws:apigateway/stage:Stage"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"

# input name -> (ELBv2 attribute key, how the input's value reads as the attribute's string)
LB_ATTRIBUTES = {
    "enableDeletionProtection": ("deletion_protection.enabled", lambda v: str(bool(v)).lower()),
    "dropInvalidHeaderFields": ("routing.http.drop_invalid_header_fields.enabled", lambda v: str(bool(v)).lower()),
    "desyncMitigationMode": ("routing.http.desync_mitigation_mode", str),
    "xffHeaderProcessingMode": ("routing.http.xff_header_processing.mode", str),
}


def _declared_acls(state: State) -> dict[str, str]:
    out = {}
    for assoc in state.of(WEB_ACL_ASSOCIATION):
        arn, acl = assoc.get("resourceArn"), assoc.get("webAclArn")
        if isinstance(arn, str) and isinstance(acl, str):
            out[arn] = acl
    return out


def _check_waf(waf, report: Report, resource_arn: str, label: str, declared: str | None) -> None:
    try:
        acl = waf.get_web_acl_for_resource(ResourceArn=resource_arn).get("WebACL")
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) != "WAFNonexistentItemException":
            raise
        acl = None
    if not acl:
        report.add("waf-missing", label, f"wafv2 GetWebACLForResource({resource_arn}) returned no web ACL: "
                                         "requests reach the nodes without AWS WAF")
    elif declared and acl.get("ARN") != declared:
        report.add("waf-mismatch", label, f"attached web ACL is {acl.get('ARN')}, the state declares {declared}")


def check_load_balancers(account, state: State, report: Report) -> list[dict[str, Any]]:
    elb, waf = account.client("elbv2"), account.client("wafv2")
    declared_acls = _declared_acls(state)
    found = []
    for res in state.of(*LB_TYPES):
        arn = res.get("arn") or res.id
        label = f"{arn} ({res.name})"
        try:
            lb = elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) not in ("LoadBalancerNotFound", "ValidationError"):
                raise
            report.add("entry-missing", label, f"the {res.layer} load balancer is in the state but not in the account")
            continue
        found.append(lb)
        attrs = {a["Key"]: a["Value"] for a in
                 elb.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}
        for prop, (key, as_text) in LB_ATTRIBUTES.items():
            if prop not in res.inputs:
                continue
            want = as_text(res.inputs[prop])
            if key not in attrs:
                report.note("lb-attribute", label, f"the account does not report {key} (declared {want})")
            elif attrs[key] != want:
                report.add("lb-attribute", label, f"{key} is {attrs[key]!r}, the state declares {want!r} ({prop})")
        if lb.get("Scheme") == "internet-facing" and lb.get("Type") == "application":
            _check_waf(waf, report, arn, label, declared_acls.get(arn))
    return found


def check_rest_stages(account, state: State, report: Report) -> None:
    waf = account.client("wafv2")
    declared_acls = _declared_acls(state)
    for stage in state.of(STAGE):
        api, name = stage.get("restApi"), stage.get("stageName")
        if not (isinstance(api, str) and isinstance(name, str)):
            report.note("waf-missing", stage.urn, "the stage has no restApi/stageName in the state")
            continue
        arn = f"arn:aws:apigateway:{account.region}::/restapis/{api}/stages/{name}"
        _check_waf(waf, report, arn, f"{arn} ({stage.name})", declared_acls.get(stage.get("arn") or arn))


def check_distributions(account, state: State, report: Report) -> None:
    distributions = state.of(DISTRIBUTION)
    if not distributions:
        return
    cloudfront = account.client("cloudfront", region="us-east-1")
    for res in distributions:
        label = f"{res.id} ({res.name})"
        try:
            config = cloudfront.get_distribution(Id=res.id)["Distribution"]["DistributionConfig"]
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) != "NoSuchDistribution":
                raise
            report.add("entry-missing", label, "the CloudFront distribution is in the state but not in the account")
            continue
        if not config.get("WebACLId"):
            report.add("waf-missing", label, "the distribution has no WebACLId: requests reach the origin without AWS WAF")
        elif res.get("webAclId") and config["WebACLId"] != res.get("webAclId"):
            report.add("waf-mismatch", label, f"WebACLId is {config['WebACLId']}, the state declares {res.get('webAclId')}")
        for origin in config.get("Origins", {}).get("Items", []):
            if "S3OriginConfig" in origin or origin.get("VpcOriginConfig"):
                continue
            headers = origin.get("CustomHeaders", {}).get("Items", [])
            if not headers:
                report.add("cloudfront-origin-unprotected", label,
                           f"origin {origin.get('Id')} ({origin.get('DomainName')}) is public and sends no secret "
                           "custom header: anyone can reach it around CloudFront")
