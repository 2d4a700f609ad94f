"""Deserialize each resource once per `AnalyzeStack`, not once per stack policy.

pulumi_policy's `AnalyzeStack` (pulumi_policy/policy.py, `_PolicyAnalyzerServicer.AnalyzeStack`)
loops over the stack policies and, inside that loop, turns every resource of the request into
Python again: `deserialize_properties(json_format.MessageToDict(r.properties))`, and the same for
its provider. With 9 stack policies that is 9 conversions of every resource, most of the time
`AnalyzeStack` takes on a large stack (docs/BENCHMARKS.md, "SDK floor").

While one `AnalyzeStack` call runs, the SDK's loop reads an unpacked copy of the request
(`_Request`): each `AnalyzeStackResource` once taken out of protobuf (`_Resource`: each protobuf
read of a repeated or map field builds a new container), its properties behind a `_Properties`
holder. The functions that loop calls recognise the holder and the unpacked resource and answer
from them: `MessageToDict`, `deserialize_properties` and `unknown_checking_proxy` (the SDK's proxy
is built eagerly, one wrapper per nested dict and list with a copy of its path each) make one
proxy per resource for the whole call, and `_get_resource_options` and `_get_provider_resource`
run once per resource. The caches live on those objects, not in a table keyed by identity: a
table of every resource's five answers was the one part of the call that grew faster than the
stack. Each policy still gets its own `PolicyResource` (the SDK sets its parent and dependencies
per policy); the properties, options and provider under it are shared objects that no policy of
this pack mutates (policies read through `plain()`). Anything else, and everything outside
`AnalyzeStack` (`Analyze`, `Remediate`, `Configure`), goes to the SDK's own functions unchanged,
except that a `Struct` is converted without the generic descriptor walk (`struct_to_dict`).

This patches names in the SDK module, not the SDK itself; it is applied only to the version it was
written against (`pulumi-policy` is pinned in requirements.txt) and checks the names it replaces,
so a different SDK runs unpatched: correct, only slower. `LAYERGUARD_NO_SDK_MEMO=1` turns it off
(tests/policy/test_sdk_memo.py compares the verdicts both ways).
"""

from __future__ import annotations

import gc
import math
import os
import threading
from typing import Any

SDK_VERSION = "1.21.0"
_local = threading.local()


def _memo() -> dict[Any, Any] | None:
    return getattr(_local, "memo", None)


def call_scope() -> dict[Any, Any] | None:
    """A dict that lives exactly as long as the current `AnalyzeStack` call (None outside one, or
    when the patch is not applied): what every stack policy of the call may share, such as the
    pack's plain view of the stack (view.build_stack)."""
    return _memo()


class _JsonFormat:
    """`json_format` as pulumi_policy.policy sees it: `MessageToDict` memoised during AnalyzeStack."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def MessageToDict(self, message: Any, *args: Any, **kwargs: Any) -> Any:  # the SDK calls it by this name
        if type(message) is _Properties:
            return message if not (args or kwargs) else self._real.MessageToDict(message.message, *args, **kwargs)
        if args or kwargs:
            return self._real.MessageToDict(message, *args, **kwargs)
        return self._to_dict(message)

    def _to_dict(self, message: Any) -> Any:
        if getattr(getattr(message, "DESCRIPTOR", None), "full_name", None) != "google.protobuf.Struct":
            return self._real.MessageToDict(message)
        try:
            return struct_to_dict(message)
        except _NotPlain:  # an infinite or NaN number: let the real one raise its own error
            return self._real.MessageToDict(message)


class _NotPlain(Exception):
    pass


def struct_to_dict(message: Any) -> dict[str, Any]:
    """`json_format.MessageToDict` of a `google.protobuf.Struct`, without the generic descriptor
    walk: the same dict, key order and value types (protobuf/json_format.py,
    `_StructMessageToJsonObject` / `_ValueMessageToJsonObject` / `_FieldToJsonObject`: null as None,
    a number as the double it holds, a string, a bool, a nested struct or list). Property bags are
    all Structs, so this is most of what deserializing a stack costs.
    tests/policy/test_sdk_memo.py holds it equal to the real one."""
    fields = message.fields
    return {key: _value(fields[key]) for key in fields}


def _value(value: Any) -> Any:
    which = value.WhichOneof("kind")
    if which == "string_value":
        return value.string_value
    if which == "struct_value":
        return struct_to_dict(value.struct_value)
    if which == "bool_value":
        return value.bool_value
    if which == "number_value":
        number = value.number_value
        if math.isinf(number) or math.isnan(number):
            raise _NotPlain
        return number
    if which == "list_value":
        return [_value(v) for v in value.list_value.values]
    return None  # null_value, or no kind set


class _Properties:
    """A resource's properties message, standing in for it in the SDK's loop; it carries the one
    proxy every stack policy of the call gets."""

    __slots__ = ("_proxy", "message")

    def __init__(self, message: Any) -> None:
        self.message = message
        self._proxy = None


class _Resource:
    """One `AnalyzeStackResource` with the fields the SDK's loop reads taken out of the protobuf
    message once (the loop reads them once per stack policy), and what the servicer computes from
    it once for the call."""

    __slots__ = ("_message", "_options", "_provider", "dependencies", "name", "options", "parent",
                 "properties", "propertyDependencies", "provider", "type", "urn")

    def __init__(self, message: Any) -> None:
        self._message = message
        self.type, self.urn, self.name, self.parent = message.type, message.urn, message.name, message.parent
        self.dependencies = list(message.dependencies)
        self.propertyDependencies = {k: _Urns(list(v.urns)) for k, v in message.propertyDependencies.items()}
        self.properties = _Properties(message.properties)
        self.options, self.provider = message.options, message.provider
        self._options = self._provider = _UNSET

    def HasField(self, name: str) -> bool:
        return self._message.HasField(name)


_UNSET = object()


class _Urns:
    __slots__ = ("urns",)

    def __init__(self, urns: list[str]) -> None:
        self.urns = urns


class _Request:
    """The `AnalyzeStackRequest` as the SDK's `AnalyzeStack` reads it: its resources, each once
    unpacked (`_Resource`); anything else the SDK might read is the request's own."""

    def __init__(self, request: Any) -> None:
        self._request = request
        self.resources = [_Resource(r) for r in request.resources]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


