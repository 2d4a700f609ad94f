"""The web ACL every entry builds the same way: a per-client rate rule first, then the AWS managed
rule groups, logged to a CloudWatch log group named aws-waf-logs-* with credentials redacted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .. import waf

# WAF may redact single headers only; these two carry credentials.
REDACTED_HEADERS = ("authorization", "cookie")


@dataclass(frozen=True)
class WafArgs:
    managed_rule_groups: Sequence[str]
    rate_limit: int
    rate_window_seconds: int
    # "IP" whenever the ACL is at the first hop (every ACL this program builds; see settings.py).
    rate_limit_key: str
    log_retention_days: int
    # SizeRestrictions_BODY of the Common rule set: count (the nodes inspect whole bodies) or block.
    body_size_action: str = "count"
    # Inspection level of AWSManagedRulesBotControlRuleSet, when listed (COMMON or TARGETED).
    bot_control_inspection_level: str = "COMMON"


def visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
    return aws.wafv2.WebAclVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True)


@dataclass
class Waf:
    web_acl: aws.wafv2.WebAcl
    log_group: aws.cloudwatch.LogGroup
    logging: aws.wafv2.WebAclLoggingConfiguration


def web_acl(name: str, scope: str, args: WafArgs, tags: Callable[[str], dict[str, str]],
            opts: pulumi.ResourceOptions, description: str) -> Waf:
    """`scope` REGIONAL or CLOUDFRONT; a CLOUDFRONT ACL and its log group must be created in
    us-east-1, so `opts` then carries that region's provider."""
    rules = [aws.wafv2.WebAclRuleArgs(
        name="rate-limit-per-client", priority=0,
        action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
        statement=aws.wafv2.WebAclRuleStatementArgs(
            rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                limit=args.rate_limit, evaluation_window_sec=args.rate_window_seconds,
                aggregate_key_type=args.rate_limit_key,
                forwarded_ip_config=(
                    aws.wafv2.WebAclRuleStatementRateBasedStatementForwardedIpConfigArgs(
                        header_name="X-Forwarded-For", fallback_behavior="MATCH")
                    if args.rate_limit_key == "FORWARDED_IP" else None))),
        visibility_config=visibility(f"{name}-rate-limit"))]
    for priority, group in enumerate(args.managed_rule_groups, start=1):
        rules.append(aws.wafv2.WebAclRuleArgs(
            name=group, priority=priority,
            override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()),
            statement=waf.managed_rule_group_statement(
                group, body_size_action=args.body_size_action,
                bot_control_inspection_level=args.bot_control_inspection_level),
            visibility_config=visibility(f"{name}-{group}")))
    acl = aws.wafv2.WebAcl(
        f"{name}-web-acl", scope=scope, description=description,
        default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
        rules=rules, visibility_config=visibility(f"{name}-web-acl"),
        tags=tags("web-acl"), opts=opts)
    # WAF delivers to CloudWatch Logs only into groups whose name starts with aws-waf-logs-.
    log_group = aws.cloudwatch.LogGroup(
        f"{name}-waf-logs",
        name=f"aws-waf-logs-{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
        retention_in_days=args.log_retention_days, tags=tags("waf-logs"), opts=opts)
    delivery = waf.log_delivery_policy(f"{name}-waf-logs", log_group, opts=opts)
    logging = aws.wafv2.WebAclLoggingConfiguration(
        f"{name}-waf-logging", resource_arn=acl.arn,
        log_destination_configs=[log_group.arn],
        redacted_fields=[
            aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                single_header=aws.wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(
                    name=header))
            for header in REDACTED_HEADERS],
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[delivery])))
    return Waf(acl, log_group, logging)
