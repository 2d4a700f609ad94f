"""Node layer, EC2 form (`nodeFleet: ec2`): an Auto Scaling group of Wallarm's AMI behind the entry.

The same neighbours as the ECS fleet (`interfaces.Entry`, `interfaces.Upstream`), the same security
group, the same NGINX vhost (nginx_conf.py, through `node_fleet.node_vhost`), the same health
endpoint, mode lock and fail-closed behaviour. What Wallarm's own Terraform module does and we do
not: no token in user data (the instance role reads it from Secrets Manager at boot), no SSH (no key
pair, no port 22; Session Manager instead), no public address, egress limited to the upstream and
HTTPS, IMDSv2 only, encrypted volumes.

Wallarm's AMI (https://docs.wallarm.com/installation/cloud-platforms/aws/ami/) is Debian 12 with
Debian's NGINX and the Wallarm module; a node registers with the Wallarm Cloud through the image's
`cloud-init.py` (https://docs.wallarm.com/installation/cloud-platforms/cloud-init/), run from user
data at first boot, after stopping NGINX so it never serves before filtering is configured.
"""

from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from . import fargate
from .interfaces import Entry, NodeTarget, Upstream
from .network import Network
from .nginx_conf import HEALTH_PATH, UPSTREAM_CA_FILE
from .node_fleet import CPU_TARGET_PERCENT, LAYER, NODE_PORT, node_security_group, node_vhost, token_secret
from .partition import dns_suffix
from .tagging import layer_tags

# Where the AMI's image keeps Wallarm's boot script (node 5.x and later, /opt/wallarm layout).
CLOUD_INIT = "/opt/wallarm/usr/share/wallarm-common/cloud-init.py"
# Debian's NGINX reads every conf.d/*.conf inside `http {}`; its stock site also claims
# `listen 80 default_server` and goes.
VHOST_FILE = "/etc/nginx/conf.d/layerguard-node.conf"
DEBIAN_DEFAULT_SITE = "/etc/nginx/sites-enabled/default"
FETCHER = Path(__file__).with_name("node_token_fetch.py")
# Tags a reader of the launch template (the policy pack) can tell the image by: the AMI id alone
# says nothing about what it runs.
AMI_NAME_TAG = "layerguard:node-ami-name"
AMI_OWNER_TAG = "layerguard:node-ami-owner"
# The x86_64 HVM images Wallarm publishes (the filters of its Terraform module's AMI lookup).
AMI_ARCHITECTURE = "x86_64"
# Session Manager without SSH: the minimal instance permissions AWS documents
# (https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html).
SESSION_MANAGER_ACTIONS = ["ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel",
                           "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel",
                           "ssmmessages:OpenDataChannel"]


@dataclass(frozen=True)
class Ec2NodeFleetArgs:
    instance_type: str
    # None: the newest image of ami_owner whose name matches ami_name_pattern.
    ami_id: str | None
    ami_owner: str
    ami_name_pattern: str
    volume_size_gib: int
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
    mode_allow_override: str = "strict"
    fail_closed: bool = True
    max_body_size_mib: int = 16
    token_kms_key_arn: str | None = None
    wait_for_steady_state: bool = False