def _once_per_resource(real: Any, slot: str) -> Any:
    """A servicer method of one resource, answered once per unpacked resource (kept in its `slot`);
    any other argument goes to the SDK's own method."""

    def method(self: Any, request: Any) -> Any:
        if type(request) is not _Resource:
            return real(self, request)
        answer = getattr(request, slot)
        if answer is _UNSET:
            answer = real(self, request)
            setattr(request, slot, answer)
        return answer

    return method


def install() -> bool:
    """Patch pulumi_policy.policy for this process; True when applied."""
    if os.environ.get("LAYERGUARD_NO_SDK_MEMO"):
        return False
    try:
        from pulumi_policy import policy as sdk
        from pulumi_policy.version import VERSION
    except ImportError:
        return False
    servicer = getattr(sdk, "_PolicyAnalyzerServicer", None)
    if (VERSION != SDK_VERSION or servicer is None or not hasattr(servicer, "AnalyzeStack")
            or not all(callable(getattr(sdk, name, None)) for name in ("deserialize_properties", "unknown_checking_proxy"))
            or not all(callable(getattr(servicer, name, None))
                       for name in ("_get_resource_options", "_get_provider_resource"))
            or isinstance(getattr(sdk, "json_format", None), _JsonFormat)):
        return False
    real_analyze_stack = servicer.AnalyzeStack
    real_deserialize, real_proxy = sdk.deserialize_properties, sdk.unknown_checking_proxy
    real_options, real_provider = servicer._get_resource_options, servicer._get_provider_resource
    json = _JsonFormat(sdk.json_format)

    def deserialize_properties(props: Any, *args: Any, **kwargs: Any) -> Any:
        if type(props) is _Properties and not (args or kwargs):
            return props  # unknown_checking_proxy below finishes the job, once
        return real_deserialize(props, *args, **kwargs)

    def unknown_checking_proxy(props: Any, *args: Any, **kwargs: Any) -> Any:
        if type(props) is not _Properties:
            return real_proxy(props, *args, **kwargs)
        if props._proxy is None:
            props._proxy = real_proxy(real_deserialize(json._to_dict(props.message)))
        return props._proxy

    sdk.deserialize_properties = deserialize_properties
    sdk.unknown_checking_proxy = unknown_checking_proxy
    servicer._get_resource_options = _once_per_resource(real_options, "_options")
    servicer._get_provider_resource = _once_per_resource(real_provider, "_provider")

    def analyze_stack(self: Any, request: Any, context: Any) -> Any:
        _local.memo = {}
        collecting = gc.isenabled()
        # The call only allocates (nothing it makes is garbage before it returns): a collection in
        # the middle would only rescan a heap that grows with the stack, the one term that grew
        # faster than the stack did (docs/BENCHMARKS.md, B2).
        gc.disable()
        try:
            return real_analyze_stack(self, _Request(request), context)
        finally:
            _local.memo = None
            if collecting:
                gc.enable()

    sdk.json_format = json
    servicer.AnalyzeStack = analyze_stack
    return True
