"""Plain data out of CrossGuard proxies, and `Unknown`: a value that cannot be known yet.

`plain(proxy)` converts properties to plain Python (dict, list, str, ...) with every unknown
sentinel as an explicit `Unknown(path, kind)` and the engine's secret wrappers unwrapped; it never
raises. Using an `Unknown` as a value (truthiness, comparison, iteration, indexing, `in`, `len`,
string methods) raises `Unresolved`, which the rule adapters turn into a finding that names the
property: a predicate that forgets an unknown fails closed instead of passing. Test
`is_unknown(v)` first to give a better message; `isinstance(v, str)` is False for an `Unknown`, so
it is never the only guard.

`get(data, "a.b.0")` and `parse_json(value, path)` work on plain data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

_SENTINELS = {
    UNKNOWN_STRING_VALUE: "string",
    UNKNOWN_BOOLEAN_VALUE: "boolean",
    UNKNOWN_NUMBER_VALUE: "number",
    UNKNOWN_ARRAY_VALUE: "array",
    UNKNOWN_OBJECT_VALUE: "object",
    UNKNOWN_ASSET_VALUE: "asset",
    UNKNOWN_ARCHIVE_VALUE: "archive",
}
_SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")


def is_dry_run() -> bool:
    """True during `pulumi preview` (and the preview half of `pulumi up`).

    The CLI tells the pack in two ways (pulumi/pulumi pkg/resource/plugin/analyzer_plugin.go:
    `constructEnv` sets PULUMI_DRY_RUN in the pack's environment, `NewPolicyAnalyzer` sends
    `AnalyzerStackConfigureRequest.dry_run`). pulumi_policy 1.21's `ConfigureStack` keeps only the
    stack tags, so `record_configure_stack` keeps the flag too: a client that starts the pack
    another way but speaks the protocol as the CLI does is heard. The environment, when set, wins
    (the CLI sets both alike). Neither: not a dry run, so an unknown is a mandatory failure, never
    an advisory.
    """
    env = os.environ.get("PULUMI_DRY_RUN", "").lower()
    if env in ("true", "false"):
        return env == "true"
    return _CONFIGURED_DRY_RUN is True


_CONFIGURED_DRY_RUN: bool | None = None


def record_configure_stack() -> None:
    """Wrap the SDK servicer's `ConfigureStack` so the request's `dry_run` reaches `is_dry_run`."""
    try:
        from pulumi_policy import policy as sdk
    except ImportError:  # pragma: no cover - the pack always runs with the SDK
        return
    servicer = getattr(sdk, "_PolicyAnalyzerServicer", None)
    real = getattr(servicer, "ConfigureStack", None)
    if real is None or getattr(real, "_layerguard", False):
        return

    def configure_stack(self: Any, request: Any, context: Any) -> Any:
        global _CONFIGURED_DRY_RUN
        _CONFIGURED_DRY_RUN = bool(getattr(request, "dry_run", False))
        return real(self, request, context)

    configure_stack._layerguard = True  # type: ignore[attr-defined]
    servicer.ConfigureStack = configure_stack


class Unresolved(Exception):
    """Raised when a predicate uses an `Unknown` as if it were a value."""

    def __init__(self, unknown: Unknown) -> None:
        super().__init__(unknown.describe())
        self.unknown = unknown


class Unknown:
    """A value that is not known yet: an input computed from another resource's output at preview,
    or (`property=False`) something about the environment that waiting will not settle."""

    __slots__ = ("kind", "path", "property")

    def __init__(self, path: str = "", kind: str = "value", property: bool = True) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "property", property)

    def describe(self) -> str:
        when = " at preview" if is_dry_run() else ""
        return f"{self.kind} value at .{self.path or '?'} is unknown{when}"

    def __repr__(self) -> str:
        return f"<unknown {self.kind} .{self.path}>"

    __str__ = __repr__

    def __hash__(self) -> int:
        return hash(("Unknown", self.path))

    def _raise(self, *_a: Any, **_k: Any) -> Any:
        raise Unresolved(self)

    __bool__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _raise
    __iter__ = __len__ = __getitem__ = __contains__ = __int__ = __float__ = _raise

    def __getattr__(self, name: str) -> Any:  # .startswith, .get, .lower, ... all fail closed
        if name.startswith("__"):
            raise AttributeError(name)
        raise Unresolved(self)


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


def plain(value: Any, path: str = "") -> Any:
    """Convert CrossGuard proxies (or raw deserialized data) to plain Python; never raises.

    Unknown sentinels become `Unknown(path, kind)`; engine secret wrappers are unwrapped. Every
    stack policy converts the whole stack again (the SDK hands each policy fresh proxies), so this
    walk is hot: exact type checks first, and a value's path is only spelled out for an unknown.
    """
    return plain_counting(value, path)[0]


def plain_counting(value: Any, path: str = "") -> tuple[Any, int]:
    """`plain(value)` and how many `Unknown`s it holds (0: nothing to look at twice)."""
    found = [0]
    return _plain(value, [path] if path else [], found), found[0]


def _plain(value: Any, trail: list, found: list) -> Any:
    if type(value) in _PROXY_TYPES:
        value = value["__target"]
    kind = type(value)
    if kind is str:
        sentinel = _SENTINELS.get(value)
        if sentinel:
            found[0] += 1
            return Unknown("".join(trail), sentinel)
        return value
    if kind is dict or (kind not in _SCALARS and isinstance(value, Mapping)):
        if value.get(_SECRET_SIG[0]) == _SECRET_SIG[1] if kind is dict else \
                (_SECRET_SIG[0] in value and _raw_item(value, _SECRET_SIG[0]) == _SECRET_SIG[1]):
            return _plain(_raw_item(value, "value"), trail, found) if "value" in value else None
        out = {}
        for key in list(value.keys()):
            trail.append(f".{key}" if trail else str(key))
            out[key] = _plain(value[key] if kind is dict else _raw_item(value, key), trail, found)
            trail.pop()
        return out
    if kind is list or kind is tuple or kind in _PROXY_LISTS:
        out_list = []
        for i, item in enumerate(value):
            trail.append(f"[{i}]")
            out_list.append(_plain(item, trail, found))
            trail.pop()
        return out_list
    return value


_SCALARS = frozenset({int, float, bool, type(None), bytes})


def _proxy_types() -> tuple[frozenset, frozenset]:
    from pulumi_policy import proxy, secret
    lists = frozenset({proxy._ListProxy, secret._ListSecretsProxy})
    return frozenset({proxy._DictProxy, secret._DictSecretsProxy}) | lists, lists


_PROXY_TYPES, _PROXY_LISTS = _proxy_types()


def _raw_item(container: Any, key: Any) -> Any:
    if type(container) in _PROXY_TYPES:
        return container["__target"][key]
    return container[key]


def get(data: Any, path: str | Sequence[Any], default: Any = None) -> Any:
    """Dotted-path lookup over plain data: `None`/default when absent, the `Unknown` when a step is
    unknown (so the caller decides), list indexes allowed (`"rules.0.name"`)."""
    parts = path.split(".") if isinstance(path, str) else list(path)
    cur = data
    for part in parts:
        if is_unknown(cur):
            return cur
        if isinstance(cur, Mapping):
            if part not in cur:
                return default
            cur = cur[part]
        elif isinstance(cur, list):
            try:
                cur = cur[int(part)]
            except (ValueError, IndexError):
                return default
        else:
            return default
    return default if cur is None else cur


def parse_json(value: Any, path: str) -> Any:
    """Parse a JSON string input (e.g. `containerDefinitions`); an unknown stays `Unknown`; a
    document that is not JSON raises ValueError (the adapter reports it)."""
    if is_unknown(value) or value is None:
        return value
    if not isinstance(value, str):
        return plain(value, path)
    return plain(json.loads(value), path)
