"""Reading a Wallarm node's set-up out of EC2 user data (a launch template's `userData`, an
instance's `userDataBase64` or `userData`), for the Wallarm rules that judge ECS task definitions.

A node on Wallarm's AMI is set up by the image's own `cloud-init.py`
(https://docs.wallarm.com/installation/cloud-platforms/cloud-init/): `-t <token>`, `-m <mode>`,
and NGINX configuration the script writes (a heredoc, as layerguard's EC2 fleet does). User data
that does not run it is not a Wallarm node for these rules (the reachability model then refuses to
prove it). Unknown user data (it embeds the ARN of a secret created in the stack) raises
`Unresolved`: deferred at preview, decided at `pulumi up` as for `containerDefinitions`.
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex

from guard.framework import Resource, Unresolved, is_unknown
from guard.reachability.compute import CLOUD_INIT
from guard.types import EC2_INSTANCE, LAUNCH_TEMPLATE

_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(\w+)\1[^\n]*\n(.*?)\n[ \t]*\2[ \t]*$", re.DOTALL | re.MULTILINE)


def script(res: Resource) -> str | None:
    """The decoded user data; None when there is none or it is not text (gzip, binary)."""
    for prop, encoded in (("userDataBase64", True), ("userData", res.type.startswith("aws:ec2/launchTemplate:"))):
        raw = res.get(prop)
        if raw is None:
            continue
        if is_unknown(raw):
            raise Unresolved(raw)
        if not isinstance(raw, str):
            return None
        data = raw.encode()
        if encoded:
            try:
                data = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


def cloud_init_calls(text: str) -> list[list[str]]:
    """The arguments of every command line that runs Wallarm's cloud-init.py (comments skipped,
    continuation lines joined)."""
    calls = []
    for line in text.replace("\\\n", " ").splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or CLOUD_INIT not in stripped:
            continue
        try:
            words = shlex.split(stripped, comments=True)
        except ValueError:
            words = stripped.split()
        for i, word in enumerate(words):
            if word.strip("[]\"',") == CLOUD_INIT:
                calls.append([w.strip("[]\"',") for w in words[i + 1:]])
                break
    return calls


def option(args: list[str], short: str, long: str) -> str | None:
    for i, word in enumerate(args):
        if word in (short, long) and i + 1 < len(args):
            return args[i + 1]
        if word.startswith(long + "="):
            return word.split("=", 1)[1]
    return None


def vhosts(text: str) -> list[str]:
    """NGINX configuration the user data writes (heredoc bodies carrying Wallarm directives)."""
    return [m.group(3) for m in _HEREDOC.finditer(text) if "wallarm_mode" in m.group(3)]


def pseudo_containers(res: Resource, text: str) -> list[dict]:
    """The vhosts as the container shape the NGINX readers take (containers.nginx_texts)."""
    return [{"name": f"{res.name} user data", "environment": [{"name": f"vhost {i + 1}", "value": v}]}
            for i, v in enumerate(vhosts(text))]


def by_launch_kind(ec2_check, container_check):
    """One predicate for a Wallarm rule over both node forms: EC2 launch data (launch templates,
    instances) goes to `ec2_check`, everything else (task definitions) to `container_check`."""
    def check(res: Resource, cfg: dict):
        yield from (ec2_check if res.type in (LAUNCH_TEMPLATE, EC2_INSTANCE) else container_check)(res, cfg)
    return check
