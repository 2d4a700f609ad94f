"""Pulumi project and stack configuration, read the way the Pulumi CLI reads them.

`Pulumi.yaml` gives the project name, the runtime and the project-level `config:` declarations
(type, default, description, secret); `Pulumi.<stack>.yaml` overrides values per stack. The result
is the flat `{"namespace:key": "string"}` map the CLI hands a language host, plus the set of secret
keys.
"""

from __future__ import annotations

import json
import sys
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
    python: Path | None = None   # the program's virtualenv interpreter (None: the engine's own)

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
                         description=str(project.get("description") or ""), pwd=pwd, entry=entry,
                         python=_virtualenv_python(program_dir, project_file, runtime))

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
    if stack_file.is_file():
        stack_doc = _load_yaml(stack_file) or {}
    elif config_file is None and (overrides or secret_overrides):
        # The CLI reads a missing stack file as a stack with no config (pulumi/pulumi
        # sdk/go/common/workspace/loaders.go `LoadProjectStack`: os.IsNotExist -> an empty
        # ProjectStack); what it requires is that the stack exists in the backend. Offline there is
        # no backend, so the file is the only sign of the stack: without it, the values on the
        # command line are the stack's config, and without those the name is taken for a typo.
        stack_doc = {}
    else:
        raise EngineError(
            f"stack '{stack}': no config file {stack_file} and no --config values "
            f"(create the file, run `pulumi stack init {stack}` with the CLI, or give the stack's "
            f"config with --config KEY=VALUE)"
        )
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


def _virtualenv_python(program_dir: Path, project_file: Path, runtime: Any) -> Path | None:
    """The interpreter the language host runs the program with, from `runtime.options`.

    pulumi/pulumi sdk/python/toolchain/toolchain.go `ResolveToolchain`: `toolchain` pip (the
    default with no uv.lock/poetry.lock), poetry or uv. For pip, `virtualenv` is taken relative to
    the project's root (pip.go `resolveVirtualEnvironmentPath`), and `Run`
    (cmd/pulumi-language-python/main.go) first calls `ValidateVenv`: a declared virtualenv
    without `bin/python` (`IsVirtualEnv`) is an error (`NewVirtualEnvError`), the program does not
    run. No virtualenv: the ambient python, here the engine's. poetry and uv run the program
    through their own executable (`poetry run`, `uv run`), which the offline preview does not
    start: those are refused by name rather than run with a different interpreter."""
    options = runtime.get("options") if isinstance(runtime, dict) else None
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise EngineError(f"{project_file}: 'runtime.options' must be a mapping, got {options!r}")
    toolchain = options.get("toolchain", "pip")
    if toolchain not in ("pip", "poetry", "uv"):
        raise EngineError(f"{project_file}: runtime.options.toolchain is {toolchain!r}; the Pulumi "
                          f"CLI allows pip, poetry or uv")
    if toolchain != "pip":
        raise EngineError(
            f"{project_file}: runtime.options.toolchain is {toolchain!r}: the CLI runs the program "
            f"with `{toolchain} run`, which the offline preview does not do; use toolchain 'pip' "
            f"with 'virtualenv' naming the environment {toolchain} made (e.g. .venv) to preview offline")
    virtualenv = options.get("virtualenv")
    if virtualenv in (None, ""):
        return None
    if not isinstance(virtualenv, str):
        raise EngineError(f"{project_file}: runtime.options.virtualenv must be a path, got {virtualenv!r}")
    root = project_file.parent
    path = Path(virtualenv) if Path(virtualenv).is_absolute() else root / virtualenv
    python = path / "bin" / "python"
    if not python.is_file():
        state = "doesn't exist" if not path.exists() else "doesn't appear to be a virtual environment"
        raise EngineError(
            f"{project_file}: the 'virtualenv' option in Pulumi.yaml (runtime.options.virtualenv) "
            f"is set to {virtualenv!r}, but {str(path)!r} {state} (no {python}); create it: "
            f"python3 -m venv {path} && {python} -m pip install -r requirements.txt")
    return python


def same_interpreter(python: Path) -> bool:
    """Whether `python` (a virtualenv's `bin/python`) is the environment this engine runs in."""
    try:
        return path_of_env(python) == Path(sys.prefix).resolve()
    except OSError:
        return False


def path_of_env(python: Path) -> Path:
    return python.parent.parent.resolve()


def main_file(program_dir: Path, stack: str, config_file: Path | None = None) -> Path:
    """The program's entry point (what a SARIF location points at); the project file when the
    project or the stack's config cannot be read (a preview that did not run)."""
    try:
        return load(program_dir, stack, config_file=config_file).main
    except EngineError:
        return program_dir / "Pulumi.yaml"
