"""Reading Wallarm node containers out of an ECS task definition's `containerDefinitions`.

`containerDefinitions` is one JSON string. When the program builds it from computed values (a token
secret created in the same stack) it is unknown at preview as a whole; `containers` then raises
`Unresolved`, which the framework defers to `pulumi up` at preview (the resource rules run again,
with the value known, before the task definition is created) and reports as a mandatory violation
naming the property otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from guard.framework import Resource, Unresolved, is_unknown, parse_json

TOKEN = "WALLARM_API_TOKEN"


def containers(res: Resource) -> list:
    raw = res.get("containerDefinitions")
    if is_unknown(raw):
        raise Unresolved(raw)
    doc = parse_json(raw, "containerDefinitions")
    return doc if isinstance(doc, list) else []


def names(entries) -> dict:
    """{name: value} of an `environment` / `secrets` list (value or valueFrom)."""
    out = {}
    for entry in entries or []:
        if isinstance(entry, dict):
            out[entry.get("name")] = entry.get("value", entry.get("valueFrom"))
    return out


def is_wallarm(container: dict) -> bool:
    """A Wallarm node: the wallarm/node image (any registry or mirror), or WALLARM_* settings."""
    image = container.get("image") or ""
    if "wallarm/node" in image or "wallarm-node" in image:
        return True
    declared = set(names(container.get("environment"))) | set(names(container.get("secrets")))
    return any(isinstance(n, str) and n.startswith("WALLARM_") for n in declared)


# --- NGINX configuration shipped inside the task definition -----------------------------------
# A custom virtual host (written by an init container from an environment value, as layerguard's
# node fleet does) sets `wallarm_mode` itself and may override WALLARM_MODE. Configs baked into a
# derived image are invisible to the pack.

_TOKEN_RE = re.compile(r"#[^\n]*|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|[{};]|[^\s{};\"'#]+")
_PROXYING = ("proxy_pass", "grpc_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "memcached_pass")


@dataclass(frozen=True)
class ModeDirective:
    mode: str
    location: str | None  # None: server or http level
    proxies: bool  # the enclosing location forwards requests upstream


def nginx_texts(containers_: list) -> list:
    """(container name, variable, text) of every environment value carrying wallarm_mode."""
    out = []
    for container in containers_:
        for name, value in names(container.get("environment")).items():
            if isinstance(value, str) and "wallarm_mode" in value:
                out.append((container.get("name") or "?", name, value))
    return out


def statements(text: str):
    """Each NGINX directive of `text`, in order, as (words, headers, block, directives): its words
    (quotes stripped, comments skipped), the header words of every block around it (outermost
    first), the innermost block (`[header words, its directives]`, None at top level) and the
    directive list it belongs to (the block's, filled as the walk goes on)."""
    blocks: list = []  # stack of [header words, directives-in-block]
    top: list = []
    statement: list = []
    for token in _TOKEN_RE.findall(text):
        if token.startswith("#"):
            continue
        if token == "{":
            blocks.append([statement, []])
            statement = []
        elif token == ";":
            if statement:
                directives = blocks[-1][1] if blocks else top
                directives.append(statement)
                yield statement, [b[0] for b in blocks], (blocks[-1] if blocks else None), directives
            statement = []
        elif token == "}":
            if blocks:
                blocks.pop()
            statement = []
        else:
            statement.append(token.strip("\"'"))


def mode_directives(text: str) -> list:
    """Every `wallarm_mode X;` with the location it sits in and whether that location proxies."""
    found = [(words[1], headers, block) for words, headers, block, _directives in statements(text)
             if words[0] == "wallarm_mode" and len(words) > 1]
    out = []
    for mode, headers, block in found:
        locations = [" ".join(h) for h in headers if h and h[0] == "location"]
        proxies = bool(block) and any(d and d[0] in _PROXYING for d in block[1])
        out.append(ModeDirective(mode, locations[-1] if locations else None, proxies))
    return out
