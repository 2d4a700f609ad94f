"""layerguard: internet -> entry + AWS WAF [edge] -> Wallarm node fleet [node] -> internal app [app]."""

import pulumi
import pulumi_aws as aws

from components import entries
from components import settings as stack_settings
from components.app import InternalApp, InternalAppArgs
from components.network import Network, NetworkArgs
from components.node_fleet import NodeFleet, NodeFleetArgs

s = stack_settings.load()

default_tags = aws.ProviderDefaultTagsArgs(tags={
    "layerguard:project": s.project, "layerguard:stack": s.stack,
    "layerguard:environment": s.environment})
provider = aws.Provider("aws", region=s.region, default_tags=default_tags)
layer = pulumi.ResourceOptions(providers=[provider])

network = Network("network", NetworkArgs(
    cidr=s.vpc_cidr, az_count=s.az_count, nat_per_az=s.nat_per_az,
    log_retention_days=s.log_retention_days), opts=layer)
# The entry (settings `entry`): alb, cloudfront, nlb or apigateway; see components/entries/.
edge = entries.build("edge", s, network, default_tags, layer)
app = InternalApp("app", network, InternalAppArgs(
    image=s.app_image, port=s.app_port, count=s.app_count,
    health_check_path=s.app_health_check_path, deletion_protection=s.deletion_protection,
    log_retention_days=s.log_retention_days, region=s.region), opts=layer)
nodes = NodeFleet("node", network, entry=edge, upstream=app, args=NodeFleetArgs(
    image=s.node_image, cpu=s.node_cpu, memory=s.node_memory,
    slab_alloc_arena_gb=s.slab_alloc_arena_gb, wallarm_mode=s.wallarm_mode,
    wallarm_api_host=s.wallarm_api_host, wallarm_application=s.wallarm_application,
    token=s.wallarm_token, token_secret_arn=s.wallarm_token_secret_arn,
    min_count=s.node_min_count, max_count=s.node_max_count,
    health_check_grace_period=s.node_health_check_grace_period,
    log_retention_days=s.log_retention_days, region=s.region), opts=layer)

pulumi.export("entryUrl", edge.url)
pulumi.export("appInternalAddress", app.address)
pulumi.export("webAclArn", entries.web_acl_arn(edge))
pulumi.export("nodeServiceName", nodes.service.name)
if s.entry.kind != "alb" and getattr(edge, "dns_target", None) is not None:
    pulumi.export("entryDnsTarget", edge.dns_target)  # where the entry's DNS names must point
