"""A CrossGuard policy pack, started and spoken to the way the Pulumi CLI does it.

The CLI (sdk/go/common/resource/plugin/analyzer_plugin.go, NewPolicyAnalyzer) reads
`PulumiPolicy.yaml`, starts `pulumi-analyzer-policy-python ENGINE_ADDRESS .` in the pack's directory
(through the python language plugin: `python -u -m pulumi.policy ENGINE_ADDRESS DIR`, inside the
runtime's `virtualenv` option when set), with
the environment PULUMI_CONFIG (stack config as JSON, secrets decrypted), PULUMI_ORGANIZATION,
PULUMI_PROJECT, PULUMI_STACK and PULUMI_DRY_RUN; it reads the port from the first line of stdout,
tries `Handshake`, calls `ConfigureStack`, then `GetAnalyzerInfo`, `Configure`, `Analyze` per
resource and `AnalyzeStack` once. This module does the same, over the same protobuf messages.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from . import files
from .errors import EngineError
from .lifecycle import die_with_parent

# The CLI raises gRPC's message limit the same way (rpcutil.GrpcChannelOptions): big stacks make
# big AnalyzeStack requests.
_MAX_MESSAGE = 400 * 1024 * 1024
_CHANNEL_OPTIONS = [("grpc.max_receive_message_length", _MAX_MESSAGE),
                    ("grpc.max_send_message_length", _MAX_MESSAGE)]
START_TIMEOUT = 60.0
LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
          analyzer_pb2.REMEDIATE: "remediate", analyzer_pb2.DISABLED: "disabled"}
LEVEL_VALUES = {name: value for value, name in LEVELS.items()}
SEVERITIES = {analyzer_pb2.POLICY_SEVERITY_LOW: "low", analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
              analyzer_pb2.POLICY_SEVERITY_HIGH: "high", analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical"}


@dataclass
class PackInfo:
    name: str
    version: str
    policies: list[dict[str, Any]]
    initial_config: dict[str, dict[str, Any]]


def load_pack_project(pack_dir: Path) -> dict[str, Any]:
    path = pack_dir / "PulumiPolicy.yaml"
    if not path.is_file():
        raise EngineError(f"{pack_dir}: no PulumiPolicy.yaml (is this a policy pack directory?)")
    try:
        doc = files.load_yaml(path) or {}
    except files.FileProblem as exc:
        raise EngineError(str(exc)) from None
    if not isinstance(doc, dict):
        raise EngineError(f"{path}: must be a mapping with a 'runtime' key")
    runtime = doc.get("runtime")
    name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if name != "python":
        raise EngineError(f"{path}: runtime is {name!r}; the offline preview runs python packs only")
    return doc


class PolicyPackProcess:
    """The pack's own process and a gRPC client to it. Always use it as a context manager: the
    process is stopped on every way out."""

    def __init__(self, pack_dir: Path, *, project: str, stack: str, organization: str,
                 dry_run: bool, config: dict[str, str], secret_keys: set[str]):
        self.pack_dir = pack_dir.resolve()
        self.project_doc = load_pack_project(self.pack_dir)
        self.project, self.stack, self.organization = project, stack, organization
        self.dry_run, self.config, self.secret_keys = dry_run, config, secret_keys
        self.process: subprocess.Popen | None = None
        self.channel: grpc.Channel | None = None
        self.stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self.stderr_file = None

    # --- process -------------------------------------------------------------------------------
    def _python(self) -> str:
        runtime = self.project_doc.get("runtime")
        options = runtime.get("options", {}) if isinstance(runtime, dict) else {}
        venv = options.get("virtualenv") or os.environ.get("PULUMI_RUNTIME_VIRTUALENV")
        if venv:
            # Relative to the pack's directory, as the CLI resolves it (pulumi/pulumi
            # sdk/python/toolchain/pip.go, resolveVirtualEnvironmentPath). Not `resolve()`d: a
            # virtualenv's bin/python is a symlink to its base interpreter, and following it
            # would run the pack outside the virtualenv's packages.
            home = Path(os.path.normpath(self.pack_dir / venv))
            if home == Path(os.path.normpath(sys.prefix)):
                return sys.executable  # the engine runs in that very virtualenv
            candidate = home / "bin" / "python"
            if not candidate.exists():
                raise EngineError(f"{self.pack_dir}: virtualenv {venv!r} from PulumiPolicy.yaml has no bin/python "
                                  f"({candidate}); create it first (`make setup` in this repository)")
            return str(candidate)
        return sys.executable

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.config:
            env["PULUMI_CONFIG"] = json.dumps(self.config)
        env.update({"PULUMI_ORGANIZATION": self.organization, "PULUMI_PROJECT": self.project,
                    "PULUMI_STACK": self.stack, "PULUMI_DRY_RUN": "true" if self.dry_run else "false"})
        return env

    def __enter__(self) -> PolicyPackProcess:
        import tempfile
        self.stderr_file = tempfile.TemporaryFile()
        # The runtime options choose the interpreter (_python) and are not passed on: with the
        # python language plugin (bundled with every CLI), NewPolicyAnalyzer starts the pack through
        # the plugin's RunPlugin, which runs `python -u -m pulumi.policy ENGINE_ADDRESS PACK_DIR`
        # (pulumi/pulumi sdk/python/cmd/pulumi-language-python/main.go, RunPlugin); only the old
        # `pulumi-analyzer-policy-<runtime>` shim got `-key=value` flags.
        args = [self._python(), "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."]
        self.process = self._forked(args) or subprocess.Popen(
            args, cwd=self.pack_dir, env=self._environment(), stdout=subprocess.PIPE,
            stderr=self.stderr_file, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        try:
            port = self._read_port()
            self.channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_CHANNEL_OPTIONS)
            grpc.channel_ready_future(self.channel).result(timeout=START_TIMEOUT)
            self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        except BaseException:
            self.close()
            raise
        return self

    def _forked(self, args: list[str]):
        """The same command forked from a running zygote (zygote.py), when there is one and the
        pack runs on this interpreter (no virtualenv of its own); None to start it the usual way."""
        socket_path = os.environ.get("LAYERGUARD_ZYGOTE")
        if not socket_path or args[0] != sys.executable or not Path(socket_path).exists():
            return None
        from .zygote import ForkedPack
        try:
            return ForkedPack(socket_path, self.pack_dir, self._environment(), args[4:], self.stderr_file)
        except OSError:
            return None  # the zygote is gone: start the pack the usual way

    def _read_port(self) -> int:
        assert self.process is not None and self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT
        line = b""
        while not line.endswith(b"\n"):
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                raise EngineError(f"policy pack {self.pack_dir} printed no port within {START_TIMEOUT:.0f} s")
            chunk = os.read(self.process.stdout.fileno(), 1)
            if not chunk:
                self.process.wait(timeout=10)
                raise EngineError(f"policy pack {self.pack_dir} failed to start "
                                  f"(exit {self.process.returncode}): {self.stderr_tail()}")
            line += chunk
        try:
            return int(line.strip())
        except ValueError:
            raise EngineError(f"policy pack {self.pack_dir} printed {line!r} instead of a port") from None

    def stderr_tail(self, limit: int = 2000) -> str:
        if self.stderr_file is None:
            return ""
        self.stderr_file.seek(0)
        text = self.stderr_file.read().decode("utf-8", "replace").strip()
        return text[-limit:] if text else "(no output on stderr)"

    def close(self) -> None:
        # The process first, then the channel: closing a channel whose server still runs blocks
        # for about 0.2 s (gRPC's orderly shutdown); closing it after the server is gone does not.
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()

    def __exit__(self, *_exc) -> None:
        self.close()
        if self.stderr_file is not None:
            self.stderr_file.close()
            self.stderr_file = None

    def _call(self, method: str, request, *, optional: bool = False):
        assert self.stub is not None
        try:
            return getattr(self.stub, method)(request)
        except grpc.RpcError as exc:
            if optional and exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                return None
            raise EngineError(f"policy pack {self.pack_dir}: {method} failed: {exc.code().name}: "
                              f"{exc.details()}\n{self.stderr_tail()}") from None

    # --- protocol ------------------------------------------------------------------------------
    def handshake(self) -> None:
        self._call("Handshake", analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address="127.0.0.1:0", root_directory=str(self.pack_dir),
            program_directory=str(self.pack_dir)), optional=True)

    def configure_stack(self, tags: dict[str, str]) -> None:
        # The protocol carries config as the flat string map a language host gets, with the secret
        # keys named beside it.
        self._call("ConfigureStack", analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=self.stack, project=self.project, organization=self.organization,
            dry_run=self.dry_run, config=self.config, config_secret_keys=sorted(self.secret_keys),
            tags=tags), optional=True)

    def info(self) -> PackInfo:
        response = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        policies = []
        for policy in response.policies:
            policies.append({
                "name": policy.name, "description": policy.description,
                "enforcementLevel": LEVELS.get(policy.enforcementLevel, "advisory"),
                "configSchema": json_format.MessageToDict(policy.configSchema.properties)
                if policy.HasField("configSchema") else {},
                "required": list(policy.configSchema.required) if policy.HasField("configSchema") else [],
                # What CI reports (SARIF rules) show; empty when the pack's SDK does not send them.
                "displayName": policy.displayName, "severity": SEVERITIES.get(policy.severity, ""),
                "remediation": policy.remediation_steps, "url": policy.url, "tags": list(policy.tags),
            })
        initial = {}
        for key, value in response.initialConfig.items():
            initial[key] = {"enforcementLevel": LEVELS.get(value.enforcementLevel),
                            "properties": json_format.MessageToDict(value.properties)}
        version = str(self.project_doc.get("version") or response.version)
        return PackInfo(response.name, version, policies, initial)

    def configure(self, policy_config: dict[str, dict[str, Any]]) -> None:
        if not policy_config:
            return
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, entry in policy_config.items():
            cfg = request.policyConfig[name]
            cfg.enforcementLevel = LEVEL_VALUES[entry["enforcementLevel"]]
            cfg.properties.update(entry.get("properties") or {})
        self._call("Configure", request)

    def analyze(self, request: analyzer_pb2.AnalyzeRequest):
        return self._call("Analyze", request)

    def remediate(self, request: analyzer_pb2.AnalyzeRequest):
        """None when the pack does not implement `Remediate` (the CLI skips it then,
        analyzer_plugin.go `Remediate`: `codes.Unimplemented`)."""
        return self._call("Remediate", request, optional=True)

    def analyze_stack(self, resources: list[analyzer_pb2.AnalyzerResource]):
        return self._call("AnalyzeStack", analyzer_pb2.AnalyzeStackRequest(resources=resources))


def resolve_policy_config(info: PackInfo, file_config: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Merge each policy's default level, the pack's initial config and `--policy-pack-config`
    the way the CLI does (pulumi/pulumi pkg/resource/analyzer/config.go `ReconcilePolicyPackConfig`
    and `applyConfig`): `all` sets every level, a policy's own entry wins, schema defaults fill
    properties, and each policy with a schema is validated against it.

    An entry naming a policy the pack does not have is accepted and passed on to `Configure`, as
    the CLI does (`applyConfig` adds every key it is given, `validatePolicyPackConfig` only checks
    the pack's own policies); so is `all` itself. The CLI's `Configure`
    (pkg/resource/plugin/analyzer_plugin.go) then refuses an entry without a valid enforcement
    level, which is what happens to an unknown policy given only properties."""
    import jsonschema

    def parse(name: str, entry: Any) -> tuple[str | None, dict[str, Any]]:
        # config.go `parsePolicyPackConfig`: a string is a level; an object may carry one.
        if isinstance(entry, str):
            level, properties = entry, {}
        elif isinstance(entry, dict):
            properties = dict(entry)
            level = properties.pop("enforcementLevel", None)
        else:
            raise EngineError(f"policy pack config: {name}: {entry!r} is not a valid value; "
                              "must be a string or object")
        if level is not None and level not in LEVEL_VALUES:
            raise EngineError(f"policy pack config: {name}: invalid enforcement level {level!r} "
                              f"(allowed: {', '.join(LEVEL_VALUES)})")
        return level, properties

    def apply(result: dict[str, dict[str, Any]], given: dict[str, Any]) -> None:
        parsed = {name: parse(name, entry) for name, entry in given.items()}
        all_level = parsed.get("all", (None, {}))[0]
        if all_level:
            for entry in result.values():
                entry["enforcementLevel"] = all_level
        for name, (level, properties) in parsed.items():
            entry = result.setdefault(name, {"enforcementLevel": None, "properties": {}})
            if level:
                entry["enforcementLevel"] = level
            entry["properties"].update(properties)

    result: dict[str, dict[str, Any]] = {}
    for policy in info.policies:
        properties = {key: schema["default"] for key, schema in (policy["configSchema"] or {}).items()
                      if isinstance(schema, dict) and "default" in schema}
        result[policy["name"]] = {"enforcementLevel": policy["enforcementLevel"], "properties": properties}
    apply(result, {name: {"enforcementLevel": entry.get("enforcementLevel"), **(entry.get("properties") or {})}
                   if entry.get("enforcementLevel") else dict(entry.get("properties") or {})
                   for name, entry in info.initial_config.items()})
    apply(result, dict(file_config or {}))

    # Every policy's config is validated and every error reported, sorted, before the CLI stops
    # (pkg/resource/analyzer/config.go `validatePolicyPackConfig` collects each policy's
    # `gojsonschema` errors as "<policy>: <field>: <error>", root ones without the "(root): "
    # prefix; pkg/engine/update.go prefixes each with "validating policy config: <pack> <version>  ",
    # sorts them all and fails "validating policy config"). Only a config that validates reaches
    # `Configure`, whose enforcement-level check comes after (analyzer_plugin.go `Configure`).
    problems = []
    for policy in info.policies:
        if not policy["configSchema"] and not policy["required"]:
            continue
        schema = {"type": "object", "properties": policy["configSchema"] or {},
                  "required": policy["required"]}
        validator = jsonschema.Draft7Validator(schema)
        for error in validator.iter_errors(result[policy["name"]]["properties"]):
            for message in _schema_error_messages(error):
                problems.append(f"validating policy config: {info.name} {info.version}  {policy['name']}: {message}")
    if problems:
        raise EngineError("policy pack config is invalid:\n" + "\n".join(sorted(problems)))
    for name, entry in result.items():
        if entry["enforcementLevel"] not in LEVEL_VALUES:
            raise EngineError(f"configuring policy pack {info.name}: {name}: invalid enforcement level "
                              f"{entry['enforcementLevel'] or ''!r} (an entry for a policy the pack does not "
                              f"have needs its own level; allowed: {', '.join(LEVEL_VALUES)})")
    return result


