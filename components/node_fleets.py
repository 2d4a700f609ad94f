"""Node layer: `build()` picks the fleet the stack's `nodeFleet` setting names (ECS Fargate service
of the wallarm/node image, or EC2 Auto Scaling group of Wallarm's AMI) and configures it from the
(validated) settings. Both expose what the other layers use: `security_group`, `service_name`,
`request_count_label`."""

from __future__ import annotations

import pulumi

from .interfaces import Entry, Upstream
from .network import Network
from .node_fleet import NodeFleet, NodeFleetArgs
from .node_fleet_ec2 import Ec2NodeFleet, Ec2NodeFleetArgs
from .settings import Settings

Fleet = NodeFleet | Ec2NodeFleet


def build(name: str, s: Settings, network: Network, edge: Entry, app: Upstream,
          opts: pulumi.ResourceOptions) -> Fleet:
    # What both node forms take from the settings alike: the node's Wallarm configuration, the
    # token, scaling, logs and the fail-closed/mode-lock operations settings.
    common = dict(
        wallarm_mode=s.wallarm_mode, wallarm_api_host=s.wallarm_api_host,
        wallarm_application=s.wallarm_application,
        token=s.wallarm_token, token_secret_arn=s.wallarm_token_secret_arn,
        min_count=s.node_min_count, max_count=s.node_max_count,
        health_check_grace_period=s.node_health_check_grace_period,
        log_retention_days=s.log_retention_days, region=s.region,
        mode_allow_override=s.ops.wallarm_mode_allow_override, fail_closed=s.ops.node_fail_closed,
        max_body_size_mib=s.ops.node_max_body_size_mib,
        token_kms_key_arn=s.ops.wallarm_token_kms_key_arn,
        wait_for_steady_state=s.ops.wait_for_steady_state)
    if s.node_fleet == "ec2":
        return Ec2NodeFleet(name, network, entry=edge, upstream=app, args=Ec2NodeFleetArgs(
            instance_type=s.ec2_fleet.instance_type, ami_id=s.ec2_fleet.ami_id,
            ami_owner=s.ec2_fleet.ami_owner, ami_name_pattern=s.ec2_fleet.ami_name_pattern,
            volume_size_gib=s.ec2_fleet.volume_size_gib, **common), opts=opts)
    return NodeFleet(name, network, entry=edge, upstream=app, args=NodeFleetArgs(
        image=s.node_image, cpu=s.node_cpu, memory=s.node_memory,
        slab_alloc_arena_gb=s.slab_alloc_arena_gb,
        pull_through_prefix=s.ops.node_image_pull_through_prefix,
        docker_hub_credential_arn=s.ops.docker_hub_credential_arn, **common), opts=opts)
