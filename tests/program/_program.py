"""Helpers for the program's tests: shared offline previews of the real program (one run per
stack, mode and overrides, reused by every module so the suite stays within its time budget) and
small readers over captured resources, linked by URN (property dependencies), never by ids."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pulumi_aws

from layerguard.engine import preview

REPO = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "prod")
MODES = ("preview", "update")

_cache: dict = {}


def run(stack: str, mode: str = "preview", *, config: dict | None = None,
        secrets: dict | None = None, config_file: Path | None = None, with_pack: bool = False,
        program: Path = REPO):
    """One shared preview. `config_file` replaces Pulumi.<stack>.yaml (an example file);
    `with_pack` runs the policy pack in policy/; `program` another program directory."""
    key = (stack, mode, json.dumps(config, sort_keys=True), json.dumps(secrets, sort_keys=True),
           str(config_file), with_pack, str(program))
    if key not in _cache:
        _cache[key] = preview(program, stack, mode, policy_pack=REPO / "policy" if with_pack else None,
                              config=config, secrets=secrets, config_file=config_file)
    return _cache[key]


def ok(stack: str, mode: str = "preview", **kwargs):
    result = run(stack, mode, **kwargs)
    assert result.exit_code == 0, f"{stack}/{mode}: exit {result.exit_code}: {result.error}"
    return result


SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LB = "aws:lb/loadBalancer:LoadBalancer"
SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def of_type(result, type_token: str) -> list:
    return [r for r in result.resources if r.type == type_token]


def named(result, name: str):
    found = [r for r in result.resources if r.name == name]
    assert len(found) == 1, f"expected one resource named {name!r}, found {[r.urn for r in found]}"
    return found[0]


def dep(res, prop: str) -> list[str]:
    return res.property_dependencies.get(prop, [])


def one_dep(res, prop: str) -> str:
    urns = dep(res, prop)
    assert len(urns) == 1, f"{res.urn}: {prop} should come from one resource, got {urns}"
    return urns[0]


def aws_class(type_token: str):
    """The pulumi_aws class for a type token such as aws:ec2/securityGroup:SecurityGroup."""
    _package, module_path, name = type_token.split(":")
    module = getattr(pulumi_aws, module_path.split("/")[0])
    return getattr(module, name)


def supports_tags(type_token: str) -> bool:
    return "tags" in inspect.signature(aws_class(type_token)._internal_init).parameters


def ancestors(result, res) -> list:
    by_urn = result.by_urn()
    out, parent = [], res.parent
    while parent and parent in by_urn:
        out.append(by_urn[parent])
        parent = by_urn[parent].parent
    return out


def walk_plain(value, path="$"):
    """Yield (path, string) for every string outside a secret wrapper."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return
        for k, v in value.items():
            yield from walk_plain(k, f"{path}.<key>")
            yield from walk_plain(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk_plain(v, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value


def walk_secret(value):
    """Yield every value held inside a secret wrapper."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            yield value.get("value")
            return
        for v in value.values():
            yield from walk_secret(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk_secret(v)


# --- example files and program variants (issue 11) ---------------------------------------------

EXAMPLES = REPO / "examples"
POLICY = REPO / "policy"


def run_example(name: str, mode: str = "preview", *, pack: bool = True, config: dict | None = None):
    """One shared offline preview of `examples/<name>.yaml` (as the dev stack), with the pack."""
    key = ("example", name, mode, pack, json.dumps(config, sort_keys=True))
    if key not in _cache:
        _cache[key] = preview(REPO, "dev", mode, policy_pack=POLICY if pack else None,
                              config=config, config_file=EXAMPLES / f"{name}.yaml")
    return _cache[key]


def run_variant(tmp_dir: Path, example: str, mistake: str = "", mode: str = "preview", *,
                before: str = "", config: dict | None = None):
    """The real program from a wrapper directory, with `mistake` (Python source) run after it:
    what a user's edit adds to the stack. The wrapper sees the program's globals (`network`, `edge`,
    `app`, `nodes`) and `aws`; `before` runs first (a user's edit of a component). The pack judges
    the result."""
    import shutil
    import textwrap
    program = tmp_dir / "program"
    program.mkdir()
    shutil.copy(REPO / "Pulumi.yaml", program / "Pulumi.yaml")
    # Pulumi.yaml names the project virtualenv relative to the program directory (as the CLI
    # resolves it): the wrapper uses the project's.
    (program / ".venv").symlink_to(REPO / ".venv")
    (program / "__main__.py").write_text(
        "import runpy, sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "import pulumi\n"
        "import pulumi_aws as aws\n"
        + textwrap.dedent(before) +
        f"g = runpy.run_path({str(REPO / '__main__.py')!r}, run_name='__main__')\n"
        "network, edge, app, nodes = g['network'], g['edge'], g['app'], g['nodes']\n"
        + textwrap.dedent(mistake), encoding="utf-8")
    return preview(program, "dev", mode, policy_pack=POLICY, config=config,
                   config_file=EXAMPLES / f"{example}.yaml")


def foreign_rules(result) -> set[tuple]:
    """Rules the stack adds to security groups it does not own: their `securityGroupId` is a
    literal id, not a property dependency on a group of the stack. (direction, group id, peer, port)."""
    names = {r.urn: r.name for r in result.resources}
    out = set()
    for type_token, direction in ((INGRESS, "in"), (EGRESS, "out")):
        for rule in of_type(result, type_token):
            if dep(rule, "securityGroupId"):
                continue
            inputs = rule.inputs
            peer = (names[one_dep(rule, "referencedSecurityGroupId")]
                    if dep(rule, "referencedSecurityGroupId") else
                    inputs.get("referencedSecurityGroupId") or inputs.get("cidrIpv4"))
            out.add((direction, inputs["securityGroupId"], peer, int(inputs["toPort"])))
    return out


def container_env(result, task_name: str, container: str, variable: str) -> str:
    task = named(result, task_name)
    containers = json.loads(task.inputs["containerDefinitions"])
    env = {e["name"]: e["value"] for c in containers if c["name"] == container
           for e in c.get("environment", [])}
    assert variable in env, f"{task.urn}: {container} has no {variable}"
    return env[variable]
