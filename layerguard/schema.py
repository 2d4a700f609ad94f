"""The provider's schema, read from the pinned Pulumi SDK's own generated types, and the plan a
bridged provider makes from it.

Used inside the language host (`host.py`), where the program has already imported its provider
SDKs. Nothing here is a hand-kept list per resource:

- A type token leads to its Python class through the resource modules the SDK registers on import
  (`pulumi.runtime.rpc.get_resource_module`, fed by `pulumi_aws/_utilities.py` `register`), and a
  class's properties and their engine names through `pulumi.getter(name=...)`
  (`pulumi._types._py_properties`); nested objects through their `outputs.X` annotations.
- pulumi-terraform-bridge makes an output property non-`Optional` exactly when the Terraform
  attribute is Required or Computed (pkg/tfgen/generate.go, `isOptional`: for an output,
  optional = `Optional() && !Computed() && !customDefault`). A Required one is always set by the
  program; so a non-`Optional` output the program did not set is one the provider computes.
- At preview the engine calls the provider's `Create` with `Preview=true`, and the bridge answers
  with Terraform's proposed state (pulumi-terraform-bridge pkg/tfbridge/provider.go, `Create`:
  `diff.ProposedState`, then `MakeTerraformResult`): what the program set, plus every computed
  attribute it did not set as unknown, inside nested objects the program set as well; optional
  attributes the program did not set stay null, i.e. absent.
"""

from __future__ import annotations

import collections.abc
import functools
import hashlib
import importlib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
SECRET_SIG = "4dabf18193072939515e22adb298388d"

# The CLI sends every unknown to a policy pack as the *string* sentinel, whatever the value's kind:
# the analyzer plugin converts `property.Value`s back with `resource.ToResourcePropertyValue`, which
# turns every computed value into `MakeComputed(NewProperty(""))` (pulumi/pulumi
# sdk/go/common/resource/property_compatibility.go), and `marshalUnknownProperty`
# (sdk/go/common/resource/plugin/rpc.go) then picks the sentinel of that string element.
UNKNOWN_SENTINEL = UNKNOWN

# Autonaming: pulumi-terraform-bridge pkg/tfbridge/info/autonaming.go `SetAutonaming` gives every
# input property literally called `name` of type string an `AutoName` default (7 random hex
# characters after a `-`), unless a conflicting property is set (pkg/tfbridge/schema.go
# `buildConflictsWith`: the AWS provider's `name` conflicts with `name_prefix`).
AUTONAME_RANDLEN = 7


@dataclass(frozen=True)
class Field:
    """One property of a schema type: its engine name, kind and whether it is optional."""
    name: str
    kind: str                      # string | bool | number | array | map | object | any
    optional: bool
    element: Field | None = None   # arrays and maps
    cls: type | None = None        # objects: the SDK's output type


def _strip(tp: Any) -> tuple[Any, bool]:
    """`Output[T]` -> T; `Optional[T]` -> (T, True)."""
    import pulumi
    if typing.get_origin(tp) is pulumi.Output:
        tp = typing.get_args(tp)[0]
    optional = False
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        tp = args[0] if len(args) == 1 else Any
    return tp, optional


def _describe(name: str, tp: Any) -> Field:
    from pulumi._types import is_output_type
    tp, optional = _strip(tp)
    origin = typing.get_origin(tp)
    if origin in (list, collections.abc.Sequence):
        return Field(name, "array", optional, element=_describe("", typing.get_args(tp)[0]))
    if origin in (dict, collections.abc.Mapping):
        return Field(name, "map", optional, element=_describe("", typing.get_args(tp)[1]))
    if isinstance(tp, type):
        if issubclass(tp, bool):
            return Field(name, "bool", optional)
        if issubclass(tp, str):
            return Field(name, "string", optional)
        if issubclass(tp, (int, float)):
            return Field(name, "number", optional)
        if is_output_type(tp):
            return Field(name, "object", optional, cls=tp)
    return Field(name, "any", optional)


@functools.cache
def fields(cls: type) -> dict[str, Field]:
    """The engine-named properties of a resource class or an output type."""
    from pulumi._types import _py_properties
    out: dict[str, Field] = {}
    for _python_name, engine_name, prop in _py_properties(cls):
        try:
            hint = typing.get_type_hints(prop.fget)["return"]
        except Exception:  # an annotation the SDK itself cannot resolve: treat as opaque
            hint = Any
        out[engine_name] = _describe(engine_name, hint)
    return out


