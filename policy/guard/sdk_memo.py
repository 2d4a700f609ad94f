"""Deserialize each resource once per `AnalyzeStack`, not once per stack policy.

pulumi_policy's `AnalyzeStack` (pulumi_policy/policy.py, `_PolicyAnalyzerServicer.AnalyzeStack`)
loops over the stack policies and, inside that loop, turns every resource of the request into
Python again: `deserialize_properties(json_format.MessageToDict(r.properties))`, and the same for
its provider. With 9 stack policies that is 9 conversions of every resource, most of the time
`AnalyzeStack` takes on a large stack (docs/BENCHMARKS.md, "SDK floor").

While one `AnalyzeStack` call runs, the two functions that module calls are answered from a memo
keyed by the identity of the protobuf message (the request holds every message alive for the whole
call, so an identity cannot be reused while the memo lives) and of the dict made from it. Each
policy still gets its own `PolicyResource` and its own unknown-checking proxy, over one shared
plain dict that no policy of this pack mutates (policies read through `plain()`). Outside
`AnalyzeStack` (`Analyze`, `Remediate`, `Configure`) nothing changes.

This patches names in the SDK module, not the SDK itself; it is applied only to the version it was
written against (`pulumi-policy` is pinned in requirements.txt) and checks the names it replaces,
so a different SDK runs unpatched: correct, only slower. `LAYERGUARD_NO_SDK_MEMO=1` turns it off
(tests/policy/test_sdk_memo.py compares the verdicts both ways).
"""

from __future__ import annotations

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
            hit = memo[id(message)] = (message, self._real.MessageToDict(message))
        return hit[1]


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
            or not callable(getattr(sdk, "deserialize_properties", None))
            or isinstance(getattr(sdk, "json_format", None), _JsonFormat)):
        return False
    real_deserialize = sdk.deserialize_properties
    real_analyze_stack = servicer.AnalyzeStack

    def deserialize_properties(props: Any, *args: Any, **kwargs: Any) -> Any:
        memo = _memo()
        if memo is None or args or kwargs:
            return real_deserialize(props, *args, **kwargs)
        key = -1 - id(props)  # apart from the message keys
        hit = memo.get(key)
        if hit is None or hit[0] is not props:
            hit = memo[key] = (props, real_deserialize(props))
        return hit[1]

    def analyze_stack(self: Any, request: Any, context: Any) -> Any:
        _local.memo = {}
        try:
            return real_analyze_stack(self, request, context)
        finally:
            _local.memo = None

    sdk.json_format = _JsonFormat(sdk.json_format)
    sdk.deserialize_properties = deserialize_properties
    servicer.AnalyzeStack = analyze_stack
    return True
