"""LG-WLM-002: the Wallarm filtering mode is one the policy config allows for this stack."""

from __future__ import annotations

import fnmatch

from guard.framework import Resource, Rule, is_unknown, resource_policy, stack_name
from guard.policies.wallarm.containers import containers, is_wallarm, mode_directives, names, nginx_texts
from guard.types import ECS_TASK_DEFINITION

RULE = Rule(
    id="LG-WLM-002",
    name="enforce-wallarm-mode",
    description="Every Wallarm node must filter in a mode the policy config allows for the stack, through WALLARM_MODE and any wallarm_mode directive of a custom virtual host.",
    remediation="Set WALLARM_MODE and the vhost's server-level wallarm_mode to an allowed mode for this stack (production requires block), and turn filtering off only in locations that answer without proxying.",
    severity="high",
    link="https://docs.wallarm.com/admin-en/configure-wallarm-mode/",
    resource_types=(ECS_TASK_DEFINITION,),
    config={"allowedModes": {
        "type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "default": {"prod": ["block"], "prod-*": ["block"], "production": ["block"],
                    "*": ["monitoring", "safe_blocking", "block"]},
        "description": "Stack-name glob -> allowed WALLARM_MODE values; an exact name wins over a glob, a longer glob over a shorter one."}},
)

MODES = ("off", "monitoring", "safe_blocking", "block")
DEFAULT_MODE = "monitoring"  # the image's default when WALLARM_MODE is unset


def allowed_for(stack: str, table: dict) -> list:
    """An exact stack name wins, then the most specific (longest) glob; the config travels as a
    protobuf Struct, so the order of its keys carries no meaning."""
    for pattern in sorted(table, key=lambda p: (any(ch in p for ch in "*?["), -len(p), p)):
        if fnmatch.fnmatchcase(stack, pattern):
            return list(table[pattern])
    return []


def check(res: Resource, cfg: dict):
    every = containers(res)
    nodes = [c for c in every if is_wallarm(c)]
    if not nodes and not nginx_texts(every):
        return
    stack = stack_name()
    if is_unknown(stack):
        yield "the stack name is unknown to the policy pack (PULUMI_STACK unset), so the allowed modes cannot be chosen"
        return
    allowed = allowed_for(stack, cfg["allowedModes"])
    yield from _env_modes(nodes, stack, allowed)
    yield from _vhost_modes(every, stack, allowed)


def _vhost_modes(all_containers: list, stack: str, allowed: list):
    """`wallarm_mode` in a custom vhost: the server level must be allowed; a location may switch
    filtering off only if it answers itself (a health check), never when it proxies upstream."""
    for container, variable, text in nginx_texts(all_containers):
        for d in mode_directives(text):
            where = f"container {container!r} {variable}: wallarm_mode {d.mode}"
            if d.mode not in MODES:
                yield f"{where} is not one of {', '.join(MODES)}"
            elif d.mode in allowed:
                continue
            elif d.location is None:
                yield f"{where} at server level; stack {stack!r} allows {', '.join(allowed) or 'nothing'}"
            elif d.proxies:
                yield f"{where} in '{d.location}', which proxies upstream: requests there reach the app unfiltered"


def _env_modes(nodes: list, stack: str, allowed: list):
    for container in nodes:
        label = container.get("name") or "?"
        if "WALLARM_MODE" in names(container.get("secrets")):
            yield f"container {label!r} takes WALLARM_MODE from a secret, so its mode cannot be verified"
            continue
        mode = names(container.get("environment")).get("WALLARM_MODE") or DEFAULT_MODE
        if mode not in MODES:
            yield f"container {label!r} has WALLARM_MODE {mode!r}, not one of {', '.join(MODES)}"
        elif mode not in allowed:
            yield f"container {label!r} runs in mode {mode!r}; stack {stack!r} allows {', '.join(allowed) or 'nothing'}"


POLICY = resource_policy(RULE, check)
