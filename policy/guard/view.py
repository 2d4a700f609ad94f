"""The policies' view of resources and of the stack, built from CrossGuard's arguments.

* `Resource`: `urn`, `type`, `name`, `props` (plain data; an unresolved value is an `Unknown`),
  `parent` (URN or None), `provider_region` (str, `Unknown` or None), `provider_tags` (the
  provider's `defaultTags.tags`), `region` (the resource's own `region` input, else its
  provider's), `dependencies`, `property_dependencies` ({prop: (urn, ...)}; empty in resource
  policies), `computed` (paths of the provider-computed unknowns removed from `props`, see
  `guard.planned`), `tag_layer` (the `layerguard:layer` label AWS applies: a layer, `Unknown` or
  None), `get(path)` (dotted path, `None` when absent, `Unknown` when unresolved).
* `Stack` (stack policies only): `resources`, `by_urn[urn]`, `of_type(*tokens)`,
  `deps(res, prop)` (resources a property was computed from), `children(urn)`, `layer(res)` (the
  one layer identity, `guard.layers`), `attached_to(res)`.
* `stack_name()`: the Pulumi stack being judged (`Unknown` when the host did not say).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from guard import layers, sdk_memo
from guard.planned import INPUTS, configured_shape, prune
from guard.values import Unknown, get, is_unknown, plain, plain_counting


@dataclass(eq=False)
class Resource:
    urn: str
    type: str
    name: str
    props: dict
    parent: str | None = None
    provider_region: Any = None
    dependencies: tuple = ()
    property_dependencies: dict = field(default_factory=dict)
    provider_tags: Any = None
    computed: tuple = ()

    def get(self, path: str | Sequence[Any], default: Any = None) -> Any:
        return get(self.props, path, default)

    @property
    def region(self) -> Any:
        own = self.props.get("region")
        return own if own is not None else self.provider_region

    @property
    def taggable(self) -> bool:
        """Whether the provider's default tags reach this resource. Attachments (security group
        rules, target registrations, associations, ...) mostly take no tags: for those, only a
        `tags`/`tagsAll` property proves they do."""
        if self.type.startswith("pulumi:"):
            return False
        if self.type not in layers.ATTACH_PROPS:
            return True
        return "tags" in self.props or "tagsAll" in self.props or "tagsAll" in self.computed

    @cached_property
    def tag_layer(self) -> Any:
        return layers.own_label(self.props, self.provider_tags, self.taggable)


def _provider_view(provider: Any) -> tuple[Any, Any]:
    """(region, default tags) of a CrossGuard provider resource; an unreadable one is unknown."""
    if provider is None:
        return None, None
    try:
        props = plain(provider.props, "provider")
    except Exception:
        return Unknown("provider.region", "string"), Unknown("provider.defaultTags", "object")
    if not isinstance(props, Mapping):
        return None, None
    return props.get("region"), layers.default_tags(props)


def to_resource(urn: str, typ: str, name: str, props: Any, parent: str | None, provider: Any,
                deps: Sequence[str] = (), prop_deps: Mapping[str, Sequence[str]] | None = None,
                *, planned: bool = False) -> Resource:
    """A `Resource` from CrossGuard data. `planned`: `props` are `AnalyzeStack` outputs, whose
    provider-computed unknowns are removed (`guard.planned`)."""
    region, tags = _provider_view(provider)
    prop_deps = {k: tuple(v) for k, v in (prop_deps or {}).items()}
    data, unknowns = plain_counting(props)
    data = data if isinstance(data, dict) else {}
    computed: list = []
    if planned and unknowns:
        data = prune(data, configured_shape(urn, prop_deps), computed)
    return Resource(urn=urn, type=typ, name=name, props=data, parent=parent,
                    provider_region=region, dependencies=tuple(deps),
                    property_dependencies=prop_deps, provider_tags=tags, computed=tuple(computed))


class Stack:
    """All resources of one `AnalyzeStack` call, indexed; layers computed once, lazily."""

    def __init__(self, resources: list[Resource]) -> None:
        self.resources = resources
        self.by_urn = {r.urn: r for r in resources}
        self._children: dict[str, list[Resource]] = {}
        for r in resources:
            if r.parent:
                self._children.setdefault(r.parent, []).append(r)
        self._layers: dict[str, str] = {}
        self._tag_labels: dict[str, Any] | None = None

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    def deps(self, res: Resource, prop: str) -> list[Resource]:
        return [self.by_urn[u] for u in res.property_dependencies.get(prop, ()) if u in self.by_urn]

    def children(self, urn: str) -> list[Resource]:
        return list(self._children.get(urn, ()))

    def attached_to(self, res: Resource) -> list[Resource]:
        out: list[Resource] = []
        for prop in layers.ATTACH_PROPS.get(res.type, ()):
            out.extend(self.deps(res, prop))
        return out

    def tag_labels(self) -> dict[str, Any]:
        """{URN: label} set by `aws:ec2/tag:Tag` resources."""
        if self._tag_labels is None:
            self._tag_labels = layers.tag_resources(self)
        return self._tag_labels

    def layer(self, res: Resource, _seen: set | None = None) -> str:
        if res.urn not in self._layers:
            self._layers[res.urn] = layers.layer_of(res, self, _seen)
        return self._layers[res.urn]

    def layers(self) -> dict[str, str]:
        """{URN: layer} of every resource, in stack order."""
        return {r.urn: self.layer(r) for r in self.resources}


def build_stack(args) -> Stack:
    """Plain `Stack` from CrossGuard StackValidationArgs (parents/dependencies as URNs).

    Every stack policy of one `AnalyzeStack` call gets the same resources, so the view is built
    once per call and shared (`sdk_memo.call_scope`); without that scope, once per policy."""
    INPUTS.stack_started()
    scope = sdk_memo.call_scope()
    if scope is not None and _STACK_KEY in scope:
        return scope[_STACK_KEY]
    stack = _build_stack(args)
    if scope is not None:
        scope[_STACK_KEY] = stack
    return stack


_STACK_KEY = "layerguard:stack-view"


def _build_stack(args) -> Stack:
    resources = []
    for r in args.resources:
        parent = r.parent.urn if r.parent is not None else (getattr(r.opts, "parent", None) or None)
        resources.append(to_resource(
            r.urn, r.resource_type, r.name, r.props, parent, r.provider,
            [d.urn for d in r.dependencies],
            {k: [d.urn for d in v] for k, v in r.property_dependencies.items()}, planned=True))
    return Stack(resources)


def stack_name() -> Any:
    """The stack the pack is judging (the CLI sets PULUMI_STACK for the analyzer)."""
    name = os.environ.get("PULUMI_STACK")
    return name if name else Unknown("PULUMI_STACK", "stack name", property=False)


__all__ = ["Resource", "Stack", "build_stack", "is_unknown", "stack_name", "to_resource"]
