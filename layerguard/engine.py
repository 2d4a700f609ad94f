"""The offline preview: run a program, capture what it registers, analyse it with a policy pack.

`preview()` is the whole engine in one call; the command line (`cli.py`) and the tests use it.
The program runs in a language-host process (`host.py`), the pack in its own analyzer process
(`analyzer.py`); both start at once, as they do under the CLI.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import files, lifecycle
from . import project as project_config
from .errors import EngineError

# grpc, protobuf and the Pulumi SDK (which `pulumi.runtime.proto` imports whole) cost ~0.3 s of CPU
# to import. They are imported where first needed, after the program's host process has started,
# so that cost runs beside the host instead of before it (the CLI's wall time, see docs/BENCHMARKS.md).
if TYPE_CHECKING:
    from google.protobuf import struct_pb2
    from pulumi.runtime.proto import analyzer_pb2

    from .analyzer import PackInfo, PolicyPackProcess

LAYER_TAG = "layerguard:layer"
LAYERS = ("network", "edge", "node", "app")
UNKNOWN_SENTINELS = frozenset({
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421", "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58", "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
})
SECRET_SIG = "4dabf18193072939515e22adb298388d"
ORGANIZATION = "organization"  # what the CLI reports for a DIY backend
MODES = ("preview", "update")
# The packages of the Node.js and Python dynamic providers (pulumi/pulumi
# pkg/resource/deploy/target.go `isDynamicProvider`).
DYNAMIC_PACKAGES = frozenset({"pulumi-nodejs", "pulumi-python"})
HOST_TIMEOUT = 600
# A resource rule the pack can only decide at `pulumi up` reports, at preview, an advisory whose
# message starts with this (contract with the policy pack; see docs/CONTRACTS.md).
DEFERRED_PREFIX = "decided at `pulumi up`, before "


@dataclass
class CapturedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    provider: str | None = None
    provider_region: str | None = None
    layer: str = "unclassified"
    kind: str = "register"
    id: str | None = None
    # Set when the program imports an existing resource (`import_` option): it is not created.
    import_id: str | None = None
    # The registration's resource options as the SDK sent them (host.py `_resource_options`).
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Violation:
    policy: str
    pack: str
    enforcement: str
    urn: str
    message: str

    @property
    def could_not_run(self) -> bool:
        return self.message.startswith("can't run policy")

    @property
    def deferred(self) -> bool:
        # pulumi_policy sends "<policy description>\n<reported message>" (policy.py
        # `report_violation`): the reported message is a line of its own.
        return any(line.startswith(DEFERRED_PREFIX) for line in self.message.splitlines())


@dataclass
class Stopped:
    """Update mode: the registration whose mandatory `Analyze` violation stopped the update. It
    was not created, nothing after it was analysed, and `AnalyzeStack` did not run."""
    urn: str
    name: str
    type: str


@dataclass
class PreviewResult:
    stack: str
    mode: str
    exit_code: int
    error: str | None = None
    project: str = ""
    resources: list[CapturedResource] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    program_log: list[dict[str, str]] = field(default_factory=list)
    pack: PackInfo | None = None
    policy_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    stopped: Stopped | None = None
    stack_analyzed: bool = False
    remediations: list[Remediation] = field(default_factory=list)

    @property
    def could_not_run(self) -> list[Violation]:
        return [v for v in self.violations if v.could_not_run]

    @property
    def deferred(self) -> list[Violation]:
        """Resource rules decided at `pulumi up` (advisories at preview; never change the exit code)."""
        return [v for v in self.violations if v.deferred]

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement in ("mandatory", "remediate") and not v.deferred]

    def by_urn(self) -> dict[str, CapturedResource]:
        return {r.urn: r for r in self.resources}

    def to_json(self) -> dict[str, Any]:
        # Sorted (the stack first, then by URN; findings by policy, URN and text): the program's
        # registration order varies from run to run (its outputs resolve concurrently), and two
        # runs of one preview must write the same file.
        resources = sorted(self.resources, key=lambda r: (r.type != "pulumi:pulumi:Stack", r.urn))
        found = sorted((v for v in self.violations if not v.deferred), key=lambda v: (v.policy, v.urn, v.message))
        later = sorted(self.deferred, key=lambda v: (v.policy, v.urn, v.message))
        return {
            "stack": self.stack, "mode": self.mode,
            "resources": [{"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent,
                           "layer": r.layer, "kind": r.kind} for r in resources],
            "violations": [{"policy": v.policy, "enforcement": v.enforcement, "urn": v.urn,
                            "message": v.message} for v in found],
            "deferred": [{"policy": v.policy, "enforcement": v.enforcement, "urn": v.urn,
                          "message": v.message} for v in later],
            "stopped": {"urn": self.stopped.urn, "name": self.stopped.name, "type": self.stopped.type}
            if self.stopped else None,
            "stackAnalyzed": self.stack_analyzed,
        }


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def _load_policy_config(policy_config: dict[str, Any] | Path | str | None) -> dict[str, Any] | None:
    if policy_config is None or isinstance(policy_config, dict):
        return policy_config
    path = Path(policy_config)
    try:
        doc = files.load_json(path)
    except files.FileProblem as exc:
        raise EngineError(f"policy pack config: {exc}") from None
    if not isinstance(doc, dict):
        raise EngineError(f"{path}: policy pack config must be a JSON object")
    return doc


def preview(program_dir: Path | str = ".", stack: str = "dev", mode: str = "preview", *,
            policy_pack: Path | str | None = None,
            policy_config: dict[str, Any] | Path | str | None = None,
            config: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
            config_file: Path | str | None = None,
            existing: dict[str, Any] | list[Any] | Path | str | None = None,
            tags: dict[str, str] | None = None, progress: Any = None) -> PreviewResult:
    """Run one offline preview (or update, with `mode="update"`). Never raises for bad input:
    settings, program and pack failures come back as exit code 2 with `error` set.

    `config` overrides values like `pulumi preview --config k=v`; `secrets` sets values the way
    `pulumi config set --secret k v` would (the program receives them as secrets). `existing`
    answers the program's reads (`Resource.get`): a file or the parsed document (see
    `load_existing`). `tags` are the tags the stack already has (`pulumi stack tag set`).
    `progress(phase)` is called as each phase ends (the command line's progress lines)."""
    if mode not in MODES:
        return PreviewResult(stack, mode, 2, error=f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    try:
        result = _preview(Path(program_dir), stack, mode, policy_pack and Path(policy_pack),
                          policy_config, config or {}, secrets or {}, config_file and Path(config_file),
                          load_existing(existing), tags or {}, progress or (lambda _phase: None))
    except EngineError as exc:
        result = PreviewResult(stack, mode, 2, error=str(exc))
    # A program's validation message may quote the value it refused; a secret's never leaves.
    hidden = list((secrets or {}).values())
    if hidden:
        result.error = result.error and lifecycle.mask(result.error, hidden)
        for entry in result.program_log:
            entry["message"] = lifecycle.mask(entry.get("message", ""), hidden)
    return result


def load_existing(source: dict[str, Any] | list[Any] | Path | str | None) -> list[dict[str, Any]]:
    """The existing resources a program may read with `Resource.get`, as a list of
    `{"type", "id", "name", "properties"}` (an entry answers a read by type and id, or by the
    logical name given to `.get()`), followed by the invoke answers, `{"token", "args", "result"}`.
    The document (JSON or YAML) is either `{"resources": [entry, ...], "invokes": [answer, ...]}`
    or a mapping whose keys are `TYPE::ID` or a logical name and whose values are the properties
    (engine camelCase names), with an optional `invokes` key. An invoke answer answers every call
    of `token` whose arguments include all of `args` (engine camelCase names); `result` is what
    the provider would return. The lookups of existing cloud state (`aws.ec2.get_vpc`, ...) are
    invokes: the engine's own answers have the right shape but not the account's values."""
    if source is None:
        return []
    where = "existing resources"
    doc: Any = source
    if isinstance(source, (str, Path)):
        path = Path(source)
        where = str(path)
        try:
            doc = files.load_document(path)
        except files.FileProblem as exc:
            raise EngineError(f"existing resources: {exc}") from None
    invokes: Any = []
    if isinstance(doc, dict) and "invokes" in doc:
        doc = dict(doc)
        invokes = doc.pop("invokes") or []
    if isinstance(doc, dict) and "resources" in doc:
        doc = doc["resources"]
    entries: list[dict[str, Any]] = []
    if isinstance(doc, dict):
        for key, properties in doc.items():
            type_token, sep, rid = str(key).rpartition("::")
            entries.append({"type": type_token, "id": rid, "properties": properties} if sep
                           else {"name": str(key), "properties": properties})
    elif isinstance(doc, list):
        entries = list(doc)
    else:
        raise EngineError(f"{where}: must be a mapping (TYPE::ID or name -> properties) or "
                          f"{{'resources': [...]}}, got {type(doc).__name__}")
    for i, entry in enumerate(entries):
        label = f"{where}: entry {i + 1}"
        if not isinstance(entry, dict):
            raise EngineError(f"{label}: must be a mapping, got {entry!r}")
        unknown = sorted(set(entry) - {"type", "id", "name", "properties"})
        if unknown:
            raise EngineError(f"{label}: unknown key(s) {', '.join(unknown)} (allowed: type, id, name, properties)")
        if not isinstance(entry.get("properties"), dict):
            raise EngineError(f"{label}: 'properties' must be a mapping of the resource's properties, "
                              f"got {entry.get('properties')!r}")
        if not entry.get("name") and not (entry.get("type") and entry.get("id")):
            raise EngineError(f"{label}: needs 'type' and 'id', or 'name' (the name given to .get())")
        for key in ("type", "id", "name"):
            if key in entry and not isinstance(entry[key], str):
                raise EngineError(f"{label}: '{key}' must be a string, got {entry[key]!r}")
    return entries + _invoke_answers(invokes, where)


def _invoke_answers(invokes: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(invokes, list):
        raise EngineError(f"{where}: 'invokes' must be a list of {{token, args, result}}, got {invokes!r}")
    for i, answer in enumerate(invokes):
        label = f"{where}: invokes entry {i + 1}"
        if not isinstance(answer, dict):
            raise EngineError(f"{label}: must be a mapping, got {answer!r}")
        unknown = sorted(set(answer) - {"token", "args", "result"})
        if unknown:
            raise EngineError(f"{label}: unknown key(s) {', '.join(unknown)} (allowed: token, args, result)")
        token = answer.get("token")
        if not isinstance(token, str) or token.count(":") != 2:
            raise EngineError(f"{label}: 'token' must be an invoke token such as "
                              f"'aws:ec2/getVpc:getVpc', got {token!r}")
        if not isinstance(answer.get("args", {}), dict):
            raise EngineError(f"{label}: 'args' must be a mapping of the invoke's arguments, got {answer['args']!r}")
        if not isinstance(answer.get("result"), dict):
            raise EngineError(f"{label}: 'result' must be a mapping of what the invoke returns, "
                              f"got {answer.get('result')!r}")
    return [{**answer, "args": answer.get("args") or {}} for answer in invokes]


def _preview(program_dir: Path, stack: str, mode: str, pack_dir: Path | None,
             policy_config: Any, overrides: dict[str, str], secret_overrides: dict[str, str],
             config_file: Path | None, existing: list[dict[str, Any]],
             tags: dict[str, str], progress) -> PreviewResult:
    stack_config = project_config.load(program_dir, stack, config_file=config_file,
                                       overrides=overrides, secret_overrides=secret_overrides)
    file_policy_config = _load_policy_config(policy_config)
    dry_run = mode == "preview"

    # The spec carries the config with its secrets, the output every captured input: both are
    # memory files handed to the host by descriptor, never files on disk (lifecycle.py). The
    # scratch directory (0700) holds only a forked host's standard streams and module list.
    spec = lifecycle.MemFile("layerguard-spec", json.dumps({
        "program_dir": str(program_dir.resolve()), "main": str(stack_config.main.resolve()),
        "project": stack_config.project, "stack": stack, "organization": ORGANIZATION,
        "mode": mode, "config": stack_config.config, "secret_keys": sorted(stack_config.secret_keys),
        "pwd": str((stack_config.pwd or program_dir).resolve()), "entry": stack_config.entry,
        "existing": [e for e in existing if "token" not in e],
        "invokes": [e for e in existing if "token" in e],
    }).encode("utf-8"))
    out = lifecycle.MemFile("layerguard-out")
    with tempfile.TemporaryDirectory(prefix="layerguard-") as tmp, contextlib.closing(spec), \
            contextlib.closing(out):
        host = _start_host(program_dir, spec, out, Path(tmp), stack_config.python)
        try:
            if pack_dir is None:
                captured = _wait_host(host, out)
                result = _result(stack_config, stack, mode, captured)
                progress(f"program ran: {len(result.resources)} registrations")
                return result
            from .analyzer import PolicyPackProcess, resolve_policy_config
            with PolicyPackProcess(pack_dir, project=stack_config.project, stack=stack,
                                   organization=ORGANIZATION, dry_run=dry_run,
                                   config=stack_config.config,
                                   secret_keys=stack_config.secret_keys) as pack:
                pack.handshake()
                pack.configure_stack(stack_tags(stack_config, tags))
                info = pack.info()
                progress(f"policy pack {info.name} started: {len(info.policies)} policies")
                resolved = resolve_policy_config(info, file_policy_config)
                asked_layers = _ask_for_layers(info, resolved, file_policy_config)
                captured = _wait_host(host, out)
                result = _result(stack_config, stack, mode, captured)
                progress(f"program ran: {len(result.resources)} registrations")
                pack.configure(resolved)
                result.pack, result.policy_config = info, resolved
                _analyze(pack, info, result)
                progress(f"analysed: {len(result.violations)} diagnostics")
                if asked_layers:
                    _take_pack_layers(result)
                    # A channel the engine opened, not a policy the user configured: the result (and
                    # every output made from it) lists the pack's policies as the user set them.
                    result.pack = dataclasses.replace(
                        info, policies=[p for p in info.policies if p.get("name") != LAYERS_POLICY])
                    result.policy_config = {k: v for k, v in resolved.items() if k != LAYERS_POLICY}
        finally:
            if host.poll() is None:
                host.kill()
                host.wait()
    result.exit_code = 1 if (result.mandatory or result.stopped) else 0
    return result


def stack_tags(stack_config, existing: dict[str, str]) -> dict[str, str]:
    """The stack's tags as the CLI hands them to `ConfigureStack`: the tags the stack has, then
    (overwriting) the ones it derives from the project and config: `pulumi:project`,
    `pulumi:runtime`, `pulumi:description` when the project has one, and each entry of the
    `pulumi:tags` config object (pulumi/pulumi pkg/backend/stack.go `GetMergedStackTags` and
    `GetEnvironmentTagsForCurrentStack`; pkg/engine/update.go passes `target.Tags` as the
    analyzer's `Tags`). The git metadata tags (`vcs:*`, `addGitMetadataToStackTags`) are not
    derived offline."""
    tags = {**existing, **stack_config.stack_tags}
    raw = stack_config.config.get("pulumi:tags")
    if raw is not None:
        try:
            configured = json.loads(raw)
        except ValueError:
            configured = None
        if not isinstance(configured, dict):
            raise EngineError(f"pulumi:tags must be an object of strings, got {raw!r}")
        for name, value in configured.items():
            if not isinstance(value, str):
                raise EngineError(f"pulumi:tags[{name}] must be a string, got {value!r}")
            tags[name] = value
    return tags


# A pack may offer its own layer of every resource as one advisory diagnostic (our pack's
# `report-layers`, disabled by default so CLI users never see it; policy/README.md). When the pack
# has it and the user's config leaves it alone, the engine turns it on and labels the report with
# the pack's decision: one layer identity for the verdict and the report. The diagnostic is consumed
# here, never shown; a pack without it keeps the engine's own labels (`_assign_layers`).
LAYERS_POLICY, LAYERS_PREFIX = "report-layers", "layerguard-layers:"


def _ask_for_layers(info: PackInfo, resolved: dict[str, dict[str, Any]], given: dict[str, Any] | None) -> bool:
    """Turn the pack's layer report on, unless the pack lacks it or the user configured it."""
    if not any(p.get("name") == LAYERS_POLICY for p in info.policies) or LAYERS_POLICY in (given or {}):
        return False
    resolved.setdefault(LAYERS_POLICY, {"properties": {}})["enforcementLevel"] = "advisory"
    return True


def _take_pack_layers(result: PreviewResult) -> None:
    kept = []
    for v in result.violations:
        line = next((x for x in v.message.splitlines() if x.startswith(LAYERS_PREFIX)), None)
        if v.policy != LAYERS_POLICY or line is None:
            kept.append(v)
            continue
        try:
            layers = json.loads(line[len(LAYERS_PREFIX):])
        except ValueError:
            continue
        for res in result.resources:
            if res.urn in layers:
                res.layer = layers[res.urn]
    result.violations = kept


def _start_host(program_dir: Path, spec: lifecycle.MemFile, out: lifecycle.MemFile, scratch: Path,
                python: Path | None = None):
    """The program's language host: forked from a zygote when one is running (`zygote.py`: the SDK
    imported once, a fresh process per preview), else a new interpreter, as the CLI starts one.
    Either way it reads its spec from, and writes its result to, descriptors it inherits, and it
    dies with the engine (lifecycle.py).

    `python` is the program's virtualenv interpreter (`runtime.options.virtualenv`, project.py);
    the CLI runs the program with it (pulumi/pulumi sdk/python/cmd/pulumi-language-python/main.go
    `Run` -> the toolchain's `Command`). The zygote is this interpreter, so it serves only a
    program whose virtualenv is the one the engine runs in (or none)."""
    socket_path = os.environ.get("LAYERGUARD_ZYGOTE")
    env = {**os.environ, "PYTHONPATH": _engine_pythonpath()}
    interpreter = sys.executable
    if python is not None and not project_config.same_interpreter(python):
        interpreter, env["VIRTUAL_ENV"] = str(python), str(python.parent.parent)
    elif socket_path and Path(socket_path).exists():
        from .zygote import ForkedHost
        try:
            return ForkedHost(socket_path, spec, out, scratch)
        except OSError:
            pass  # the zygote is gone: start a host the ordinary way
    return subprocess.Popen(
        [interpreter, "-m", "layerguard.host", spec.path, out.path],
        cwd=str(program_dir.resolve()), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(spec.fd, out.fd), umask=0o077,
        preexec_fn=lifecycle.die_with_parent, env=env,
    )


def _engine_pythonpath() -> str:
    """The host must import this package even when the program directory is elsewhere."""
    here = str(Path(__file__).resolve().parent.parent)
    existing = os.environ.get("PYTHONPATH")
    return here + (os.pathsep + existing if existing else "")


def _wait_host(host: subprocess.Popen, out: lifecycle.MemFile) -> dict[str, Any]:
    try:
        _stdout, stderr = host.communicate(timeout=HOST_TIMEOUT)
    except subprocess.TimeoutExpired:
        host.kill()
        raise EngineError(f"the program did not finish within {HOST_TIMEOUT} s") from None
    written = out.read() if host.returncode == 0 else b""
    if not written:
        tail = stderr.decode("utf-8", "replace").strip()[-2000:]
        raise EngineError(f"the program host crashed (exit {host.returncode}): {tail}")
    captured = json.loads(written.decode("utf-8"))
    if captured["error"]:
        raise EngineError(captured["error"])
    return captured


def _result(stack_config, stack: str, mode: str, captured: dict[str, Any]) -> PreviewResult:
    resources = []
    for raw in captured["resources"]:
        resources.append(CapturedResource(
            urn=raw["urn"], type=raw["type"], name=raw["name"], parent=raw["parent"],
            custom=raw["custom"], inputs=raw["inputs"], dependencies=raw["dependencies"],
            property_dependencies=raw["property_dependencies"],
            outputs=raw["outputs"] or captured["component_outputs"].get(raw["urn"], {}),
            provider=raw["provider"], kind=raw["kind"], id=raw["id"], import_id=raw.get("import_id"),
            options=raw.get("options") or {},
        ))
        if raw["type"].startswith("pulumi:providers:") and raw["kind"] == "register":
            _set_provider_plugin(resources[-1], raw.get("version") or "", raw.get("plugin_download_url") or "")
    result = PreviewResult(stack, mode, 0, project=stack_config.project, resources=resources,
                           outputs=captured["outputs"], program_log=captured["log"])
    _add_default_providers(result, stack_config, {r["urn"]: r["version"] for r in captured["resources"]})
    _assign_regions(result, stack_config.config)
    _assign_layers(result)
    return result


def _package(type_token: str) -> str:
    return type_token.split(":", 1)[0]


def _set_provider_plugin(provider: CapturedResource, version: str, download_url: str) -> None:
    """An explicit provider's inputs carry the plugin it runs: the registration's `version` (the
    generated SDK always sends its own), else the default provider's version for the package, and
    its `pluginDownloadURL` when given (pulumi/pulumi pkg/resource/deploy/source_eval.go
    `RegisterResource`: `providers.SetProviderVersion(props, ...)` / `SetProviderURL` for provider
    types; the key is the plain `version`, not an internal one, registry.go `versionKey`)."""
    version = version or _installed_version(provider.type.rsplit(":", 1)[1])
    if version:
        provider.inputs["version"] = version
    if download_url:
        provider.inputs["pluginDownloadURL"] = download_url


def _add_default_providers(result: PreviewResult, stack_config, versions: dict[str, str]) -> None:
    """Resources without an explicit provider use the engine's default provider for their package,
    configured from the stack's `<package>:*` config, as the CLI does.

    Its inputs are the package's config values as the strings the stack holds, keyed without the
    namespace, secrets marked secret (pulumi/pulumi pkg/resource/deploy/target.go
    `GetPackageConfig`, called by default_providers.go `newRegisterDefaultProviderEvent`), plus
    `version` (providers/registry.go `SetProviderVersion`). The provider's `CheckConfig` keeps
    them strings: pulumi-terraform-bridge pkg/tfbridge/provider.go `CheckConfig` decodes them and
    re-encodes every non-string config value as JSON (config_encoding.go
    `jsonEncodePropertyValue`) before they become the provider's inputs."""
    stack_urn = next((r.urn for r in result.resources if r.type == "pulumi:pulumi:Stack"), None)
    defaults: dict[str, CapturedResource] = {}
    for res in list(result.resources):
        if not res.custom or res.provider or res.type.startswith("pulumi:"):
            continue
        package = _package(res.type)
        if package not in defaults:
            version = versions.get(res.urn) or _installed_version(package)
            name = f"default_{version.replace('.', '_')}" if version else "default"
            # A dynamic provider gets the whole config under its full keys (target.go
            # `GetPackageConfig`: "For dynamic providers, we always pass the full configuration").
            dynamic = package in DYNAMIC_PACKAGES
            inputs = {}
            for key, value in stack_config.config.items():
                if dynamic or key.startswith(package + ":"):
                    value = value if dynamic else _checked_config(value)
                    inputs[key if dynamic else key.split(":", 1)[1]] = \
                        _secret(value) if key in stack_config.secret_keys else value
            if version:
                inputs["version"] = version
            urn = f"urn:pulumi:{result.stack}::{stack_config.project}::pulumi:providers:{package}::{name}"
            defaults[package] = CapturedResource(urn=urn, type=f"pulumi:providers:{package}", name=name,
                                                 parent=None, custom=True, inputs=inputs,
                                                 kind="default-provider")
        res.provider = f"{defaults[package].urn}::{'04da6b54-80e4-46f7-96ec-b56ff0331ba9' if result.mode == 'preview' else 'default'}"
    # Default providers are created before anything that uses them; the stack comes first.
    insert_at = 1 if stack_urn else 0
    result.resources[insert_at:insert_at] = list(defaults.values())


def _installed_version(package: str) -> str:
    from importlib import metadata
    try:
        return metadata.version(f"pulumi_{package}")
    except metadata.PackageNotFoundError:
        return ""


def _checked_config(value: str) -> str:
    """A config value as a bridged provider's `CheckConfig` returns it: an object or array is
    decoded and encoded again with Go's `json.Marshal` (compact, map keys sorted;
    pulumi-terraform-bridge pkg/tfbridge/config_encoding.go `jsonEncodePropertyValue`); a scalar
    keeps the string it was (a string stays itself, `true` or `42` encode back to the same text)."""
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    if isinstance(decoded, (dict, list)):
        return json.dumps(decoded, separators=(",", ":"), sort_keys=True)
    return value


def _secret(value: Any) -> dict[str, Any]:
    """A secret in the wire form the CLI sends an analyzer (`KeepSecrets: true`,
    sdk/go/common/resource/plugin/rpc.go `MarshalPropertyValue`)."""
    return {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "value": value}


def provider_urn(reference: str | None) -> str | None:
    """A provider reference is `URN::ID`."""
    return reference.rsplit("::", 1)[0] if reference else None


def _assign_regions(result: PreviewResult, config: dict[str, str]) -> None:
    by_urn = result.by_urn()
    default_region = config.get("aws:region")
    for res in result.resources:
        provider = by_urn.get(provider_urn(res.provider) or "")
        region = provider.inputs.get("region") if provider else None
        if not isinstance(region, str) or is_unknown(region):
            region = default_region if (provider is None or provider.kind == "default-provider") else None
        res.provider_region = region


def _assign_layers(result: PreviewResult) -> None:
    """A resource's layer: its own `layerguard:layer` tag, else its owning component's (the tag of
    the nearest tagged ancestor, or a component type token `<org>:<layer>:<Name>`)."""
    by_urn = result.by_urn()
    cache: dict[str, str] = {}

    def own_layer(res: CapturedResource) -> str | None:
        tags = res.inputs.get("tags")
        if isinstance(tags, dict) and tags.get(LAYER_TAG) in LAYERS:
            return tags[LAYER_TAG]
        if not res.custom and res.type.count(":") == 2 and res.type.split(":")[1] in LAYERS:
            return res.type.split(":")[1]
        return None

    def layer_of(res: CapturedResource) -> str:
        if res.urn in cache:
            return cache[res.urn]
        cache[res.urn] = "unclassified"  # guards against dependency cycles
        layer = own_layer(res)
        parent = by_urn.get(res.parent or "")
        if layer is None and parent is not None and parent.type != "pulumi:pulumi:Stack":
            layer = layer_of(parent)
        if layer is None:
            # Untagged attachments (rules, listeners, associations) belong to what they attach to.
            attached = [layer_of(by_urn[u]) for urns in res.property_dependencies.values()
                        for u in urns if u in by_urn]
            layer = next((a for a in attached if a != "unclassified"), "unclassified")
        cache[res.urn] = layer
        return layer

    for res in result.resources:
        res.layer = layer_of(res)


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    from google.protobuf import json_format, struct_pb2
    message = struct_pb2.Struct()
    json_format.ParseDict(value, message)
    return message


def _provider_message(result: PreviewResult, res: CapturedResource, by_urn) -> analyzer_pb2.AnalyzerProviderResource | None:
    """The provider a resource uses: its URN, type, name and inputs, top-level internal keys left
    out (pulumi/pulumi pkg/resource/plugin/analyzer_plugin.go `marshalProvider`: `MarshalProperties`
    with `SkipInternalKeys: true`)."""
    from pulumi.runtime.proto import analyzer_pb2
    provider = by_urn.get(provider_urn(res.provider) or "")
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(type=provider.type, urn=provider.urn, name=provider.name,
                                                 properties=_struct(_without_internal_keys(provider.inputs)))


def _without_internal_keys(properties: dict[str, Any]) -> dict[str, Any]:
    """`Analyze`, `AnalyzeStack` and provider properties go out with `SkipInternalKeys: true`: a
    top-level key starting with `__` (`__defaults`, a dynamic resource's `__provider`, a
    provider's `__internal`) is dropped, nested ones are kept (pulumi/pulumi
    sdk/go/common/resource/plugin/rpc.go `MarshalProperties`: "Only skip top level internal
    keys"; sdk/go/common/resource/properties.go `IsInternalPropertyKey`). `Remediate` keeps them
    (analyzer_plugin.go `Remediate`: `SkipInternalKeys: false`)."""
    return {k: v for k, v in properties.items() if not k.startswith("__")}


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0,
                   "m": 60.0, "h": 3600.0}


def _timeout_seconds(text: str, urn: str) -> float:
    """A custom timeout as the engine keeps it: seconds, parsed with Go's `time.ParseDuration`
    (pulumi/pulumi pkg/resource/deploy/source_eval.go `generateTimeoutInSeconds`); an empty one is 0."""
    import re
    if not text:
        return 0.0
    body = text.lstrip("+-")
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)", body)
    if body == "0":
        return 0.0
    if not parts or "".join(n + u for n, u in parts) != body:
        raise EngineError(f"{urn}: unable to parse customTimeout Value {text}")
    seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    return -seconds if text.startswith("-") else seconds


def _analyzer_options(res: CapturedResource, result: PreviewResult) -> analyzer_pb2.AnalyzerResourceOptions:
    """`AnalyzerResourceOptions` from the registration (pulumi/pulumi
    pkg/resource/deploy/step_generator.go `analyzeAll` and `AnalyzeResources`: protect,
    ignoreChanges, deleteBeforeReplace, additionalSecretOutputs, aliases, customTimeouts, parent;
    pkg/resource/plugin/analyzer_plugin.go `marshalResourceOptions`, which always sends
    `customTimeouts` and sets `deleteBeforeReplaceDefined` when the option was given). The
    provider is not an option: it travels as the request's `provider`. Default providers and the
    stack register with no options.

    `aliases` is the alias that matched a resource of the old snapshot, not the aliases the program
    gave: step_generator.go `continueStepsFromImport` / `generateSteps` set the new state's
    `Aliases` to `[]resource.URN{alias}` only when `getOldResource` found an old resource through
    one. The offline engine always plans a fresh stack, so it is always empty (pulumi-policy's own
    tests/integration/resource_options pack expects `aliases=[]` for an aliased resource)."""
    from pulumi.runtime.proto import analyzer_pb2
    opts = res.options
    timeouts = opts.get("customTimeouts") or {}
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(opts.get("protect")), ignoreChanges=list(opts.get("ignoreChanges") or []),
        deleteBeforeReplace=bool(opts.get("deleteBeforeReplace")),
        deleteBeforeReplaceDefined=bool(opts.get("deleteBeforeReplaceDefined")),
        additionalSecretOutputs=list(opts.get("additionalSecretOutputs") or []),
        aliases=[],
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(
            **{k: _timeout_seconds(timeouts.get(k) or "", res.urn) for k in ("create", "update", "delete", "read")}),
        parent=res.parent or "")


