"""AWS WAF pieces an entry builds its web ACL from: managed rule group statements with the overrides
layerguard needs, and the CloudWatch Logs resource policy that lets WAF deliver its logs.

Kept apart from the entry components so every entry (ALB, CloudFront, API Gateway) builds its web
ACL the same way.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

# The Common rule set blocks bodies over 8 KB (SizeRestrictions_BODY): an ALB's WAF inspects only
# the first 8 KB, so the managed rule refuses what it cannot see. The Wallarm nodes behind it read
# whole bodies, so by default the rule only counts and the nodes' client_max_body_size is the limit
# (https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html).
COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
BODY_SIZE_RULE = "SizeRestrictions_BODY"
BODY_SIZE_ACTIONS = ("count", "block")
# Bot Control is configured by its inspection level, which the WAFV2 API requires
# (ManagedRuleGroupConfig.AWSManagedRulesBotControlRuleSet.InspectionLevel, COMMON or TARGETED:
# https://docs.aws.amazon.com/waf/latest/APIReference/API_AWSManagedRulesBotControlRuleSet.html).
BOT_CONTROL_RULE_SET = "AWSManagedRulesBotControlRuleSet"
BOT_CONTROL_INSPECTION_LEVELS = ("COMMON", "TARGETED")


def managed_rule_group_statement(group: str, *, body_size_action: str = "count",
                                 bot_control_inspection_level: str = "COMMON",
                                 ) -> aws.wafv2.WebAclRuleStatementArgs:
    """The statement of an AWS managed rule group rule, with SizeRestrictions_BODY overridden to
    count in the Common rule set unless `body_size_action` is "block" (the rule's own action), and
    Bot Control given its inspection level."""
    if body_size_action not in BODY_SIZE_ACTIONS:
        raise ValueError(f"body size action {body_size_action!r}: expected count or block")
    if bot_control_inspection_level not in BOT_CONTROL_INSPECTION_LEVELS:
        raise ValueError(f"Bot Control inspection level {bot_control_inspection_level!r}: "
                         "expected COMMON or TARGETED")
    configs = None
    if group == BOT_CONTROL_RULE_SET:
        configs = [aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementManagedRuleGroupConfigArgs(
            aws_managed_rules_bot_control_rule_set=(
                aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementManagedRuleGroupConfigAwsManagedRulesBotControlRuleSetArgs(
                    inspection_level=bot_control_inspection_level)))]
    overrides = None
    if group == COMMON_RULE_SET and body_size_action == "count":
        overrides = [aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideArgs(
            name=BODY_SIZE_RULE,
            action_to_use=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseArgs(
                count=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementRuleActionOverrideActionToUseCountArgs()))]
    return aws.wafv2.WebAclRuleStatementArgs(
        managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
            vendor_name="AWS", name=group, rule_action_overrides=overrides,
            managed_rule_group_configs=configs))


def log_delivery_policy(name: str, log_group: aws.cloudwatch.LogGroup, *,
                        opts: pulumi.ResourceOptions) -> aws.cloudwatch.LogResourcePolicy:
    """A CloudWatch Logs resource policy of the WAF log group's own.

    Without it, enabling WAF logging appends the group to one account-wide policy that AWS edits on
    every such call and that stops growing at its size limit (5,120 characters), after which
    logging for further web ACLs fails (https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html).
    `opts` are the log group's own (a CLOUDFRONT ACL's group lives in us-east-1): the policy is made
    where the group is, and its account, region and partition are read from the group's ARN.
    """

    def document(arn: str) -> str:
        _arn, part, _service, region, account_id = arn.split(":")[:5]
        return json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "WafLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{arn}:*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:{part}:logs:{region}:{account_id}:*"},
                },
            }],
        })

    return aws.cloudwatch.LogResourcePolicy(
        f"{name}-delivery-policy",
        policy_name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
        policy_document=log_group.arn.apply(document), opts=opts)
