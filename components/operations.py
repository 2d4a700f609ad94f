"""Operations: who is told when the stack breaks or is weakened.

* CloudWatch alarms on the node fleet behind the edge load balancer (unhealthy and missing healthy
  targets, load balancer 5xx, node 5xx) and on WAF blocked-request spikes;
* EventBridge rules on CloudTrail calls that change the ingress of a node or app security group, or
  create a security group in the stack's VPC (the routing guide's "additional recommendations");
* optionally, AWS Config managed rules for the stack's invariants (only where the account already
  records configuration: a rule without a recorder never evaluates);
* every notification to one SNS topic, given or created here.

VPC flow logs stay where they are: the network layer logs the whole VPC (every subnet, app subnets
included, traffic type ALL), so nothing is added here.

The component sits in the network layer (shared, stack-wide infrastructure); it watches resources of
the other layers but creates nothing in their path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .tagging import layer_tags

LAYER = "network"
# CloudTrail calls that change who may reach a security group (API reference, EC2 actions).
INGRESS_CHANGES = ("AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress",
                   "ModifySecurityGroupRules", "UpdateSecurityGroupRuleDescriptionsIngress",
                   "DeleteSecurityGroup")
# Thresholds: any unhealthy node for two minutes; 5xx bursts; a WAF block spike.
UNHEALTHY_MINUTES = 2
LB_5XX_PER_5_MIN = 25
NODE_5XX_PER_5_MIN = 25
WAF_BLOCKED_PER_5_MIN = 1000
# AWS Config managed rules (identifier, resource types in scope, input parameters).
CONFIG_RULES = (
    ("ALB_WAF_ENABLED", ("AWS::ElasticLoadBalancingV2::LoadBalancer",), None),
    ("API_GW_ASSOCIATED_WITH_WAF", ("AWS::ApiGateway::Stage",), None),
    ("RESTRICTED_INCOMING_TRAFFIC", ("AWS::EC2::SecurityGroup",), None),
    ("VPC_SG_OPEN_ONLY_TO_AUTHORIZED_PORTS", ("AWS::EC2::SecurityGroup",),
     {"authorizedTcpPorts": "80,443"}),
    ("VPC_FLOW_LOGS_ENABLED", (), {"trafficType": "ALL"}),
    ("ALB_HTTP_DROP_INVALID_HEADER_ENABLED", ("AWS::ElasticLoadBalancingV2::LoadBalancer",), None),
    ("ALB_DESYNC_MODE_CHECK", ("AWS::ElasticLoadBalancingV2::LoadBalancer",),
     {"desyncMode": "strictest"}),
    ("WAFV2_LOGGING_ENABLED", (), None),
)


@dataclass(frozen=True)
class OperationsArgs:
    region: str
    # None: create a topic here.
    alarm_topic_arn: str | None
    aws_config_rules: bool
    vpc_id: pulumi.Input[str]
    # Security groups whose ingress changes alert (nodes, app load balancer, app tasks).
    watched_security_group_ids: Sequence[pulumi.Input[str]]
    # `app/<alb>/<id>/targetgroup/<tg>/<id>` of the node target group; None: no ALB alarms.
    node_target_label: pulumi.Input[str] | None
    web_acl_name: pulumi.Input[str] | None


class Operations(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: OperationsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("layerguard:network:Operations", name, None, opts)
        self._name = name
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity(opts=pulumi.InvokeOptions(parent=self)).account_id

        if args.alarm_topic_arn:
            # A given topic's policy must already let cloudwatch.amazonaws.com and
            # events.amazonaws.com publish (README: Operations).
            self.topic = None
            self.topic_arn = pulumi.Output.from_input(args.alarm_topic_arn)
        else:
            # No SSE with the AWS managed key: its key policy cannot grant CloudWatch alarms or
            # EventBridge, which then fail to publish. Notifications carry no secrets.
            self.topic = aws.sns.Topic(f"{name}-alarms", tags=self._tags("alarms"), opts=child)
            self.topic_arn = self.topic.arn
            aws.sns.TopicPolicy(
                f"{name}-alarms-policy", arn=self.topic.arn,
                policy=self.topic.arn.apply(lambda arn: _topic_policy(arn, account_id)), opts=child)

        self.alarms: list[aws.cloudwatch.MetricAlarm] = []
        if args.node_target_label is not None:
            self._target_alarms(args.node_target_label)
        if args.web_acl_name is not None:
            self._alarm("waf-blocked-spike", "AWS/WAFV2", "BlockedRequests",
                        {"WebACL": args.web_acl_name, "Region": args.region, "Rule": "ALL"},
                        "Sum", ">", WAF_BLOCKED_PER_5_MIN, periods=1, period=300,
                        description="The edge web ACL blocks far more requests than usual: an "
                                    "attack, or a rule that broke real traffic.")

        self.rules = self._security_group_rules(args)
        self.config_rules = self._config_rules() if args.aws_config_rules else []
        self.register_outputs({"topicArn": self.topic_arn,
                               "alarmNames": [a.name for a in self.alarms]})

    def _tags(self, suffix: str) -> dict[str, str]:
        return layer_tags(LAYER, f"{self._name}-{suffix}")

    def _alarm(self, suffix: str, namespace: str, metric: str, dimensions: dict, statistic: str,
               comparison: str, threshold: float, *, periods: int, period: int,
               description: str) -> aws.cloudwatch.MetricAlarm:
        operators = {">": "GreaterThanThreshold", ">=": "GreaterThanOrEqualToThreshold",
                     "<": "LessThanThreshold"}
        alarm = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{suffix}",
            name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{suffix}",
            alarm_description=description, namespace=namespace, metric_name=metric,
            dimensions=dimensions, statistic=statistic, period=period,
            evaluation_periods=periods, datapoints_to_alarm=periods,
            comparison_operator=operators[comparison], threshold=threshold,
            # No data means no traffic (5xx, blocks) or no targets registered yet; the
            # healthy-host alarm below treats missing data as breaching instead.
            treat_missing_data="breaching" if comparison == "<" else "notBreaching",
            alarm_actions=[self.topic_arn], ok_actions=[self.topic_arn],
            tags=self._tags(suffix), opts=pulumi.ResourceOptions(parent=self))
        self.alarms.append(alarm)
        return alarm

    def _target_alarms(self, label: pulumi.Input[str]) -> None:
        label = pulumi.Output.from_input(label)
        load_balancer = label.apply(lambda v: v.split("/targetgroup/", 1)[0])
        target_group = label.apply(lambda v: "targetgroup/" + v.split("/targetgroup/", 1)[1])
        both = {"LoadBalancer": load_balancer, "TargetGroup": target_group}
        self._alarm("node-unhealthy-targets", "AWS/ApplicationELB", "UnHealthyHostCount", both,
                    "Maximum", ">=", 1, periods=UNHEALTHY_MINUTES, period=60,
                    description="A Wallarm node fails the load balancer's health check (its "
                                "readiness endpoint when nodes fail closed): it cannot filter.")
        self._alarm("node-no-healthy-targets", "AWS/ApplicationELB", "HealthyHostCount", both,
                    "Minimum", "<", 1, periods=UNHEALTHY_MINUTES, period=60,
                    description="No Wallarm node is healthy: the entry answers 503 to everyone.")
        self._alarm("edge-5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count",
                    {"LoadBalancer": load_balancer}, "Sum", ">", LB_5XX_PER_5_MIN, periods=1,
                    period=300, description="The edge load balancer itself answers 5xx (no "
                                            "healthy node, timeouts, refused connections).")
        self._alarm("node-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", both,
                    "Sum", ">", NODE_5XX_PER_5_MIN, periods=1, period=300,
                    description="The Wallarm nodes answer 5xx (upstream unreachable, node errors).")

    def _security_group_rules(self, args: OperationsArgs) -> list[aws.cloudwatch.EventRule]:
        ids = pulumi.Output.all(*args.watched_security_group_ids)
        ingress = ids.apply(lambda group_ids: json.dumps({
            "source": ["aws.ec2"],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {
                "eventSource": ["ec2.amazonaws.com"],
                "eventName": list(INGRESS_CHANGES),
                # ModifySecurityGroupRules nests its parameters in the request's own name.
                "$or": [
                    {"requestParameters": {"groupId": sorted(group_ids)}},
                    {"requestParameters": {"ModifySecurityGroupRulesRequest": {
                        "GroupId": sorted(group_ids)}}},
                ],
            },
        }))
        created = pulumi.Output.from_input(args.vpc_id).apply(lambda vpc: json.dumps({
            "source": ["aws.ec2"],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {"eventSource": ["ec2.amazonaws.com"], "eventName": ["CreateSecurityGroup"],
                       "requestParameters": {"vpcId": [vpc]}},
        }))
        rules = []
        for suffix, pattern, what in (
                ("sg-ingress-changed", ingress,
                 "Someone changed the ingress of a Wallarm node or app security group"),
                ("sg-created", created, "Someone created a security group in the stack's VPC")):
            rule = aws.cloudwatch.EventRule(
                f"{self._name}-{suffix}", description=f"{what} (CloudTrail).",
                event_pattern=pattern, tags=self._tags(suffix),
                opts=pulumi.ResourceOptions(parent=self))
            aws.cloudwatch.EventTarget(
                f"{self._name}-{suffix}-to-sns", rule=rule.name, arn=self.topic_arn,
                opts=pulumi.ResourceOptions(parent=self))
            rules.append(rule)
        return rules

    def _config_rules(self) -> list[aws.cfg.Rule]:
        rules = []
        for identifier, types, parameters in CONFIG_RULES:
            suffix = identifier.lower().replace("_", "-")
            rules.append(aws.cfg.Rule(
                f"{self._name}-{suffix}",
                name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{suffix}",
                description=f"AWS managed rule {identifier} for the layerguard stack.",
                source=aws.cfg.RuleSourceArgs(owner="AWS", source_identifier=identifier),
                scope=aws.cfg.RuleScopeArgs(compliance_resource_types=list(types)) if types else None,
                input_parameters=json.dumps(parameters) if parameters else None,
                tags=self._tags(suffix), opts=pulumi.ResourceOptions(parent=self)))
        return rules


def _topic_policy(topic_arn: str, account_id: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AlarmsAndEventsPublish",
            "Effect": "Allow",
            "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        }],
    })
