"""Planned outputs the way the Pulumi CLI hands them to `AnalyzeStack` at preview, for driving the
pack process directly (the offline engine may not model them yet).

pulumi/pulumi step_generator.go `AnalyzeResources` sends each resource's outputs; at preview the
provider's `Create` with `Preview=true` answers with Terraform's proposed state
(pulumi-terraform-bridge pkg/tfbridge/provider.go `Create`): the configured values plus every
computed attribute the program did not set, unknown. The bridge makes an output property
non-`Optional` exactly when the attribute is Required or Computed (pkg/tfgen/generate.go
`isOptional`), so the pinned pulumi_aws SDK's own getters say which attributes are computed: every
non-`Optional` output the inputs do not set becomes an unknown, in nested objects too.
"""

from __future__ import annotations

import importlib
import typing
from typing import Any

from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from layerguard.engine import CapturedResource, PreviewResult, analyzer_messages


def _class_for(token: str) -> type | None:
    """`aws:ec2/securityGroup:SecurityGroup` -> pulumi_aws.ec2.SecurityGroup."""
    try:
        package, middle, name = token.split(":")
    except ValueError:
        return None
    if package != "aws":
        return None
    module = middle.split("/")[0]
    try:
        mod = importlib.import_module(f"pulumi_aws.{module}" if module != "index" else "pulumi_aws")
    except ImportError:
        return None
    return getattr(mod, name, None)


def _getters(cls: type) -> list[tuple[str, Any]]:
    out = []
    for klass in reversed(cls.__mro__):
        for value in vars(klass).values():
            if isinstance(value, property) and hasattr(value.fget, "_pulumi_name"):
                out.append((value.fget._pulumi_name, value.fget.__annotations__.get("return")))
    return out


def _resolve(typ: Any, module: str) -> Any:
    if isinstance(typ, typing.ForwardRef):
        name = typ.__forward_arg__
        if name.startswith("outputs."):
            try:
                return getattr(importlib.import_module(f"{module}.outputs"), name.split(".", 1)[1])
            except (ImportError, AttributeError):
                return None
    return typ


def _sentinel(typ: Any) -> str:
    origin = typing.get_origin(typ)
    if typ is bool:
        return UNKNOWN_BOOLEAN_VALUE
    if typ in (int, float):
        return UNKNOWN_NUMBER_VALUE
    if origin in (list, typing.Sequence) or str(typ).startswith("typing.Sequence"):
        return UNKNOWN_ARRAY_VALUE
    if origin in (dict, typing.Mapping) or (isinstance(typ, type) and hasattr(typ, "_translate_property")):
        return UNKNOWN_OBJECT_VALUE
    return UNKNOWN_STRING_VALUE


def _fill(value: dict, cls: type, module: str) -> dict:
    out = dict(value)
    for name, annotation in _getters(cls):
        if name in ("id", "urn"):
            continue
        if name in out:
            nested = out[name]
            _, inner = _unwrap_nested(annotation, module)
            if isinstance(nested, dict) and isinstance(inner, type):
                out[name] = _fill(nested, inner, module)
            elif isinstance(nested, list) and isinstance(inner, type):
                out[name] = [_fill(v, inner, module) if isinstance(v, dict) else v for v in nested]
            continue
        optional, inner = _unwrap_nested(annotation, module)
        if not optional:
            out[name] = _sentinel(inner)
    return out


def _unwrap_nested(annotation: Any, module: str) -> tuple[bool, Any]:
    """Like `_unwrap` for a resource's `Output[T]` or an output type's plain `T`; the element
    type of a sequence is returned for recursion."""
    typ = annotation
    if typing.get_origin(typ) is not None and "Output" in str(typing.get_origin(typ)):
        typ = typing.get_args(typ)[0]
    optional = False
    if typing.get_origin(typ) is typing.Union and type(None) in typing.get_args(typ):
        optional = True
        typ = next(a for a in typing.get_args(typ) if a is not type(None))
    if typing.get_origin(typ) in (list, typing.Sequence) or str(typ).startswith("typing.Sequence"):
        args = typing.get_args(typ)
        elem = _resolve(args[0], module) if args else None
        return optional, elem if isinstance(elem, type) and hasattr(elem, "_translate_property") else typ
    return optional, _resolve(typ, module)


def planned_outputs(res: CapturedResource) -> dict:
    """The resource's planned outputs at preview: its inputs plus unknown computed attributes."""
    cls = _class_for(res.type)
    if cls is None or not res.custom:
        return dict(res.inputs)
    return _fill(dict(res.inputs), cls, cls.__module__.rsplit(".", 1)[0])


def cli_messages(result: PreviewResult, with_analyze: bool = True):
    """(Analyze requests, AnalyzeStack resources) as the CLI sends them at preview: inputs to
    `Analyze`, planned outputs to `AnalyzeStack`."""
    from google.protobuf import json_format, struct_pb2
    requests, entries = [], []
    for res, request, entry in analyzer_messages(result):
        if request is not None and with_analyze:
            requests.append(request)
        state = struct_pb2.Struct()
        json_format.ParseDict(planned_outputs(res), state)
        entry.properties.CopyFrom(state)
        entries.append(entry)
    return requests, entries
