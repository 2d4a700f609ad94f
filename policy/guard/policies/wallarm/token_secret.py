"""LG-WLM-001: the Wallarm node token reaches the container through ECS `secrets` only (and an EC2
node's user data reads it at boot, never carries it: the section at the end)."""

from __future__ import annotations

import re

from guard.framework import Resource, Rule, resource_policy
from guard.policies.wallarm import user_data
from guard.policies.wallarm.containers import TOKEN, containers, is_wallarm, names
from guard.types import EC2_INSTANCE, ECS_TASK_DEFINITION, LAUNCH_TEMPLATE

RULE = Rule(
    id="LG-WLM-001",
    name="require-wallarm-token-secret",
    description="The Wallarm API token must be injected from Secrets Manager or SSM through the container's secrets, never set in its environment.",
    remediation="Remove WALLARM_API_TOKEN from environment and add {name: WALLARM_API_TOKEN, valueFrom: <secret ARN>} to secrets, readable by the execution role only.",
    severity="critical",
    link="https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html",
    resource_types=(ECS_TASK_DEFINITION, LAUNCH_TEMPLATE, EC2_INSTANCE),
)


def check(res: Resource, cfg: dict):
    for container in containers(res):
        label = container.get("name") or "?"
        if TOKEN in names(container.get("environment")):
            yield f"container {label!r} sets {TOKEN} in environment (plaintext in the task definition)"
        elif is_wallarm(container) and TOKEN not in names(container.get("secrets")):
            yield f"Wallarm container {label!r} has no {TOKEN} in secrets"


# --- EC2 nodes: launch templates and instances -------------------------------------------------
# User data is readable by anyone who may describe the template or the instance attribute: the
# token must be read at boot (Secrets Manager, with the instance role) and handed to cloud-init.py
# as a shell expansion, never written into the user data.

_LITERAL_TOKEN = re.compile(r"\bWALLARM_API_TOKEN=(?![\"']?\$)\S")


def check_ec2(res: Resource, cfg: dict):
    text = user_data.script(res)
    calls = user_data.cloud_init_calls(text) if text else []
    if not calls:
        return
    for args in calls:
        token = user_data.option(args, "-t", "--token")
        if token is not None and not token.startswith("$"):
            yield ("its user data passes a literal Wallarm token to cloud-init.py (-t): plaintext in the "
                   "launch data; read it at boot from Secrets Manager and pass it as a shell variable")
    if _LITERAL_TOKEN.search(text):
        yield f"its user data sets {TOKEN} to a literal value (plaintext in the launch data)"


check_any = user_data.by_launch_kind(check_ec2, check)


POLICY = resource_policy(RULE, check_any)