def _go_type(value: Any) -> str:
    """gojsonschema's name for a JSON value's type (a whole number is an integer)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}.get(type(value), "null")


def _go_number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


# gojsonschema's words for the keywords whose description only quotes the schema's number.
_GO_NUMBER_DESCRIPTIONS = {
    "maxLength": "String length must be less than or equal to {}",
    "minLength": "String length must be greater than or equal to {}",
    "minimum": "Must be greater than or equal to {}",
    "maximum": "Must be less than or equal to {}",
    "exclusiveMinimum": "Must be greater than {}",
    "exclusiveMaximum": "Must be less than {}",
    "multipleOf": "Must be a multiple of {}",
    "minItems": "Array must have at least {} items",
    "maxItems": "Array must have at most {} items",
}


def _schema_error_messages(error) -> list[str]:
    """A config validation error worded as the CLI words it: the CLI validates with gojsonschema
    and prints `ResultError.String()`, "<field>: <description>", with the "(root): " prefix trimmed
    (pkg/resource/analyzer/config.go `validatePolicyConfig`); the descriptions are gojsonschema's
    default locale (xeipuuv/gojsonschema locales.go `DefaultLocale`). A keyword not listed keeps
    the Python validator's own words."""
    field = ".".join(str(part) for part in error.absolute_path)
    keyword, value, instance = error.validator, error.validator_value, error.instance
    if keyword == "required":
        # One error per missing property (jsonschema words it "'<name>' is a required property").
        name = next((n for n in value if error.message == f"{n!r} is a required property"), None)
        descriptions = [f"{name} is required" if name is not None else error.message]
    elif keyword == "type":
        expected = value if isinstance(value, str) else ", ".join(value)
        descriptions = [f"Invalid type. Expected: {expected}, given: {_go_type(instance)}"]
    elif keyword == "pattern":
        descriptions = [f"Does not match pattern '{value}'"]
    elif keyword in _GO_NUMBER_DESCRIPTIONS:
        descriptions = [_GO_NUMBER_DESCRIPTIONS[keyword].format(_go_number(value))]
    elif keyword == "enum":
        allowed = ", ".join(json.dumps(v) for v in value)
        descriptions = [f"{field or '(root)'} must be one of the following: {allowed}"]
    elif keyword == "const":
        descriptions = [f"{field or '(root)'} does not match: {json.dumps(value)}"]
    else:
        descriptions = [error.message]
    return [f"{field}: {d}" if field else d for d in descriptions]