def _analyzed(res: CapturedResource) -> bool:
    """Whether the CLI analyses a registration at all. Every registration the step generator sees
    is analysed: the stack, components, explicit and default providers and custom resources
    (pulumi/pulumi pkg/resource/deploy/step_generator.go `continueStepsFromImport` calls
    `analyzeAll` for each, whatever its kind; default providers arrive as registrations too,
    pkg/resource/deploy/default_providers.go `newRegisterDefaultProviderEvent`). Reads are not:
    `GenerateReadSteps` never calls an analyzer, and the step executor files read states under
    `deployment.reads`, not `deployment.news`, which `AnalyzeResources` ranges over
    (pkg/resource/deploy/step_executor.go; pulumi/pulumi#3950)."""
    return res.kind != "read"


def _stack_state(res: CapturedResource) -> dict[str, Any]:
    """What `AnalyzeStack` gets for a resource: its outputs (step_generator.go `AnalyzeResources`:
    "AnalyzeStack is called on the final outputs of each resource"). A custom resource's outputs
    are the provider's planned state at preview and its created state after an update (captured by
    the host); a provider's are its inputs (providers/registry.go `Create`); a component's and the
    stack's are what the program registered as outputs."""
    if res.kind == "default-provider":
        return dict(res.inputs)
    return dict(res.outputs)


