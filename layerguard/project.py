"""Pulumi project and stack configuration, read the way the Pulumi CLI reads them.

`Pulumi.yaml` gives the project name, the runtime and the project-level `config:` declarations
(type, default, description, secret); `Pulumi.<stack>.yaml` overrides values per stack. The result
is the flat `{"namespace:key": "string"}` map the CLI hands a language host, plus the set of secret
keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import files
from .errors import EngineError

# Values marked `secure:` are ciphertext under the stack's secrets provider (passphrase, KMS, Pulumi
# Cloud). The offline preview cannot decrypt them, so the program receives this placeholder, still
# marked secret. `--config key=value` supplies a real value when a test needs one.
SECRET_PLACEHOLDER = "offline-preview-secret-placeholder"

_TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


@dataclass
class StackConfig:
    project: str
    stack: str
    main: Path
    config: dict[str, str] = field(default_factory=dict)
    secret_keys: set[str] = field(default_factory=set)
    declarations: dict[str, dict[str, Any]] = field(default_factory=dict)
    runtime: str = "python"
    description: str = ""
    pwd: Path | None = None      # where the language host runs the program
    entry: str = "."             # the entry point it passes the executor

    @property
    def stack_tags(self) -> dict[str, str]:
        """The tags the CLI sets on every stack it creates."""
        tags = {"pulumi:project": self.project, "pulumi:runtime": self.runtime}
        if self.description:
            tags["pulumi:description"] = self.description
        return tags

    def namespace(self, key: str) -> str:
        return key if ":" in key else f"{self.project}:{key}"


def _load_yaml(path: Path) -> Any:
    # Bounded in size, depth, alias expansion and file type (layerguard/files.py).
    try:
        return files.load_yaml(path)
    except files.FileProblem as exc:
        raise EngineError(str(exc)) from None


def _encode(value: Any) -> str:
    """Config values reach the language host as strings; structured values as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _check_type(key: str, value: Any, declaration: dict[str, Any], origin: str) -> None:
    wanted = declaration.get("type")
    check = _TYPE_CHECKS.get(wanted or "")
    if check is not None and not check(value):
        raise EngineError(
            f"{origin}: configuration key '{key}' must be of type '{wanted}', got {value!r}"
        )


def load(program_dir: Path, stack: str, *, config_file: Path | None = None,
         overrides: dict[str, str] | None = None,
         secret_overrides: dict[str, str] | None = None) -> StackConfig:
    """Read `Pulumi.yaml` and the stack's config file; apply `--config` overrides last, and
    secret overrides (as `pulumi config set --secret` would store them) after those."""
    project_file = program_dir / "Pulumi.yaml"
    if not project_file.is_file():
        raise EngineError(f"{program_dir}: no Pulumi.yaml (is this a Pulumi program directory?)")
    project = _load_yaml(project_file)
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        raise EngineError(f"{project_file}: needs a top-level 'name'")
    runtime = project.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise EngineError(f"{project_file}: runtime is {runtime_name!r}; only 'python' programs run offline")

    # Working directory and entry point as pulumi/pulumi pkg/engine/project.go `getPwdMain` makes
    # them: no `main` -> the project directory and "."; a directory -> that directory and "."; a
    # file -> its directory and its base name.
    main_setting = project.get("main")
    main = program_dir / (main_setting or ".")
    if main.is_dir():
        pwd, entry = main, "."
        main = main / "__main__.py"
    else:
        pwd, entry = main.parent, main.name
    if not main.is_file():
        raise EngineError(f"{project_file}: program entry point {main} does not exist")

    result = StackConfig(project=project["name"], stack=stack, main=main, runtime=runtime_name,
                         description=str(project.get("description") or ""), pwd=pwd, entry=entry)

    declared = project.get("config") or {}
    if not isinstance(declared, dict):
        raise EngineError(f"{project_file}: 'config' must be a mapping")
    for raw_key, decl in declared.items():
        key = result.namespace(raw_key)
        if isinstance(decl, dict) and ("type" in decl or "default" in decl or "description" in decl
                                       or "secret" in decl):
            result.declarations[key] = decl
            if "default" in decl:
                _check_type(key, decl["default"], decl, str(project_file))
                result.config[key] = _encode(decl["default"])
            if decl.get("secret"):
                result.secret_keys.add(key)
        else:
            # A plain value: project-wide config such as `aws:region: us-east-1`.
            result.config[key] = _encode(decl)

    stack_file = config_file or program_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        raise EngineError(
            f"stack '{stack}': no config file {stack_file} "
            f"(create it, or run `pulumi stack init {stack}` with the CLI)"
        )
    stack_doc = _load_yaml(stack_file) or {}
    if not isinstance(stack_doc, dict):
        raise EngineError(f"{stack_file}: must be a mapping with a 'config' key")
    values = stack_doc.get("config") or {}
    if not isinstance(values, dict):
        raise EngineError(f"{stack_file}: 'config' must be a mapping")
    for raw_key, value in values.items():
        key = result.namespace(str(raw_key))
        if isinstance(value, dict) and set(value) == {"secure"}:
            result.config[key] = SECRET_PLACEHOLDER
            result.secret_keys.add(key)
            continue
        if key in result.declarations:
            _check_type(key, value, result.declarations[key], str(stack_file))
            if result.declarations[key].get("secret"):
                raise EngineError(f"{stack_file}: configuration key '{key}' must be encrypted as it's "
                                  f"secret (pulumi config set --secret {raw_key} ...)")
        result.config[key] = _encode(value)

    for raw_key, value in (overrides or {}).items():
        key = result.namespace(raw_key)
        result.config[key] = value
    for raw_key, value in (secret_overrides or {}).items():
        key = result.namespace(raw_key)
        result.config[key] = value
        result.secret_keys.add(key)
    return result


def main_file(program_dir: Path, stack: str, config_file: Path | None = None) -> Path:
    """The program's entry point (what a SARIF location points at); the project file when the
    project or the stack's config cannot be read (a preview that did not run)."""
    try:
        return load(program_dir, stack, config_file=config_file).main
    except EngineError:
        return program_dir / "Pulumi.yaml"
