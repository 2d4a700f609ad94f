"""The layerguard policy framework: rule metadata, pure predicates, CrossGuard adapters.

Every policy is two things kept apart (cdk-nag style): a `Rule` (metadata: ID, name, text,
severity, link, default level, config schema) and a *pure predicate* that judges plain Python data.
An adapter joins them into a `pulumi_policy` policy that never raises and never touches a proxy.

API (everything a policy module needs)::

    RULE = Rule(id="LG-ALB-001", name="enforce-...", description="One sentence.",
                remediation="One sentence.", severity="high", link="https://...",
                level="mandatory", resource_types=("aws:lb/loadBalancer:LoadBalancer",),
                config={"key": {"type": "string", "default": "x"}})

    def check(res: Resource, cfg: dict) -> Iterable[str | Finding]:   # resource predicate
        ...yield "message"                      # a violation on `res`
    POLICY = resource_policy(RULE, check)

    def check(stack: Stack, cfg: dict) -> Iterable[Finding]:          # stack predicate
        ...yield Finding(res.urn, "message")    # URN "" = the stack as a whole
    POLICY = stack_policy(RULE, check)

Data the predicates see:

* `Resource`: `urn`, `type`, `name`, `props` (plain dict/list/str/...; an unresolved value is an
  `Unknown`), `parent` (URN or None), `provider_region` (str, `Unknown` or None), `region` (the
  effective region: the resource's own `region` input, else its provider's, else None),
  `dependencies`, `property_dependencies` ({prop: (urn, ...)}; empty in resource policies),
  `tag_layer` (the `layerguard:layer` tag, `Unknown` or None), `get(path)` (dotted path, `None`
  when absent, `Unknown` when unresolved).
* `Stack` (stack policies only): `resources`, `by_urn[urn]`, `of_type(*tokens)`,
  `deps(res, prop)` (resources a property was computed from), `children(urn)`, `layer(res)`,
  `attached_to(res)`.
* `plain(proxy)` converts a CrossGuard proxy to plain Python, mapping every unknown sentinel to an
  `Unknown(path, kind)`; it never raises.  `is_unknown(v)` tests for one.
* `stack_name()` is the Pulumi stack being previewed (`Unknown` when the host did not say).
* `each(stack, types, fn)` runs `fn(res)` for every resource of those types inside a stack
  predicate, isolating unknowns and crashes per resource (one unresolved resource cannot hide the
  verdict on the others). `get(data, "a.b.0")` and `parse_json(value, path)` work on plain data.

Fail closed, visibly:

* An `Unknown` raises `Unresolved` on truthiness, comparison, iteration, indexing, `in`, `len`
  and string methods. The adapter turns `Unresolved` into a violation that names the unresolved
  property ("... is unknown at preview, so the rule cannot prove ..."): a predicate that forgets an
  unknown fails closed instead of passing. Test `is_unknown(v)` first to give a better message.
  `isinstance(v, str)` is False for an Unknown: do not use it as the only guard.
* A predicate that raises anything else becomes its own violation ("the rule failed: ...") at the
  policy's level, never an RPC crash and never the SDK's advisory "can't run policy".

Layer identity (`layer()` in stack policies): the `layerguard:layer` tag (`network`, `edge`,
`node`, `app`); otherwise, for attachment resources listed in `ATTACH_PROPS` (rules, listeners,
associations, ...), the layer of what they attach to through property dependencies; otherwise the
layer of the nearest component (itself or an ancestor) typed `layerguard:<layer>:<Name>`; otherwise
`"unclassified"` (untrusted). Attachment never makes an untagged compute resource (service,
instance) a `node`: trust comes from a tag or our component, not from sitting in a target group.
In resource policies only the tag and the URN's parent chain are available (`layer_hint`).

Suppressions: every policy's config accepts
``"suppressions": [{"resource": "<logical name or URN glob>", "reason": "<why, >= 10 chars>"}]``.
A valid suppression drops the matching findings and is recorded; an invalid one (no pattern, reason
missing or shorter than 10 characters) is ignored (the finding stays, its message says why) and
reported by the mandatory `require-suppression-reason` policy. The advisory `report-suppressions`
policy lists every suppression applied. Both read a process-wide ledger that each policy fills as
it runs; they must stay the LAST policies of the pack (the CLI calls `Analyze` per resource first
and `AnalyzeStack` once at the end, running stack policies in registration order).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

LAYER_TAG = "layerguard:layer"
LAYERS = ("network", "edge", "node", "app")
UNCLASSIFIED = "unclassified"
MIN_REASON = 10

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


# --------------------------------------------------------------------------------------------
# Unknown values


class Unresolved(Exception):
    """Raised when a predicate uses an `Unknown` as if it were a value."""

    def __init__(self, unknown: Unknown) -> None:
        super().__init__(unknown.describe())
        self.unknown = unknown


class Unknown:
    """An input that cannot be known at preview (it is computed from another resource's output)."""

    __slots__ = ("kind", "path")

    def __init__(self, path: str = "", kind: str = "value") -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "kind", kind)

    def describe(self) -> str:
        return f"{self.kind} value at .{self.path or '?'} is unknown at preview"

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
    return _plain(value, [path] if path else [])


