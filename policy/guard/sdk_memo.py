"""Deserialize each resource once per `AnalyzeStack`, not once per stack policy.

pulumi_policy's `AnalyzeStack` (pulumi_policy/policy.py, `_PolicyAnalyzerServicer.AnalyzeStack`)
loops over the stack policies and, inside that loop, turns every resource of the request into
Python again: `deserialize_properties(json_format.MessageToDict(r.properties))`, and the same for
its provider. With 9 stack policies that is 9 conversions of every resource, most of the time
`AnalyzeStack` takes on a large stack (docs/BENCHMARKS.md, "SDK floor").

While one `AnalyzeStack` call runs, what that loop computes from a message alone is answered from a
memo keyed by the identity of the protobuf message (the request holds every message alive for the
whole call, so an identity cannot be reused while the memo lives) and of the dict made from it:
`MessageToDict`, `deserialize_properties`, `unknown_checking_proxy` (the SDK's proxy is built
eagerly, one wrapper per nested dict and list with a copy of its path each: after the memo of the
first two, the largest per-policy cost left), and the servicer's `_get_resource_options` and
`_get_provider_resource`. Each policy still gets its own `PolicyResource` (the SDK sets its parent
and dependencies per policy); the properties, options and provider under it are shared objects
that no policy of this pack mutates (policies read through `plain()`). Outside `AnalyzeStack`
(`Analyze`, `Remediate`, `Configure`) nothing changes.

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
        memo = _memo()
        if memo is None or args or kwargs:
            return self._real.MessageToDict(message, *args, **kwargs)
        hit = memo.get(id(message))
        if hit is None or hit[0] is not message:
            hit = memo[id(message)] = (message, self._to_dict(message))
        return hit[1]

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


class _Resource:
    """One `AnalyzeStackResource` with the fields the SDK's loop reads taken out of the protobuf
    message once: the loop reads them once per stack policy, and each protobuf read of a repeated
    or map field builds a new container."""

    __slots__ = (
        "_message",
        "dependencies",
        "name",
        "options",
        "parent",
        "properties",
        "propertyDependencies",
        "provider",
        "type",
        "urn",
    )

    def __init__(self, message: Any) -> None:
        self._message = message
        self.type, self.urn, self.name, self.parent = message.type, message.urn, message.name, message.parent
        self.dependencies = list(message.dependencies)
        self.propertyDependencies = {k: _Urns(list(v.urns)) for k, v in message.propertyDependencies.items()}
        self.properties, self.options, self.provider = message.properties, message.options, message.provider

    def HasField(self, name: str) -> bool:
        return self._message.HasField(name)


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


def _memoised(real: Any, kind: str) -> Any:
    """`real(value)` answered once per `value` object while an AnalyzeStack call runs."""

    def call(value: Any, *args: Any, **kwargs: Any) -> Any:
        memo = _memo()
        if memo is None or args or kwargs:
            return real(value, *args, **kwargs)
        key = (kind, id(value))
        hit = memo.get(key)
        if hit is None or hit[0] is not value:
            hit = memo[key] = (value, real(value))
        return hit[1]

    call.__wrapped__ = real
    return call


def _memoised_method(real: Any, kind: str) -> Any:
    """A servicer method of one message, answered once per message while an AnalyzeStack call runs."""

    def call(self: Any, message: Any, *args: Any, **kwargs: Any) -> Any:
        memo = _memo()
        if memo is None or args or kwargs:
            return real(self, message, *args, **kwargs)
        key = (kind, id(message))
        hit = memo.get(key)
        if hit is None or hit[0] is not message:
            hit = memo[key] = (message, real(self, message))
        return hit[1]

    call.__wrapped__ = real
    return call


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
    sdk.deserialize_properties = _memoised(sdk.deserialize_properties, "deserialize")
    sdk.unknown_checking_proxy = _memoised(sdk.unknown_checking_proxy, "proxy")
    servicer._get_resource_options = _memoised_method(servicer._get_resource_options, "options")
    servicer._get_provider_resource = _memoised_method(servicer._get_provider_resource, "provider")

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

    sdk.json_format = _JsonFormat(sdk.json_format)
    servicer.AnalyzeStack = analyze_stack
    return True
