"""What every load-balancing entry adds in front of the node fleet: the one egress rule of its
security group (to the nodes' group, on the nodes' port) and the target group of the node tasks.

Shared by the edge ALB, the NLB and an adopted ALB, so the path the pack proves is built one way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws

from ..interfaces import NodeTarget


def egress_to_nodes(name: str, short: str, who: str, security_group_id: pulumi.Input[str], target: NodeTarget,
                    tags: Callable[[str], dict], opts: pulumi.ResourceOptions) -> aws.vpc.SecurityGroupEgressRule:
    """`<name>-<short>-out-<target>`: the entry's group may reach the nodes' group on their port, and
    nothing else (the entry's group has no other egress)."""
    return aws.vpc.SecurityGroupEgressRule(
        f"{name}-{short}-out-{target.name}", security_group_id=security_group_id,
        referenced_security_group_id=target.security_group.id, ip_protocol="tcp",
        from_port=target.port, to_port=target.port,
        description=f"{who} to {target.name} on {target.port}",
        tags=tags(f"{short}-out-{target.name}"), opts=opts)


def node_target_group(name: str, target: NodeTarget, vpc_id: pulumi.Input[str], tags: Callable[[str], dict],
                      opts: pulumi.ResourceOptions, *, protocol: str = "HTTP", interval: int = 15,
                      unhealthy_threshold: int = 3, **extra: Any) -> aws.lb.TargetGroup:
    """`<name>-<target>-tg`: the nodes (tasks by IP, or instances), health-checked over HTTP on the
    nodes' health path (an NLB's TCP group checks HTTP too: a node that answers TCP but not
    `/healthz` gets no traffic)."""
    return aws.lb.TargetGroup(
        f"{name}-{target.name}-tg", target_type=target.target_type, protocol=protocol, port=target.port,
        vpc_id=vpc_id, deregistration_delay=30, **extra,
        health_check=aws.lb.TargetGroupHealthCheckArgs(
            enabled=True, protocol="HTTP", path=target.health_check_path, port="traffic-port",
            matcher="200", interval=interval, timeout=5, healthy_threshold=2,
            unhealthy_threshold=unhealthy_threshold),
        tags=tags(f"{target.name}-tg"), opts=opts)