def _plain(value: Any, trail: list) -> Any:
    if type(value) in _PROXY_TYPES:
        value = value["__target"]
    kind = type(value)
    if kind is str:
        sentinel = _SENTINELS.get(value)
        return Unknown(_spell(trail), sentinel) if sentinel else value
    if kind is dict or (kind not in _SCALARS and isinstance(value, Mapping)):
        if value.get(_SECRET_SIG[0]) == _SECRET_SIG[1] if kind is dict else \
                (_SECRET_SIG[0] in value and _raw_item(value, _SECRET_SIG[0]) == _SECRET_SIG[1]):
            return _plain(_raw_item(value, "value"), trail) if "value" in value else None
        out = {}
        for key in list(value.keys()):
            trail.append(f".{key}" if trail else str(key))
            out[key] = _plain(value[key] if kind is dict else _raw_item(value, key), trail)
            trail.pop()
        return out
    if kind is list or kind is tuple or kind in _PROXY_LISTS:
        out_list = []
        for i, item in enumerate(value):
            trail.append(f"[{i}]")
            out_list.append(_plain(item, trail))
            trail.pop()
        return out_list
    return value


def _spell(trail: list) -> str:
    return "".join(trail)


_SCALARS = frozenset({int, float, bool, type(None), bytes})


def _proxy_types() -> tuple[frozenset, frozenset]:
    from pulumi_policy import proxy, secret
    lists = frozenset({proxy._ListProxy, secret._ListSecretsProxy})
    return frozenset({proxy._DictProxy, secret._DictSecretsProxy}) | lists, lists


_PROXY_TYPES, _PROXY_LISTS = _proxy_types()


def _is_proxy(value: Any) -> bool:
    return type(value) in _PROXY_TYPES


def _raw_item(container: Any, key: Any) -> Any:
    if _is_proxy(container):
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


# --------------------------------------------------------------------------------------------
# Resources and the stack


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

    def get(self, path: str | Sequence[Any], default: Any = None) -> Any:
        return get(self.props, path, default)

    @property
    def region(self) -> Any:
        own = self.props.get("region")
        return own if own is not None else self.provider_region

    @property
    def tag_layer(self) -> Any:
        tags = self.props.get("tags")
        if is_unknown(tags):
            return tags
        if isinstance(tags, list):
            # Auto scaling groups carry their tags as a list of {key, value, propagateAtLaunch}.
            tags = {t.get("key"): t.get("value") for t in tags
                    if isinstance(t, Mapping) and isinstance(t.get("key"), str)}
        if not isinstance(tags, Mapping):
            return None
        value = tags.get(LAYER_TAG)
        if is_unknown(value):
            return value
        return value if value in LAYERS else None


def urn_type_chain(urn: str) -> list[str]:
    """The type tokens of a URN, outermost ancestor first (`urn:pulumi:s::p::A$B$C::name`)."""
    parts = urn.split("::")
    return parts[2].split("$") if len(parts) >= 4 else []


def component_layer(urn: str) -> str | None:
    """The layer of the nearest `layerguard:<layer>:<Name>` component in the URN's type chain (the
    resource itself, then its ancestors), if any."""
    for token in reversed(urn_type_chain(urn)):
        bits = token.split(":")
        if len(bits) == 3 and bits[0] == "layerguard" and bits[1] in LAYERS:
            return bits[1]
    return None


def layer_hint(res: Resource) -> str:
    """Layer from what a resource policy can see: tag, then ancestor component, else unclassified.

    An unknown tag map is unclassified (untrusted)."""
    tag = res.tag_layer
    if isinstance(tag, str):
        return tag
    return component_layer(res.urn) or UNCLASSIFIED


