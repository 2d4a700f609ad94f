"""Entry `nlb`: a network load balancer in front of the nodes, created with a security group (an
NLB made without one can never get one), and network ACLs on the private subnets as the AWS routing
guide shows. Also the internal NLB behind the `apigateway` entry's VPC link.

An NLB cannot carry AWS WAF. Internet-facing, it is either an origin of a CloudFront distribution
with a CLOUDFRONT web ACL (its security group then admits only CloudFront's origin-facing prefix
list), or it runs without WAF under an explicit exemption, tagged `layerguard:waf-exemption` with
the reason so the policy pack can report it on every preview.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..interfaces import EntryAttachment, NodeTarget
from ..network import Network
from ..tagging import layer_tags
from .node_targets import egress_to_nodes, node_target_group

LAYER = "edge"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# The tag the policy pack reads on an internet-facing NLB that runs without AWS WAF.
WAF_EXEMPTION_TAG = "layerguard:waf-exemption"
# No proxy in front of the nodes writes a trustworthy X-Forwarded-For: the node trusts loopback only.
NO_TRUSTED_PROXY = ("127.0.0.1/32",)
INTERNET = "0.0.0.0/0"


@dataclass(frozen=True)
class NlbPerimeterArgs:
    deletion_protection: bool
    # internal: the API Gateway VPC link's target (TCP listener, no internet source at all).
    internal: bool = False
    # internet-facing only: the TLS listener's certificate (regional ACM).
    certificate_arn: str | None = None
    # Targets see the client's address (or CloudFront's) instead of the NLB's.
    client_ip_preservation: bool = False
    # internet-facing: the CloudFront origin-facing prefix list when CloudFront is in front,
    # None when the NLB faces the internet directly (then `waf_exemption_reason` is required).
    cloudfront_prefix_list_id: pulumi.Input[str] | None = None
    waf_exemption_reason: str | None = None
    # internet-facing: network ACLs on the private subnets (nodes and app), as the guide shows.
    app_port: int | None = None
    # A CloudFront VPC origin: the NLB is internal (private subnets) and only CloudFront reaches it.
    # An NLB cannot check CloudFront's secret header, and the origin-facing prefix list admits every
    # distribution (an attacker's too), so an NLB behind CloudFront is never internet-facing.
    vpc_origin: bool = False


class NlbPerimeter(pulumi.ComponentResource):
    """An `Entry` (see interfaces.py): internet (or a VPC link) -> NLB -> whatever attaches to it."""

    security_group: aws.ec2.SecurityGroup
    load_balancer: aws.lb.LoadBalancer

    def __init__(self, name: str, network: Network, args: NlbPerimeterArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("layerguard:edge:NlbPerimeter", name, None, opts)
        private = args.internal or args.vpc_origin
        if args.vpc_origin and args.cloudfront_prefix_list_id is None:
            raise ValueError(f"{name}: a VPC origin NLB admits CloudFront's origin-facing prefix list")
        if not args.internal:
            if not args.certificate_arn:
                raise ValueError(f"{name}: an internet-facing NLB needs a TLS certificate")
            if (args.cloudfront_prefix_list_id is None) == (args.waf_exemption_reason is None):
                raise ValueError(f"{name}: give exactly one of cloudfront_prefix_list_id and "
                                 "waf_exemption_reason (an NLB cannot carry AWS WAF)")
        self._name, self._args, self._network = name, args, network
        self._attached = False
        child = pulumi.ResourceOptions(parent=self)

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-nlb-sg", vpc_id=network.vpc_id,
            description=("Internal NLB behind the API Gateway VPC link: no inbound rule (PrivateLink "
                         "traffic is not filtered by it); out only to the nodes") if args.internal else
                        "Edge NLB: TLS from " + ("CloudFront's origin-facing addresses"
                                                 if args.cloudfront_prefix_list_id is not None
                                                 else "the internet") + "; out only to the nodes",
            tags=self._tags("nlb-sg"), opts=child)
        if not args.internal:
            source = ({"prefix_list_id": args.cloudfront_prefix_list_id}
                      if args.cloudfront_prefix_list_id is not None else {"cidr_ipv4": INTERNET})
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-nlb-in-443", security_group_id=self.security_group.id, ip_protocol="tcp",
                from_port=443, to_port=443, description="TLS clients to the edge NLB on 443",
                tags=self._tags("nlb-in-443"), opts=child, **source)

        tags = self._tags("nlb")
        if args.waf_exemption_reason is not None:
            tags[WAF_EXEMPTION_TAG] = args.waf_exemption_reason
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-nlb", load_balancer_type="network", internal=private,
            ip_address_type="ipv4",
            subnets=network.private_subnet_ids if private else network.public_subnet_ids,
            security_groups=[self.security_group.id],
            # A VPC link reaches the NLB through PrivateLink; its traffic is not matched against
            # the security group (which admits nothing), everything else is.
            enforce_security_group_inbound_rules_on_private_link_traffic=(
                "off" if args.internal else "on"),
            enable_cross_zone_load_balancing=True,
            enable_deletion_protection=args.deletion_protection, tags=tags, opts=child)

        if not args.internal and args.app_port is not None:
            self._network_acl(args.app_port)

        self.url = pulumi.Output.concat("https://", self.load_balancer.dns_name)
        self.dns_target = self.load_balancer.dns_name
        self.register_outputs({
            "loadBalancerArn": self.load_balancer.arn,
            "dnsName": self.load_balancer.dns_name,
            "securityGroupId": self.security_group.id,
        })

    def _tags(self, suffix: str) -> dict[str, str]:
        return layer_tags(LAYER, f"{self._name}-{suffix}")

    def _network_acl(self, app_port: int) -> None:
        """The guide's NACL on the application subnets: the app port only from the node subnets,
        the node port from where the NLB's connections come from, return traffic, deny the rest.
        Nodes and app share the private subnets today, so the node subnets are those subnets."""
        network, args = self._network, self._args
        # Without client IP preservation the nodes see the NLB's own addresses, in the subnets it is in.
        node_port_sources = [INTERNET] if args.client_ip_preservation \
            else list(network.private_subnet_cidrs if args.vpc_origin else network.public_subnet_cidrs)
        ingress, number = [], 100
        for cidr in network.private_subnet_cidrs:
            ingress.append(aws.ec2.NetworkAclIngressArgs(
                rule_no=number, action="allow", protocol="tcp", cidr_block=cidr,
                from_port=app_port, to_port=app_port))
            number += 1
        ingress.append(aws.ec2.NetworkAclIngressArgs(
            rule_no=190, action="deny", protocol="tcp", cidr_block=INTERNET,
            from_port=app_port, to_port=app_port))
        for i, cidr in enumerate(node_port_sources):
            ingress.append(aws.ec2.NetworkAclIngressArgs(
                rule_no=200 + i, action="allow", protocol="tcp", cidr_block=cidr,
                from_port=80, to_port=80))
        # Stateless: answers to the nodes' and tasks' own connections (NAT, internal ALB).
        ingress.append(aws.ec2.NetworkAclIngressArgs(
            rule_no=300, action="allow", protocol="tcp", cidr_block=INTERNET,
            from_port=1024, to_port=65535))
        self.network_acl = aws.ec2.NetworkAcl(
            f"{self._name}-private-nacl", vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids, ingress=ingress,
            egress=[aws.ec2.NetworkAclEgressArgs(
                rule_no=100, action="allow", protocol="-1", cidr_block=INTERNET,
                from_port=0, to_port=0)],
            tags=self._tags("private-nacl"), opts=pulumi.ResourceOptions(parent=self))

    def attach(self, target: NodeTarget) -> EntryAttachment:
        """A TCP target group of the nodes behind the TLS (or, internal, TCP) listener."""
        if self._attached:
            raise ValueError(f"{self._name}: the NLB already routes to a target")
        self._attached = True
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        egress_to_nodes(name, "nlb", "Edge NLB", self.security_group.id, target, self._tags, child)
        self.target_group = node_target_group(
            name, target, self._network.vpc_id, self._tags, child, protocol="TCP", interval=10,
            unhealthy_threshold=2, preserve_client_ip="true" if args.client_ip_preservation else "false",
            proxy_protocol_v2=False)
        forward = [aws.lb.ListenerDefaultActionArgs(type="forward",
                                                    target_group_arn=self.target_group.arn)]
        if args.internal:
            self.listener = aws.lb.Listener(
                f"{name}-tcp", load_balancer_arn=self.load_balancer.arn, port=80, protocol="TCP",
                default_actions=forward, tags=self._tags("tcp"), opts=child)
        else:
            self.listener = aws.lb.Listener(
                f"{name}-tls", load_balancer_arn=self.load_balancer.arn, port=443, protocol="TLS",
                ssl_policy=TLS_POLICY, certificate_arn=args.certificate_arn,
                default_actions=forward, tags=self._tags("tls"), opts=child)
        return EntryAttachment(target_group_arn=self.target_group.arn, ready=[self.listener],
                               trusted_proxy_cidrs=self.trusted_proxy_cidrs())

    def trusted_proxy_cidrs(self) -> Sequence[str]:
        """Where an X-Forwarded-For the nodes may believe comes from. Without client IP
        preservation the node sees the NLB's address; the header behind it was written by
        CloudFront (trustworthy) or by API Gateway (internal NLB), but by the client itself when
        the NLB faces the internet directly. With preservation the node sees the client (or
        CloudFront's edge) and no header is to be believed."""
        args, network = self._args, self._network
        if args.internal or (args.vpc_origin and not args.client_ip_preservation):
            return tuple(network.private_subnet_cidrs)
        if args.cloudfront_prefix_list_id is not None and not args.client_ip_preservation:
            return tuple(network.public_subnet_cidrs)
        return NO_TRUSTED_PROXY
