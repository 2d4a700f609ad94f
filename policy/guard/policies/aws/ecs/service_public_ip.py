"""LG-ECS-001: ECS tasks (node, app, anything unclassified) get no public IP address."""

from __future__ import annotations

from guard.framework import Resource, Rule, is_unknown, layer_hint, resource_policy, waiting
from guard.types import ECS_SERVICE, ECS_TASK_SET

RULE = Rule(
    id="LG-ECS-001",
    name="disallow-task-public-ip",
    description="ECS services and task sets must not assign public IP addresses to their tasks, whatever their layer unless the policy config exempts it.",
    remediation="Set network_configuration.assign_public_ip=False and place the tasks in private subnets with a NAT gateway or VPC endpoints for egress.",
    severity="critical",
    link="https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-2",
    resource_types=(ECS_SERVICE, ECS_TASK_SET),
    config={"layers": {
        "type": "array", "items": {"type": "string"}, "default": ["network", "edge", "node", "app", "unclassified"],
        "description": "Layers (tag, else enclosing layerguard component) whose tasks must stay private; untagged is unclassified."}},
)


def check(res: Resource, cfg: dict):
    layer = layer_hint(res)
    if layer not in cfg["layers"]:
        return
    value = res.get("networkConfiguration.assignPublicIp")
    if is_unknown(value):
        yield waiting(value, f"network_configuration.assign_public_ip is not known yet ({layer} layer)")
    elif value is True:
        yield f"network_configuration.assign_public_ip is True on a {layer}-layer service: its tasks are reachable from the internet without the nodes"


POLICY = resource_policy(RULE, check)