@functools.cache
def resource_class(type_token: str) -> type | None:
    """The SDK class of a resource type token, through the SDK's resource-module registry."""
    from pulumi.runtime import rpc
    try:
        package, module, _name = type_token.split(":")
    except ValueError:
        return None
    registered = rpc.get_resource_module(package, module, "")
    info = getattr(registered, "mod_info", None)
    if not isinstance(info, dict) or type_token not in info.get("classes", {}):
        return None
    return getattr(importlib.import_module(info["fqn"]), info["classes"][type_token], None)


@functools.cache
def input_fields(cls: type) -> dict[str, Field]:
    """The engine-named inputs of a resource class (its generated `<Class>Args`)."""
    args_cls = getattr(importlib.import_module(cls.__module__), cls.__name__ + "Args", None)
    return fields(args_cls) if args_cls is not None else {}


def autoname(cls: type, urn: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs after the provider's `Check` fills an auto-name (see AUTONAME_RANDLEN)."""
    output = fields(cls).get("name")
    if ("name" not in input_fields(cls) or output is None or output.kind != "string"
            or "name" in inputs or inputs.get("namePrefix") is not None):
        return inputs
    logical = urn.rsplit("::", 1)[-1]
    suffix = hashlib.sha256(urn.encode()).hexdigest()[:AUTONAME_RANDLEN]
    return {**inputs, "name": f"{logical}-{suffix}"}


Filler = Callable[[list[Any], Field], Any]
# A filler's answer for a computed attribute the provider leaves null (e.g. the source security
# group of a rule given CIDRs): the bridge drops nulls from its result, so it stays absent.
ABSENT = object()


def _is_opaque(value: Any) -> bool:
    return value == UNKNOWN or (isinstance(value, dict) and SECRET_SIG in value)


def plan_object(cls: type, values: dict[str, Any], fill: Filler, path: list[Any],
                known: dict[str, Any] | None = None) -> dict[str, Any]:
    """`values` plus every computed property of `cls` they do not set: `known[name]` when the
    provider knows it at plan time, else `fill(path, field)`. Nested objects the program set are
    planned the same way."""
    state = dict(values)
    for name, field in fields(cls).items():
        if name in state:
            state[name] = _plan_value(field, state[name], fill, [*path, name])
        elif known and name in known:
            state[name] = known[name]
        elif not field.optional:
            value = fill([*path, name], field)
            if value is not ABSENT:
                state[name] = value
    return state


def _plan_value(field: Field, value: Any, fill: Filler, path: list[Any]) -> Any:
    if _is_opaque(value):
        return value
    if field.kind == "object" and field.cls is not None and isinstance(value, dict):
        return plan_object(field.cls, value, fill, path)
    if field.kind == "array" and field.element is not None and isinstance(value, list):
        return [_plan_value(field.element, item, fill, [*path, i]) for i, item in enumerate(value)]
    if field.kind == "map" and field.element is not None and isinstance(value, dict):
        return {k: _plan_value(field.element, item, fill, [*path, k]) for k, item in value.items()}
    return value


def unknown(_path: list[Any], _field: Field) -> str:
    """The preview's filler: a computed value is unknown."""
    return UNKNOWN_SENTINEL


def known_at_plan(cls: type, inputs: dict[str, Any], provider: dict[str, Any], region: str | None) -> dict[str, Any]:
    """Computed values the AWS provider already knows when it plans a create.

    - `tagsAll`: terraform-provider-aws computes `tags_all` in its plan (CustomizeDiff
      `verify.SetTagsDiff`) as the provider's `default_tags` merged with the resource's `tags`
      (the resource's win); unknown when either is.
    - `region`: pulumi-aws v7 (terraform-provider-aws v6) plans a resource's `region` as the
      provider's region when the resource does not set it.
    """
    own = fields(cls)
    known: dict[str, Any] = {}
    if "tagsAll" in own and "tagsAll" not in inputs:
        default_tags = (provider.get("defaultTags") or {}).get("tags") if isinstance(provider.get("defaultTags"), dict) else {}
        tags = inputs.get("tags") or {}
        if _is_opaque(tags) or _is_opaque(default_tags or {}) or provider.get("defaultTags") == UNKNOWN:
            known["tagsAll"] = UNKNOWN_SENTINEL
        else:
            known["tagsAll"] = {**(default_tags or {}), **tags}
    if "region" in own and "region" not in inputs and region:
        known["region"] = region
    return known
