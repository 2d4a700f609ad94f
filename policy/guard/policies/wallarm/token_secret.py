"""LG-WLM-001: the Wallarm node token reaches the container through ECS `secrets` only."""

from __future__ import annotations

from guard.framework import Resource, Rule, resource_policy
from guard.policies.wallarm.containers import TOKEN, containers, is_wallarm, names
from guard.types import ECS_TASK_DEFINITION

RULE = Rule(
    id="LG-WLM-001",
    name="require-wallarm-token-secret",
    description="The Wallarm API token must be injected from Secrets Manager or SSM through the container's secrets, never set in its environment.",
    remediation="Remove WALLARM_API_TOKEN from environment and add {name: WALLARM_API_TOKEN, valueFrom: <secret ARN>} to secrets, readable by the execution role only.",
    severity="critical",
    link="https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html",
    resource_types=(ECS_TASK_DEFINITION,),
)


def check(res: Resource, cfg: dict):
    for container in containers(res):
        label = container.get("name") or "?"
        if TOKEN in names(container.get("environment")):
            yield f"container {label!r} sets {TOKEN} in environment (plaintext in the task definition)"
        elif is_wallarm(container) and TOKEN not in names(container.get("secrets")):
            yield f"Wallarm container {label!r} has no {TOKEN} in secrets"


POLICY = resource_policy(RULE, check)
