"""LG-WLM-003: every Wallarm node runs a release Wallarm still supports, and production runs at
least the production floor.

Wallarm supports only the latest minor of each of its two latest majors
(https://docs.wallarm.com/updating-migrating/versioning-policy/); `supportedReleases` holds the
oldest accepted minor per major. Production (guard/policies/production.py) also needs
`productionFloor`, 7.1 by default: 7.1 fixes a detection bypass through streamed request data.

The release is read from the image tag (`wallarm/node:7.1.0`, `...:7.1.0-1`, with or without
`@sha256:<digest>`). An image pinned by digest alone (`wallarm/node@sha256:...`) does not show
its release: production refuses it (fail closed; add the tag before the digest), elsewhere it is
left to the other rules. An untagged image runs `latest`, whatever release that is, and is refused
everywhere. A container that is a node only by its WALLARM_* settings, on an image that is not
wallarm/node, is refused in production for the same reason.
"""

from __future__ import annotations

import fnmatch
import re

from guard.framework import Resource, Rule, is_unknown, resource_policy
from guard.policies import production
from guard.policies.wallarm.containers import containers, is_wallarm
from guard.types import ECS_TASK_DEFINITION

PRODUCTION_STACKS = ["prod", "prod-*", "production"]

RULE = Rule(
    id="LG-WLM-003",
    name="require-supported-node-release",
    description="Every Wallarm node image must be tagged with a release Wallarm still supports (the latest minor of its two latest majors), and in production with at least the production floor, whose release an image pinned by digest alone cannot show.",
    remediation="Pin wallarm/node to a supported release tag, at least 7.1.0 in production (wallarm/node:7.1.0, optionally wallarm/node:7.1.0@sha256:<digest>), and raise supportedReleases when Wallarm ships a new minor.",
    severity="high",
    link="https://docs.wallarm.com/updating-migrating/versioning-policy/",
    resource_types=(ECS_TASK_DEFINITION,),
    config={
        "supportedReleases": {
            "type": "object", "additionalProperties": {"type": "string"},
            "default": {"7": "7.1", "6": "6.13"},
            "description": "Major -> the oldest supported MAJOR.MINOR of that major (Wallarm supports the latest minor of its two latest majors); a major not listed is unsupported.",
        },
        "productionFloor": {
            "type": "string", "default": "7.1",
            "description": "The oldest MAJOR.MINOR production may run (7.1 fixes a detection bypass through streamed request data).",
        },
        "productionStacks": {
            "type": "array", "items": {"type": "string"}, "default": PRODUCTION_STACKS,
            "description": "Stack-name globs that are production; a stack declared production (layerguard:environment) is judged as the stack prod.",
        },
        **production.CONFIG,
    },
)

_RELEASE = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,4})(?:-[0-9]{1,4})?", re.ASCII)
_MINOR = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})", re.ASCII)
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}", re.ASCII)


def image_parts(image: str) -> tuple[str, str | None, str | None]:
    """(repository, tag or None, digest or None) of an image reference."""
    name, at, digest = image.partition("@")
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:], digest if at else None
    return name, None, digest if at else None


def _minor(text, default: tuple[int, int] | None = None) -> tuple[int, int] | None:
    match = _MINOR.fullmatch(str(text).strip()) if text is not None else None
    return (int(match.group(1)), int(match.group(2))) if match else default


def check(res: Resource, cfg: dict):
    nodes = [c for c in containers(res) if is_wallarm(c)]
    if not nodes:
        return
    judged, stack = production.judged_stack(res, cfg, cfg["productionStacks"])
    if is_unknown(judged):
        prod, stack = True, "(unknown: PULUMI_STACK unset, judged as production)"
    else:
        prod = judged == production.PRODUCTION_NAME or any(
            fnmatch.fnmatchcase(judged, glob) for glob in cfg["productionStacks"])
    supported = {str(k): _minor(v) for k, v in dict(cfg["supportedReleases"]).items()}
    floor = _minor(cfg["productionFloor"], (7, 1))
    for container in nodes:
        yield from _judge(container, stack, prod, supported, floor)


def _judge(container: dict, stack: str, prod: bool, supported: dict, floor: tuple[int, int]):
    label = container.get("name") or "?"
    image = container.get("image")
    if not isinstance(image, str) or not image:
        yield f"container {label!r} has no image, so its Wallarm node release cannot be known"
        return
    repo, tag, digest = image_parts(image)
    where = f"container {label!r} image {image[:200]!r}"
    if "wallarm/node" not in repo and "wallarm-node" not in repo:
        if prod:
            yield (f"{where} is not a wallarm/node image, so its node release cannot be known; "
                   f"stack {stack} is production (fail closed)")
        return
    if digest is not None and not _DIGEST.fullmatch(digest):
        yield f"{where}: the digest is not sha256:<64 hex digits>"
        return
    if tag is None:
        if digest is None:
            yield f"{where} has no tag: it runs latest, whatever release that is; pin a release tag"
        elif prod:
            yield (f"{where} is pinned by digest alone, which does not show its release; stack "
                   f"{stack} is production, so name the release too (wallarm/node:7.1.0@sha256:...)")
        return
    match = _RELEASE.fullmatch(tag)
    if not match:
        yield f"{where}: tag {tag[:40]!r} is not a Wallarm node release such as 7.1.0"
        return
    release = (int(match.group(1)), int(match.group(2)))
    oldest = supported.get(str(release[0]))
    lines = ", ".join(f"{m}.{n}" for m, n in sorted(v for v in supported.values() if v))
    if oldest is None:
        yield f"{where}: major {release[0]} is not supported by Wallarm (supported from: {lines})"
    elif release < oldest:
        yield (f"{where}: {release[0]}.{release[1]} is not supported; Wallarm supports only the "
               f"latest minor of each major (supported from: {lines})")
    elif prod and release < floor:
        yield (f"{where}: {release[0]}.{release[1]} is below the production floor "
               f"{floor[0]}.{floor[1]} (it fixes a detection bypass through streamed request "
               f"data); stack {stack} is production")


POLICY = resource_policy(RULE, check)
