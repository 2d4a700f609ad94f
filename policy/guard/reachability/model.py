"""One reachability model of the stack, from the internet to every endpoint, built once per
`AnalyzeStack` (the way VPC Network Access Analyzer or checkov's graph checks reason).

Vertices
  * `INTERNET`;
  * endpoints: resources that receive traffic (load balancers, CloudFront distributions, REST and
    HTTP APIs, API Gateway v2 VPC links, ECS services, instances, ENIs, auto scaling groups, Lambda
    functions, RDS instances), each with its layer, its security groups and its subnets;
  * conduits: one per security group (its members send from it) and one per subnet (its members
    send from its addresses). Conduits have no layer: they neither count as a node nor as app.

Edges carry the URNs of the resources that *open* them (a security group rule, a listener, a
public IP, an integration ...) and a note. All links come from `property_dependencies` (property
-> resources it was computed from) and parents, never from id values, which are unknown at the
first preview. Literal values (CIDRs, `internal`, `assignPublicIp`, scopes, regions) are read from
props; a value the model needs but cannot know is a `Problem` (fail closed, reported by a policy).

Analyses (each O(V + E)):
  * `bypasses()`: breadth-first from INTERNET without entering `node` or `app` endpoints; every
    edge from that region into an `app` endpoint is a path around the nodes.
  * `entries_reaching_nodes()`: reverse search from the `node` endpoints; every vertex the internet
    enters directly and that reaches a node is an internet entry the perimeter policy must judge.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from guard.framework import UNCLASSIFIED, Resource, Stack, is_unknown

from . import tokens as T
from .net import Network, SubnetIndex, has_outside_part, parse_cidr

INTERNET = "internet"


def same(value: Any, literal: Any) -> bool:
    """`value == literal` for a value that may be unknown (an unknown is never equal)."""
    return not is_unknown(value) and value == literal

_SG = "sg|"
_NET = "net|"


@dataclass(frozen=True)
class Problem:
    """A value the model needs but cannot resolve: reported as a violation (fail closed)."""

    urn: str
    prop: str
    message: str
    area: str  # "reach" (no-bypass) or "perimeter"


@dataclass
class Endpoint:
    urn: str
    kind: str
    layer: str
    sgs: list = field(default_factory=list)        # security group URNs (or pseudo default SGs)
    subnets: list = field(default_factory=list)    # subnet URNs
    exposures: list = field(default_factory=list)  # (opener urn, reason): makes it internet-reachable
    vpc: str | None = None


@dataclass(frozen=True)
class Source:
    """Where a security group rule admits traffic from."""

    kind: str             # "cidr" | "sg" | "cloudfront" | "internet"
    value: Any = None     # Network for cidr, SG URN for sg, a reason for internet
    opener: str = ""      # the rule (or the security group, for inline rules)


class Edge(NamedTuple):
    dst: str
    openers: tuple
    note: str
    via_cloudfront_list: bool = False
    membership: bool = False


def pget(res: Any, path: str, default: Any = None) -> Any:
    """`pget(res, path)` over plain dicts/lists (the model's hot path; same semantics: None or the
    default when absent, the `Unknown` itself when a step is unknown)."""
    cur: Any = res.props if isinstance(res, Resource) else res
    for part in path.split("."):
        if isinstance(cur, dict):
            cur = cur.get(part)
            if cur is None:
                return default
        elif is_unknown(cur):
            return cur
        else:
            return default
    return cur


class Model:
    def __init__(self, stack: Stack, cloudfront_list_ids: Iterable[str] = ()) -> None:
        self.stack = stack
        self.cf_ids = set(T.CLOUDFRONT_PREFIX_LIST_IDS) | {str(i) for i in cloudfront_list_ids}
        self.problems: list[Problem] = []
        self.endpoints: dict[str, Endpoint] = {}
        self.out: dict[str, list[Edge]] = {}
        self.inn: dict[str, list[tuple[str, Edge]]] = {}
        self._by_type: dict[str, list[Resource]] = {}
        for r in stack.resources:
            self._by_type.setdefault(r.type, []).append(r)
        # derived indexes
        self.vpc_nets: dict[str, list[Network]] = {}
        self.subnet_nets: dict[str, list[Network]] = {}
        self.subnet_vpc: dict[str, str | None] = {}
        self.public_subnets: dict[str, list[tuple[str, str]]] = {}
        self.subnets = SubnetIndex()
        self.sg_vpc: dict[str, str | None] = {}
        self.sg_rules: dict[str, list[Source]] = {}
        self.sg_members: dict[str, list[str]] = {}
        self.tg_members: dict[str, list[tuple[str, str]]] = {}
        self.lb_listeners: dict[str, list[Resource]] = {}
        self.listener_rules: dict[str, list[Resource]] = {}
        self.cf_origins: dict[str, list[tuple[str, str, str]]] = {}  # dist -> (target, via, opener)
        self.rest_stages: dict[str, list[Resource]] = {}
        self.waf_assocs: dict[str, list[Resource]] = {}
        self._in_subnet: dict[str, list[str]] | None = None
        self._all_vpc_nets: list[Network] | None = None
        self._build()

    # ------------------------------------------------------------------ helpers

    def of(self, *types: str) -> list[Resource]:
        out: list[Resource] = []
        for t in types:
            out.extend(self._by_type.get(t, ()))
        return out

    def deps(self, res: Resource, prop: str, types: Iterable[str] | None = None) -> list[Resource]:
        found = self.stack.deps(res, prop)
        if types is not None:
            wanted = set(types)
            found = [d for d in found if d.type in wanted]
        return found

    def deps_any(self, res: Resource, props: Iterable[str], types: Iterable[str]) -> list[Resource]:
        seen: dict[str, Resource] = {}
        for p in props:
            for d in self.deps(res, p, types):
                seen.setdefault(d.urn, d)
        return list(seen.values())

    def problem(self, res: Resource, prop: str, message: str, area: str = "reach") -> None:
        self.problems.append(Problem(res.urn, prop, message, area))

    def label(self, vertex: str) -> str:
        if vertex == INTERNET:
            return "internet"
        if vertex.startswith(_SG):
            return f"members of security group {self._name(vertex[len(_SG):])}"
        if vertex.startswith(_NET):
            return f"subnet {self._name(vertex[len(_NET):])}"
        return self._name(vertex)

    def _name(self, urn: str) -> str:
        res = self.stack.by_urn.get(urn)
        if res is None:
            return urn
        return f"{res.type.rsplit(':', 1)[-1]} '{res.name}'"

    def layer(self, urn: str) -> str:
        res = self.stack.by_urn.get(urn)
        return self.stack.layer(res) if res is not None else UNCLASSIFIED

    def _edge(self, src: str, dst: str, openers: Iterable[str], note: str, via_cf: bool = False,
              membership: bool = False) -> None:
        edge = Edge(dst, tuple(o for o in openers if o), note, via_cf, membership)
        self.out.setdefault(src, []).append(edge)
        self.inn.setdefault(dst, []).append((src, edge))

    def _bool(self, res: Resource, path: str, default: bool | None, why: str) -> bool | None:
        """A literal boolean input; unknown is a Problem and counted as the unsafe `True`."""
        value = pget(res, path)
        if value is None:
            return default
        if is_unknown(value):
            self.problem(res, path, f"{path} is unknown at preview, so {why} cannot be proved false; "
                                    "it is treated as true (fail closed)")
            return True
        if isinstance(value, str):
            return value.lower() in ("true", "enabled", "1")
        return bool(value)

    # ------------------------------------------------------------------ build

    def _build(self) -> None:
        self._network()
        self._security_groups()
        self._endpoints()
        self._memberships()
        self._target_groups()
        self._forwarding()
        self._cloudfront()
        self._api_gateway()
        self._waf()
        self._graph()

    def _network(self) -> None:
        for vpc in self.of(T.VPC):
            nets = []
            for prop in ("cidrBlock", "ipv6CidrBlock"):
                value = pget(vpc, prop)
                net = parse_cidr(value)
                if net is not None:
                    nets.append(net)
                elif prop == "cidrBlock" and is_unknown(value):
                    self.problem(vpc, prop, "the VPC CIDR is unknown at preview, so no address can be "
                                            "proved inside it (every CIDR counts as internet)")
            self.vpc_nets[vpc.urn] = nets
        for assoc in self.of(T.VPC_CIDR_ASSOC):
            net = parse_cidr(pget(assoc, "cidrBlock"))
            for vpc in self.deps(assoc, "vpcId", [T.VPC]):
                if net is not None:
                    self.vpc_nets.setdefault(vpc.urn, []).append(net)
        igw_tables = self._route_tables_to_igw()
        for sub in self.of(T.SUBNET):
            vpcs = self.deps(sub, "vpcId", [T.VPC])
            vpc = vpcs[0].urn if vpcs else None
            self.subnet_vpc[sub.urn] = vpc
            nets = []
            for prop in ("cidrBlock", "ipv6CidrBlock"):
                value = pget(sub, prop)
                net = parse_cidr(value)
                if net is not None:
                    nets.append(net)
                    self.subnets.add(vpc, net, sub.urn)
                elif prop == "cidrBlock" and is_unknown(value):
                    self.problem(sub, prop, "the subnet CIDR is unknown at preview, so the model cannot "
                                            "tell which rules admit its resources")
            self.subnet_nets[sub.urn] = nets
            reasons = []
            if self._bool(sub, "mapPublicIpOnLaunch", False, "public IP mapping"):
                reasons.append((sub.urn, "maps public IPs on launch"))
            if self.stack.layer(sub) == "edge":
                reasons.append((sub.urn, "is an edge-layer subnet"))
            self.public_subnets[sub.urn] = reasons
        for assoc in self.of(T.ROUTE_TABLE_ASSOC):
            tables = self.deps(assoc, "routeTableId", [T.ROUTE_TABLE, T.DEFAULT_ROUTE_TABLE])
            if any(t.urn in igw_tables for t in tables):
                for sub in self.deps(assoc, "subnetId", [T.SUBNET]):
                    self.public_subnets.setdefault(sub.urn, []).append(
                        (assoc.urn, "routes to an internet gateway"))

    def _route_tables_to_igw(self) -> set:
        def to_igw(res: Resource, prop: str, literal: Any) -> bool:
            if self.deps(res, prop, [T.INTERNET_GATEWAY]):
                return True
            return isinstance(literal, str) and literal.startswith("igw-")

        tables = set()
        for rt in self.of(T.ROUTE_TABLE, T.DEFAULT_ROUTE_TABLE):
            routes = pget(rt, "routes")
            literal = any(isinstance(r, dict) and isinstance(r.get("gatewayId"), str)
                          and r["gatewayId"].startswith("igw-") for r in (routes if isinstance(routes, list) else []))
            if literal or self.deps(rt, "routes", [T.INTERNET_GATEWAY]):
                tables.add(rt.urn)
        for route in self.of(T.ROUTE):
            if to_igw(route, "gatewayId", pget(route, "gatewayId")):
                tables.update(t.urn for t in self.deps(route, "routeTableId", [T.ROUTE_TABLE, T.DEFAULT_ROUTE_TABLE]))
        return tables

    # -- security groups

    def _security_groups(self) -> None:
        for sg in self.of(*T.SECURITY_GROUPS):
            vpcs = self.deps(sg, "vpcId", [T.VPC])
            self.sg_vpc[sg.urn] = vpcs[0].urn if vpcs else None
            rules = self.sg_rules.setdefault(sg.urn, [])
            ingress = pget(sg, "ingress")
            if is_unknown(ingress):
                self.problem(sg, "ingress", "the inline ingress rules are unknown at preview; they are "
                                            "treated as open to the internet (fail closed)")
                rules.append(Source("internet", "unknown inline ingress", sg.urn))
                continue
            for i, entry in enumerate(ingress if isinstance(ingress, list) else []):
                if not isinstance(entry, dict):
                    continue
                rules.extend(self._sources(
                    sg, sg.urn, f"ingress[{i}]", opener=sg.urn,
                    cidrs=(pget(entry, "cidrBlocks"), "ingress"),
                    cidrs6=(pget(entry, "ipv6CidrBlocks"), "ingress"),
                    prefix=(pget(entry, "prefixListIds"), "ingress"),
                    sgref=(pget(entry, "securityGroups"), "ingress"),
                    self_ref=pget(entry, "self")))
        for rule in self.of(T.SG_RULE):
            kind = pget(rule, "type")
            if is_unknown(kind):
                self.problem(rule, "type", "the rule type (ingress/egress) is unknown at preview; it is "
                                           "treated as ingress")
            elif kind != "ingress":
                continue
            self._attach_rule(rule, self._sources(
                rule, None, "", opener=rule.urn,
                cidrs=(pget(rule, "cidrBlocks"), "cidrBlocks"),
                cidrs6=(pget(rule, "ipv6CidrBlocks"), "ipv6CidrBlocks"),
                prefix=(pget(rule, "prefixListIds"), "prefixListIds"),
                sgref=(pget(rule, "sourceSecurityGroupId"), "sourceSecurityGroupId"),
                self_ref=pget(rule, "self")))
        for rule in self.of(T.SG_INGRESS_RULE):
            self._attach_rule(rule, self._sources(
                rule, None, "", opener=rule.urn,
                cidrs=(pget(rule, "cidrIpv4"), "cidrIpv4"),
                cidrs6=(pget(rule, "cidrIpv6"), "cidrIpv6"),
                prefix=(pget(rule, "prefixListId"), "prefixListId"),
                sgref=(pget(rule, "referencedSecurityGroupId"), "referencedSecurityGroupId"),
                self_ref=None))

    def _attach_rule(self, rule: Resource, sources: list[Source]) -> None:
        groups = self.deps(rule, "securityGroupId", T.SECURITY_GROUPS)
        if not groups:
            if pget(rule, "securityGroupId") is not None:
                self.problem(rule, "securityGroupId", "the rule's security group is not a resource of "
                                                      "this stack (no property dependency), so the model "
                                                      "cannot tell what it opens")
            return
        for sg in groups:
            self.sg_rules.setdefault(sg.urn, [])
            # the rule's own `self` refers to the group it belongs to
            self.sg_rules[sg.urn].extend(
                Source("sg", sg.urn, s.opener) if s.kind == "self" else s for s in sources)

    def _sources(self, res: Resource, own_sg: str | None, where: str, opener: str,
                 cidrs: tuple, cidrs6: tuple, prefix: tuple, sgref: tuple, self_ref: Any) -> list[Source]:
        out: list[Source] = []
        at = f"{where}." if where else ""
        # CIDRs: literal values; unknown entries are resolved through the property's dependencies
        # on subnets/VPCs (their literal cidrBlock), never through ids.
        for (values, dep_prop), family in ((cidrs, "cidrBlocks"), (cidrs6, "ipv6CidrBlocks")):
            if values is None:
                continue
            items = values if isinstance(values, list) else [values]
            if is_unknown(values):
                items = [values]
            unresolved = False
            for v in items:
                if is_unknown(v):
                    unresolved = True
                    continue
                net = parse_cidr(v)
                if net is None:
                    if v not in ("", None):
                        self.problem(res, f"{at}{dep_prop}", f"{v!r} is not a CIDR; treated as the internet")
                        out.append(Source("internet", f"unparseable CIDR {v!r}", opener))
                    continue
                out.append(Source("cidr", net, opener))
            if unresolved:
                found = self.deps(res, dep_prop, [T.SUBNET, T.VPC])
                nets = []
                for d in found:
                    pool = self.subnet_nets.get(d.urn) if d.type == T.SUBNET else self.vpc_nets.get(d.urn)
                    want = 4 if family == "cidrBlocks" else 6
                    nets.extend(n for n in (pool or []) if n.version == want)
                if nets:
                    out.extend(Source("cidr", n, opener) for n in nets)
                else:
                    self.problem(res, f"{at}{dep_prop}", "a CIDR is unknown at preview and does not come "
                                                         "from a subnet or VPC of this stack; it is "
                                                         "treated as the internet (fail closed)")
                    out.append(Source("internet", "unknown CIDR", opener))
        # prefix lists
        values, dep_prop = prefix
        items = [values] if is_unknown(values) else (values if isinstance(values, list) else [values])
        items = [v for v in items if v is not None and not same(v, "")]
        if items:
            pl_deps = self.deps(res, dep_prop, [T.PREFIX_LIST])
            for pl in pl_deps:
                out.extend(self._prefix_list_sources(pl, opener))
            for v in items:
                if is_unknown(v):
                    if not pl_deps:
                        self.problem(res, f"{at}{dep_prop}", "a prefix list is unknown at preview and is "
                                                             "not a resource of this stack; treated as the "
                                                             "internet")
                        out.append(Source("internet", "unknown prefix list", opener))
                elif isinstance(v, str) and (v in self.cf_ids or v == T.CLOUDFRONT_PREFIX_LIST_NAME):
                    out.append(Source("cloudfront", v, opener))
                elif not pl_deps and v:
                    out.append(Source("internet", f"prefix list {v} (contents unknown to the stack)", opener))
        # other security groups (through property dependencies only)
        values, dep_prop = sgref
        if values is not None and not same(values, []):
            groups = self.deps(res, dep_prop, T.SECURITY_GROUPS)
            out.extend(Source("sg", g.urn, opener) for g in groups)
            if not groups:
                self.problem(res, f"{at}{dep_prop}", "the source security group is not a resource of "
                                                     "this stack, so its members are unknown; treated "
                                                     "as the internet (fail closed)")
                out.append(Source("internet", "security group outside the stack", opener))
        if self_ref is not None and not is_unknown(self_ref) and self_ref:
            out.append(Source("sg", own_sg, opener) if own_sg else Source("self", None, opener))
        elif is_unknown(self_ref):
            if own_sg:
                out.append(Source("sg", own_sg, opener))
            else:
                out.append(Source("self", None, opener))
        return out

    def _prefix_list_sources(self, pl: Resource, opener: str) -> list[Source]:
        name = pget(pl, "name")
        if same(name, T.CLOUDFRONT_PREFIX_LIST_NAME):
            return [Source("cloudfront", name, opener)]
        nets = []
        entries = pget(pl, "entries")
        unknown = is_unknown(entries)
        for e in entries if isinstance(entries, list) else []:
            net = parse_cidr(e.get("cidr") if isinstance(e, dict) else None)
            if net is None:
                unknown = True
            else:
                nets.append(net)
        for entry in self.of(T.PREFIX_LIST_ENTRY):
            if any(d.urn == pl.urn for d in self.deps(entry, "prefixListId", [T.PREFIX_LIST])):
                net = parse_cidr(pget(entry, "cidr"))
                if net is None:
                    unknown = True
                else:
                    nets.append(net)
        out = [Source("cidr", n, opener) for n in nets]
        if unknown:
            out.append(Source("internet", f"prefix list '{pl.name}' with unknown entries", opener))
        return out

    # -- endpoints

    def _endpoint(self, res: Resource, kind: str, sgs: Iterable[Resource], subnets: Iterable[Resource]) -> Endpoint:
        tag = res.tag_layer
        if is_unknown(tag):
            self.problem(res, "tags", "the layerguard:layer tag is unknown at preview; the resource is "
                                      "treated as unclassified (untrusted)")
        ep = Endpoint(res.urn, kind, self.stack.layer(res),
                      sgs=[s.urn for s in sgs], subnets=[s.urn for s in subnets])
        vpcs = {self.subnet_vpc.get(s) for s in ep.subnets} - {None}
        ep.vpc = next(iter(vpcs)) if len(vpcs) == 1 else None
        self.endpoints[res.urn] = ep
        return ep

    def _public_from_subnets(self, ep: Endpoint) -> None:
        for s in ep.subnets:
            sub = self.stack.by_urn.get(s)
            if sub is not None and pget(sub, "mapPublicIpOnLaunch") is True:
                ep.exposures.append((s, f"launched in subnet '{sub.name}', which maps public IPs"))

    def _endpoints(self) -> None:
        sgt = T.SECURITY_GROUPS
        for lb in self.of(*T.LOAD_BALANCERS):
            ep = self._endpoint(lb, "lb", self.deps(lb, "securityGroups", sgt),
                                self.deps_any(lb, ("subnets", "subnetMappings"), [T.SUBNET]))
            lb_type = pget(lb, "loadBalancerType")
            ep.kind = "nlb" if same(lb_type, "network") else ("gwlb" if same(lb_type, "gateway") else "alb")
            if is_unknown(lb_type):
                self.problem(lb, "loadBalancerType", "the load balancer type is unknown at preview")
            internal = pget(lb, "internal")
            if is_unknown(internal):
                self.problem(lb, "internal", "internal is unknown at preview; the load balancer is treated "
                                             "as internet-facing (fail closed)")
                ep.exposures.append((lb.urn, "may be internet-facing (internal unknown)"))
            elif internal is not True:
                ep.exposures.append((lb.urn, "is internet-facing (internal is not true)"))
            if ep.kind == "nlb" and not ep.sgs:
                ep.exposures.append((lb.urn, "is a network load balancer without a security group, which "
                                             "admits every source address"))
                ep.sgs = []
        for svc in self.of(T.ECS_SERVICE):
            ep = self._endpoint(svc, "ecs", self.deps(svc, "networkConfiguration", sgt),
                                self.deps(svc, "networkConfiguration", [T.SUBNET]))
            if self._bool(svc, "networkConfiguration.assignPublicIp", False, "a public IP"):
                ep.exposures.append((svc.urn, "assigns public IPs to its tasks"))
        for inst in self.of(T.INSTANCE, T.SPOT_INSTANCE):
            tpl = self.deps(inst, "launchTemplate", [T.LAUNCH_TEMPLATE])
            sgs = self.deps_any(inst, ("vpcSecurityGroupIds", "securityGroups"), sgt)
            for lt in tpl:
                sgs += self.deps_any(lt, ("vpcSecurityGroupIds", "networkInterfaces"), sgt)
            ep = self._endpoint(inst, "instance", sgs, self.deps(inst, "subnetId", [T.SUBNET]))
            assoc = self._bool(inst, "associatePublicIpAddress", None, "a public IP")
            for lt in tpl:
                if assoc is None:
                    assoc = self._lt_public(lt)
            if assoc:
                ep.exposures.append((inst.urn, "associates a public IP address"))
            elif assoc is None:
                self._public_from_subnets(ep)
        for eni in self.of(T.NETWORK_INTERFACE):
            self._endpoint(eni, "eni", self.deps(eni, "securityGroups", sgt), self.deps(eni, "subnetId", [T.SUBNET]))
        for asg in self.of(T.ASG):
            tpl = self.deps_any(asg, ("launchTemplate", "mixedInstancesPolicy"), [T.LAUNCH_TEMPLATE])
            sgs, subnets = [], self.deps(asg, "vpcZoneIdentifiers", [T.SUBNET])
            for lt in tpl:
                sgs += self.deps_any(lt, ("vpcSecurityGroupIds", "networkInterfaces"), sgt)
                subnets += self.deps(lt, "networkInterfaces", [T.SUBNET])
            ep = self._endpoint(asg, "asg", sgs, subnets)
            public = None
            for lt in tpl:
                value = self._lt_public(lt)
                if value:
                    ep.exposures.append((lt.urn, "launch template associates public IP addresses"))
                public = value if public is None else (public or value)
            if public is None:
                self._public_from_subnets(ep)
        for fn in self.of(T.LAMBDA):
            self._endpoint(fn, "lambda", self.deps(fn, "vpcConfig", sgt), self.deps(fn, "vpcConfig", [T.SUBNET]))
        for url in self.of(T.LAMBDA_URL):
            for fn in self.deps(url, "functionName", [T.LAMBDA]):
                self.endpoints[fn.urn].exposures.append((url.urn, "has a function URL reachable from the internet"))
            if not self.deps(url, "functionName", [T.LAMBDA]):
                self.problem(url, "functionName", "the function URL's function is not a resource of this stack")
        for db in self.of(T.RDS_INSTANCE):
            subnets = []
            for group in self.deps(db, "dbSubnetGroupName", [T.DB_SUBNET_GROUP]):
                subnets += self.deps(group, "subnetIds", [T.SUBNET])
            ep = self._endpoint(db, "rds", self.deps(db, "vpcSecurityGroupIds", sgt), subnets)
            if self._bool(db, "publiclyAccessible", False, "public accessibility"):
                ep.exposures.append((db.urn, "is publicly accessible"))
        for eip in self.of(T.EIP):
            for target in self.deps_any(eip, ("instance", "networkInterface"), [T.INSTANCE, T.NETWORK_INTERFACE]):
                self.endpoints[target.urn].exposures.append((eip.urn, "has an Elastic IP"))
        for assoc in self.of(T.EIP_ASSOC):
            targets = self.deps_any(assoc, ("instanceId", "networkInterfaceId"), [T.INSTANCE, T.NETWORK_INTERFACE])
            for target in targets:
                self.endpoints[target.urn].exposures.append((assoc.urn, "has an Elastic IP association"))
            if not targets:
                self.problem(assoc, "instanceId", "the Elastic IP association targets nothing of this stack "
                                                  "the model can follow (no property dependency)")
        for dist in self.of(T.DISTRIBUTION):
            ep = self._endpoint(dist, "cloudfront", [], [])
            ep.exposures.append((dist.urn, "is a CloudFront distribution"))
        for api in self.of(T.REST_API):
            ep = self._endpoint(api, "restapi", [], [])
            types = pget(api, "endpointConfiguration.types")
            if is_unknown(types):
                self.problem(api, "endpointConfiguration.types", "the endpoint type is unknown at preview; "
                                                                  "the API is treated as public")
                ep.exposures.append((api.urn, "may be public (endpoint type unknown)"))
            elif not (same(types, "PRIVATE") or (isinstance(types, list) and types
                                                  and all(same(t, "PRIVATE") for t in types))):
                ep.exposures.append((api.urn, "is a public REST API"))
        for api in self.of(T.HTTP_API):
            ep = self._endpoint(api, "httpapi", [], [])
            ep.exposures.append((api.urn, "is a public HTTP API"))
        for link in self.of(T.HTTP_VPC_LINK):
            self._endpoint(link, "vpclink", self.deps(link, "securityGroupIds", sgt),
                           self.deps(link, "subnetIds", [T.SUBNET]))

    def _lt_public(self, lt: Resource) -> bool | None:
        nics = pget(lt, "networkInterfaces")
        if is_unknown(nics):
            self.problem(lt, "networkInterfaces", "the launch template's network interfaces are unknown at "
                                                  "preview; treated as public (fail closed)")
            return True
        result = None
        for i, nic in enumerate(nics if isinstance(nics, list) else []):
            value = nic.get("associatePublicIpAddress") if isinstance(nic, dict) else None
            if is_unknown(value):
                self.problem(lt, f"networkInterfaces[{i}].associatePublicIpAddress",
                             "unknown at preview; treated as a public IP (fail closed)")
                return True
            if isinstance(value, str):
                value = value.lower() == "true"
            if value is not None:
                result = bool(value) or bool(result)
        return result

    def _memberships(self) -> None:
        for ep in self.endpoints.values():
            if not ep.sgs and ep.kind in ("ecs", "instance", "eni", "asg", "rds", "alb", "vpclink"):
                # no security group: AWS applies the VPC's default group (admits its own members)
                ep.sgs = [f"default|{ep.vpc or '?'}"]
                self.sg_rules.setdefault(ep.sgs[0], [Source("sg", ep.sgs[0], "")])
            for sg in ep.sgs:
                self.sg_members.setdefault(sg, []).append(ep.urn)

    # -- load balancing

    def _target_groups(self) -> None:
        tgt = T.TARGET_GROUPS
        for svc in self.of(T.ECS_SERVICE):
            for tg in self.deps(svc, "loadBalancers", tgt):
                self.tg_members.setdefault(tg.urn, []).append((svc.urn, svc.urn))
            lbs = pget(svc, "loadBalancers")
            if isinstance(lbs, list) and lbs and not self.deps(svc, "loadBalancers", tgt):
                if any(isinstance(x, dict) and x.get("targetGroupArn") is not None for x in lbs):
                    self.problem(svc, "loadBalancers", "the service joins a target group that is not a "
                                                       "resource of this stack")
        for asg in self.of(T.ASG):
            for tg in self.deps(asg, "targetGroupArns", tgt):
                self.tg_members.setdefault(tg.urn, []).append((asg.urn, asg.urn))
            for tg in self.deps(asg, "trafficSources", tgt):
                self.tg_members.setdefault(tg.urn, []).append((asg.urn, asg.urn))
        for att in self.of(T.ASG_ATTACHMENT):
            for tg in self.deps(att, "lbTargetGroupArn", tgt):
                for asg in self.deps(att, "autoscalingGroupName", [T.ASG]):
                    self.tg_members.setdefault(tg.urn, []).append((asg.urn, att.urn))
        for att in self.of(*T.TG_ATTACHMENTS):
            tgs = self.deps(att, "targetGroupArn", tgt)
            targets = [d for d in self.stack.deps(att, "targetId") if d.urn in self.endpoints]
            if not targets:
                targets = self._targets_by_address(att)
            for tg in tgs:
                for t in targets:
                    self.tg_members.setdefault(tg.urn, []).append((t.urn, att.urn))

    def _targets_by_address(self, att: Resource) -> list[Resource]:
        value = pget(att, "targetId")
        net = parse_cidr(value)
        if net is None:
            self.problem(att, "targetId", "the attachment's target is neither a resource of this stack "
                                          "(no property dependency) nor a literal IP address")
            return []
        # a literal IP target: every endpoint in the subnets containing that address
        if self._in_subnet is None:
            self._in_subnet = {}
            for ep in self.endpoints.values():
                for s in ep.subnets:
                    self._in_subnet.setdefault(s, []).append(ep.urn)
        found = dict.fromkeys(u for s in self.subnets.overlapping(net, any_vpc=True)
                              for u in self._in_subnet.get(s, ()))
        return [self.stack.by_urn[u] for u in found]

    def _forwarding(self) -> None:
        for listener in self.of(*T.LISTENERS):
            lbs = self.deps(listener, "loadBalancerArn", T.LOAD_BALANCERS)
            if not lbs:
                self.problem(listener, "loadBalancerArn", "the listener's load balancer is not a resource "
                                                          "of this stack")
            for lb in lbs:
                self.lb_listeners.setdefault(lb.urn, []).append(listener)
        for rule in self.of(*T.LISTENER_RULES):
            listeners = self.deps(rule, "listenerArn", T.LISTENERS)
            if not listeners:
                self.problem(rule, "listenerArn", "the listener rule's listener is not a resource of this stack")
            for listener in listeners:
                self.listener_rules.setdefault(listener.urn, []).append(rule)

    def forwarded_groups(self, res: Resource, prop: str) -> list[Resource]:
        """Target groups a listener's default actions / a rule's actions forward to (every forward,
        weighted or not), through property dependencies; unknown actions are a Problem."""
        actions = pget(res, prop)
        if is_unknown(actions):
            self.problem(res, prop, f"{prop} is unknown at preview, so the model cannot tell where it forwards")
        tgs = self.deps(res, prop, T.TARGET_GROUPS)
        if not tgs and isinstance(actions, list):
            for a in actions:
                if isinstance(a, dict) and (a.get("targetGroupArn") is not None or a.get("forward") is not None):
                    self.problem(res, prop, "an action forwards to a target group that is not a resource "
                                            "of this stack")
                    break
        return tgs

    # -- CloudFront and API Gateway

    def _cloudfront(self) -> None:
        for dist in self.of(T.DISTRIBUTION):
            targets = self.cf_origins.setdefault(dist.urn, [])
            origin_deps = self.stack.deps(dist, "origins")
            # a VPC origin's domain name is its load balancer's DNS name: one origin, not two
            behind_vpc_origins = {lb.urn for d in origin_deps if d.type == T.VPC_ORIGIN
                                  for lb in self.deps(d, "vpcOriginEndpointConfig", T.LOAD_BALANCERS)}
            for dep in origin_deps:
                if dep.urn in behind_vpc_origins:
                    continue
                if dep.type == T.VPC_ORIGIN:
                    lbs = self.deps(dep, "vpcOriginEndpointConfig", T.LOAD_BALANCERS)
                    if not lbs:
                        self.problem(dep, "vpcOriginEndpointConfig", "the VPC origin's load balancer is not "
                                                                     "a resource of this stack")
                    targets.extend((lb.urn, "vpc-origin", dep.urn) for lb in lbs)
                elif dep.type in T.LISTENERS:
                    targets.extend((lb.urn, "domain", dist.urn)
                                   for lb in self.deps(dep, "loadBalancerArn", T.LOAD_BALANCERS))
                elif dep.urn in self.endpoints:
                    targets.append((dep.urn, "domain", dist.urn))
                elif dep.type in (T.REST_STAGE, T.HTTP_STAGE):
                    apis = self.deps_any(dep, ("restApi", "apiId"), [T.REST_API, T.HTTP_API])
                    targets.extend((a.urn, "domain", dist.urn) for a in apis)
                elif dep.type == T.LAMBDA_URL:
                    targets.extend((f.urn, "domain", dist.urn) for f in self.deps(dep, "functionName", [T.LAMBDA]))

    def _api_gateway(self) -> None:
        for stage in self.of(T.REST_STAGE):
            for api in self.deps(stage, "restApi", [T.REST_API]):
                self.rest_stages.setdefault(api.urn, []).append(stage)
        for integ in self.of(T.REST_INTEGRATION, T.HTTP_INTEGRATION):
            apis = self.deps_any(integ, ("restApi", "apiId"), [T.REST_API, T.HTTP_API])
            targets: list[str] = []
            for dep in [d for p in ("uri", "integrationUri", "integrationTarget") for d in self.stack.deps(integ, p)]:
                targets.extend(self._api_target(dep))
            links = self.deps(integ, "connectionId", [T.REST_VPC_LINK, T.HTTP_VPC_LINK])
            for link in links:
                if link.type == T.REST_VPC_LINK:
                    for dep in self.stack.deps(link, "targetArn"):
                        targets.extend(self._api_target(dep))
            conn = pget(integ, "connectionType")
            if same(conn, "VPC_LINK") and not links:
                self.problem(integ, "connectionId", "the integration's VPC link is not a resource of this stack")
            uri = pget(integ, "uri") if integ.type == T.REST_INTEGRATION else pget(integ, "integrationUri")
            if not targets and is_unknown(uri):
                deps = self.stack.deps(integ, "uri") + self.stack.deps(integ, "integrationUri")
                if not deps:
                    self.problem(integ, "uri", "the integration target is unknown at preview and is not "
                                               "linked to a resource of this stack")
            http_links = [lk for lk in links if lk.type == T.HTTP_VPC_LINK]
            for api in apis:
                for t in dict.fromkeys(targets):
                    if http_links:
                        for lk in http_links:
                            self._edge(api.urn, lk.urn, [integ.urn], "API Gateway integration through VPC link")
                            self._edge(lk.urn, t, [integ.urn], "VPC link forwards to the integration target")
                    else:
                        self._edge(api.urn, t, [integ.urn], "API Gateway integration")

    def _api_target(self, dep: Resource) -> list[str]:
        if dep.type in T.LISTENERS:
            return [lb.urn for lb in self.deps(dep, "loadBalancerArn", T.LOAD_BALANCERS)]
        if dep.type == T.SD_SERVICE:
            return [s.urn for s in self.of(T.ECS_SERVICE)
                    if any(d.urn == dep.urn for d in self.stack.deps(s, "serviceRegistries"))]
        if dep.urn in self.endpoints:
            return [dep.urn]
        return []

    def _waf(self) -> None:
        for assoc in self.of(T.WEB_ACL_ASSOC):
            targets = self.stack.deps(assoc, "resourceArn")
            if not targets:
                self.problem(assoc, "resourceArn", "the web ACL association's resource is not a resource of "
                                                   "this stack", area="perimeter")
            for t in targets:
                self.waf_assocs.setdefault(t.urn, []).append(assoc)

    # ------------------------------------------------------------------ graph

    def _graph(self) -> None:
        # sources of every security group, computed once
        sg_sources: dict[str, list[tuple[str, tuple, str, bool]]] = {}
        for sg, rules in self.sg_rules.items():
            vpc = self.sg_vpc.get(sg)
            srcs = []
            for s in rules:
                srcs.extend(self._source_vertices(sg, vpc, s))
            sg_sources[sg] = srcs
        for ep in self.endpoints.values():
            for opener, reason in ep.exposures:
                self._edge(INTERNET, ep.urn, [opener], reason)
            for sg in ep.sgs:
                self._edge(ep.urn, _SG + sg, self._stranger(ep, sg), "member of the security group",
                           membership=True)
                for src, openers, note, via_cf in sg_sources.get(sg, ()):
                    if src == _SG + sg and not openers:  # default SG's implicit self rule
                        openers = (sg,) if not sg.startswith("default|") else ()
                    self._edge(src, ep.urn, openers, note, via_cf)
            for s in ep.subnets:
                self._edge(ep.urn, _NET + s, self._stranger(ep, s), "located in the subnet", membership=True)
        for sub, reasons in self.public_subnets.items():
            for opener, reason in reasons:
                self._edge(INTERNET, _NET + sub, [opener], f"subnet {reason}")
        # load balancers forward to the members of the target groups their listeners/rules name
        for lb_urn, listeners in self.lb_listeners.items():
            for listener in listeners:
                self._forward(lb_urn, listener, listener, "defaultActions")
                for rule in self.listener_rules.get(listener.urn, ()):
                    self._forward(lb_urn, listener, rule, "actions")
        for dist, targets in self.cf_origins.items():
            for target, via, opener in targets:
                self._edge(dist, target, [opener], "CloudFront VPC origin" if via == "vpc-origin" else "CloudFront origin")

    def _stranger(self, ep: Endpoint, group: str) -> list[str]:
        """An endpoint that joins a node or app security group / subnet from another layer is what
        opens the paths its membership creates (the group's own rules are legitimate)."""
        owner = self.layer(group) if group in self.stack.by_urn else UNCLASSIFIED
        if owner in ("node", "app") and ep.layer != owner:
            return [ep.urn]
        return []

    def _source_vertices(self, sg: str, vpc: str | None, s: Source):
        opener = (s.opener,) if s.opener else ()
        if s.kind == "sg":
            yield _SG + s.value, opener, "admitted by a security-group reference", False
        elif s.kind == "self":
            yield _SG + sg, opener, "admitted by a self reference", False
        elif s.kind == "cloudfront":
            yield INTERNET, opener, "admitted from the CloudFront origin-facing prefix list", True
        elif s.kind == "internet":
            yield INTERNET, opener, f"admitted from {s.value}", False
        elif s.kind == "cidr":
            net = s.value
            if vpc:
                inside = self.vpc_nets.get(vpc, [])
            else:
                if self._all_vpc_nets is None:
                    self._all_vpc_nets = [n for ns in self.vpc_nets.values() for n in ns]
                inside = self._all_vpc_nets
            if has_outside_part(net, inside):
                yield INTERNET, opener, f"admitted from {net} (outside the VPC)", False
            for sub in self.subnets.overlapping(net, vpc, any_vpc=vpc is None):
                yield _NET + sub, opener, f"admitted from {net}, which overlaps the subnet", False

    def _forward(self, lb_urn: str, listener: Resource, res: Resource, prop: str) -> None:
        for tg in self.forwarded_groups(res, prop):
            tg_layer = self.stack.layer(tg)
            for member, membership in self.tg_members.get(tg.urn, ()):
                member_layer = self.endpoints[member].layer if member in self.endpoints else UNCLASSIFIED
                if tg_layer == member_layer:
                    openers = [res.urn]               # the member's own group: the forward is the stranger
                elif tg_layer == UNCLASSIFIED:
                    openers = [res.urn, membership]   # both halves are unexplained
                else:
                    openers = [membership]            # a member joined another layer's group
                self._edge(lb_urn, member, openers, f"forwarded by {self._name(res.urn)} through target group '{tg.name}'")

    # ------------------------------------------------------------------ analyses

    def _is(self, vertex: str, layer: str) -> bool:
        ep = self.endpoints.get(vertex)
        return ep is not None and ep.layer == layer

    def bypasses(self) -> list[tuple[str, str, list[str], str]]:
        """(opener urn, app endpoint urn, path labels, note) for every edge from the part of the
        graph the internet reaches without a node into an app endpoint."""
        parent: dict[str, tuple[str, Edge] | None] = {INTERNET: None}
        queue = deque([INTERNET])
        while queue:
            v = queue.popleft()
            for e in self.out.get(v, ()):
                w = e.dst
                if w in parent or self._is(w, "node"):
                    continue
                parent[w] = (v, e)
                if not self._is(w, "app"):
                    queue.append(w)
        found = []
        seen = set()
        for v, entry in parent.items():
            if entry is None or not self._is(v, "app"):
                continue
            for src, edge in self.inn.get(v, ()):
                if src not in parent or self._is(src, "app") or self._is(src, "node"):
                    continue
                path = [*self._path(parent, src), self.label(v)]
                via = parent.get(src)
                if via is not None and via[1].membership and via[1].openers:
                    openers = via[1].openers  # a stranger joined the group the rule trusts
                else:
                    openers = edge.openers or self._last_openers(parent, src) or (v,)
                for opener in openers:
                    key = (opener, v)
                    if key not in seen:
                        seen.add(key)
                        found.append((opener, v, path, edge.note))
        return found

    def _path(self, parent, v: str) -> list[str]:
        labels = []
        while v is not None:
            labels.append(self.label(v))
            entry = parent.get(v)
            v = entry[0] if entry else None
        return list(reversed(labels))

    def _last_openers(self, parent, v: str) -> tuple:
        while v is not None:
            entry = parent.get(v)
            if entry is None:
                return ()
            if entry[1].openers:
                return entry[1].openers
            v = entry[0]
        return ()

    def reaches_nodes(self) -> dict[str, tuple[str, Edge] | None]:
        """Every vertex with a path to a node endpoint -> its next hop toward one (None for nodes)."""
        nxt: dict[str, tuple[str, Edge] | None] = {}
        queue = deque()
        for urn, ep in self.endpoints.items():
            if ep.layer == "node":
                nxt[urn] = None
                queue.append(urn)
        while queue:
            w = queue.popleft()
            for v, e in self.inn.get(w, ()):
                if v not in nxt:
                    nxt[v] = (w, e)
                    queue.append(v)
        return nxt

    def path_to_node(self, nxt, v: str) -> list[str]:
        labels = [self.label(v)]
        seen = {v}
        while nxt.get(v) is not None:
            v = nxt[v][0]
            if v in seen:
                break
            seen.add(v)
            labels.append(self.label(v))
        return labels

    def internet_edges(self, vertex: str) -> list[Edge]:
        return [e for src, e in self.inn.get(vertex, ()) if src == INTERNET]


# ---------------------------------------------------------------------- one model per AnalyzeStack

_CACHE_LOCK = threading.Lock()
_CACHE: dict[str, Any] = {"key": None, "model": None}


def _fingerprint(stack: Stack, extra: tuple) -> int:
    return hash((extra, tuple(
        (r.urn, r.type, r.parent, repr(r.props), repr(sorted(r.property_dependencies.items())),
         repr(r.provider_region)) for r in stack.resources)))


def model_for(stack: Stack, cloudfront_list_ids: Iterable[str] = ()) -> Model:
    """The model of this stack. The CLI runs every stack policy of one AnalyzeStack on the same
    resources, so the model is built once and shared (keyed by a fingerprint of the resources)."""
    ids = tuple(sorted(str(i) for i in cloudfront_list_ids))
    key = _fingerprint(stack, ids)
    with _CACHE_LOCK:
        if _CACHE["key"] == key and _CACHE["model"] is not None:
            model = _CACHE["model"]
            model.stack = stack  # same data; let labels and layers read the current objects
            return model
        model = Model(stack, ids)
        _CACHE["key"], _CACHE["model"] = key, model
        return model
