"""Node layer: an ECS Fargate fleet of Wallarm filtering nodes, inline between entry and upstream.

The fleet knows its neighbours only through `interfaces.Entry` and `interfaces.Upstream`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import fargate
from .interfaces import Entry, EntryAttachment, NodeTarget, Upstream
from .network import Network
from .nginx_conf import HEALTH_PATH, SYSTEM_CA_BUNDLE, UPSTREAM_CA_FILE, render_node_vhost
from .partition import dns_suffix, partition
from .tagging import layer_tags

LAYER = "node"
NODE_PORT = 80
NODE_CONTAINER = "wallarm-node"
VHOST_CONTAINER = "nginx-vhost"
VHOST_VOLUME = "nginx-http-d"
# A small public image from ECR Public (no Docker Hub pull limits) to write the vhost file.
VHOST_WRITER_IMAGE = "public.ecr.aws/docker/library/busybox:1.36"
# Wallarm sizes a node at about 500 requests per second per vCPU; scale out at half of that.
REQUESTS_PER_VCPU_PER_SECOND = 500
SCALE_AT_FRACTION = 0.5
CPU_TARGET_PERCENT = 60.0


@dataclass(frozen=True)
class NodeFleetArgs:
    image: str
    cpu: int
    memory: int
    slab_alloc_arena_gb: str
    wallarm_mode: str
    wallarm_api_host: str
    wallarm_application: int
    # Exactly one: a secret Output holding the token, or the ARN of a secret that already holds it.
    token: pulumi.Output[str] | None
    token_secret_arn: str | None
    min_count: int
    max_count: int
    health_check_grace_period: int
    log_retention_days: int
    region: str
    # The mode we set is the mode that runs: strict (the Cloud may only tighten) or off.
    mode_allow_override: str = "strict"
    # Fail closed: no fallback to unfiltered proxying; the health check follows readiness.
    fail_closed: bool = True
    max_body_size_mib: int = 16
    # ECR pull-through cache for Docker Hub: the repository prefix and the credentials secret.
    pull_through_prefix: str | None = None
    docker_hub_credential_arn: str | None = None
    # A customer-managed KMS key on token_secret_arn: the execution role may decrypt with it.
    token_kms_key_arn: str | None = None
    wait_for_steady_state: bool = False


class NodeFleet(pulumi.ComponentResource):
    security_group: aws.ec2.SecurityGroup
    service: aws.ecs.Service
    task_definition: aws.ecs.TaskDefinition

    def __init__(self, name: str, network: Network, entry: Entry, upstream: Upstream,
                 args: NodeFleetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("layerguard:node:NodeFleet", name, None, opts)
        if (args.token is None) == (args.token_secret_arn is None):
            raise ValueError("NodeFleetArgs: give exactly one of token and token_secret_arn")
        if (args.pull_through_prefix is None) != (args.docker_hub_credential_arn is None):
            raise ValueError("NodeFleetArgs: pull_through_prefix and docker_hub_credential_arn go together")
        child = pulumi.ResourceOptions(parent=self)

        def tags(suffix: str) -> dict[str, str]:
            return layer_tags(LAYER, f"{name}-{suffix}")

        self.token_secret, token_arn = token_secret(name, args.token, args.token_secret_arn, tags, child)
        self.security_group = node_security_group(name, network, entry, upstream, tags, child)

        attachment = entry.attach(NodeTarget(name=name, port=NODE_PORT, health_check_path=HEALTH_PATH,
                                             security_group=self.security_group))
        upstream.admit(name, self.security_group)

        # An explicit name keeps the container definitions known at preview, so policies can read them.
        log_group_name = f"/{pulumi.get_project()}/{pulumi.get_stack()}/{name}"
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=log_group_name,
            retention_in_days=args.log_retention_days, tags=tags("logs"), opts=child)
        self.image, repository_arn = self._image(name, args)
        roles = fargate.TaskRoles(name, LAYER, args.region, self.log_group, parent=self,
                                  secret_arn=token_arn, secret_kms_key_arn=args.token_kms_key_arn,
                                  image_repository_arn=repository_arn)
        self.execution_role, self.task_role = roles.execution_role, roles.task_role
        self.cluster = fargate.cluster(f"{name}-cluster", LAYER, parent=self)

        vhost = node_vhost(upstream, attachment, wallarm_mode=args.wallarm_mode,
                           wallarm_application=args.wallarm_application,
                           mode_allow_override=args.mode_allow_override, fail_closed=args.fail_closed,
                           max_body_size_mib=args.max_body_size_mib)
        upstream_ca = upstream.tls.ca_bundle if upstream.tls else None
        container_definitions = pulumi.Output.all(token_arn, log_group_name, vhost).apply(
            lambda parts: json.dumps(_containers(args, self.image, *parts, upstream_ca=upstream_ca)))
        self.task_definition = aws.ecs.TaskDefinition(
            f"{name}-task", family=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            cpu=str(args.cpu), memory=str(args.memory), network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture="X86_64"),
            execution_role_arn=self.execution_role.arn, task_role_arn=self.task_role.arn,
            # A task-local volume (no host path): the init container writes the vhost into it.
            volumes=[aws.ecs.TaskDefinitionVolumeArgs(name=VHOST_VOLUME)],
            container_definitions=container_definitions, tags=tags("task"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group]))

        self.service = fargate.service(
            f"{name}-service", LAYER, cluster_arn=self.cluster.arn,
            task_definition_arn=self.task_definition.arn, desired_count=args.min_count,
            subnet_ids=network.private_subnet_ids, security_group_id=self.security_group.id,
            target_group_arn=attachment.target_group_arn, container_name=NODE_CONTAINER,
            container_port=NODE_PORT, grace_period=args.health_check_grace_period, parent=self,
            depends_on=[*attachment.ready, *upstream.ready, roles.execution_policy,
                        *([self.pull_through_rule] if self.pull_through_rule else [])],
            scaled=True, wait_for_steady_state=args.wait_for_steady_state)

        self.scaling_target = aws.appautoscaling.Target(
            f"{name}-scaling", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", self.cluster.name, "/", self.service.name),
            min_capacity=args.min_count, max_capacity=args.max_count, tags=tags("scaling"),
            opts=child)
        self._track(name, "cpu", aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
            target_value=CPU_TARGET_PERCENT, scale_in_cooldown=300, scale_out_cooldown=60,
            predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                predefined_metric_type="ECSServiceAverageCPUUtilization")))
        if attachment.request_count_label is not None:
            per_minute = round(REQUESTS_PER_VCPU_PER_SECOND * args.cpu / 1024 * 60 * SCALE_AT_FRACTION)
            self._track(name, "requests", aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=float(per_minute), scale_in_cooldown=300, scale_out_cooldown=60,
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ALBRequestCountPerTarget",
                    resource_label=attachment.request_count_label)))

        self.service_name = self.service.name
        self.cluster_name = self.cluster.name
        # `app/<alb>/<id>/targetgroup/<tg>/<id>` (None when the entry is no ALB): the alarms split it.
        self.request_count_label = attachment.request_count_label
        self.register_outputs({
            "image": self.image,
            "serviceName": self.service.name,
            "clusterArn": self.cluster.arn,
            "securityGroupId": self.security_group.id,
            "taskDefinitionArn": self.task_definition.arn,
            "tokenSecretArn": token_arn,
        })

    def _image(self, name: str, args: NodeFleetArgs) -> tuple[str, str | None]:
        """The node image reference, and the ECR repository the execution role pulls from.

        With a pull-through cache rule the image is `<account>.dkr.ecr.<region>.<suffix>/<prefix>/
        wallarm/node:<tag>`: ECR fetches it from Docker Hub once, with the stack's credentials,
        and every task start after that pulls from ECR (no per-address Docker Hub rate limit).
        """
        self.pull_through_rule = None
        if args.pull_through_prefix is None:
            return args.image, None
        account_id = aws.get_caller_identity(opts=pulumi.InvokeOptions(parent=self)).account_id
        self.pull_through_rule = aws.ecr.PullThroughCacheRule(
            f"{name}-image-cache", ecr_repository_prefix=args.pull_through_prefix,
            upstream_registry_url="registry-1.docker.io",
            credential_arn=args.docker_hub_credential_arn,
            opts=pulumi.ResourceOptions(parent=self))
        repository = f"{args.pull_through_prefix}/{args.image.split(':', 1)[0]}"
        registry = f"{account_id}.dkr.ecr.{args.region}.{dns_suffix(args.region)}"
        arn = f"arn:{partition(args.region)}:ecr:{args.region}:{account_id}:repository/{repository}"
        return f"{registry}/{args.pull_through_prefix}/{args.image}", arn

    def _track(self, name: str, metric: str,
               config: aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs) -> None:
        aws.appautoscaling.Policy(
            f"{name}-scale-on-{metric}", policy_type="TargetTrackingScaling",
            service_namespace=self.scaling_target.service_namespace,
            scalable_dimension=self.scaling_target.scalable_dimension,
            resource_id=self.scaling_target.resource_id,
            target_tracking_scaling_policy_configuration=config,
            opts=pulumi.ResourceOptions(parent=self))


def fail_closed_environment(fail_closed: bool) -> list[dict]:
    """The node image's own start-up switches for failing closed (see _containers)."""
    value = "false" if fail_closed else "true"
    return [{"name": "WALLARM_FALLBACK", "value": value},
            {"name": "WALLARM_IGNORE_REGISTER_ERROR", "value": value}]


