"""App layer: the protected backend, an internal ALB in front of an ECS Fargate service.

It is an `Upstream` (see interfaces.py): the nodes reach it at `host:port` and it admits them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import fargate
from .interfaces import UpstreamPeer
from .network import Network
from .tagging import layer_tags

LAYER = "app"
APP_CONTAINER = "app"
# The default echo server is tiny; the smallest Fargate size fits it.
APP_CPU = 256
APP_MEMORY = 512


@dataclass(frozen=True)
class InternalAppArgs:
    image: str
    port: int
    count: int
    health_check_path: str
    deletion_protection: bool
    log_retention_days: int
    region: str


class InternalApp(pulumi.ComponentResource):
    security_group: aws.ec2.SecurityGroup       # the internal ALB's: what the nodes must reach
    task_security_group: aws.ec2.SecurityGroup
    load_balancer: aws.lb.LoadBalancer
    service: aws.ecs.Service

    # HTTP inside the VPC: the listener is reachable only from the node security group, on a
    # private address. TLS here would need a certificate for a name the nodes verify (a private
    # CA), which this stack does not run yet; the public hop is TLS-only.
    scheme = "http"
    host_header = None      # the client's Host is passed on
    path_prefix = ""
    headers: dict[str, str] = {}
    tls = None

    def __init__(self, name: str, network: Network, args: InternalAppArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("layerguard:app:InternalApp", name, None, opts)
        self._name = name
        self.port = args.port
        child = pulumi.ResourceOptions(parent=self)
        tags = self._tags

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-alb-sg", vpc_id=network.vpc_id,
            description="Internal app ALB: in from the nodes only; out to the app tasks only",
            tags=tags("alb-sg"), opts=child)
        self.task_security_group = aws.ec2.SecurityGroup(
            f"{name}-task-sg", vpc_id=network.vpc_id,
            description="App tasks: in from the internal ALB only",
            tags=tags("task-sg"), opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-out-tasks", security_group_id=self.security_group.id,
            referenced_security_group_id=self.task_security_group.id, ip_protocol="tcp",
            from_port=args.port, to_port=args.port, description="Internal ALB to the app tasks",
            tags=tags("alb-out-tasks"), opts=child)
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-task-in-alb", security_group_id=self.task_security_group.id,
            referenced_security_group_id=self.security_group.id, ip_protocol="tcp",
            from_port=args.port, to_port=args.port, description="Internal ALB to the app tasks",
            tags=tags("task-in-alb"), opts=child)
        # Fargate pulls the image and ships logs through the task's own network interface.
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-task-out-https", security_group_id=self.task_security_group.id,
            cidr_ipv4="0.0.0.0/0", ip_protocol="tcp", from_port=443, to_port=443,
            description="Image registry and CloudWatch Logs over HTTPS",
            tags=tags("task-out-https"), opts=child)

        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb", load_balancer_type="application", internal=True,
            subnets=network.private_subnet_ids, security_groups=[self.security_group.id],
            drop_invalid_header_fields=True, desync_mitigation_mode="strictest",
            xff_header_processing_mode="append", enable_deletion_protection=args.deletion_protection,
            tags=tags("alb"), opts=child)
        self.target_group = aws.lb.TargetGroup(
            f"{name}-tg", target_type="ip", protocol="HTTP", port=args.port,
            vpc_id=network.vpc_id, deregistration_delay=30,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True, protocol="HTTP", path=args.health_check_path, port="traffic-port",
                matcher="200-399", interval=15, timeout=5, healthy_threshold=2,
                unhealthy_threshold=3),
            tags=tags("tg"), opts=child)
        self.listener = aws.lb.Listener(
            f"{name}-listener", load_balancer_arn=self.load_balancer.arn, port=args.port,
            protocol="HTTP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="forward", target_group_arn=self.target_group.arn)],
            tags=tags("listener"), opts=child)

        # An explicit name keeps the container definitions known at preview, so policies can read them.
        log_group_name = f"/{pulumi.get_project()}/{pulumi.get_stack()}/{name}"
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=log_group_name,
            retention_in_days=args.log_retention_days, tags=tags("logs"), opts=child)
        roles = fargate.TaskRoles(name, LAYER, args.region, self.log_group, parent=self)
        self.cluster = fargate.cluster(f"{name}-cluster", LAYER, parent=self)
        containers = json.dumps([{
            "name": APP_CONTAINER,
            "image": args.image,
            "essential": True,
            "portMappings": [{"containerPort": args.port, "protocol": "tcp"}],
            "environment": [{"name": "PORT", "value": str(args.port)}],
            "logConfiguration": fargate.awslogs(log_group_name, args.region, "app"),
        }])
        self.task_definition = aws.ecs.TaskDefinition(
            f"{name}-task", family=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            cpu=str(APP_CPU), memory=str(APP_MEMORY), network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture="X86_64"),
            execution_role_arn=roles.execution_role.arn, task_role_arn=roles.task_role.arn,
            container_definitions=containers, tags=tags("task"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group]))
        self.service = fargate.service(
            f"{name}-service", LAYER, cluster_arn=self.cluster.arn,
            task_definition_arn=self.task_definition.arn, desired_count=args.count,
            subnet_ids=network.private_subnet_ids, security_group_id=self.task_security_group.id,
            target_group_arn=self.target_group.arn, container_name=APP_CONTAINER,
            container_port=args.port, grace_period=60, parent=self,
            depends_on=[self.listener, roles.execution_policy], scaled=False)

        # The nodes proxy to this name, an alias of the internal ALB's DNS name in the private zone.
        fqdn = f"{name}.{network.internal_domain}"
        self.dns_record = aws.route53.Record(
            f"{name}-dns", zone_id=network.internal_zone.zone_id, name=fqdn, type="A",
            aliases=[aws.route53.RecordAliasArgs(name=self.load_balancer.dns_name,
                                                 zone_id=self.load_balancer.zone_id,
                                                 evaluate_target_health=True)],
            opts=child)
        self.host = pulumi.Output.from_input(fqdn)
        self.peers = [UpstreamPeer("Nodes to the upstream", security_group_id=self.security_group.id)]
        self.ready = [self.listener, self.dns_record]
        self.address = pulumi.Output.concat(self.scheme, "://", self.host, ":", str(args.port))
        self.register_outputs({
            "address": self.address,
            "loadBalancerDnsName": self.load_balancer.dns_name,
            "loadBalancerArn": self.load_balancer.arn,
            "securityGroupId": self.security_group.id,
            "serviceName": self.service.name,
        })

    def _tags(self, suffix: str) -> dict[str, str]:
        return layer_tags(LAYER, f"{self._name}-{suffix}")

    def admit(self, name: str, security_group: aws.ec2.SecurityGroup) -> None:
        """Open the internal ALB to `security_group` on the app port; nothing else gets in."""
        aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-alb-in-{name}", security_group_id=self.security_group.id,
            referenced_security_group_id=security_group.id, ip_protocol="tcp",
            from_port=self.port, to_port=self.port, description=f"{name} to the internal ALB",
            tags=self._tags(f"alb-in-{name}"), opts=pulumi.ResourceOptions(parent=self))
