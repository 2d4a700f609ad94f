"""The language host: runs one Pulumi Python program under the SDK's mock runtime.

It is started as its own process (`python -m layerguard.host SPEC OUT`), as the Pulumi CLI starts a
language host, so one engine can run many programs without their module state leaking into each
other; `main(spec_path, out_path)` may also be called in a process of its own making. SPEC is a JSON
file (program, project, stack, mode, config, existing resources); OUT receives every registration
with its inputs (after the provider's `Check`) and its planned or created state, the stack outputs
and the log, as JSON.

A custom resource's state is what its provider would answer (`schema.py`): in preview mode the
proposed state of a create (inputs, what the provider knows at plan time, every other computed
attribute unknown); in update mode the inputs plus a realistic placeholder for every computed
attribute (`cloud.py`). The program sees that state as the resource's outputs, as it would under
the CLI.

What the CLI would hand to a plugin the engine does not have (a remote component's `Construct`, a
dynamic provider, a type no installed SDK describes) is recorded as it registers and fails the run
at the end, every such registration named (`unplannable`): no verdict over a stack the engine
could not see whole.
"""

from __future__ import annotations

import json
import logging
import os
import runpy
import sys
import traceback
from pathlib import Path
from typing import Any

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


# A special value on the wire: `{SIG_KEY: RESOURCE_SIG, "urn": ..., "id": ...}` is a resource
# reference (pulumi/runtime/rpc.py `_special_sig_key`, `_special_resource_sig`).
SIG_KEY, RESOURCE_SIG = "4dabf18193072939515e22adb298388d", "5cf8f73096256a8f31e491e813e4eb8e"


class ReadNotAnswered(Exception):
    """A `.get()` the file of existing resources does not answer."""


class InvokeNotAnswered(Exception):
    """An invoke neither the engine nor the file of existing resources answers."""


def downgrade_references(value: Any) -> Any:
    """A resource passed as an input (`vpc_id=vpc`) as the provider receives it.

    The SDK sends a resource reference (pulumi/runtime/rpc.py `serialize_property`: a
    CustomResource becomes `{sig: resource, urn, id}` when the monitor supports resource
    references, which the engine's does). The engine hands a provider its inputs with
    `KeepResources: protocol.acceptResources` (pulumi/pulumi
    sdk/go/common/resource/plugin/provider_plugin.go `Check`), and a reference not kept becomes
    its id, or its URN when it has none (sdk/go/common/resource/plugin/rpc.go
    `MarshalPropertyValue`). pulumi-terraform-bridge's `Configure` does not set `AcceptResources`
    (pkg/tfbridge/provider.go `Configure`), so a bridged provider's `Check` - and so `Analyze`,
    which gets Check's result - sees the id: unknown at the first preview, as the id itself."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == RESOURCE_SIG:
            rid = value.get("id")
            return rid if isinstance(rid, str) and rid != "" else value.get("urn", "")
        return {k: downgrade_references(v) for k, v in value.items()}
    if isinstance(value, list):
        return [downgrade_references(v) for v in value]
    return value


def _args_match(wanted: Any, given: Any) -> bool:
    """Whether an answer's `args` are part of the call's arguments (mappings by key, the rest equal)."""
    if isinstance(wanted, dict):
        return isinstance(given, dict) and all(k in given and _args_match(v, given[k]) for k, v in wanted.items())
    return wanted == given


def answer_invoke(answers: list[dict[str, Any]], token: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """The user's answer to an invoke (the `invokes:` of --existing), first match in file order."""
    for entry in answers:
        if entry.get("token") == token and _args_match(entry.get("args") or {}, args):
            return entry["result"]
    return None