def _containers(args: NodeFleetArgs, image: str, token_arn: str, log_group_name: str,
                vhost: str, upstream_ca: str | None = None) -> list[dict]:
    """The init container that writes the vhost, then the node that serves it."""
    # Fargate has no host mounts: a task-local volume carries the file from this short-lived
    # container to the node. No NGINX_BACKEND on the node: its init script would overwrite the file.
    write_vhost = 'printf "%s" "$NODE_VHOST" > /conf/default.conf'
    environment = [{"name": "NODE_VHOST", "value": vhost}]
    if upstream_ca:
        # The backend's CA (public certificates) beside the vhost, where proxy_ssl_trusted_certificate reads it.
        write_vhost += f' && printf "%s" "$NODE_UPSTREAM_CA" > /conf/{UPSTREAM_CA_FILE.rsplit("/", 1)[1]}'
        environment.append({"name": "NODE_UPSTREAM_CA", "value": upstream_ca})
    return [
        {
            "name": VHOST_CONTAINER,
            "image": VHOST_WRITER_IMAGE,
            "essential": False,
            "entryPoint": ["/bin/sh", "-c"],
            "command": [write_vhost],
            "environment": environment,
            "mountPoints": [{"sourceVolume": VHOST_VOLUME, "containerPath": "/conf", "readOnly": False}],
            "logConfiguration": fargate.awslogs(log_group_name, args.region, "vhost"),
        },
        {
            "name": NODE_CONTAINER,
            "image": image,
            "essential": True,
            "portMappings": [{"containerPort": NODE_PORT, "protocol": "tcp"}],
            "environment": [
                {"name": "WALLARM_API_HOST", "value": args.wallarm_api_host},
                {"name": "WALLARM_MODE", "value": args.wallarm_mode},
                {"name": "WALLARM_APPLICATION", "value": str(args.wallarm_application)},
                {"name": "SLAB_ALLOC_ARENA", "value": args.slab_alloc_arena_gb},
                # What the pinned image's start-up really reads (wallarm/docker-wallarm-node
                # scripts/init at the 7.1.0 build, commit d2feee3 "Bump AIO version", AIO_VERSION
                # 7.1.0; the repository carries no 7.x git tag): WALLARM_FALLBACK=false only turns
                # on `set -e` (lines 93-96). NGINX starts after `wd ctl status --wait-init`
                # (lines 132-143), which fails, and the container exits instead of serving, only
                # when wd runs strict, WALLARM_IGNORE_REGISTER_ERROR=false (comment, lines 133-136;
                # NODE-7648). Both are set; the vhost's `wallarm_fallback` says the same to NGINX.
                *fail_closed_environment(args.fail_closed),
            ],
            "secrets": [{"name": "WALLARM_API_TOKEN", "valueFrom": token_arn}],
            "dependsOn": [{"containerName": VHOST_CONTAINER, "condition": "SUCCESS"}],
            "mountPoints": [{"sourceVolume": VHOST_VOLUME, "containerPath": "/etc/nginx/http.d",
                             "readOnly": False}],
            "ulimits": [{"name": "nofile", "softLimit": 65535, "hardLimit": 65535}],
            "logConfiguration": fargate.awslogs(log_group_name, args.region, "node"),
        },
    ]


