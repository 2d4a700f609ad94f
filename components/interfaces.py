"""What the node fleet needs from the layer in front of it and from the layer behind it.

The fleet depends on these two small protocols, never on a concrete entry or backend class, so an
ALB perimeter can later give way to CloudFront, an NLB or API Gateway, and the internal ALB to an
existing gateway, without touching `node_fleet.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class NodeTarget:
    """How the entry reaches the nodes: their port, health path and security group."""

    name: str
    port: int
    health_check_path: str
    security_group: aws.ec2.SecurityGroup
    # How the target group names the nodes: "ip" (ECS tasks in awsvpc mode) or "instance" (EC2
    # instances an Auto Scaling group registers through its target_group_arns).
    target_type: str = "ip"


@dataclass(frozen=True)
class EntryAttachment:
    """What the entry hands back once it routes to the nodes."""

    target_group_arn: pulumi.Output[str]
    # Resources the node service must wait for (ECS refuses a target group no listener uses).
    ready: Sequence[pulumi.Resource] = field(default_factory=tuple)
    # `app/<alb>/<id>/targetgroup/<tg>/<id>` for ALBRequestCountPerTarget; None when the entry is
    # not an ALB and request-count scaling does not apply.
    request_count_label: pulumi.Output[str] | None = None
    # The networks the entry's proxies connect from: the nodes trust X-Forwarded-For from these only.
    trusted_proxy_cidrs: Sequence[str] = ()


class Entry(Protocol):
    """The layer in front of the nodes (edge)."""

    security_group: aws.ec2.SecurityGroup

    def attach(self, target: NodeTarget) -> EntryAttachment:
        """Route the entry's traffic to the nodes and open its egress to `target.security_group`."""
        ...


@dataclass(frozen=True)
class UpstreamPeer:
    """Where the nodes' egress to the backend may go: one security group (the stack's own, or the
    id of one it does not own) or one CIDR, on the upstream's port."""

    description: str
    security_group_id: pulumi.Input[str] | None = None
    cidr: str | None = None


@dataclass(frozen=True)
class UpstreamTls:
    """How the nodes check the backend's certificate when the scheme is https."""

    verify: bool
    server_name: str            # SNI and the name the certificate must carry
    ca_bundle: str | None       # PEM of the trusted CAs; None: the node image's system store


class Upstream(Protocol):
    """The layer behind the nodes (the protected backend)."""

    host: pulumi.Output[str]
    port: int
    scheme: str
    # The nodes' egress rules to the backend, one per peer.
    peers: Sequence[UpstreamPeer]
    # The Host header the nodes send; None passes on the client's.
    host_header: str | None
    # Prepended to every request path ("" or e.g. "/prod" for an API Gateway stage).
    path_prefix: str
    # Further request headers the backend needs (e.g. x-apigw-api-id).
    headers: Mapping[str, str]
    # None with scheme http.
    tls: UpstreamTls | None
    # Resources that must exist before the nodes send traffic (the listener, the DNS name).
    ready: Sequence[pulumi.Resource]

    def admit(self, name: str, security_group: aws.ec2.SecurityGroup) -> None:
        """Accept traffic from `security_group` (the nodes) on `port`, and from nothing else."""
        ...
