"""LG-WAF-001: every web ACL logs to a destination named `aws-waf-logs-*`.

A stack policy: the logging configuration names its web ACL and destinations by ARN, which are
unknown at the first preview, so both are found through property dependencies (`resourceArn`,
`logDestinationConfigs`); a literal ARN is parsed instead when no dependency names the target.
"""

from __future__ import annotations

from guard.framework import Finding, Resource, Rule, Stack, each, is_unknown, stack_policy
from guard.types import BUCKETS, FIREHOSE, LOG_GROUP, WEB_ACL, WEB_ACL_LOGGING

RULE = Rule(
    id="LG-WAF-001",
    name="configure-waf-logging",
    description="Every WAFv2 web ACL must have a logging configuration whose destinations are named with the aws-waf-logs- prefix, in us-east-1 for CLOUDFRONT-scope ACLs.",
    remediation="Add an aws.wafv2.WebAclLoggingConfiguration for the web ACL pointing at a CloudWatch log group, S3 bucket or Firehose stream named aws-waf-logs-<something>, created in us-east-1 for a CloudFront ACL.",
    severity="medium",
    link="https://docs.aws.amazon.com/waf/latest/developerguide/logging-destinations.html",
)

PREFIX = "aws-waf-logs-"
_NAME_PROPS = {LOG_GROUP: ("name", "namePrefix"), FIREHOSE: ("name",),
               **{b: ("bucket", "bucketPrefix") for b in BUCKETS}}


def destination_name(res: Resource):
    """The destination's name: explicit name or prefix, else the logical name Pulumi autonames from."""
    for prop in _NAME_PROPS[res.type]:
        value = res.get(prop)
        if value is not None:
            return value
    return res.name


def name_from_arn(arn: str) -> str:
    """`...:log-group:NAME[:*]`, `arn:aws:s3:::NAME`, `...:deliverystream/NAME`."""
    if ":log-group:" in arn:
        return arn.split(":log-group:", 1)[1].split(":", 1)[0]
    if ":deliverystream/" in arn:
        return arn.split(":deliverystream/", 1)[1]
    return arn.rsplit(":", 1)[-1].split("/", 1)[0]


CLOUDFRONT_REGION = "us-east-1"


def _destination_problems(stack: Stack, config: Resource, cloudfront: bool):
    dests = [r for r in stack.deps(config, "logDestinationConfigs") if r.type in _NAME_PROPS]
    if dests:
        for dest in dests:
            name = destination_name(dest)
            if is_unknown(name):
                yield f"the name of destination {dest.name!r} is unknown at preview"
            elif not name.startswith(PREFIX):
                yield f"destination {dest.type.split(':')[-1]} {name!r} does not start with {PREFIX!r}"
            if cloudfront:
                region = dest.region
                if is_unknown(region) or region is None:
                    yield f"the region of destination {dest.name!r} is unknown; a CLOUDFRONT ACL logs to {CLOUDFRONT_REGION} only"
                elif region != CLOUDFRONT_REGION:
                    yield f"destination {dest.name!r} is in {region}; a CLOUDFRONT ACL logs to {CLOUDFRONT_REGION} only"
        return
    arns = config.get("logDestinationConfigs")
    if is_unknown(arns) or not arns:
        yield "its destination is unknown at preview and no property dependency names it"
        return
    for arn in arns:
        if is_unknown(arn):
            yield "a destination ARN is unknown at preview and no property dependency names it"
        elif not name_from_arn(arn).startswith(PREFIX):
            yield f"destination {arn!r} is not named {PREFIX}*"
        elif cloudfront and arn.split(":")[3:4] != [CLOUDFRONT_REGION]:
            yield f"destination {arn!r} is not in {CLOUDFRONT_REGION}; a CLOUDFRONT ACL logs there only"


def check(stack: Stack, cfg: dict):
    configs: dict[str, list[Resource]] = {}
    for config in stack.of_type(WEB_ACL_LOGGING):
        for acl in stack.deps(config, "resourceArn"):
            configs.setdefault(acl.urn, []).append(config)

    def judge(acl: Resource):
        found = configs.get(acl.urn, [])
        if not found:
            yield Finding(acl.urn, "the web ACL has no logging configuration (none names it through resource_arn)")
        scope = acl.get("scope")
        cloudfront = scope == "CLOUDFRONT"  # an unknown scope raises: fail closed
        for config in found:
            for problem in _destination_problems(stack, config, cloudfront):
                yield Finding(config.urn, f"logging configuration of web ACL {acl.name!r}: {problem}")

    yield from each(stack, (WEB_ACL,), judge)


POLICY = stack_policy(RULE, check)
