"""Pieces both Fargate layers (nodes and app) build the same way: roles, logs, the service shape."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from .partition import dns_suffix, partition
from .tagging import layer_tags

# Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
_FULL_SECRET_ARN = re.compile(r"^arn:[^:]+:secretsmanager:[^:]*:\d{12}:secret:.+-[A-Za-z0-9]{6}$")


def secret_resource(arn: str) -> str:
    """The IAM resource for a secret given by ARN: a partial ARN (no random suffix) only matches
    the secret with `-??????` appended (https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_iam-policies.html)."""
    return arn if _FULL_SECRET_ARN.match(arn) else f"{arn}-??????"


def _ecs_trust_policy(account_id: str, region: str, *, scoped: bool) -> str:
    statement: dict = {
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    if scoped:
        # The task role: ECS supplies the source account and ARN when tasks assume it
        # (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html). The
        # execution role is assumed by the ECS agent for image pulls, logs and secrets without
        # them, so its trust policy carries no conditions (terraform-aws-modules/ecs
        # modules/service/main.tf does the same: task_exec_assume vs tasks_assume).
        statement["Condition"] = {
            "StringEquals": {"aws:SourceAccount": account_id},
            "ArnLike": {"aws:SourceArn": f"arn:{partition(region)}:ecs:{region}:{account_id}:*"},
        }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


class TaskRoles:
    """An execution role that may write one log group (and read one secret, pull one cached image),
    and a task role with no permissions: the containers themselves call no AWS API."""

    def __init__(self, name: str, layer: str, region: str, log_group: aws.cloudwatch.LogGroup,
                 parent: pulumi.Resource, secret_arn: pulumi.Input[str] | None = None,
                 secret_kms_key_arn: str | None = None, image_repository_arn: str | None = None):
        child = pulumi.ResourceOptions(parent=parent)
        account_id = aws.get_caller_identity(opts=pulumi.InvokeOptions(parent=parent)).account_id

        self.execution_role = aws.iam.Role(
            f"{name}-execution-role", assume_role_policy=_ecs_trust_policy(account_id, region, scoped=False),
            description="Pulls the image, writes the task's logs" + (", reads its secret" if secret_arn else ""),
            tags=layer_tags(layer, f"{name}-execution-role"), opts=child)

        def policy(args: list[str]) -> str:
            log_group_arn, *secret = args
            statements = [{
                "Sid": "WriteTaskLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{log_group_arn}:log-stream:*",
            }]
            if secret:
                statements.append({
                    "Sid": "ReadNodeToken",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": secret_resource(secret[0]),
                })
            if secret and secret_kms_key_arn:
                # A customer-managed key on the secret: decrypt through Secrets Manager only.
                statements.append({
                    "Sid": "DecryptNodeToken",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": secret_kms_key_arn,
                    "Condition": {"StringEquals": {
                        "kms:ViaService": f"secretsmanager.{region}.{dns_suffix(region)}"}},
                })
            if image_repository_arn:
                # ECR pull-through cache: the first pull creates the repository and imports the
                # image from upstream, as the pulling principal
                # (https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html).
                statements += [
                    {"Sid": "EcrAuthorization", "Effect": "Allow",
                     "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                    {"Sid": "PullNodeImage", "Effect": "Allow",
                     "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                     "Resource": image_repository_arn},
                    {"Sid": "CacheNodeImage", "Effect": "Allow",
                     "Action": ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"],
                     "Resource": image_repository_arn},
                ]
            return json.dumps({"Version": "2012-10-17", "Statement": statements})

        parts = [log_group.arn] + ([secret_arn] if secret_arn is not None else [])
        self.execution_policy = aws.iam.RolePolicy(
            f"{name}-execution-policy", role=self.execution_role.id,
            policy=pulumi.Output.all(*parts).apply(policy), opts=child)

        self.task_role = aws.iam.Role(
            f"{name}-task-role", assume_role_policy=_ecs_trust_policy(account_id, region, scoped=True),
            description="The running containers' identity: no permissions",
            tags=layer_tags(layer, f"{name}-task-role"), opts=child)


def awslogs(log_group_name: str, region: str, prefix: str) -> dict:
    return {"logDriver": "awslogs", "options": {
        "awslogs-group": log_group_name, "awslogs-region": region, "awslogs-stream-prefix": prefix}}


def cluster(name: str, layer: str, parent: pulumi.Resource) -> aws.ecs.Cluster:
    return aws.ecs.Cluster(
        name, settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
        tags=layer_tags(layer, name), opts=pulumi.ResourceOptions(parent=parent))


def service(name: str, layer: str, *, cluster_arn: pulumi.Input[str],
            task_definition_arn: pulumi.Input[str], desired_count: int,
            subnet_ids: Sequence[pulumi.Input[str]], security_group_id: pulumi.Input[str],
            target_group_arn: pulumi.Input[str], container_name: str, container_port: int,
            grace_period: int, parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource],
            scaled: bool, wait_for_steady_state: bool = False) -> aws.ecs.Service:
    return aws.ecs.Service(
        name, cluster=cluster_arn, task_definition=task_definition_arn, launch_type="FARGATE",
        platform_version="LATEST", desired_count=desired_count,
        network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=list(subnet_ids), security_groups=[security_group_id], assign_public_ip=False),
        load_balancers=[aws.ecs.ServiceLoadBalancerArgs(
            target_group_arn=target_group_arn, container_name=container_name,
            container_port=container_port)],
        deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
        deployment_minimum_healthy_percent=100, deployment_maximum_percent=200,
        health_check_grace_period_seconds=grace_period, enable_execute_command=False,
        propagate_tags="SERVICE", enable_ecs_managed_tags=True,
        # True: `pulumi up` returns only once the service's tasks run healthy behind the load balancer.
        wait_for_steady_state=wait_for_steady_state,
        tags=layer_tags(layer, name),
        # Autoscaling owns the running count once the service exists.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on),
                                    ignore_changes=["desiredCount"] if scaled else None))
