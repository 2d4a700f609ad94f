"""The language host: runs one Pulumi Python program under the SDK's mock runtime.

It is started as its own process (`python -m layerguard.host SPEC OUT`), as the Pulumi CLI starts a
language host, so one engine can run many programs without their module state leaking into each
other. SPEC is a JSON file (program, project, stack, mode, config); OUT receives every resource
registration, the stack outputs and the log, as JSON.

Preview mode returns no id and no outputs for a new resource, so the SDK leaves every computed
output unknown, exactly as on the first `pulumi preview` of a fresh stack. Update mode returns
deterministic, realistic values (see `cloud.py`).
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


def _region_of(provider_ref: str, providers: dict[str, dict[str, Any]], default_region: str) -> str:
    urn = provider_ref.rsplit("::", 1)[0] if provider_ref else ""  # a reference is "URN::ID"
    region = providers.get(urn, {}).get("region")
    return region if isinstance(region, str) and region != UNKNOWN else default_region


def main(spec_path: str, out_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    program_dir = Path(spec["program_dir"]).resolve()
    dry_run = spec["mode"] == "preview"
    config: dict[str, str] = spec["config"]
    secret_keys: list[str] = spec["secret_keys"]
    default_region = config.get("aws:region", "us-east-1")

    # The environment a language host gives a program.
    os.environ.update({
        "PULUMI_PROJECT": spec["project"], "PULUMI_STACK": spec["stack"],
        "PULUMI_ORGANIZATION": spec["organization"], "PULUMI_DRY_RUN": "true" if dry_run else "false",
        "PULUMI_CONFIG": json.dumps(config), "PULUMI_CONFIG_SECRET_KEYS": json.dumps(secret_keys),
    })

    import pulumi
    from google.protobuf import empty_pb2, json_format
    from pulumi.runtime import mocks, settings
    from pulumi.runtime.stack import run_in_stack
    from pulumi.runtime.sync_await import _sync_await

    from . import cloud

    captured: list[dict[str, Any]] = []
    outputs: dict[str, Any] = {}
    log: list[dict[str, str]] = []
    providers: dict[str, dict[str, Any]] = {}
    component_outputs: dict[str, dict[str, Any]] = {}

    class Mocks(mocks.Mocks):
        def new_resource(self, args: mocks.MockResourceArgs):
            if args.resource_id and args.custom is None:
                # a read (`Resource.get`): the id is known, the state is not
                return args.resource_id, {}
            if dry_run:
                # An import (`import_` option) keeps the id it names; see RegisterResource.
                return args.resource_id or "", {}
            region = _region_of(args.provider or "", providers, default_region)
            if args.typ.startswith("pulumi:providers:"):
                return cloud.digest(args.typ, args.name, length=12), {}
            rid, outputs = cloud.computed_outputs(args.typ, args.name, args.inputs, region)
            if args.resource_id:
                # An imported resource keeps the id it was imported by (an ARN for ELB resources).
                rid = outputs["id"] = args.resource_id
                if rid.startswith("arn:"):
                    outputs["arn"] = rid
                    if ":loadbalancer/" in rid:
                        outputs["arnSuffix"] = rid.split(":loadbalancer/", 1)[1]
                    elif ":targetgroup/" in rid:
                        outputs["arnSuffix"] = "targetgroup/" + rid.split(":targetgroup/", 1)[1]
            return rid, outputs

        def call(self, args: mocks.MockCallArgs):
            region = _region_of(args.provider or "", providers, default_region)
            return cloud.invoke(args.token, args.args, region), []

    class Monitor(mocks.MockMonitor):
        """Sees every registration exactly as the engine would, before the mock answers it."""

        def make_urn(self, parent: str, type_: str, name: str) -> str:
            # The engine leaves the root stack out of a child's qualified type; the SDK's mock
            # monitor does not (`...::pulumi:pulumi:Stack$aws:...`), which no real stack shows.
            if parent and parent.split("::")[2] == "pulumi:pulumi:Stack":
                parent = ""
            return super().make_urn(parent, type_, name)

        def _capture(self, request, kind: str, urn: str, response_id: str, state: Any) -> None:
            inputs = json_format.MessageToDict(request.properties if kind == "read" else request.object)
            entry = {
                "urn": urn, "type": request.type, "name": request.name,
                "parent": request.parent or None, "custom": bool(getattr(request, "custom", True)),
                "kind": kind, "provider": request.provider or None,
                "dependencies": list(getattr(request, "dependencies", [])),
                "property_dependencies": {
                    k: list(v.urns) for k, v in getattr(request, "propertyDependencies", {}).items()
                    if len(v.urns)
                },
                "inputs": inputs, "id": response_id or None,
                "import_id": getattr(request, "importId", "") or None,
                "outputs": json_format.MessageToDict(state) if state is not None else {},
                "version": getattr(request, "version", "") or "",
            }
            if request.type.startswith("pulumi:providers:"):
                providers[urn] = inputs
            captured.append(entry)

        def RegisterResource(self, request):
            response = super().RegisterResource(request)
            if request.type == "pulumi:pulumi:Stack":
                captured.append({"urn": response.urn, "type": request.type, "name": request.name,
                                 "parent": None, "custom": False, "kind": "stack", "provider": None,
                                 "dependencies": [], "property_dependencies": {}, "inputs": {},
                                 "id": None, "outputs": {}, "version": ""})
                return response
            if dry_run and request.custom:
                # A provider's preview of a create plans the inputs it was given as outputs (what
                # the program set is known); only what the cloud computes stays unknown.
                # An import (`importId`) is not created: the CLI reads the existing resource, then
                # plans the program's inputs as an update over what it read (pulumi/pulumi
                # pkg/resource/deploy/step_generator.go, generateSteps -> NewImportStep, then
                # continueStepsFromImport; step.go, ImportStep.Apply). Offline nothing can be read,
                # so what the program did not set stays unknown, and the id is the one imported.
                response.object.CopyFrom(request.object)
                self._capture(request, "register", response.urn, response.id, None)
                return response
            self._capture(request, "register", response.urn, response.id, response.object)
            return response

        def ReadResource(self, request):
            response = super().ReadResource(request)
            self._capture(request, "read", response.urn, request.id, None)
            return response

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

    os.chdir(program_dir)
    sys.path.insert(0, str(program_dir))
    sys.argv = [spec["main"]]
    error = None
    try:
        _sync_await(run_in_stack(lambda: runpy.run_path(spec["main"], run_name="__main__")))
    except BaseException as exc:
        error = _describe(exc, program_dir)
    if error is None:
        errors = [entry["message"] for entry in log if entry["severity"] == "error"]
        if errors:
            error = "the program logged an error: " + errors[0]

    Path(out_path).write_text(json.dumps({
        "resources": captured, "outputs": outputs, "component_outputs": component_outputs, "log": log, "error": error,
    }), encoding="utf-8")
    return 0


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
    sys.exit(main(sys.argv[1], sys.argv[2]))