def analyzer_messages(result: PreviewResult) -> Iterator[tuple[CapturedResource, analyzer_pb2.AnalyzeRequest | None,
                                                                analyzer_pb2.AnalyzerResource]]:
    """What the engine sends the pack for each analysed registration, in registration order: the
    `Analyze` request (the inputs after `Check`, and after any remediation, step_generator.go
    `continueStepsFromImport` / `analyzeAll`) and the resource's `AnalyzeStack` entry. Reads get
    neither and are not yielded. The benchmarks use it to send exactly these."""
    providers: dict[str, analyzer_pb2.AnalyzerProviderResource | None] = {}
    by_urn = result.by_urn()
    for res in result.resources:
        if _analyzed(res):
            yield res, *_messages(result, res, by_urn, providers)


def _messages(result: PreviewResult, res: CapturedResource, by_urn, providers) -> tuple[
        analyzer_pb2.AnalyzeRequest, analyzer_pb2.AnalyzerResource]:
    from pulumi.runtime.proto import analyzer_pb2
    options = _analyzer_options(res, result)
    # One message per provider, not per resource: every resource of a provider carries a copy.
    key = provider_urn(res.provider) or ""
    if key not in providers:
        providers[key] = _provider_message(result, res, by_urn)
    provider = providers[key]
    request = analyzer_pb2.AnalyzeRequest(type=res.type, urn=res.urn, name=res.name,
                                          properties=_struct(_without_internal_keys(res.inputs)),
                                          options=options)
    if provider is not None:
        request.provider.CopyFrom(provider)
    entry = analyzer_pb2.AnalyzerResource(
        type=res.type, urn=res.urn, name=res.name,
        properties=_struct(_without_internal_keys(_stack_state(res))),
        options=options, parent=res.parent or "", dependencies=res.dependencies)
    for prop, urns in res.property_dependencies.items():
        entry.propertyDependencies[prop].urns.extend(urns)
    if provider is not None:
        entry.provider.CopyFrom(provider)
    return request, entry