# --- shared by both node fleets (this ECS one and node_fleet_ec2.Ec2NodeFleet) -------------------


def token_secret(name: str, token: pulumi.Output[str] | None, token_secret_arn: str | None,
                 tags: Callable[[str], dict], opts: pulumi.ResourceOptions
                 ) -> tuple[aws.secretsmanager.Secret | None, pulumi.Input[str]]:
    """The secret holding the node token (created from a secret setting) and its ARN, or the ARN
    of the existing secret the settings name."""
    if token is None:
        return None, token_secret_arn
    secret = aws.secretsmanager.Secret(
        f"{name}-token", description="Wallarm node token for the filtering node fleet",
        recovery_window_in_days=7, tags=tags("token"), opts=opts)
    aws.secretsmanager.SecretVersion(
        f"{name}-token-value", secret_id=secret.id, secret_string=token, opts=opts)
    return secret, secret.arn


def node_security_group(name: str, network: Network, entry: Entry, upstream: Upstream,
                        tags: Callable[[str], dict], opts: pulumi.ResourceOptions) -> aws.ec2.SecurityGroup:
    """The nodes' group: in from the entry's group on the node port only; out to the upstream's
    peers on its port and to HTTPS (Wallarm Cloud, registry, AWS APIs), nothing else."""
    group = aws.ec2.SecurityGroup(
        f"{name}-sg", vpc_id=network.vpc_id,
        description="Wallarm nodes: in from the entry only; out to the upstream and HTTPS",
        tags=tags("sg"), opts=opts)
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-in-entry", security_group_id=group.id,
        referenced_security_group_id=entry.security_group.id, ip_protocol="tcp",
        from_port=NODE_PORT, to_port=NODE_PORT, description="Entry to the nodes",
        tags=tags("in-entry"), opts=opts)
    for i, peer in enumerate(upstream.peers):
        suffix = "out-upstream" if i == 0 else f"out-upstream-{i}"
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-{suffix}", security_group_id=group.id,
            referenced_security_group_id=peer.security_group_id, cidr_ipv4=peer.cidr,
            ip_protocol="tcp", from_port=upstream.port, to_port=upstream.port,
            description=peer.description, tags=tags(suffix), opts=opts)
    # Wallarm Cloud, the image registry, Secrets Manager and CloudWatch Logs, through NAT.
    aws.vpc.SecurityGroupEgressRule(
        f"{name}-out-https", security_group_id=group.id, cidr_ipv4="0.0.0.0/0",
        ip_protocol="tcp", from_port=443, to_port=443,
        description="Wallarm Cloud, registry and AWS APIs over HTTPS",
        tags=tags("out-https"), opts=opts)
    return group


def node_vhost(upstream: Upstream, attachment: EntryAttachment, *, wallarm_mode: str,
               wallarm_application: int, mode_allow_override: str, fail_closed: bool,
               max_body_size_mib: int) -> pulumi.Output[str]:
    """The nodes' NGINX virtual host for this upstream behind this entry (nginx_conf.py)."""
    return upstream.host.apply(lambda host: render_node_vhost(
        listen_port=NODE_PORT, upstream_scheme=upstream.scheme, upstream_host=host,
        upstream_port=upstream.port, trusted_proxy_cidrs=attachment.trusted_proxy_cidrs,
        wallarm_mode=wallarm_mode, wallarm_application=wallarm_application,
        host_header=upstream.host_header, path_prefix=upstream.path_prefix,
        headers=upstream.headers, tls_verify=bool(upstream.tls and upstream.tls.verify),
        tls_name=upstream.tls.server_name if upstream.tls else None,
        tls_trusted_certificate=(UPSTREAM_CA_FILE if upstream.tls and upstream.tls.ca_bundle
                                 else SYSTEM_CA_BUNDLE),
        mode_allow_override=mode_allow_override, fail_closed=fail_closed,
        max_body_size_mib=max_body_size_mib))