class Ec2NodeFleet(pulumi.ComponentResource):
    security_group: aws.ec2.SecurityGroup
    launch_template: aws.ec2.LaunchTemplate
    auto_scaling_group: aws.autoscaling.Group

    def __init__(self, name: str, network: Network, entry: Entry, upstream: Upstream,
                 args: Ec2NodeFleetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("layerguard:node:Ec2NodeFleet", name, None, opts)
        if (args.token is None) == (args.token_secret_arn is None):
            raise ValueError("Ec2NodeFleetArgs: give exactly one of token and token_secret_arn")
        child = pulumi.ResourceOptions(parent=self)

        def tags(suffix: str) -> dict[str, str]:
            return layer_tags(LAYER, f"{name}-{suffix}")

        self.token_secret, token_arn = token_secret(name, args.token, args.token_secret_arn, tags, child)
        self.security_group = node_security_group(name, network, entry, upstream, tags, child)
        attachment = entry.attach(NodeTarget(name=name, port=NODE_PORT, health_check_path=HEALTH_PATH,
                                             security_group=self.security_group, target_type="instance"))
        upstream.admit(name, self.security_group)

        self.ami = self._ami(args)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/{pulumi.get_project()}/{pulumi.get_stack()}/{name}",
            retention_in_days=args.log_retention_days, tags=tags("logs"), opts=child)
        self.instance_role, self.instance_policy, self.instance_profile = self._identity(
            name, args, token_arn, tags)

        vhost = node_vhost(upstream, attachment, wallarm_mode=args.wallarm_mode,
                           wallarm_application=args.wallarm_application,
                           mode_allow_override=args.mode_allow_override, fail_closed=args.fail_closed,
                           max_body_size_mib=args.max_body_size_mib)
        upstream_ca = upstream.tls.ca_bundle if upstream.tls else None
        user_data = pulumi.Output.all(token_arn, vhost).apply(lambda parts: base64.b64encode(render_user_data(
            token_secret_arn=parts[0], region=args.region, api_host=args.wallarm_api_host,
            wallarm_mode=args.wallarm_mode, vhost=parts[1], upstream_ca=upstream_ca).encode()).decode())

        ami_tags = {AMI_NAME_TAG: self.ami.name, AMI_OWNER_TAG: self.ami.owner_id}
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-template",
            description="Wallarm node: IMDSv2 only, no key pair, no public address, encrypted volume",
            image_id=self.ami.id, instance_type=args.instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=self.instance_profile.arn),
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
                instance_metadata_tags="disabled"),
            network_interfaces=[aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                device_index=0, associate_public_ip_address="false", delete_on_termination="true",
                security_groups=[self.security_group.id])],
            block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=self.ami.root_device_name, ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    encrypted="true", volume_type="gp3", volume_size=args.volume_size_gib,
                    delete_on_termination="true"))],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            user_data=user_data, update_default_version=True,
            tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(
                resource_type=kind, tags={**tags(kind), **ami_tags})
                for kind in ("instance", "volume", "network-interface")],
            tags={**tags("template"), **ami_tags}, opts=child)

        grace = args.health_check_grace_period
        self.auto_scaling_group = aws.autoscaling.Group(
            f"{name}-asg", min_size=args.min_count, max_size=args.max_count,
            vpc_zone_identifiers=network.private_subnet_ids,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=self.launch_template.id, version=self.launch_template.latest_version.apply(str)),
            # The ASG registers each instance it launches, and deregisters it before terminating it.
            target_group_arns=[attachment.target_group_arn],
            health_check_type="ELB", health_check_grace_period=grace, default_instance_warmup=grace,
            # A launch template change replaces the nodes one by one, a new one healthy before an
            # old one goes (as the ECS fleet's 100/200 deployment).
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy="Rolling", preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    min_healthy_percentage=100, max_healthy_percentage=200, instance_warmup=str(grace))),
            enabled_metrics=["GroupDesiredCapacity", "GroupInServiceInstances", "GroupTotalInstances"],
            # True: `pulumi up` returns once min_count instances are healthy in the target group.
            wait_for_capacity_timeout="10m" if args.wait_for_steady_state else "0",
            min_elb_capacity=args.min_count if args.wait_for_steady_state else None,
            tags=[aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=True)
                  for k, v in {**tags("asg"), **ami_tags}.items()],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[
                *attachment.ready, *upstream.ready, self.instance_policy],
                ignore_changes=["desiredCapacity"]))
        self.scale_on_cpu = aws.autoscaling.Policy(
            f"{name}-scale-on-cpu", autoscaling_group_name=self.auto_scaling_group.name,
            policy_type="TargetTrackingScaling",
            target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                target_value=CPU_TARGET_PERCENT,
                predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ASGAverageCPUUtilization")),
            opts=child)

        self.service_name = self.auto_scaling_group.name
        self.request_count_label = attachment.request_count_label
        self.register_outputs({
            "autoScalingGroupName": self.auto_scaling_group.name,
            "launchTemplateId": self.launch_template.id,
            "imageId": self.ami.id,
            "imageName": self.ami.name,
            "securityGroupId": self.security_group.id,
            "instanceRoleArn": self.instance_role.arn,
            "tokenSecretArn": token_arn,
        })

    def _ami(self, args: Ec2NodeFleetArgs) -> aws.ec2.AwaitableGetAmiResult:
        """Wallarm's image, by owner and name (the newest) or by id; by id it must still belong to
        the owner, so a pinned id cannot silently point at someone else's image. Wallarm publishes
        it through AWS Marketplace (https://docs.wallarm.com/installation/cloud-platforms/aws/ami/)
        and its Terraform module takes "the latest image from upstream" (the node release;
        https://docs.wallarm.com/installation/cloud-platforms/aws/terraform-module/overview/) by
        owner 679593333241 and name wallarm-node-<major>-<minor>-* (wallarm/terraform-aws-wallarm,
        modules/template/ami.tf): settings.AWS_MARKETPLACE_OWNER and the default name pattern."""
        filters = [aws.ec2.GetAmiFilterArgs(name="architecture", values=[AMI_ARCHITECTURE]),
                   aws.ec2.GetAmiFilterArgs(name="virtualization-type", values=["hvm"])]
        filters.append(aws.ec2.GetAmiFilterArgs(name="image-id", values=[args.ami_id]) if args.ami_id
                       else aws.ec2.GetAmiFilterArgs(name="name", values=[args.ami_name_pattern]))
        return aws.ec2.get_ami(owners=[args.ami_owner], most_recent=True, filters=filters,
                               opts=pulumi.InvokeOptions(parent=self))

    def _identity(self, name: str, args: Ec2NodeFleetArgs, token_arn: pulumi.Input[str], tags
                  ) -> tuple[aws.iam.Role, aws.iam.RolePolicy, aws.iam.InstanceProfile]:
        """The instance role: read the token secret (and decrypt it with its CMK), Session Manager,
        write the fleet's log group; nothing else."""
        child = pulumi.ResourceOptions(parent=self)
        region = args.region
        role = aws.iam.Role(
            f"{name}-instance-role", description="Wallarm node instances: read the node token, Session Manager, logs",
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": f"ec2.{dns_suffix(region)}"},
                "Action": "sts:AssumeRole"}]}),
            tags=tags("instance-role"), opts=child)

        def document(parts: list[str]) -> str:
            secret_arn, log_group_arn = parts
            statements = [
                {"Sid": "ReadNodeToken", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                 "Resource": fargate.secret_resource(secret_arn)},
                {"Sid": "SessionManager", "Effect": "Allow", "Action": SESSION_MANAGER_ACTIONS,
                 "Resource": "*"},
                {"Sid": "WriteNodeLogs", "Effect": "Allow",
                 "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                 "Resource": f"{log_group_arn}:log-stream:*"},
            ]
            if args.token_kms_key_arn:
                statements.insert(1, {
                    "Sid": "DecryptNodeToken", "Effect": "Allow", "Action": "kms:Decrypt",
                    "Resource": args.token_kms_key_arn,
                    "Condition": {"StringEquals": {
                        "kms:ViaService": f"secretsmanager.{region}.{dns_suffix(region)}"}}})
            return json.dumps({"Version": "2012-10-17", "Statement": statements})

        policy = aws.iam.RolePolicy(
            f"{name}-instance-policy", role=role.id,
            policy=pulumi.Output.all(token_arn, self.log_group.arn).apply(document), opts=child)
        profile = aws.iam.InstanceProfile(f"{name}-instance-profile", role=role.name,
                                          tags=tags("instance-profile"), opts=child)
        return role, policy, profile


def render_user_data(*, token_secret_arn: str, region: str, api_host: str, wallarm_mode: str,
                     vhost: str, upstream_ca: str | None = None) -> str:
    """The first-boot script of a node instance. It holds the secret's ARN, never its value."""
    for text, delimiter in ((vhost, "LAYERGUARD_VHOST"), (upstream_ca or "", "LAYERGUARD_CA")):
        if delimiter in text:
            raise ValueError(f"the node's files may not contain the line {delimiter}")
    fetcher = FETCHER.read_text(encoding="utf-8")
    ca = ""
    if upstream_ca:
        ca = (f"cat > {UPSTREAM_CA_FILE} <<'LAYERGUARD_CA'\n{upstream_ca.rstrip()}\nLAYERGUARD_CA\n")
    return f"""\
#!/bin/bash
# Rendered by layerguard (components/node_fleet_ec2.py). No secret in here: the node token is read
# from Secrets Manager at boot, with the instance role.
set -euo pipefail

# Fail closed: NGINX is stopped (and stays off at the next boot) until the node is registered and
# the vhost is in place. Any failure below leaves it stopped: the load balancer's health check fails
# and the Auto Scaling group replaces the instance; nothing is served unfiltered.
systemctl disable --now nginx.service
trap 'systemctl disable --now nginx.service || true; echo "layerguard: node setup failed, NGINX stays stopped" >&2' ERR

token="$(python3 - {shlex.quote(token_secret_arn)} {shlex.quote(region)} {shlex.quote(dns_suffix(region))} <<'LAYERGUARD_FETCH'
{fetcher.rstrip()}
LAYERGUARD_FETCH
)"
test -n "$token"

# Register with the Wallarm Cloud the way the AMI documents it; preset custom: the vhost below is
# the whole proxy configuration (https://docs.wallarm.com/installation/cloud-platforms/cloud-init/).
{CLOUD_INIT} -t "$token" -H {shlex.quote(api_host)} -p custom -m {shlex.quote(wallarm_mode)}
unset token

rm -f {DEBIAN_DEFAULT_SITE}
mkdir -p {UPSTREAM_CA_FILE.rsplit("/", 1)[0]}
{ca}cat > {VHOST_FILE} <<'LAYERGUARD_VHOST'
{vhost.rstrip()}
LAYERGUARD_VHOST

nginx -t
systemctl enable nginx.service
systemctl restart nginx.service
echo "layerguard: Wallarm node registered and serving"
"""