def unplannable(request, has_schema: bool, dry_run: bool = False) -> str | None:
    """Why the offline engine cannot plan a registration the CLI would, or None.

    - A remote component (`ComponentResource(..., remote=True)`; every `pulumi_awsx` component):
      the SDK sends `remote: true` (pulumi/resource.py `Resource.__init__` -> runtime/resource.py
      `register_resource`), and the engine does not register it but calls its plugin's `Construct`
      (pulumi/pulumi pkg/resource/deploy/source_eval.go `resmon.RegisterResource`: "If this is a
      remote component, fetch its provider and issue the construct call"), which registers the
      children from inside the plugin. No plugin runs offline: the children would never exist.
    - A dynamic provider's resource (`pulumi.dynamic.Resource`, type `pulumi-python:dynamic:...`):
      its provider is the program's own pickled Python code (`__provider`), which the CLI runs
      in `pulumi-resource-pulumi-python` (sdk/python/dist/pulumi-resource-pulumi-python ->
      pulumi/dynamic/__main__.py `DynamicResourceProviderServicer`); what its `create` makes in the
      cloud is invisible to the engine and to the pack. At a preview the CLI does not run `create`
      either: that servicer's `Configure` answers no `supportsPreview`, so the engine takes the
      inputs as the planned state (pkg/resource/plugin/provider_plugin.go `Create`: "If the
      provider does not support previews, return the inputs as the state"); offline the preview
      does the same, and only an update, whose outputs `create` makes, fails closed. (A provider
      that overrides `check` would change those inputs; the engine does not run it.)
    - A custom resource no installed provider SDK describes: the engine does not know which of its
      attributes its provider computes (host: `schema.resource_class`)."""
    typ = request.type
    if getattr(request, "remote", False):
        package = typ.split(":", 1)[0]
        return (f"a remote component: the CLI has its plugin (pulumi-resource-{package}) construct "
                f"its children, which never exist offline")
    if not request.custom or typ.startswith("pulumi:providers:"):
        return None
    if typ.startswith("pulumi-python:dynamic") or typ.startswith("pulumi-nodejs:dynamic"):
        if dry_run:
            return None
        return ("a dynamic provider's resource: at `pulumi up` its outputs are what its `create` "
                "returns, the program's own code, which the CLI runs in pulumi-resource-pulumi-python "
                "and the offline engine does not (a preview, which does not run it either, is planned)")
    if not has_schema:
        return ("a custom resource no installed provider SDK describes: what its provider computes "
                "is unknown offline")
    return None


def _provider_urn(reference: str) -> str:
    return reference.rsplit("::", 1)[0] if reference else ""  # a reference is "URN::ID"