def violations(diagnostics) -> list[Violation]:
    """The engine's `Violation`s for the pack's `AnalyzeDiagnostic`s, in order. A diagnostic at
    `remediate` level is reported as `mandatory`: a remediation ran and the policy still fails
    (pkg/resource/deploy/analyze_snapshot.go `analyzeResource`), and stack policies cannot
    remediate (step_generator.go `AnalyzeResources`)."""
    from .analyzer import LEVELS
    out = []
    for d in diagnostics:
        level = LEVELS.get(d.enforcementLevel, "advisory")
        out.append(Violation(policy=d.policyName, pack=d.policyPackName,
                             enforcement="mandatory" if level == "remediate" else level,
                             urn=d.urn, message=d.message))
    return out


@dataclass
class Remediation:
    """A remediation the pack applied: the resource's inputs were replaced from then on."""
    policy: str
    urn: str
    before: dict[str, Any]
    after: dict[str, Any]


def _remediate(pack: PolicyPackProcess, result: PreviewResult, res: CapturedResource, by_urn,
               diagnostics: list) -> None:
    """`Remediate` before `Analyze` (pulumi/pulumi pkg/resource/deploy/step_generator.go
    `continueStepsFromImport`, "First pass: perform remediations", at preview and update alike):
    the request carries the inputs with their internal keys (analyzer_plugin.go `Remediate`,
    `SkipInternalKeys: false`); each remediation that returns properties replaces the inputs
    ("Use the transformed inputs rather than the old ones from this point onwards": `inputs` and
    `new.Inputs`), one that returns a diagnostic instead is an advisory violation on the resource.

    The remediated inputs are what `Analyze` sees and what the provider plans from; offline the
    plan is the host's, made from the program's inputs, so the resource's state takes the
    remediated inputs over the ones they replace (at preview the plan of a create is its inputs
    plus what the provider computes, schema.py `plan_object`)."""
    from google.protobuf import json_format
    from pulumi.runtime.proto import analyzer_pb2

    from .analyzer import LEVEL_VALUES
    provider = _provider_message(result, res, by_urn)
    request = analyzer_pb2.AnalyzeRequest(type=res.type, urn=res.urn, name=res.name,
                                          properties=_struct(res.inputs),
                                          options=_analyzer_options(res, result))
    if provider is not None:
        request.provider.CopyFrom(provider)
    response = pack.remediate(request)
    if response is None:  # the pack does not implement Remediate
        return
    for remediation in response.remediations:
        if remediation.diagnostic:
            diagnostics.append(analyzer_pb2.AnalyzeDiagnostic(
                policyName=remediation.policyName, policyPackName=remediation.policyPackName,
                policyPackVersion=remediation.policyPackVersion, description=remediation.description,
                message=remediation.diagnostic, enforcementLevel=LEVEL_VALUES["advisory"], urn=res.urn))
            continue
        after = json_format.MessageToDict(remediation.properties)
        before = res.inputs
        res.outputs = {**{k: v for k, v in res.outputs.items() if k not in before}, **after} \
            if res.custom and res.kind == "register" else res.outputs
        res.inputs = after
        result.remediations.append(Remediation(remediation.policyName, res.urn, before, after))


