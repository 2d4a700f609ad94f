"""Which unknowns in `AnalyzeStack` the program configured, and which only the provider computes.

During `pulumi preview`, `AnalyzeStack` receives each resource's *planned outputs*
(pulumi/pulumi pkg/resource/deploy/step_generator.go `AnalyzeResources`: "AnalyzeStack is called on
the final outputs"; at preview those come from the provider's `Create` with `Preview=true`, which
pulumi-terraform-bridge answers with Terraform's proposed state, pkg/tfbridge/provider.go
`Create`): what the program configured plus every attribute the provider computes and the program
did not set, as an unknown (`SecurityGroup.ingress`, `LoadBalancer.internal`, `Listener.sslPolicy`,
nested ones too). Such an unknown is not an open door: it is *not configured*, and the provider's
default applies. This module tells the two kinds apart, from two sources:

1. The configured inputs. The CLI calls `Analyze` with a resource's inputs for every registration
   before its step (step_generator.go `generateSteps` -> `analyzeAll`), and `AnalyzeStack` only
   after every step (`AnalyzeResources`), in the same pack process, in `preview` and in `up`. The
   resource-policy adapter records the shape of each URN's inputs here (`record_inputs`); an
   unknown in the planned outputs at a property path the inputs do not set is provider-computed.
   List items are compared position-free (an input that sets `x` in any item of a list counts as
   setting it in every item), so a provider that reorders a set can only make us keep an unknown,
   never drop one the program set.
2. Property dependencies, when no `Analyze` was seen for a URN (a client that sends `AnalyzeStack`
   only). The Python SDK records, for every top-level input, the resources its value was computed
   from (sdk/python/lib/pulumi/runtime/rpc.py `serialize_property`: an `Output` adds
   `data.resources` to `deps`, and `serialize_properties` stores them as
   `property_deps[name]`; `Output.apply`/`all` carry their sources' resources along, output.py).
   So an unknown at a top-level property that has no property dependency was not computed from
   another resource by the program: it is provider-computed, and so is every unknown nested in it.
   One exception in the SDK: an output-form invoke (`aws.ec2.get_vpc_output(id=vpc.id)`) whose
   arguments are unknown resolves to an unknown *without* resources (runtime/invoke.py `_invoke`:
   `struct_contains_unknowns(inputs)` returns `InvokeResult(None, is_known=False)` with no
   dependencies). Only source 1 sees such a value as configured; the CLI always provides it.

Provider-computed unknowns are removed from the resource's properties (absent means not
configured: every policy applies the provider default for an absent value) and listed in
`Resource.computed`. An unknown the program configured stays an `Unknown`, linked through
property dependencies, and fails closed where a rule needs it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from guard.values import Unknown

WHOLE = "whole"  # the inputs set this path as a whole (a scalar, or an unknown): everything below counts


class _Items:
    """The merged shape of a list's items."""

    __slots__ = ("shape",)

    def __init__(self, shape: Any) -> None:
        self.shape = shape


def shape_of(value: Any) -> Any:
    """What a configured value sets: {key: shape} for an object, `_Items` for a list, else WHOLE."""
    if isinstance(value, Mapping):
        return {k: shape_of(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        merged = None
        for item in value:
            merged = _merge(merged, shape_of(item))
        return _Items(merged)
    return WHOLE


def _merge(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    if a is WHOLE or b is WHOLE:
        return WHOLE
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = _merge(out.get(k), v)
        return out
    if isinstance(a, _Items) and isinstance(b, _Items):
        return _Items(_merge(a.shape, b.shape))
    return WHOLE  # an object here, a list there: keep everything below


_DROP = object()


def prune(props: dict, shape: Any, computed: list) -> dict:
    """`props` without the unknowns `shape` (the configured inputs) does not set; each removed
    unknown's path is appended to `computed`."""
    out = _prune(props, shape, computed)
    return out if isinstance(out, dict) else {}


def _prune(value: Any, shape: Any, computed: list) -> Any:
    if isinstance(value, Unknown):
        if shape is None:
            computed.append(value.path)
            return _DROP
        return value
    if shape is WHOLE:
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            sub = shape.get(k) if isinstance(shape, dict) else (None if shape is None else WHOLE)
            kept = _prune(v, sub, computed)
            if kept is not _DROP:
                out[k] = kept
        return out
    if isinstance(value, list):
        sub = shape.shape if isinstance(shape, _Items) else (None if shape is None else WHOLE)
        kept_items = []
        for item in value:
            kept = _prune(item, sub, computed)
            if kept is not _DROP:
                kept_items.append(kept)
        return kept_items
    return value


def shape_from_dependencies(prop_deps: Mapping[str, Sequence[str]]) -> dict:
    """Source 2: the top-level properties computed from another resource, set as a whole."""
    return {k: WHOLE for k, urns in prop_deps.items() if urns}


class InputsRecord:
    """The shape of each URN's `Analyze` inputs, for the `AnalyzeStack` of the same operation.

    The gRPC server runs calls on several threads, so every access holds the lock. A new operation
    (the first `Analyze` after an `AnalyzeStack`) starts from an empty record, so a pack process
    that serves a preview and then an update never mixes their inputs. `operation` counts those
    starts, for other per-operation records (guard.policies.aws.apigateway.private_api_policy).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.shapes: dict[str, Any] = {}
        self._stack_seen = False
        self.operation = 0

    def wants(self, urn: str) -> bool:
        with self.lock:
            if self._stack_seen:
                self.shapes.clear()
                self._stack_seen = False
                self.operation += 1
            return urn not in self.shapes

    def record(self, urn: str, props: Any) -> None:
        shape = shape_of(props) if isinstance(props, Mapping) else {}
        with self.lock:
            self.shapes[urn] = shape

    def stack_started(self) -> None:
        with self.lock:
            self._stack_seen = True

    def shape(self, urn: str) -> Any:
        with self.lock:
            return self.shapes.get(urn)


INPUTS = InputsRecord()


def configured_shape(urn: str, prop_deps: Mapping[str, Sequence[str]]) -> Any:
    """The shape the program configured for `urn`: its recorded inputs, else its dependencies."""
    shape = INPUTS.shape(urn)
    return shape if shape is not None else shape_from_dependencies(prop_deps)
