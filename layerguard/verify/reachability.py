"""The policy pack's own reachability model, run on the live account's data.

This is what `pulumi policy analyze`-style use of a stack's state does: the pack is started as its
own process and sent one `AnalyzeStack` over the CrossGuard Analyzer protocol, with every resource
of the state (its outputs as properties, its parent, dependencies and property dependencies, its
provider), plus what the account has and the state does not declare: security group rules (as
ingress rule resources linked to their group), routes to an internet gateway and subnet
associations (as route and association resources linked to their table), each linked by property
dependencies the way a program would have declared it.
The pack is never imported (`layerguard.analyzer.PolicyPackProcess` starts it as the engine does).

Two deliberate differences from the raw outputs:
  * a security group's `ingress`/`egress` are what the program declared (its inputs), not the
    refreshed outputs: those mirror the standalone rule resources (already in the state, with
    their property dependencies) and would name other groups by id alone, which the pack treats as
    outside the stack;
  * secrets are exported encrypted; they reach the pack as secret values whose text is hidden.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pulumi.runtime.proto import analyzer_pb2

from ..analyzer import LEVELS, PolicyPackProcess, resolve_policy_config
from ..engine import ORGANIZATION, SECRET_SIG
from .findings import Report
from .routes import ASSOCIATION, LiveRoutes, live_route_resources
from .security_groups import SG, LiveGroups, live_source
from .state import State, StateResource
from .workloads import Overlay

# The pack's relational rules, and the rule on the nodes' mode (judged on the revision the node
# service runs live, workloads.py).
REACH_POLICIES = ("disallow-node-bypass", "enforce-perimeter-waf", "disallow-direct-origin-access",
                  "enforce-wallarm-mode")
_SECRET_VALUE_SIG = "1b47061264138c4ac30d75fd1eb44270"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return {SECRET_SIG: _SECRET_VALUE_SIG, "value": "[secret]"}
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def properties(res: StateResource) -> dict[str, Any]:
    props = dict(res.outputs)
    if res.type == SG:
        for key in ("ingress", "egress"):
            props.pop(key, None)
            if key in res.inputs:
                props[key] = res.inputs[key]
    return _plain(props)


def live_rule_resources(state: State, live: LiveGroups) -> list[dict[str, Any]]:
    """Each live ingress rule the state does not declare, as the resource that would declare it."""
    sgs = state.by_id(SG)
    out = []
    for group_id, rules in sorted(live.undeclared.items()):
        group = sgs.get(group_id)
        if group is None:
            continue
        for rule in rules:
            kind, value = live_source(rule)
            props: dict[str, Any] = {"securityGroupId": group_id, "ipProtocol": str(rule.get("IpProtocol")),
                                     "fromPort": rule.get("FromPort"), "toPort": rule.get("ToPort"),
                                     "securityGroupRuleId": rule.get("SecurityGroupRuleId")}
            deps = {"securityGroupId": [group.urn]}
            if kind == "cidr":
                props["cidrIpv6" if ":" in value else "cidrIpv4"] = value
            elif kind == "prefix":
                props["prefixListId"] = value
            else:
                props["referencedSecurityGroupId"] = value
                if value in sgs:
                    deps["referencedSecurityGroupId"] = [sgs[value].urn]
            name = f"live-{rule.get('SecurityGroupRuleId')}"
            out.append({"urn": f"urn:pulumi:{state.stack}::{state.project}::{INGRESS_RULE}::{name}",
                        "type": INGRESS_RULE, "name": name, "props": props, "deps": deps})
    return out


def _messages(state: State, extras: list[dict[str, Any]], overlay: Overlay | None = None,
              withdrawn: set[str] | frozenset[str] = frozenset()):
    from google.protobuf import json_format, struct_pb2
    from pulumi.runtime.proto import analyzer_pb2

    def struct(value: dict[str, Any]) -> struct_pb2.Struct:
        message = struct_pb2.Struct()
        json_format.ParseDict(value, message)
        return message

    by_urn = state.by_urn()
    providers: dict[str, Any] = {}

    def provider_of(reference: str):
        key = reference.rsplit("::", 1)[0] if reference else ""
        if key not in providers:
            p = by_urn.get(key)
            providers[key] = None if p is None else analyzer_pb2.AnalyzerProviderResource(
                type=p.type, urn=p.urn, name=p.name, properties=struct(_plain(p.inputs)))
        return providers[key]

    overlay = overlay or Overlay()
    entries = []
    for res in state.resources:
        if res.type == ASSOCIATION and {**res.inputs, **res.outputs}.get("subnetId") in withdrawn:
            continue  # the account no longer associates that subnet so
        props = {**properties(res), **_plain(overlay.props.get(res.urn, {}))}
        entry = analyzer_pb2.AnalyzerResource(
            type=res.type, urn=res.urn, name=res.name, properties=struct(props),
            options=analyzer_pb2.AnalyzerResourceOptions(parent=res.parent), parent=res.parent,
            dependencies=res.dependencies)
        for prop, urns in {**res.property_dependencies, **overlay.deps.get(res.urn, {})}.items():
            entry.propertyDependencies[prop].urns.extend(urns)
        provider = provider_of(res.provider)
        if provider is not None:
            entry.provider.CopyFrom(provider)
        entries.append(entry)
    default_provider = next((r.provider for r in state.resources if r.type.startswith("aws:") and r.provider), "")
    for extra in extras:
        entry = analyzer_pb2.AnalyzerResource(type=extra["type"], urn=extra["urn"], name=extra["name"],
                                              properties=struct(extra["props"]))
        for prop, urns in extra["deps"].items():
            entry.propertyDependencies[prop].urns.extend(urns)
            entry.dependencies.extend(urns)
        provider = provider_of(default_provider)
        if provider is not None:
            entry.provider.CopyFrom(provider)
        entries.append(entry)
    return entries


def check(state: State, live: LiveGroups, routes: LiveRoutes | None, pack_dir: Path, region: str,
          report: Report, overlay: Overlay | None = None) -> None:
    config = {"aws:region": region}
    with PolicyPackProcess(pack_dir, project=state.project, stack=state.stack, organization=ORGANIZATION,
                           dry_run=False, config=config, secret_keys=set()) as pack:
        pack.handshake()
        pack.configure_stack({"pulumi:project": state.project})
        info = pack.info()
        names = {p["name"] for p in info.policies}
        wanted = [n for n in REACH_POLICIES if n in names]
        pack.configure(resolve_policy_config(info, {n: "mandatory" for n in wanted}))
        extras = live_rule_resources(state, live) + (live_route_resources(state, routes) if routes else [])
        extras += overlay.extras if overlay else []
        entries = _messages(state, extras, overlay, routes.withdrawn if routes else frozenset())
        diagnostics = list(pack.analyze_stack(entries).diagnostics)
        # Resource rules (the node mode) run on `Analyze`, one resource at a time: each resource
        # whose live properties differ from the state's is analysed with them.
        changed = set(overlay.props) if overlay else set()
        for entry in entries:
            if entry.urn in changed:
                request = analyzer_pb2.AnalyzeRequest(type=entry.type, urn=entry.urn, name=entry.name,
                                                      properties=entry.properties, options=entry.options)
                if entry.HasField("provider"):
                    request.provider.CopyFrom(entry.provider)
                for d in pack.analyze(request).diagnostics:
                    d.urn = d.urn or entry.urn
                    diagnostics.append(d)
    for d in diagnostics:
        if (d.policyName in wanted) if wanted else LEVELS.get(d.enforcementLevel) == "mandatory":
            report.add("reachability", d.urn or state.stack, f"{d.policyName}: {d.message}")