def _root_stack_urn(result: PreviewResult) -> str:
    """pulumi/pulumi sdk/go/common/resource/urn.go `DefaultRootStackURN`."""
    return f"urn:pulumi:{result.stack}::{result.project}::pulumi:pulumi:Stack::{result.project}-{result.stack}"


def _analyze(pack: PolicyPackProcess, info: PackInfo, result: PreviewResult) -> None:
    """`Remediate` (when the pack has a policy at `remediate` level) and `Analyze` per
    registration in order, then `AnalyzeStack` once.

    In update mode a mandatory `Analyze` violation makes the resource invalid and the step
    generator bails before any step for it (pkg/resource/deploy/analyze_snapshot.go
    `analyzeResource`: `invalid` unless `dryRun`; step_generator.go `continueStepsFromImport`:
    "resource %s is invalid"); the deployment executor then returns before `AnalyzeResources`
    (pkg/resource/deploy/deployment_executor.go `Execute`). In a preview the violation is reported
    and the preview goes on."""
    diagnostics = []
    stack_resources = []
    by_urn = result.by_urn()
    providers: dict[str, Any] = {}
    # The CLI calls Remediate for every resource and every pack; pulumi_policy's `Remediate`
    # (policy.py) skips every policy whose level is not `remediate`, so with none configured so
    # the answer is empty and the call is left out.
    remediates = any(entry.get("enforcementLevel") == "remediate" for entry in result.policy_config.values())
    for res in result.resources:
        if not _analyzed(res):
            continue
        if remediates:
            _remediate(pack, result, res, by_urn, diagnostics)
        request, entry = _messages(result, res, by_urn, providers)
        mandatory = False
        for diagnostic in pack.analyze(request).diagnostics:
            # The CLI attributes a resource policy's diagnostic to the resource it analysed,
            # whatever URN the pack named (analyze_snapshot.go `analyzeResource`:
            # `events.OnPolicyViolation(r.URN, d)`).
            diagnostic.urn = res.urn
            diagnostics.append(diagnostic)
            level = violations([diagnostic])[0]
            mandatory = mandatory or (level.enforcement == "mandatory" and not level.deferred)
        if mandatory and result.mode == "update":
            result.stopped = Stopped(urn=res.urn, name=res.name, type=res.type)
            result.violations.extend(violations(diagnostics))
            return
        stack_resources.append(entry)
    in_stack = {entry.urn for entry in stack_resources}
    for diagnostic in pack.analyze_stack(stack_resources).diagnostics:
        # A stack policy's diagnostic goes to the resource it names when that is in the stack,
        # else to the root stack (step_generator.go `AnalyzeResources`,
        # analyze_snapshot.go `resolveStackPolicyViolationURN`).
        if diagnostic.urn not in in_stack:
            diagnostic.urn = _root_stack_urn(result)
        diagnostics.append(diagnostic)
    result.stack_analyzed = True
    result.violations.extend(violations(diagnostics))