# Untagged attachment resources take the layer of the resource named by these properties.
ATTACH_PROPS: dict[str, tuple[str, ...]] = {
    "aws:ec2/securityGroupRule:SecurityGroupRule": ("securityGroupId",),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("securityGroupId",),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("securityGroupId",),
    "aws:ec2/networkInterfaceSecurityGroupAttachment:NetworkInterfaceSecurityGroupAttachment":
        ("networkInterfaceId",),
    "aws:lb/listener:Listener": ("loadBalancerArn",),
    "aws:alb/listener:Listener": ("loadBalancerArn",),
    "aws:lb/listenerRule:ListenerRule": ("listenerArn",),
    "aws:alb/listenerRule:ListenerRule": ("listenerArn",),
    "aws:lb/listenerCertificate:ListenerCertificate": ("listenerArn",),
    "aws:alb/listenerCertificate:ListenerCertificate": ("listenerArn",),
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": ("targetGroupArn",),
    "aws:alb/targetGroupAttachment:TargetGroupAttachment": ("targetGroupArn",),
    "aws:autoscaling/attachment:Attachment": ("autoscalingGroupName",),
    "aws:wafv2/webAclAssociation:WebAclAssociation": ("resourceArn",),
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": ("resourceArn",),
    "aws:wafv2/webAclRule:WebAclRule": ("webAclArn",),
    "aws:wafv2/webAclRuleGroupAssociation:WebAclRuleGroupAssociation": ("webAclArn",),
    "aws:ec2/eipAssociation:EipAssociation": ("instanceId", "networkInterfaceId"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("subnetId",),
    "aws:ec2/route:Route": ("routeTableId",),
    "aws:apigateway/resource:Resource": ("restApi",),
    "aws:apigateway/method:Method": ("restApi",),
    "aws:apigateway/integration:Integration": ("restApi",),
    "aws:apigateway/deployment:Deployment": ("restApi",),
    "aws:apigateway/stage:Stage": ("restApi",),
    "aws:apigatewayv2/integration:Integration": ("apiId",),
    "aws:apigatewayv2/route:Route": ("apiId",),
    "aws:apigatewayv2/stage:Stage": ("apiId",),
    "aws:appautoscaling/policy:Policy": ("resourceId",),
}


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

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    def deps(self, res: Resource, prop: str) -> list[Resource]:
        return [self.by_urn[u] for u in res.property_dependencies.get(prop, ()) if u in self.by_urn]

    def children(self, urn: str) -> list[Resource]:
        return list(self._children.get(urn, ()))

    def attached_to(self, res: Resource) -> list[Resource]:
        out: list[Resource] = []
        for prop in ATTACH_PROPS.get(res.type, ()):
            out.extend(self.deps(res, prop))
        return out

    def layer(self, res: Resource, _seen: set | None = None) -> str:
        if res.urn in self._layers:
            return self._layers[res.urn]
        seen = _seen or set()
        seen.add(res.urn)
        layer = None
        tag = res.tag_layer
        if isinstance(tag, str):
            layer = tag
        elif not is_unknown(tag):
            found = {self.layer(t, seen) for t in self.attached_to(res) if t.urn not in seen}
            found.discard(UNCLASSIFIED)
            if len(found) == 1:
                layer = found.pop()
        if layer is None:
            layer = component_layer(res.urn) or UNCLASSIFIED
        self._layers[res.urn] = layer
        return layer


def stack_name() -> Any:
    """The stack the pack is judging (the CLI sets PULUMI_STACK for the analyzer)."""
    name = os.environ.get("PULUMI_STACK")
    return name if name else Unknown("PULUMI_STACK", "stack name")


# --------------------------------------------------------------------------------------------
# Rules, findings, adapters


SEVERITIES = ("low", "medium", "high", "critical")
LEVELS = ("advisory", "mandatory", "disabled")
_ID_RE = re.compile(r"^LG-[A-Z]{2,6}-\d{3}$")
_NAME_RE = re.compile(r"^[a-z]+(-[a-z0-9]+)+$")


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    description: str
    remediation: str
    severity: str
    link: str
    level: str = "mandatory"
    resource_types: tuple = ()
    config: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if not _ID_RE.match(self.id):
            problems.append(f"id {self.id!r} is not LG-<AREA>-<nnn>")
        if not _NAME_RE.match(self.name):
            problems.append(f"name {self.name!r} is not kebab-case")
        if self.severity not in SEVERITIES:
            problems.append(f"severity {self.severity!r} not in {SEVERITIES}")
        if self.level not in LEVELS:
            problems.append(f"level {self.level!r} not in {LEVELS}")
        if "enforcementLevel" in self.config or "suppressions" in self.config:
            problems.append("config may not declare enforcementLevel or suppressions")
        if problems:
            raise ValueError(f"rule {self.id}: " + "; ".join(problems))

    def defaults(self) -> dict:
        return {k: v["default"] for k, v in self.config.items() if "default" in v}


@dataclass(frozen=True)
class Finding:
    urn: str
    message: str


_SUPPRESSION_SCHEMA = {
    "type": "array",
    "description": "Per-resource exceptions: {resource: logical name or URN glob, reason: >= 10 chars}.",
    "items": {
        "type": "object",
        "properties": {"resource": {"type": "string"}, "reason": {"type": "string"}},
    },
}


class Ledger:
    """Process-wide record of the suppression configs seen and the suppressions applied."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.configs: dict[str, tuple[Rule, list]] = {}
        self.applied: dict[tuple, tuple[Rule, str, str, str]] = {}

    def record_config(self, rule: Rule, entries: list) -> None:
        with self.lock:
            self.configs[rule.name] = (rule, entries)

    def record_applied(self, rule: Rule, urn: str, pattern: str, reason: str) -> None:
        with self.lock:
            self.applied[(rule.id, urn, pattern)] = (rule, urn, pattern, reason)

    def clear(self) -> None:
        with self.lock:
            self.configs.clear()
            self.applied.clear()


LEDGER = Ledger()


def suppression_problem(entry: Any) -> str | None:
    """Why a suppression entry is invalid, or None when it is valid."""
    if not isinstance(entry, Mapping):
        return "a suppression must be an object {resource, reason}"
    pattern, reason = entry.get("resource"), entry.get("reason")
    if not isinstance(pattern, str) or not pattern.strip():
        return "a suppression needs a 'resource' (logical name or URN glob)"
    if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON:
        return (f"suppression of {pattern!r} has no reason of at least {MIN_REASON} characters "
                f"(given: {reason!r})")
    return None


def _matches(pattern: str, urn: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(urn, pattern)


def _config(rule: Rule, raw: Mapping[str, Any] | None) -> tuple[dict, list]:
    cfg = rule.defaults()
    entries: list = []
    for k, v in dict(raw or {}).items():
        if k == "suppressions":
            entries = list(v) if isinstance(v, (list, tuple)) else [v]
        elif k != "enforcementLevel":
            cfg[k] = v
    return cfg, entries


def _emit(rule: Rule, findings: list[Finding], entries: list, names: Mapping[str, str],
          report: Callable[[str, str | None], None]) -> None:
    for f in findings:
        name = names.get(f.urn, f.urn.rsplit("::", 1)[-1] if f.urn else "")
        note = ""
        suppressed = False
        for entry in entries:
            pattern = entry.get("resource") if isinstance(entry, Mapping) else None
            if not isinstance(pattern, str) or not _matches(pattern, f.urn, name):
                continue
            problem = suppression_problem(entry)
            if problem:
                note = f" (suppression ignored: {problem})"
                continue
            LEDGER.record_applied(rule, f.urn, pattern, entry["reason"].strip())
            suppressed = True
            break
        if not suppressed:
            report(f"[{rule.id}] {f.message}{note}", f.urn or None)


def _run(fn: Callable[[], Iterable[Any]], default_urn: str) -> list[Finding]:
    """Run a predicate; unknowns and crashes become findings, never exceptions."""
    out: list[Finding] = []
    try:
        for item in fn() or ():
            if isinstance(item, Finding):
                out.append(item)
            else:
                out.append(Finding(default_urn, str(item)))
    except Unresolved as e:
        out.append(Finding(default_urn, f"{e.unknown.describe()}, so this rule cannot prove the "
                                        "resource compliant (fail closed); make the value known "
                                        "at preview or suppress with a reason"))
    except UnknownValueError as e:  # a predicate that read a proxy directly
        out.append(Finding(default_urn, f"{e.message}, so this rule cannot prove the resource "
                                        "compliant (fail closed)"))
    except Exception as e:  # cdk-nag: a rule that throws is itself a finding
        frames = traceback.extract_tb(e.__traceback__)
        ours = [f for f in frames if f"{os.sep}guard{os.sep}" in f.filename]
        where = (ours or frames)[-1]
        out.append(Finding(default_urn, f"the rule failed and could not judge this resource: "
                                        f"{type(e).__name__}: {e} "
                                        f"({os.path.basename(where.filename)}:{where.lineno})"))
    return out


def _to_resource(urn: str, typ: str, name: str, props: Any, parent: str | None,
                 provider: Any, deps: Sequence[str] = (),
                 prop_deps: Mapping[str, Sequence[str]] | None = None) -> Resource:
    region = None
    if provider is not None:
        try:
            region = plain(provider.props, "provider").get("region")
        except Exception:
            region = Unknown("provider.region", "string")
    return Resource(urn=urn, type=typ, name=name, props=plain(props) or {}, parent=parent,
                    provider_region=region, dependencies=tuple(deps),
                    property_dependencies={k: tuple(v) for k, v in (prop_deps or {}).items()})


def _policy_kwargs(rule: Rule) -> dict:
    props = {k: dict(v) for k, v in rule.config.items()}
    props["suppressions"] = _SUPPRESSION_SCHEMA
    return dict(
        name=rule.name,
        description=f"{rule.id}: {rule.description}",
        enforcement_level=EnforcementLevel(rule.level),
        config_schema=PolicyConfigSchema(properties=props),
        display_name=f"{rule.id} {rule.name}",
        severity=Severity(rule.severity),
        remediation_steps=rule.remediation,
        url=rule.link,
        tags=[rule.id],
    )


ResourcePredicate = Callable[[Resource, dict], Iterable[str | Finding]]
StackPredicate = Callable[[Stack, dict], Iterable[Finding]]


def resource_policy(rule: Rule, predicate: ResourcePredicate) -> ResourceValidationPolicy:
    """A ResourceValidationPolicy running `predicate` on resources of `rule.resource_types`."""

    def validate(args, report_violation) -> None:
        cfg, entries = {}, []
        try:
            cfg, entries = _config(rule, args.get_config())
            LEDGER.record_config(rule, entries)
            if rule.resource_types and args.resource_type not in rule.resource_types:
                return
            parent = getattr(args.opts, "parent", None) or None
            res = _to_resource(args.urn, args.resource_type, args.name, args.props, parent,
                               args.provider)
        except Exception as e:  # pragma: no cover - conversion never raises; keep the promise
            report_violation(f"[{rule.id}] could not read the resource: {e}", None)
            return
        findings = _run(lambda: predicate(res, cfg), args.urn)
        _emit(rule, findings, entries, {args.urn: args.name}, report_violation)

    return ResourceValidationPolicy(validate=validate, **_policy_kwargs(rule))


def build_stack(args) -> Stack:
    """Plain `Stack` from CrossGuard StackValidationArgs (parents/dependencies as URNs)."""
    resources = []
    for r in args.resources:
        parent = r.parent.urn if r.parent is not None else (getattr(r.opts, "parent", None) or None)
        resources.append(_to_resource(
            r.urn, r.resource_type, r.name, r.props, parent, r.provider,
            [d.urn for d in r.dependencies],
            {k: [d.urn for d in v] for k, v in r.property_dependencies.items()}))
    return Stack(resources)


def stack_policy(rule: Rule, predicate: StackPredicate) -> StackValidationPolicy:
    """A StackValidationPolicy running `predicate` once over the whole stack."""

    def validate(args, report_violation) -> None:
        cfg, entries = {}, []
        try:
            cfg, entries = _config(rule, args.get_config())
            LEDGER.record_config(rule, entries)
            stack = build_stack(args)
        except Exception as e:  # pragma: no cover
            report_violation(f"[{rule.id}] could not read the stack: {e}", None)
            return
        findings = _run(lambda: predicate(stack, cfg), "")
        names = {r.urn: r.name for r in stack.resources}
        _emit(rule, findings, entries, names, report_violation)

    return StackValidationPolicy(validate=validate, **_policy_kwargs(rule))


def each(stack: Stack, types: Sequence[str], check: Callable[[Resource], Iterable[Any]]):
    """Run a per-resource check inside a stack predicate, isolating unknowns and crashes per
    resource (so one unresolved resource does not hide the verdict on the others)."""
    for res in stack.resources:
        if res.type in types:
            yield from _run(lambda res=res: check(res), res.urn)
