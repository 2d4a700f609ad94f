"""layerguard: internet -> entry + AWS WAF [edge] -> Wallarm node fleet [node] -> internal app [app]."""

import pulumi
import pulumi_aws as aws

from components import entries, node_fleets
from components import settings as stack_settings
from components.adopted_alb import AdoptedAlbArgs, AdoptedAlbEntry
from components.app import InternalApp, InternalAppArgs
from components.backends.existing import ExistingBackendArgs, ExistingBackendUpstream
from components.backends.private_apigateway import PrivateApiArgs, PrivateApiGatewayUpstream
from components.domain import CustomDomain, CustomDomainArgs
from components.network import Network, NetworkArgs
from components.operations import Operations, OperationsArgs

s = stack_settings.load()

default_tags = aws.ProviderDefaultTagsArgs(tags={
    "layerguard:project": s.project, "layerguard:stack": s.stack,
    "layerguard:environment": s.environment})
provider = aws.Provider("aws", region=s.region, default_tags=default_tags)
layer = pulumi.ResourceOptions(providers=[provider])

network = Network("network", NetworkArgs(
    cidr=s.vpc_cidr, az_count=s.az_count, nat_per_az=s.nat_per_az,
    log_retention_days=s.log_retention_days, existing=s.existing_network), opts=layer)
# --- adopted ALB (issue 11): the entry is an existing ALB whose listener is imported ---
if s.adopted_alb is not None:
    edge = AdoptedAlbEntry("edge", network, AdoptedAlbArgs(
        alb=s.adopted_alb, certificate_arn=s.certificate_arn,
        managed_rule_groups=s.waf_managed_rule_groups, rate_limit=s.waf_rate_limit,
        rate_window_seconds=s.waf_rate_window_seconds, log_retention_days=s.log_retention_days,
        deletion_protection=s.deletion_protection, body_size_action=s.ops.waf_body_size_action,
        bot_control_inspection_level=s.waf_bot_control_inspection_level), opts=layer)
else:
    # The entry (settings `entry`): alb, cloudfront, nlb or apigateway; see components/entries/.
    edge = entries.build("edge", s, network, default_tags, layer)
# --- end adopted ALB ---
# --- backend selection (issue 11) ---
if s.backend == "existing":
    app = ExistingBackendUpstream("app", ExistingBackendArgs(
        backend=s.existing_backend, vpc_id=network.vpc_id,
        adopted_security_group_id=s.adopted_alb.app_security_group_id if s.adopted_alb else None),
        opts=layer)
elif s.backend == "private-apigateway":
    app = PrivateApiGatewayUpstream("app", network, PrivateApiArgs(api=s.private_api, region=s.region),
                                    opts=layer)
else:
    app = InternalApp("app", network, InternalAppArgs(
        image=s.app_image, port=s.app_port, count=s.app_count,
        health_check_path=s.app_health_check_path, deletion_protection=s.deletion_protection,
        log_retention_days=s.log_retention_days, region=s.region), opts=layer)
# --- end backend selection ---
# The node fleet (setting `nodeFleet`): an ECS Fargate service or an EC2 Auto Scaling group.
nodes = node_fleets.build("node", s, network, edge, app, layer)
ops = Operations("ops", OperationsArgs(
    region=s.region, alarm_topic_arn=s.ops.alarm_topic_arn, aws_config_rules=s.ops.aws_config_rules,
    vpc_id=network.vpc_id,
    # The node group and every group the backend is reached through (its own, or foreign ones).
    watched_security_group_ids=[nodes.security_group.id,
                                *(peer.security_group_id for peer in app.peers if peer.security_group_id),
                                *([app.task_security_group.id] if hasattr(app, "task_security_group") else [])],
    node_target_label=nodes.request_count_label,
    # WAF metrics of a regional web ACL (a CloudFront one reports in us-east-1, not alarmed here).
    web_acl_name=entries.regional_web_acl_name(edge)), opts=layer)
entry_url = edge.url
if s.ops.domain_name:
    domain = CustomDomain("edge-domain", CustomDomainArgs(
        domain_name=s.ops.domain_name, hosted_zone_id=s.ops.hosted_zone_id,
        entry_dns_name=edge.load_balancer.dns_name, entry_zone_id=edge.load_balancer.zone_id,
        https_listener_arn=edge.https_listener.arn if edge.https_listener else None), opts=layer)
    entry_url = domain.url

pulumi.export("entryUrl", entry_url)
pulumi.export("appInternalAddress", app.address)
pulumi.export("webAclArn", entries.web_acl_arn(edge))
if s.node_fleet == "ec2":
    pulumi.export("nodeAutoScalingGroupName", nodes.auto_scaling_group.name)
else:
    pulumi.export("nodeServiceName", nodes.service.name)
if network.declared is not None:
    # What the post-deploy verification checks against the account (DescribeVpcs/DescribeSubnets).
    pulumi.export("declaredNetwork", network.declared)
pulumi.export("alarmTopicArn", ops.topic_arn)
if s.entry.kind != "alb" and getattr(edge, "dns_target", None) is not None:
    pulumi.export("entryDnsTarget", edge.dns_target)  # where the entry's DNS names must point
