"""Network layer: the VPC, public and private subnets across AZs, egress through NAT, flow logs.

With an existing network (`network: existing`) the layer creates no network resource: it hands the
declared VPC and subnet ids to the other layers and declares their CIDRs and zones in its outputs
(`declaredNetwork`), which is what the policy pack reads about a network it cannot see.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .settings import ExistingNetwork
from .tagging import layer_tags

LAYER = "network"


@dataclass(frozen=True)
class NetworkArgs:
    cidr: str
    az_count: int
    nat_per_az: bool
    log_retention_days: int
    # Set: use this VPC and these subnets; create none of the above.
    existing: ExistingNetwork | None = None


def split_cidr(cidr: str, az_count: int) -> tuple[list[str], list[str]]:
    """Public and private subnet CIDRs: eight equal slices, public from the first half."""
    network = ipaddress.ip_network(cidr)
    slices = list(network.subnets(new_prefix=network.prefixlen + 3))
    return ([str(s) for s in slices[:az_count]], [str(s) for s in slices[4:4 + az_count]])


class Network(pulumi.ComponentResource):
    vpc: aws.ec2.Vpc
    public_subnets: list[aws.ec2.Subnet]
    private_subnets: list[aws.ec2.Subnet]
    public_subnet_cidrs: list[str]
    private_subnet_cidrs: list[str]

    def __init__(self, name: str, args: NetworkArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("layerguard:network:Network", name, None, opts)
        if args.existing is not None:
            self._adopt(name, args.existing)
            return
        child = pulumi.ResourceOptions(parent=self)

        def tags(suffix: str) -> dict[str, str]:
            return layer_tags(LAYER, f"{name}-{suffix}")

        zones = aws.get_availability_zones(state="available",
                                           opts=pulumi.InvokeOptions(parent=self))
        if len(zones.names) < args.az_count:
            raise ValueError(f"the region offers {len(zones.names)} availability zones; "
                             f"azCount asks for {args.az_count}")
        self.availability_zones = list(zones.names[:args.az_count])
        self.public_subnet_cidrs, self.private_subnet_cidrs = split_cidr(args.cidr, args.az_count)

        self.vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr, enable_dns_support=True,
                               enable_dns_hostnames=True, tags=tags("vpc"), opts=child)
        # The default security group is open inside itself; strip it so nothing can fall back on it.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=self.vpc.id, ingress=[], egress=[],
                                     tags=tags("default-sg"), opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags=tags("igw"), opts=child)

        self.public_subnets, self.private_subnets = [], []
        for i, zone in enumerate(self.availability_zones):
            # No automatic public IPs even in public subnets: only the edge ALB and NAT are public.
            self.public_subnets.append(aws.ec2.Subnet(
                f"{name}-public-{i}", vpc_id=self.vpc.id, cidr_block=self.public_subnet_cidrs[i],
                availability_zone=zone, map_public_ip_on_launch=False,
                tags=tags(f"public-{zone}"), opts=child))
            self.private_subnets.append(aws.ec2.Subnet(
                f"{name}-private-{i}", vpc_id=self.vpc.id, cidr_block=self.private_subnet_cidrs[i],
                availability_zone=zone, map_public_ip_on_launch=False,
                tags=tags(f"private-{zone}"), opts=child))

        public_routes = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags=tags("public-rt"), opts=child)
        for i, subnet in enumerate(self.public_subnets):
            aws.ec2.RouteTableAssociation(f"{name}-public-rta-{i}", subnet_id=subnet.id,
                                          route_table_id=public_routes.id, opts=child)

        # One NAT gateway is cheaper; one per AZ keeps egress up when an AZ fails.
        nat_count = args.az_count if args.nat_per_az else 1
        self.nat_gateways = []
        for i in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-eip-{i}", domain="vpc", tags=tags(f"nat-eip-{i}"),
                              opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]))
            self.nat_gateways.append(aws.ec2.NatGateway(
                f"{name}-nat-{i}", allocation_id=eip.id, subnet_id=self.public_subnets[i].id,
                tags=tags(f"nat-{i}"), opts=pulumi.ResourceOptions(parent=self, depends_on=[igw])))
        for i, subnet in enumerate(self.private_subnets):
            nat = self.nat_gateways[i % nat_count]
            routes = aws.ec2.RouteTable(
                f"{name}-private-rt-{i}", vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags=tags(f"private-rt-{i}"), opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-rta-{i}", subnet_id=subnet.id,
                                          route_table_id=routes.id, opts=child)

        self.flow_log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs", name=f"/{pulumi.get_project()}/{pulumi.get_stack()}/{name}/flow-logs",
            retention_in_days=args.log_retention_days,
            tags=tags("flow-logs"), opts=child)
        flow_role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                               "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}}],
            }),
            tags=tags("flow-logs-role"), opts=child)
        aws.iam.RolePolicy(
            f"{name}-flow-logs-write", role=flow_role.id,
            policy=self.flow_log_group.arn.apply(lambda arn: json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents",
                               "logs:DescribeLogStreams"],
                    "Resource": [arn, f"{arn}:log-stream:*"],
                }],
            })),
            opts=child)
        self.flow_log = aws.ec2.FlowLog(
            f"{name}-flow-log", vpc_id=self.vpc.id, traffic_type="ALL",
            log_destination_type="cloud-watch-logs", log_destination=self.flow_log_group.arn,
            iam_role_arn=flow_role.arn, max_aggregation_interval=60,
            tags=tags("flow-log"), opts=child)

        self._internal_zone(name, self.vpc.id)

        self.vpc_id = self.vpc.id
        self.vpc_cidrs = [args.cidr]
        self.declared = None
        self.public_subnet_ids = [s.id for s in self.public_subnets]
        self.private_subnet_ids = [s.id for s in self.private_subnets]
        self.register_outputs({
            "vpcId": self.vpc.id,
            "publicSubnetIds": self.public_subnet_ids,
            "privateSubnetIds": self.private_subnet_ids,
            "natGatewayIds": [n.id for n in self.nat_gateways],
            "flowLogId": self.flow_log.id,
            "internalZoneId": self.internal_zone.zone_id,
        })

    def _internal_zone(self, name: str, vpc_id: pulumi.Input[str]) -> None:
        # A private zone gives internal services stable names, known before they exist (so the
        # nodes' configuration is readable at preview) and kept when a backend is replaced.
        self.internal_domain = f"{pulumi.get_stack()}.{pulumi.get_project()}.internal"
        self.internal_zone = aws.route53.Zone(
            f"{name}-internal-zone", name=self.internal_domain,
            comment="layerguard internal service names", vpcs=[aws.route53.ZoneVpcArgs(vpc_id=vpc_id)],
            tags=layer_tags(LAYER, f"{name}-internal-zone"), opts=pulumi.ResourceOptions(parent=self))

    def _adopt(self, name: str, existing: ExistingNetwork) -> None:
        """Use a VPC and subnets the stack does not own: no VPC, subnet, route, NAT or flow log is
        created or changed (their owner keeps them). Only the stack's own private DNS zone is
        associated with the VPC, which answers for `*.<stack>.<project>.internal` and nothing else."""
        self.vpc = None
        self.public_subnets, self.private_subnets, self.nat_gateways = [], [], []
        self.flow_log = self.flow_log_group = None
        self.availability_zones = [s.az for s in existing.private_subnets]
        self.public_subnet_cidrs = [s.cidr for s in existing.public_subnets]
        self.private_subnet_cidrs = [s.cidr for s in existing.private_subnets]
        self.vpc_id = pulumi.Output.from_input(existing.vpc_id)
        self.public_subnet_ids = [s.id for s in existing.public_subnets]
        self.private_subnet_ids = [s.id for s in existing.private_subnets]
        self.vpc_cidrs = list(existing.vpc_cidrs)
        self._internal_zone(name, existing.vpc_id)
        self.declared = declared_network(existing)
        self.register_outputs({
            "vpcId": existing.vpc_id,
            "publicSubnetIds": self.public_subnet_ids,
            "privateSubnetIds": self.private_subnet_ids,
            "internalZoneId": self.internal_zone.zone_id,
            DECLARED_NETWORK: self.declared,
        })


# The output key under which a `layerguard:network:*` component declares a network it does not own.
DECLARED_NETWORK = "declaredNetwork"


def declared_network(existing: ExistingNetwork) -> dict:
    """The declaration the policy pack reads (docs/CONTRACTS.md, "Declared networks")."""
    def subnets(decls, public: bool) -> list[dict]:
        return [{"id": s.id, "cidrBlock": s.cidr, "availabilityZone": s.az, "public": public}
                for s in decls]
    return {"vpcId": existing.vpc_id, "cidrBlocks": list(existing.vpc_cidrs),
            "subnets": subnets(existing.public_subnets, True) + subnets(existing.private_subnets, False)}
