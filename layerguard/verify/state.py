"""A stack's state as `pulumi stack export` writes it, and the layer of each resource in it.

The file is an `apitype.UntypedDeployment` (`{"version": 3, "deployment": {...}}`) whose deployment
is a `DeploymentV3`: `resources` is a list of `ResourceV3` with `urn`, `custom`, `delete`, `id`,
`type`, `inputs`, `outputs`, `parent`, `dependencies`, `propertyDependencies` and `provider`
(pulumi/pulumi sdk/go/common/apitype/core.go: `UntypedDeployment`, `DeploymentV3`, `ResourceV3`).
Version 4 has the same resource shape plus a `features` list, so both are read.

`from_preview()` builds such a document from an offline update-mode preview. It is what the tests
seed a mock account from, and a way to try `verify` before a first `pulumi up`; after a real deploy
use `pulumi stack export --file state.json`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import files
from ..engine import LAYER_TAG, LAYERS, SECRET_SIG, is_unknown

SUPPORTED_VERSIONS = (3, 4)
# A secret in an exported state is `{SECRET_SIG: "1b47...", "ciphertext": "..."}` (pulumi/pulumi
# pkg/resource/stack/deployment.go, DeserializePropertyValue reads `ciphertext`).
_SECRET_VALUE_SIG = "1b47061264138c4ac30d75fd1eb44270"


class StateError(Exception):
    """The state file cannot be used: the message names the file and what is wrong."""


@dataclass
class StateResource:
    urn: str
    type: str
    custom: bool
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    parent: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str
    layer: str = "unclassified"

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    def get(self, key: str, default: Any = None) -> Any:
        """A property as the cloud has it (outputs), else as declared (inputs)."""
        if key in self.outputs:
            return self.outputs[key]
        return self.inputs.get(key, default)


@dataclass
class State:
    path: str
    stack: str
    project: str
    resources: list[StateResource] = field(default_factory=list)

    def of(self, *types: str) -> list[StateResource]:
        return [r for r in self.resources if r.type in types]

    def by_urn(self) -> dict[str, StateResource]:
        return {r.urn: r for r in self.resources}

    def by_id(self, *types: str) -> dict[str, StateResource]:
        return {r.id: r for r in self.resources if r.id and (not types or r.type in types)}

    def region(self) -> str | None:
        """The region of the default AWS provider (its `region` input), as `pulumi up` used it."""
        for res in self.resources:
            if res.type == "pulumi:providers:aws":
                region = res.inputs.get("region") or res.outputs.get("region")
                if isinstance(region, str) and region:
                    return region
        return None


def load(path: Path | str) -> State:
    path = Path(path)
    try:
        doc = files.load_json(path, files.DOCUMENT_LIMIT)
    except files.FileProblem as exc:
        text = str(exc).replace(f"{path}: cannot read:", f"{path}: cannot read the state file:", 1)
        raise StateError(f"{text}; expected the output of `pulumi stack export --file {path.name}`") from None
    return parse(doc, str(path))


def parse(doc: Any, where: str = "state") -> State:
    if not isinstance(doc, dict) or "deployment" not in doc:
        raise StateError(f"{where}: no `deployment` key; expected the output of `pulumi stack export`")
    version = doc.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise StateError(f"{where}: version is {version!r}; supported: "
                         f"{', '.join(str(v) for v in SUPPORTED_VERSIONS)}")
    deployment = doc["deployment"]
    raw = deployment.get("resources") if isinstance(deployment, dict) else None
    if not isinstance(raw, list):
        raise StateError(f"{where}: deployment.resources must be a list, got {type(raw).__name__}")
    resources = []
    for i, r in enumerate(raw):
        if not isinstance(r, dict) or not isinstance(r.get("urn"), str) or not isinstance(r.get("type"), str):
            raise StateError(f"{where}: deployment.resources[{i}] has no string `urn` and `type`")
        if r.get("delete"):
            continue  # pending deletion: no longer part of the stack
        resources.append(_resource(r, f"{where}: deployment.resources[{i}] ({r['urn']})"))
    stack_res = next((r for r in resources if r.type == "pulumi:pulumi:Stack"), None)
    urn = stack_res.urn if stack_res else (resources[0].urn if resources else "")
    if not urn.startswith("urn:pulumi:"):
        raise StateError(f"{where}: the deployment has no resources with a Pulumi URN")
    # urn:pulumi:STACK::PROJECT::TYPE::NAME
    head = urn[len("urn:pulumi:"):].split("::")
    state = State(where, stack=head[0], project=head[1] if len(head) > 1 else "", resources=resources)
    _assign_layers(state)
    return state


# ResourceV3 fields (apitype/core.go) and the JSON type each must have when present.
_FIELDS = {"id": str, "inputs": dict, "outputs": dict, "parent": str, "dependencies": list,
           "propertyDependencies": dict, "provider": str, "custom": bool}


def _resource(r: dict[str, Any], label: str) -> StateResource:
    """One `ResourceV3`, each field checked against the type `pulumi stack export` writes."""
    for key, kind in _FIELDS.items():
        value = r.get(key)
        if value is not None and not isinstance(value, kind):
            raise StateError(f"{label}: `{key}` must be a JSON {_JSON_NAMES[kind]}, got {_JSON_NAMES.get(type(value), type(value).__name__)}")
    if not all(isinstance(u, str) for u in r.get("dependencies") or []):
        raise StateError(f"{label}: `dependencies` must be a list of URN strings")
    deps = r.get("propertyDependencies") or {}
    for prop, urns in deps.items():
        if urns is not None and not (isinstance(urns, list) and all(isinstance(u, str) for u in urns)):
            raise StateError(f"{label}: `propertyDependencies.{prop}` must be a list of URN strings")
    return StateResource(
        urn=r["urn"], type=r["type"], custom=bool(r.get("custom")), id=r.get("id") or "",
        inputs=dict(r.get("inputs") or {}), outputs=dict(r.get("outputs") or {}),
        parent=r.get("parent") or "", dependencies=list(r.get("dependencies") or []),
        property_dependencies={k: list(v or []) for k, v in deps.items()},
        provider=r.get("provider") or "")


_JSON_NAMES = {str: "string", dict: "object", list: "array", bool: "boolean", int: "number",
               float: "number", type(None): "null"}


def tag_map(tags: Any) -> dict[str, Any]:
    """Tags as a map: a tag map as it is, an Auto Scaling group's `[{key, value, propagateAtLaunch}]`
    list as its keys and values."""
    if isinstance(tags, dict):
        return tags
    if isinstance(tags, list):
        return {t["key"]: t.get("value") for t in tags if isinstance(t, dict) and isinstance(t.get("key"), str)}
    return {}


def tags_of(res: StateResource) -> dict[str, Any]:
    for source in (res.outputs.get("tagsAll"), res.outputs.get("tags"), res.inputs.get("tags")):
        tags = tag_map(source)
        if tags:
            return tags
    return {}


def _assign_layers(state: State) -> None:
    """The layer rule of the pack and the engine (README, "Layer identity"): a resource's own
    `layerguard:layer` tag; else the nearest component `<org>:<layer>:<Name>` ancestor; else, for
    untagged attachments, the layer of what they attach to through property dependencies."""
    by_urn = state.by_urn()
    cache: dict[str, str] = {}

    def layer_of(res: StateResource) -> str:
        if res.urn in cache:
            return cache[res.urn]
        cache[res.urn] = "unclassified"  # guards against cycles
        layer = tags_of(res).get(LAYER_TAG)
        if layer not in LAYERS:
            layer = None
        if layer is None and not res.custom and res.type.count(":") == 2 and res.type.split(":")[1] in LAYERS:
            layer = res.type.split(":")[1]
        parent = by_urn.get(res.parent)
        if layer is None and parent is not None and parent.type != "pulumi:pulumi:Stack":
            layer = layer_of(parent)
            layer = None if layer == "unclassified" else layer
        if layer is None:
            attached = [layer_of(by_urn[u]) for urns in res.property_dependencies.values()
                        for u in urns if u in by_urn]
            layer = next((a for a in attached if a != "unclassified"), "unclassified")
        cache[res.urn] = layer
        return layer

    for res in state.resources:
        res.layer = layer_of(res)


def _redact(value: Any) -> Any:
    """Secrets leave as an exported state has them: a ciphertext object, never the plaintext."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return {SECRET_SIG: _SECRET_VALUE_SIG, "ciphertext": "redacted-by-layerguard"}
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def from_preview(result) -> dict[str, Any]:
    """A `pulumi stack export` document (version 3) for an update-mode `PreviewResult`: every
    resource with its id, inputs, outputs (inputs plus what the provider computed), parent,
    dependencies, property dependencies and provider reference; secrets as ciphertext objects."""
    if result.mode != "update":
        raise ValueError("from_preview needs an update-mode preview: a first preview has no ids")
    resources = []
    for r in result.resources:
        if getattr(r, "kind", "register") == "read":
            continue
        outputs = dict(r.inputs) if r.custom else {}
        outputs.update(r.outputs)
        if any(is_unknown(v) for v in outputs.values()):
            outputs = {k: v for k, v in outputs.items() if not is_unknown(v)}
        entry: dict[str, Any] = {"urn": r.urn, "custom": bool(r.custom), "type": r.type,
                                 "inputs": _redact(r.inputs), "outputs": _redact(outputs)}
        if r.custom and r.id:
            entry["id"] = r.id
        if r.parent:
            entry["parent"] = r.parent
        if r.dependencies:
            entry["dependencies"] = list(r.dependencies)
        if r.property_dependencies:
            entry["propertyDependencies"] = {k: list(v) for k, v in r.property_dependencies.items()}
        if r.provider:
            entry["provider"] = r.provider
        resources.append(entry)
    return {"version": 3, "deployment": {
        "manifest": {"time": "1970-01-01T00:00:00Z", "magic": "", "version": "layerguard-offline"},
        "resources": resources}}