def _config_value(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def main(spec_path: str, out_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    program_dir = Path(spec["program_dir"]).resolve()
    dry_run = spec["mode"] == "preview"
    config: dict[str, str] = spec["config"]
    secret_keys: list[str] = spec["secret_keys"]
    existing: list[dict[str, Any]] = spec.get("existing") or []
    invoke_answers: list[dict[str, Any]] = spec.get("invokes") or []

    # The environment the Python language host gives a program: PULUMI_CONFIG and
    # PULUMI_CONFIG_SECRET_KEYS, added to its own (pulumi/pulumi
    # sdk/python/cmd/pulumi-language-python/main.go, `Run`). Project, stack, organization and
    # dry-run reach the program as arguments of the executor, which puts them in the SDK's
    # settings, not in the environment (sdk/python/cmd/pulumi-language-python-exec).
    os.environ.update({
        "PULUMI_CONFIG": json.dumps(config), "PULUMI_CONFIG_SECRET_KEYS": json.dumps(secret_keys),
    })

    import pulumi
    from google.protobuf import empty_pb2, json_format, struct_pb2
    from pulumi.runtime import mocks, settings
    from pulumi.runtime.proto import resource_pb2
    from pulumi.runtime.stack import run_in_stack
    from pulumi.runtime.sync_await import _sync_await

    from . import cloud, schema

    captured: list[dict[str, Any]] = []
    outputs: dict[str, Any] = {}
    log: list[dict[str, str]] = []
    providers: dict[str, dict[str, Any]] = {}
    component_outputs: dict[str, dict[str, Any]] = {}
    by_id: dict[str, dict[str, Any]] = {}   # update mode: created states by id (subnet CIDRs)
    read_errors: list[str] = []
    invoke_errors: list[str] = []
    cannot_plan: list[str] = []

    def provider_config(type_token: str, reference: str) -> dict[str, Any]:
        """The configuration of the provider a resource uses: an explicit provider's inputs, or
        the default provider's, which the engine builds from the stack's `<package>:*` config."""
        urn = _provider_urn(reference)
        if urn in providers:
            return providers[urn]
        package = type_token.split(":", 1)[0]
        return {k.split(":", 1)[1]: _config_value(v) for k, v in config.items() if k.startswith(package + ":")}

    def region_of(type_token: str, reference: str, inputs: dict[str, Any]) -> str | None:
        own = inputs.get("region")
        if isinstance(own, str) and own != UNKNOWN:
            return own
        region = provider_config(type_token, reference).get("region")
        return region if isinstance(region, str) and region != UNKNOWN else None

    def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
        message = struct_pb2.Struct()
        json_format.ParseDict(value, message)
        return message

    def find_existing(type_token: str, name: str, rid: str) -> dict[str, Any]:
        for entry in existing:
            if entry.get("type") == type_token and entry.get("id") == rid:
                return entry
        for entry in existing:
            if entry.get("name") == name and entry.get("type") in (None, type_token):
                return entry
        raise ReadNotAnswered(
            f"the program reads the existing resource {name!r} ({type_token}, id {rid!r}) and the "
            f"file of existing resources (--existing) has no entry for it: add one keyed by type "
            f"and id, or by the name {name!r}")

    class Mocks(mocks.Mocks):
        def new_resource(self, args: mocks.MockResourceArgs):
            if args.resource_id:  # an import: the id is known, the state comes from the cloud
                return args.resource_id, {}
            if dry_run:
                return "", {}
            return cloud.digest(args.typ, args.name, length=12), {}

        def call(self, args: mocks.MockCallArgs):
            # The user's answer first: the file describes the real account, the engine's own
            # answers only its shape (cloud.py).
            answered = answer_invoke(invoke_answers, args.token, args.args)
            if answered is not None:
                return answered, []
            region = region_of(args.token, args.provider or "", {}) or config.get("aws:region", "us-east-1")
            try:
                return cloud.invoke(args.token, args.args, region), []
            except cloud.InvokeError as exc:
                message = (f"the program calls the invoke {args.token} with arguments "
                           f"{json.dumps(args.args, sort_keys=True, default=str)}, which the offline "
                           f"preview cannot answer ({exc}); {cloud.how_to_answer(args.token, args.args)}")
                invoke_errors.append(message)
                raise InvokeNotAnswered(message) from None

    class Monitor(mocks.MockMonitor):
        """Sees every registration exactly as the engine would, and answers as the provider would."""

        def make_urn(self, parent: str, type_: str, name: str) -> str:
            # pulumi/pulumi pkg/resource/deploy/deployment.go `generateURN`: a child's qualified
            # type is its parent's whole qualified type (`a$b`), then `$` and its own type; the root
            # stack is left out. The SDK's mock keeps only the parent's last segment.
            parent_type = parent.split("::")[2] if parent else ""
            if parent_type == "pulumi:pulumi:Stack":
                parent_type = ""
            qualified = f"{parent_type}${type_}" if parent_type else type_
            return "urn:pulumi:" + "::".join([spec["stack"], spec["project"], qualified, name])

        def _capture(self, request, kind: str, urn: str, response_id: str, inputs: dict[str, Any],
                     state: dict[str, Any]) -> None:
            entry = {
                "urn": urn, "type": request.type, "name": request.name,
                "parent": request.parent or None, "custom": bool(getattr(request, "custom", True)),
                "kind": kind, "provider": request.provider or None,
                "dependencies": list(getattr(request, "dependencies", [])),
                "property_dependencies": {
                    k: list(v.urns) for k, v in getattr(request, "propertyDependencies", {}).items()
                    if len(v.urns)
                },
                "inputs": inputs, "id": response_id or None, "outputs": state,
                "import_id": getattr(request, "importId", "") or None,
                "version": getattr(request, "version", "") or "",
                "plugin_download_url": getattr(request, "pluginDownloadURL", "") or "",
                "options": _resource_options(request),
            }
            if request.type.startswith("pulumi:providers:"):
                providers[urn] = inputs
            captured.append(entry)

        def RegisterResource(self, request):
            if request.type == "pulumi:pulumi:Stack":
                response = super().RegisterResource(request)
                captured.append({"urn": response.urn, "type": request.type, "name": request.name,
                                 "parent": None, "custom": False, "kind": "stack", "provider": None,
                                 "dependencies": [], "property_dependencies": {}, "inputs": {},
                                 "id": None, "outputs": {}, "version": ""})
                return response
            inputs = json_format.MessageToDict(request.object)
            cls = schema.resource_class(request.type) if request.custom else None
            reason = unplannable(request, cls is not None, dry_run)
            if request.custom:
                inputs = downgrade_references(inputs)
            if cls is None or request.type.startswith("pulumi:providers:"):
                response = super().RegisterResource(request)
                if reason:
                    cannot_plan.append(f"{response.urn} ({request.type}): {reason}")
                state = json_format.MessageToDict(response.object)
                if request.custom:
                    # A provider's outputs are its inputs (pulumi/pulumi
                    # pkg/resource/deploy/providers/registry.go `Create`); a type no installed SDK
                    # describes gets its inputs and nothing computed beside its id.
                    state = inputs
                    response.object.CopyFrom(request.object)
                self._capture(request, "register", response.urn, response.id, inputs, state)
                return response
            urn = self.make_urn(request.parent, request.type, request.name)
            # The provider's Check fills auto-names into the inputs; Analyze sees them too
            # (pulumi/pulumi pkg/resource/deploy/step_generator.go `continueStepsFromImport`:
            # `new.Inputs = resp.Properties`, then `analyzeAll(..., inputs, ...)`).
            inputs = schema.autoname(cls, urn, inputs)
            region = region_of(request.type, request.provider, inputs)
            known = schema.known_at_plan(cls, inputs, provider_config(request.type, request.provider), region)
            if dry_run:
                state = schema.plan_object(cls, inputs, schema.unknown, [], known)
                state["id"] = UNKNOWN
                rid = ""
            else:
                ctx = cloud.Context(request.type, request.name, inputs, region or "us-east-1", by_id)

                def fill(path, field, ctx=ctx):
                    if field.kind == "object" and field.cls is not None:
                        return schema.plan_object(field.cls, {}, fill, path)
                    return cloud.placeholder(ctx, path, field.kind)

                state = schema.plan_object(cls, inputs, fill, [], known)
                rid = ctx.id
                state["id"] = rid
                by_id[rid] = state
            if request.importId:
                # An import is not created: the CLI reads the existing resource, then plans the
                # program's inputs as an update over what it read (pulumi/pulumi
                # pkg/resource/deploy/step_generator.go `generateSteps` -> `NewImportStep`, then
                # `continueStepsFromImport`; step.go `ImportStep.Apply`). Offline nothing can be
                # read, so what the program did not set is planned as for a create, and the id is
                # the one imported (an ARN for ELB resources, whose `arn`/`arnSuffix` follow it).
                rid = state["id"] = request.importId
                if not dry_run and rid.startswith("arn:"):
                    state["arn"] = rid
                    for marker, prefix in ((":loadbalancer/", ""), (":targetgroup/", "targetgroup/")):
                        if marker in rid and "arnSuffix" in state:
                            state["arnSuffix"] = prefix + rid.split(marker, 1)[1]
            response = resource_pb2.RegisterResourceResponse(urn=urn, id=rid, object=to_struct(state))
            self._capture(request, "register", urn, rid, inputs, state)
            return response

        def ReadResource(self, request):
            # A `.get()`: the CLI reads the resource from the cloud, in a preview too
            # (pulumi/pulumi pkg/resource/deploy/step.go `ReadStep.Apply`); offline, its state
            # comes from the file of existing resources.
            urn = self.make_urn(request.parent, request.type, request.name)
            try:
                entry = find_existing(request.type, request.name, request.id)
            except ReadNotAnswered as exc:
                read_errors.append(str(exc))
                raise
            state = {**entry["properties"], "id": request.id}
            self._capture(request, "read", urn, request.id,
                          json_format.MessageToDict(request.properties), state)
            return resource_pb2.ReadResourceResponse(urn=urn, id=request.id, properties=to_struct(state))

        def RegisterResourceOutputs(self, request):
            registered = json_format.MessageToDict(request.outputs)
            if request.urn.split("::")[2] == "pulumi:pulumi:Stack":
                outputs.update(registered)
            component_outputs[request.urn] = registered
            return super().RegisterResourceOutputs(request)

    class Engine(mocks.MockEngine):
        def Log(self, request):
            from pulumi.runtime.proto import engine_pb2
            level = {engine_pb2.DEBUG: "debug", engine_pb2.INFO: "info",
                     engine_pb2.WARNING: "warning", engine_pb2.ERROR: "error"}.get(request.severity, "info")
            if level != "debug":  # the SDK's own tracing, one line per RPC: not the program's words
                log.append({"severity": level, "message": request.message, "urn": request.urn})

    monitor = Monitor(Mocks())
    settings.configure(mocks.MockSettings(
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(empty_pb2.Empty()).supportedFeatures),
        engine=Engine(logging.getLogger("layerguard.program")),
        project=spec["project"], stack=spec["stack"], dry_run=dry_run,
        organization=spec["organization"], callbacks=None,
    ))
    pulumi.runtime.set_all_config(config, secret_keys)

    # pulumi/pulumi pkg/engine/project.go `getPwdMain`: with no `main` the program runs in the
    # project directory with the entry point "."; a `main` directory becomes the working directory
    # with "."; a `main` file runs from its own directory by its base name. The executor
    # (pulumi-language-python-exec) then sets `sys.argv = [PROGRAM]`, changes to that directory and
    # calls `runpy.run_path(PROGRAM, run_name="__main__")` (which, for a directory, puts it on
    # sys.path while the program runs).
    pwd, entry = Path(spec.get("pwd") or program_dir), spec.get("entry") or "."
    os.chdir(pwd)
    sys.argv = [entry]
    error = None
    try:
        _sync_await(run_in_stack(lambda: runpy.run_path(entry, run_name="__main__")))
    except BaseException as exc:
        error = (read_errors or invoke_errors or [None])[0] or _describe(exc, pwd)
    if error is None and (read_errors or invoke_errors):
        error = (read_errors or invoke_errors)[0]
    if cannot_plan:
        followed = f"\nThe program then stopped ({error}); what it registered is named above." if error else ""
        # Before anything else the program did: what followed a registration the engine could not
        # plan (a crash on its outputs, a verdict) would be judged on a stack that is not the one
        # the CLI would deploy. Every such registration is named, not only the first.
        error = (f"the offline preview cannot plan {len(cannot_plan)} registration(s) the Pulumi CLI "
                 f"would hand to a plugin, so it cannot judge this stack (no verdict is given):\n"
                 + "\n".join(f"  - {line}" for line in cannot_plan)
                 + "\nBuild these from resources of an installed provider SDK (pulumi-aws), or "
                   "judge the stack with `pulumi preview --policy-pack` where the plugins run "
                   "(docs/ENGINE-FIDELITY.md)." + followed)
    if error is None:
        errors = [entry["message"] for entry in log if entry["severity"] == "error"]
        if errors:
            error = "the program logged an error: " + errors[0]

    Path(out_path).write_text(json.dumps({
        "resources": captured, "outputs": outputs, "component_outputs": component_outputs, "log": log,
        "error": error, "read_error": bool(read_errors),
    }), encoding="utf-8")
    return 0


def _resource_options(request) -> dict[str, Any]:
    """The resource options of a registration as the engine keeps them for the analyzers (the
    engine turns them into `AnalyzerResourceOptions`, engine.py `_analyzer_options`). A read
    request carries none of these."""
    if not hasattr(request, "ignoreChanges"):
        return {}
    timeouts = request.customTimeouts if request.HasField("customTimeouts") else None
    return {
        "protect": bool(request.protect),
        "ignoreChanges": list(request.ignoreChanges),
        "deleteBeforeReplace": bool(request.deleteBeforeReplace),
        "deleteBeforeReplaceDefined": bool(request.deleteBeforeReplaceDefined),
        "additionalSecretOutputs": list(request.additionalSecretOutputs),
        "customTimeouts": {k: getattr(timeouts, k) for k in ("create", "update", "delete", "read")}
        if timeouts is not None else {},
    }


def _describe(exc: BaseException, program_dir: Path) -> str:
    """One clear line: the exception and where in the program it was raised."""
    # pulumi wraps failures of resource registration; the first cause is the useful one.
    inner = exc
    while inner.__cause__ is not None and type(inner).__name__ in ("RunError", "Exception"):
        if str(inner):
            break
        inner = inner.__cause__
    where = ""
    for frame in reversed(traceback.extract_tb(inner.__traceback__)):
        try:
            Path(frame.filename).resolve().relative_to(program_dir)
        except ValueError:
            continue
        where = f" ({Path(frame.filename).resolve().relative_to(program_dir)}:{frame.lineno})"
        break
    name = type(inner).__name__
    message = str(inner).strip() or repr(inner)
    if os.environ.get("LAYERGUARD_DEBUG"):
        message += "\n" + "".join(traceback.format_exception(inner))
    return f"the program failed: {name}: {message}{where}"


if __name__ == "__main__":
    # `python -m` put the working directory first on sys.path; the CLI's executor has its own
    # directory there instead, so a program imports only what runpy and its environment give it.
    if sys.path and Path(sys.path[0] or ".").resolve() == Path.cwd().resolve():
        del sys.path[0]
    sys.exit(main(sys.argv[1], sys.argv[2]))
