"""LG-WLM-002: the Wallarm filtering mode is one the policy config allows for this stack, the Cloud
cannot weaken it (`wallarm_mode_allow_override`), and, where the stack must fail closed, a node that
cannot load its rules does not keep proxying unfiltered (`WALLARM_FALLBACK` / `wallarm_fallback`)."""

from __future__ import annotations

import fnmatch
import re

from guard.framework import Resource, Rule, is_unknown, resource_policy
from guard.policies import production
from guard.policies.wallarm import user_data
from guard.policies.wallarm.containers import (
    _PROXYING,
    containers,
    is_wallarm,
    mode_directives,
    names,
    nginx_texts,
    statements,
)
from guard.types import EC2_INSTANCE, ECS_TASK_DEFINITION, LAUNCH_TEMPLATE

RULE = Rule(
    id="LG-WLM-002",
    name="enforce-wallarm-mode",
    description="Every Wallarm node must filter in a mode the policy config allows for the stack, through WALLARM_MODE and any wallarm_mode directive of a custom virtual host, with a wallarm_mode_allow_override that keeps the Wallarm Cloud from weakening it, and with fallback off and registration errors fatal where the stack must fail closed (production, as guard/policies/production.py defines it).",
    remediation="Set WALLARM_MODE and the vhost's server-level wallarm_mode to an allowed mode for this stack (production requires block), set wallarm_mode_allow_override strict or off in the vhost, turn filtering off only in locations that answer without proxying upstream, and where the stack must fail closed set WALLARM_FALLBACK=false, WALLARM_IGNORE_REGISTER_ERROR=false and wallarm_fallback off.",
    severity="high",
    link="https://docs.wallarm.com/admin-en/configure-wallarm-mode/",
    resource_types=(ECS_TASK_DEFINITION, LAUNCH_TEMPLATE, EC2_INSTANCE),
    config={"allowedModes": {
        "type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "default": {"prod": ["block"], "prod-*": ["block"], "production": ["block"],
                    "*": ["monitoring", "safe_blocking", "block"]},
        "description": "Stack-name glob -> allowed WALLARM_MODE values; an exact name wins over a glob, a longer glob over a shorter one."},
        "allowedModeOverrides": {
            "type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "default": {"prod": ["strict", "off"], "prod-*": ["strict", "off"],
                        "production": ["strict", "off"], "*": ["strict", "off", "on"]},
            "description": "Stack-name glob -> allowed wallarm_mode_allow_override values (a node without a custom vhost setting it runs with on, the default); matched as allowedModes."},
        "failClosedStacks": {
            "type": "array", "items": {"type": "string"},
            "default": ["prod", "prod-*", "production"],
            "description": "Stack-name globs whose nodes must fail closed: WALLARM_FALLBACK=false and WALLARM_IGNORE_REGISTER_ERROR=false on every node, and wallarm_fallback off (never on) in every custom vhost. They are also this rule's production names: a stack declared production (layerguard:environment) is judged as the stack prod."},
        **production.CONFIG},
)

MODES = ("off", "monitoring", "safe_blocking", "block")
DEFAULT_MODE = "monitoring"  # the image's default when WALLARM_MODE is unset
OVERRIDES = ("off", "strict", "on")
DEFAULT_OVERRIDE = "on"  # https://docs.wallarm.com/admin-en/configure-parameters-en/#wallarm_mode_allow_override
# The node's own health endpoints (wd, node 7.1+; https://docs.wallarm.com/admin-en/nginx-node-metrics/).
# Only these exact URLs count as "not upstream": any other loopback port may be another container of
# the same task (Fargate tasks share one network namespace), the app included.
_NODE_HEALTH = re.compile(r"^http://127\.0\.0\.1:9446/(?:ready|health)$")


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
    judged, stack = production.judged_stack(res, cfg, cfg["failClosedStacks"])
    if is_unknown(judged):
        yield "the stack name is unknown to the policy pack (PULUMI_STACK unset), so the allowed modes cannot be chosen"
        return
    allowed = allowed_for(judged, cfg["allowedModes"])
    yield from _env_modes(nodes, stack, allowed)
    yield from _vhost_modes(every, stack, allowed)
    yield from _overrides(nodes, every, stack, allowed_for(judged, cfg["allowedModeOverrides"]))
    if any(fnmatch.fnmatchcase(judged, pattern) for pattern in cfg["failClosedStacks"]):
        yield from _fail_closed(nodes, every, stack)


def directives(text: str) -> list:
    """Every NGINX directive of `text` as (name, args, location header or None, the directives of
    its enclosing block) (containers.statements)."""
    found = []
    for words, headers, _block, block_directives in statements(text):
        locations = [" ".join(h) for h in headers if h and h[0] == "location"]
        found.append((words[0], words[1:], locations[-1] if locations else None, block_directives))
    return found


def _node_health_only(text: str, location: str) -> bool:
    """The location forwards only to the node's own health endpoints on loopback."""
    targets = [args[0] if args else "" for name, args, loc, _block in directives(text)
               if loc == location and name in _PROXYING]
    return bool(targets) and all(_NODE_HEALTH.match(t) for t in targets)


def _overrides(nodes: list, every: list, stack: str, allowed: list):
    texts = nginx_texts(every)
    if nodes and not texts:
        for container in nodes:
            if DEFAULT_OVERRIDE not in allowed:
                yield (f"container {container.get('name') or '?'!r} has no custom vhost setting "
                       f"wallarm_mode_allow_override, so it runs with {DEFAULT_OVERRIDE!r} and the Wallarm "
                       f"Cloud may weaken its mode; stack {stack} allows {', '.join(allowed) or 'nothing'}")
    for container, variable, text in texts:
        found = [(args[0] if args else "", loc) for name, args, loc, _b in directives(text)
                 if name == "wallarm_mode_allow_override"]
        server = [value for value, loc in found if loc is None]
        where = f"container {container!r} {variable}"
        if not server and DEFAULT_OVERRIDE not in allowed:
            yield (f"{where}: no server-level wallarm_mode_allow_override, so it is {DEFAULT_OVERRIDE!r} "
                   f"and the Wallarm Cloud may weaken the mode; stack {stack} allows "
                   f"{', '.join(allowed) or 'nothing'}")
        for value, loc in found:
            if value not in OVERRIDES:
                yield f"{where}: wallarm_mode_allow_override {value} is not one of {', '.join(OVERRIDES)}"
            elif value not in allowed:
                yield (f"{where}: wallarm_mode_allow_override {value}"
                       + (f" in '{loc}'" if loc else " at server level")
                       + f"; stack {stack} allows {', '.join(allowed) or 'nothing'}")


# What the node image's start-up reads to fail closed (wallarm/docker-wallarm-node scripts/init
# at the 7.1.0 build, commit d2feee3): WALLARM_FALLBACK=false makes the script stop at its own
# first failing command (`set -e`, lines 93-96); NGINX is started only after
# `wd ctl status --wait-init` succeeds (lines 132-143), and that fails only when wd runs strict,
# WALLARM_IGNORE_REGISTER_ERROR=false (lines 133-136). Without the second, 7.x serves after a
# failed start-up.
FAIL_CLOSED_ENV = {
    "WALLARM_FALLBACK": "a node that cannot load its rules keeps proxying unfiltered",
    "WALLARM_IGNORE_REGISTER_ERROR": "the image starts NGINX even when its start-up (registration, "
                                     "rules) failed",
}


def _fail_closed(nodes: list, every: list, stack: str):
    for container in nodes:
        label = container.get("name") or "?"
        for variable, harm in FAIL_CLOSED_ENV.items():
            if variable in names(container.get("secrets")):
                yield f"container {label!r} takes {variable} from a secret, so failing closed cannot be verified"
                continue
            value = names(container.get("environment")).get(variable)
            if value != "false":
                yield (f"container {label!r} has {variable} {value!r}, not 'false': {harm}; "
                       f"stack {stack} must fail closed")
    for container, variable, text in nginx_texts(every):
        found = [(args[0] if args else "", loc) for name, args, loc, _b in directives(text)
                 if name == "wallarm_fallback"]
        where = f"container {container!r} {variable}"
        if not any(loc is None and value == "off" for value, loc in found):
            yield f"{where}: no server-level wallarm_fallback off; stack {stack} must fail closed"
        for value, loc in found:
            if value != "off":
                yield (f"{where}: wallarm_fallback {value}" + (f" in '{loc}'" if loc else " at server level")
                       + f"; stack {stack} must fail closed")


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
                yield f"{where} at server level; stack {stack} allows {', '.join(allowed) or 'nothing'}"
            elif d.proxies and not _node_health_only(text, d.location):
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
            yield f"container {label!r} runs in mode {mode!r}; stack {stack} allows {', '.join(allowed) or 'nothing'}"


# --- EC2 nodes: launch templates and instances -------------------------------------------------
# The node is set up by cloud-init.py in the user data: its `-m` is the node's mode (monitoring when
# absent), the vhosts the user data writes are judged as a container's custom vhost; without one,
# the image's defaults apply (allow override on, fallback on).

def check_ec2(res: Resource, cfg: dict):
    text = user_data.script(res)
    calls = user_data.cloud_init_calls(text) if text else []
    if not calls:
        return
    judged, stack = production.judged_stack(res, cfg, cfg["failClosedStacks"])
    if is_unknown(judged):
        yield "the stack name is unknown to the policy pack (PULUMI_STACK unset), so the allowed modes cannot be chosen"
        return
    allowed = allowed_for(judged, cfg["allowedModes"])
    for args in calls:
        mode = user_data.option(args, "-m", "--mode") or DEFAULT_MODE
        if mode.startswith("$"):
            yield f"its user data gives cloud-init.py the mode {mode}, a shell value, so its mode cannot be verified"
        elif mode not in MODES:
            yield f"its user data runs cloud-init.py with mode {mode!r}, not one of {', '.join(MODES)}"
        elif mode not in allowed:
            yield (f"its user data runs cloud-init.py in mode {mode!r}; stack {stack} allows "
                   f"{', '.join(allowed) or 'nothing'}")
    vhosts = user_data.pseudo_containers(res, text)
    yield from _vhost_modes(vhosts, stack, allowed)
    overrides = allowed_for(judged, cfg["allowedModeOverrides"])
    yield from _overrides([], vhosts, stack, overrides)
    if not vhosts and DEFAULT_OVERRIDE not in overrides:
        yield (f"its user data writes no vhost setting wallarm_mode_allow_override, so it is {DEFAULT_OVERRIDE!r} "
               f"and the Wallarm Cloud may weaken the mode; stack {stack} allows {', '.join(overrides) or 'nothing'}")
    if any(fnmatch.fnmatchcase(judged, pattern) for pattern in cfg["failClosedStacks"]):
        yield from _fail_closed([], vhosts, stack)
        if not vhosts:
            yield f"its user data writes no vhost with wallarm_fallback off; stack {stack} must fail closed"


check_any = user_data.by_launch_kind(check_ec2, check)


POLICY = resource_policy(RULE, check_any)
