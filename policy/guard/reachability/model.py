"""One reachability model of the stack, from the internet to every endpoint, built once per
`AnalyzeStack` (the way VPC Reachability Analyzer, Network Access Analyzer or checkov's graph
checks reason), linked through `property_dependencies` and parents, never through id values.

ASSUMPTIONS (what a verdict means; each is an explanation the findings can cite)
--------------------------------------------------------------------------------
THE INTERNET is every address that can be a source on the internet (not RFC 1918, CGNAT,
link-local, multicast). It reaches:
  * a public address (an internet-facing load balancer, a task or instance public IP, an Elastic IP,
    a publicly accessible database) only when (a) the address sits in a subnet whose route table
    (its explicit association, else the VPC's main route table) routes public address space to an
    internet gateway (an egress-only gateway is not inbound; no route, no path), (b) a security
    group of the resource admits a public source on a protocol and port the resource listens on,
    and (c) the subnet's network ACL allows it in and the reply out (stateless, rules in number
    order, implicit deny; a subnet without an ACL of the stack uses the VPC default ACL, which
    allows everything unless the stack manages it);
  * the ADDRESS SPACE of a public subnet (a subnet routed to an internet gateway): any address in
    it may carry a public IP, so a rule admitting such a CIDR admits the internet;
  * CloudFront distributions, REST APIs that are not PRIVATE, HTTP APIs, Lambda function URLs with
    authorization NONE: directly.
A CIDR outside the VPC is what the routes say it is: public space through an internet gateway is
the internet; private space routed to a peering connection or Transit Gateway is the subnets of
the stack's VPCs on the other side; space routed to anything outside the stack (a VPN, a foreign
VPC, a gateway id the stack does not own) is treated as the internet; space with no route is
unreachable.
Traffic: a request is tcp or udp to a port a resource listens on (load balancers: their listeners;
ECS tasks: their container ports; other compute: any port). ICMP and other protocols carry none.

REACHED resources send on: compute reached from the internet is a foothold that may send anything
from its security groups and subnets; a load balancer or VPC link only forwards (to its targets,
and as a member of its security groups to whatever trusts those groups); CloudFront and API
Gateway forward to their origins and integrations.

A NODE is a filter only when PROVEN: an ECS service labelled `node` whose task definition runs the
Wallarm node image (repository and release rules in policy config) and whose load balancer targets
that container and port. (At the first preview, a task definition whose JSON is unknown only
because it embeds the ARN of a secret the stack creates is trusted until that ARN is known; update
mode and `pulumi up` decide it exactly.) Anything labelled `node` that is not proven is reported and is not a
filter. PROTECTED is every compute resource labelled `app` or that cannot be classified (it may
be app), and what carries an app's traffic (attached network interfaces, the EC2 capacity of an
app service) is app. A security group labelled `app` with no member in the stack (an adopted
backend's, imported) protects app resources outside it: one protected endpoint in that group,
listening on any port, with a public address (the model cannot see theirs: fail closed).

FAILS CLOSED (a `Problem`, reported as a violation naming the resource and the property): a value
the model needs but cannot know at preview; a resource type the model does not understand that
exposes compute or is placed in a network (`kinds.py`); ids of subnets, security groups, route
tables or targets that are not resources of this stack (literal ids or `.get()` lookups, which are
not part of AnalyzeStack); API Gateway routes defined by an OpenAPI body or quick-create target.

Analyses (each O(V + E)): `bypasses()` searches from the internet without entering proven nodes;
every edge from that region into a protected endpoint is a path around the nodes.
`reaches_nodes()` searches backwards from the proven nodes (for the perimeter rules).
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from guard import sdk_memo
from guard.framework import UNCLASSIFIED, Resource, Stack, is_unknown
from guard.planned import INPUTS

from . import declared, kinds
from . import tokens as T
from .net import (
    ALL,
    AclRule,
    Network,
    Ports,
    SubnetIndex,
    acl_allows,
    carries,
    has_outside_part,
    has_public_part,
    listen_text,
    parse_cidr,
    ports_of,
)

INTERNET = "internet"
COMPUTE = frozenset({"ecs", "instance", "eni", "asg", "lambda", "rds"})
FORWARDERS = frozenset({"alb", "nlb", "gwlb", "vpclink"})

# Wallarm's node image, as published and as mirrored by an ECR pull-through cache.
DEFAULT_NODE_REPOSITORIES = (
    "wallarm/node", "docker.io/wallarm/node", "registry-1.docker.io/wallarm/node",
    "index.docker.io/wallarm/node", "*.dkr.ecr.*.amazonaws.com/*/wallarm/node",
)
DEFAULT_NODE_MAJORS = (6, 7)
_RELEASE = re.compile(r"^(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.]+)?$")


def same(value: Any, literal: Any) -> bool:
    """`value == literal` for a value that may be unknown (an unknown is never equal)."""
    return not is_unknown(value) and value == literal


# A task definition whose containerDefinitions is unknown only through these is waiting for the ARN
# of a secret the stack creates (the Wallarm token), not for its image.
_SECRET_REFERENCES = ("aws:secretsmanager/secret:", "aws:secretsmanager/secretVersion:", "aws:ssm/parameter:",
                      "aws:kms/key:", "aws:cloudwatch/logGroup:")

# The tag by which a stack declares that a rule's literal security group is a backend's group it
# does not own (layerguard's existing backend writes it; docs/CONTRACTS.md, "Foreign security groups").
FOREIGN_SG_TAG = "layerguard:foreign-security-group"

_SG = "sg|"
_NET = "net|"
_OUTSIDE = "outside|"  # what an app security group with no member in the stack protects
_PUBLIC_INTERNET = parse_cidr("0.0.0.0/0")


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
    exposures: list = field(default_factory=list)  # (opener, reason): the internet reaches it directly
    public: list = field(default_factory=list)     # (opener, reason): a routable public address
    listen: list | None = None                     # [(proto, port)], None: any port
    vpc: str | None = None
    sg_openers: dict = field(default_factory=dict)  # sg -> the resource that attached it

    @property
    def compute(self) -> bool:
        return self.kind in COMPUTE


@dataclass(frozen=True)
class Source:
    """Where a security group rule admits traffic from, and on which ports."""

    kind: str             # "cidr" | "sg" | "self" | "cloudfront" | "internet"
    value: Any = None     # Network for cidr, SG URN for sg, a reason for internet
    opener: str = ""      # the rule (or the security group, for inline rules)
    ports: Ports = ALL


class Edge(NamedTuple):
    dst: str
    openers: tuple
    note: str
    via_cloudfront_list: bool = False
    membership: bool = False
    ports: str = ""       # ":443" (what the destination receives)
    via: str = ""         # "listener 'edge-https' -> target group 'app-tg':8080"


def pget(res: Any, path: str, default: Any = None) -> Any:
    """`pget(res, path)` over plain dicts/lists: None or the default when absent, the `Unknown`
    itself when a step is unknown."""
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


def _configured(res: Resource, prop: str) -> bool:
    """Whether the program set top-level `prop` (its Analyze inputs say so); without a record of
    them, every present value counts as set (fail closed)."""
    shape = INPUTS.shape(res.urn)
    return shape is None or (isinstance(shape, dict) and prop in shape)


def _items(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def split_image(image: str) -> tuple[str, str | None]:
    """(repository, tag) of an image reference (registry host and digest allowed)."""
    ref = image.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        return ref[:colon], ref[colon + 1:]
    return ref, None


def _repo_matches(repo: str, pattern: str) -> bool:
    # `*` matches within one path segment only (an account, a region, a cache prefix)
    regex = "^" + ".*?".join(re.escape(p) for p in pattern.split("*")).replace(".*?", "[^/]+") + "$"
    return re.match(regex, repo) is not None or (pattern == repo)


class NodeRules(NamedTuple):
    repositories: tuple = DEFAULT_NODE_REPOSITORIES
    majors: tuple = DEFAULT_NODE_MAJORS

    def image_problem(self, image: Any) -> str | None:
        if not isinstance(image, str):
            return f"its image {image!r} is not known"
        repo, tag = split_image(image)
        if not any(_repo_matches(repo, p) for p in self.repositories):
            return f"image {image!r} is not from a Wallarm node repository ({', '.join(self.repositories)})"
        m = _RELEASE.match(tag or "")
        if not m:
            return f"image {image!r} is not tagged with a Wallarm node release (e.g. 7.1.0)"
        if int(m.group(1)) not in self.majors:
            return (f"image {image!r} is major {m.group(1)}, not a supported major "
                    f"({', '.join(str(x) for x in self.majors)})")
        return None

    def is_wallarm_repo(self, image: Any) -> bool:
        return isinstance(image, str) and any(_repo_matches(split_image(image)[0], p) for p in self.repositories)


class Model:
    def __init__(self, stack: Stack, cloudfront_list_ids: Iterable[str] = (),
                 node_rules: NodeRules | None = None) -> None:
        self.stack = stack
        self.cf_ids = set(T.CLOUDFRONT_PREFIX_LIST_IDS) | {str(i) for i in cloudfront_list_ids}
        self.node_rules = node_rules or NodeRules()
        self.problems: list[Problem] = []
        self.endpoints: dict[str, Endpoint] = {}
        self.out: dict[str, list[Edge]] = {}
        self.inn: dict[str, list[tuple[str, Edge]]] = {}
        self._by_type: dict[str, list[Resource]] = {}
        for r in stack.resources:
            self._by_type.setdefault(r.type, []).append(r)
        self.vpc_nets: dict[str, list[Network]] = {}
        self.subnet_nets: dict[str, list[Network]] = {}
        self.subnet_vpc: dict[str, str | None] = {}
        self.public_subnets: dict[str, list[tuple[str, str]]] = {}
        self.subnets = SubnetIndex()
        self.rt_routes: dict[str, list[tuple]] = {}      # table -> [(dest, kind, target, opener)]
        self.vpc_tables: dict[str, set] = {}             # vpc -> tables in it
        self.subnet_table: dict[str, str | None] = {}
        self.subnet_acl: dict[str, str | None] = {}
        self.acl_rules: dict[str, dict[str, list[AclRule]]] = {}
        self.sg_vpc: dict[str, str | None] = {}
        self.sg_rules: dict[str, list[Source]] = {}
        self.sg_members: dict[str, list[str]] = {}
        self.default_sg: dict[str, str] = {}
        self.tg_members: dict[str, list[tuple[str, str]]] = {}
        self.lb_listeners: dict[str, list[Resource]] = {}
        self.listener_rules: dict[str, list[Resource]] = {}
        self.cf_origins: dict[str, list[tuple[str, str, str]]] = {}  # dist -> (target, via, opener)
        self.rest_stages: dict[str, list[Resource]] = {}
        self.waf_assocs: dict[str, list[Resource]] = {}
        self.layer_override: dict[str, str] = {}
        self.filters: set[str] = set()                   # proven Wallarm node endpoints
        self.unproven: dict[str, str] = {}               # node-labelled compute that is not proven
        self.pending: dict[str, str] = {}                # nodes trusted at preview until a secret ARN is known
        self.internet_admission: dict[str, list[tuple[tuple, str, bool]]] = {}
        self.foreign_groups: list[tuple[str, str]] = []  # (rule, group id): see _foreign_rule
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
        if vertex.startswith(_OUTSIDE):
            return f"the app resources outside the stack in security group {self._name(vertex[len(_OUTSIDE):])}"
        return self._name(vertex)

    def _name(self, urn: str) -> str:
        if urn.startswith("default|"):
            return "the VPC's default security group"
        res = self.stack.by_urn.get(urn)
        if res is None:
            return urn
        return f"{res.type.rsplit(':', 1)[-1]} '{res.name}'"

    def layer(self, urn: str) -> str:
        if urn in self.layer_override:
            return self.layer_override[urn]
        res = self.stack.by_urn.get(urn)
        return self.stack.layer(res) if res is not None else UNCLASSIFIED

    def _edge(self, src: str, dst: str, openers: Iterable[str], note: str, via_cf: bool = False,
              membership: bool = False, ports: str = "", via: str = "") -> None:
        edge = Edge(dst, tuple(dict.fromkeys(o for o in openers if o)), note, via_cf, membership, ports, via)
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

    def _owned(self, res: Resource, path: str, dep_prop: str, types: Iterable[str], what: str) -> list[Resource]:
        """The resources of `types` an id list names, through property dependencies; ids that are
        not resources of this stack (literal, or read with `.get()`) are a Problem."""
        found = self.deps(res, dep_prop, types)
        value = pget(res, path)
        if value is None:
            return found
        items = [value] if is_unknown(value) else _items(value)
        items = [v for v in items if not same(v, "")]
        if is_unknown(value) and not found:
            self.problem(res, path, f"the {what} are unknown at preview and are not resources of this stack")
        elif len(items) > len(found):
            self.problem(res, path, f"{len(items) - len(found)} of the {what} in {path} are not resources of "
                                    "this stack (literal ids or `.get()` lookups are not part of the preview), "
                                    "so the model cannot tell what they expose (fail closed)")
        return found

    # ------------------------------------------------------------------ build

    def _build(self) -> None:
        self._open_world()
        self._network()
        self._routes()
        self._nacls()
        self._security_groups()
        self._endpoints()
        self._carriers()
        self._memberships()
        self._target_groups()
        self._forwarding()
        self._listening()
        self._prove_nodes()
        self._cloudfront()
        self._api_gateway()
        self._waf()
        self._outside_members()
        self._graph()

    def _open_world(self) -> None:
        for res in self.stack.resources:
            cls, why = kinds.classify(res.type, res.props)
            if cls in ("exposing", "unknown-network"):
                self.problem(res, "type", f"{res.type} is {why}; the model cannot tell what it exposes or "
                                          "what reaches it, so it fails closed (model it with understood "
                                          "resources or suppress with a reason)")
        for api in self.of(T.HTTP_API):
            for prop, what in (("target", "a quick-create target"), ("body", "an OpenAPI body")):
                if pget(api, prop) is not None:
                    self.problem(api, prop, f"the API defines its routes and integrations through {what}, "
                                            "which the model does not follow (fail closed); define "
                                            "integrations and routes as resources")
        for mapping in self.of(T.REST_BASE_PATH_MAPPING):
            if not self.deps(mapping, "restApi", [T.REST_API]):
                self.problem(mapping, "restApi", "the custom domain maps to a REST API that is not a resource "
                                                 "of this stack, so the model cannot tell what it exposes "
                                                 "(fail closed)")
        for api in self.of(T.REST_API):
            if pget(api, "body") is not None:
                self.problem(api, "body", "the API defines its integrations through an OpenAPI body, which "
                                          "the model does not follow (fail closed); define integrations "
                                          "as resources")

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
        for sub in self.of(T.SUBNET):
            vpcs = self.deps(sub, "vpcId", [T.VPC])
            vpc = vpcs[0].urn if vpcs else None
            if vpc is None:
                self.problem(sub, "vpcId", "the subnet's VPC is not a resource of this stack, so its main "
                                           "route table is unknown; it is treated as public (fail closed)")
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

    # -- routes

    def _route_target(self, res: Resource, entry: Any, dep_prop: str | None) -> tuple[str, Any]:
        """(kind, target urn or literal) of one route."""
        checks = (("gatewayId", "igw"), ("egressOnlyGatewayId", "eigw"), ("natGatewayId", "nat"),
                  ("transitGatewayId", "tgw"), ("vpcPeeringConnectionId", "peering"),
                  ("networkInterfaceId", "eni"), ("vpcEndpointId", "endpoint"),
                  ("localGatewayId", "foreign"), ("carrierGatewayId", "igw"), ("coreNetworkArn", "foreign"))
        types = {"igw": [T.INTERNET_GATEWAY], "eigw": [T.EGRESS_ONLY_IGW], "nat": [T.NAT_GATEWAY],
                 "tgw": [T.TRANSIT_GATEWAY], "peering": [T.PEERING, T.PEERING_ACCEPTER],
                 "eni": [T.NETWORK_INTERFACE]}
        for prop, kind in checks:
            value = entry.get(prop) if isinstance(entry, dict) else None
            if value is None or same(value, ""):
                continue
            if isinstance(value, str):
                if value == "local":
                    return "local", None
                if kind == "igw" and value.startswith("vgw-"):
                    return "foreign", value
            found = self.deps(res, dep_prop or prop, types.get(kind, []))
            if found:
                return kind, found[0].urn
            if isinstance(value, str) and kind == "igw" and not value.startswith("igw-"):
                return "foreign", value
            return (kind if kind in ("igw", "eigw", "nat", "endpoint") else "foreign"), value
        return "unknown", None

    def _routes(self) -> None:
        main: dict[str, str] = {}
        for rt in self.of(T.ROUTE_TABLE):
            vpcs = self.deps(rt, "vpcId", [T.VPC])
            for v in vpcs:
                self.vpc_tables.setdefault(v.urn, set()).add(rt.urn)
            self.rt_routes.setdefault(rt.urn, [])
        for rt in self.of(T.DEFAULT_ROUTE_TABLE):
            vpcs = self.deps(rt, "defaultRouteTableId", [T.VPC])
            if not vpcs:
                self.problem(rt, "defaultRouteTableId", "the default route table belongs to a VPC that is not a "
                                                        "resource of this stack, so the model cannot tell which "
                                                        "subnets it routes (fail closed)")
            for v in vpcs:
                main.setdefault(v.urn, rt.urn)
                self.vpc_tables.setdefault(v.urn, set()).add(rt.urn)
            self.rt_routes.setdefault(rt.urn, [])
        main_assoc: dict[str, str] = {}
        for assoc in self.of(T.MAIN_ROUTE_TABLE_ASSOC):
            tables = self.deps(assoc, "routeTableId", [T.ROUTE_TABLE, T.DEFAULT_ROUTE_TABLE])
            for v in self.deps(assoc, "vpcId", [T.VPC]):
                if tables:
                    main[v.urn] = tables[0].urn
                    main_assoc[v.urn] = assoc.urn
                else:
                    self.problem(assoc, "routeTableId", "the VPC's main route table is replaced by a table "
                                                        "that is not a resource of this stack")
        for vpc in self.vpc_nets:
            pseudo = f"main|{vpc}"
            self.rt_routes.setdefault(pseudo, [])
            self.vpc_tables.setdefault(vpc, set()).add(pseudo)
            main.setdefault(vpc, pseudo)
        # inline routes
        for rt in self.of(T.ROUTE_TABLE, T.DEFAULT_ROUTE_TABLE):
            routes = pget(rt, "routes")
            if is_unknown(routes):
                self.problem(rt, "routes", "the route table's routes are unknown at preview; treated as "
                                           "routing to an internet gateway (fail closed)")
                self.rt_routes[rt.urn].append((_PUBLIC_INTERNET, "igw", None, rt.urn))
                continue
            for entry in _items(routes):
                if not isinstance(entry, dict):
                    continue
                dest = self._route_dest(rt, entry)
                kind, target = self._route_target(rt, entry, "routes")
                self.rt_routes[rt.urn].append((dest, kind, target, rt.urn))
        # route resources
        for route in self.of(T.ROUTE):
            tables = [t.urn for t in self.deps(route, "routeTableId", [T.ROUTE_TABLE, T.DEFAULT_ROUTE_TABLE])]
            tables += [main[v.urn] for v in self.deps(route, "routeTableId", [T.VPC]) if v.urn in main]
            dest = self._route_dest(route, route.props)
            kind, target = self._route_target(route, route.props, None)
            if not tables:
                if kind in ("igw", "unknown", "foreign"):
                    self.problem(route, "routeTableId", "the route changes a route table that is not a "
                                                        "resource of this stack, so the model cannot tell "
                                                        "which subnets it makes public (fail closed)")
                continue
            for t in tables:
                self.rt_routes.setdefault(t, []).append((dest, kind, target, route.urn))
        # subnet -> table
        explicit: dict[str, str] = {}
        for assoc in self.of(T.ROUTE_TABLE_ASSOC):
            tables = [t.urn for t in self.deps(assoc, "routeTableId", [T.ROUTE_TABLE, T.DEFAULT_ROUTE_TABLE])]
            tables += [main[v.urn] for v in self.deps(assoc, "routeTableId", [T.VPC]) if v.urn in main]
            subs = self.deps(assoc, "subnetId", [T.SUBNET])
            if pget(assoc, "subnetId") is not None and not subs:
                self.problem(assoc, "subnetId", "the association names a subnet that is not a resource of this stack")
            if not tables:
                self.problem(assoc, "routeTableId", "the association names a route table that is not a resource "
                                                    "of this stack; its subnet is treated as public (fail closed)")
            for sub in subs:
                explicit[sub.urn] = tables[0] if tables else None
        for sub in self.of(T.SUBNET):
            vpc = self.subnet_vpc.get(sub.urn)
            via_main = None
            if sub.urn in explicit:
                table = explicit[sub.urn]
            else:
                table = main.get(vpc) if vpc else None
                via_main = main_assoc.get(vpc) if vpc else None
            self.subnet_table[sub.urn] = table
            reasons = []
            if table is None:
                reasons.append((sub.urn, "has a route table the model cannot see (fail closed)"))
            else:
                for dest, kind, _target, opener in self.rt_routes.get(table, ()):
                    if kind in ("igw", "unknown") and (dest is None or has_public_part(dest)):
                        how = " (it is the VPC's main route table)" if sub.urn not in explicit else ""
                        reasons.append((via_main or opener,
                                        f"routes {dest or 'a destination'} to an internet gateway{how}"))
                        break
            self.public_subnets[sub.urn] = reasons

    def _route_dest(self, res: Resource, entry: dict) -> Network | None:
        for prop in ("cidrBlock", "destinationCidrBlock", "ipv6CidrBlock", "destinationIpv6CidrBlock"):
            value = entry.get(prop)
            if value is not None and not same(value, ""):
                net = parse_cidr(value)
                if net is None and is_unknown(value):
                    return None
                return net
        return None  # a prefix list or unknown destination: anything

    def remote_sources(self, vpc: str | None, net: Network) -> list[tuple[str, Any, str]]:
        """Where traffic from `net` (outside the VPC) can come from through the VPC's routes
        other than the internet gateway: ("subnet", urn, why) or ("internet", opener, why)."""
        key = (vpc, net)
        cache = self.__dict__.setdefault("_remote_cache", {})
        if key not in cache:
            cache[key] = self._remote_sources(vpc, net)
        return cache[key]

    def _remote_sources(self, vpc: str | None, net: Network) -> list[tuple[str, Any, str]]:
        out = []
        tables = self.vpc_tables.get(vpc, ()) if vpc else ()
        for table in tables:
            for dest, kind, target, opener in self.rt_routes.get(table, ()):
                if kind in ("igw", "eigw", "nat", "local", "endpoint", "unknown"):
                    continue
                if dest is None:
                    part = net
                elif dest.version != net.version or not dest.overlaps(net):
                    continue
                else:
                    part = net if (dest == net or dest.supernet_of(net)) else dest
                other = self._other_side(kind, target, vpc)
                if other is None:
                    out.append(("internet", opener, f"{part} is routed to {kind} {self._name(target) if isinstance(target, str) else target}, "
                                                    "a network outside the stack"))
                    continue
                for ovpc in other:
                    for sub in self.subnets.overlapping(part, ovpc):
                        out.append(("subnet", sub, f"{part} is routed through {kind} to VPC {self._name(ovpc)}"))
        return out

    def _other_side(self, kind: str, target: Any, vpc: str | None) -> list[str] | None:
        res = self.stack.by_urn.get(target) if isinstance(target, str) else None
        if res is None:
            return None
        if kind == "peering":
            vpcs = {v.urn for p in ("vpcId", "peerVpcId") for v in self.deps(res, p, [T.VPC])}
            if len(vpcs) < 2 and res.type == T.PEERING:
                return None
            return sorted(vpcs - {vpc})
        if kind == "tgw":
            attached: list[str] = []
            for att in self.of(T.TGW_VPC_ATTACHMENT):
                if any(d.urn == res.urn for d in self.deps(att, "transitGatewayId", [T.TRANSIT_GATEWAY])):
                    vpcs = self.deps(att, "vpcId", [T.VPC])
                    if not vpcs:
                        return None
                    attached.extend(v.urn for v in vpcs)
            return sorted(set(attached) - {vpc})
        return None

    # -- network ACLs

    def _nacls(self) -> None:
        default_acl: dict[str, str] = {}
        for acl in self.of(T.NACL, T.DEFAULT_NACL):
            rules = self.acl_rules.setdefault(acl.urn, {"in": [], "out": []})
            for prop, direction in (("ingress", "in"), ("egress", "out")):
                entries = pget(acl, prop)
                if is_unknown(entries):
                    rules[direction].append(AclRule(0, True, ALL, None))
                    continue
                for e in _items(entries):
                    if isinstance(e, dict):
                        rules[direction].append(self._acl_rule(e, "ruleNo", "action"))
            subs = self.deps(acl, "subnetIds", [T.SUBNET])
            for s in subs:
                self.subnet_acl[s.urn] = acl.urn
            if acl.type == T.DEFAULT_NACL:
                for v in self.deps(acl, "defaultNetworkAclId", [T.VPC]):
                    default_acl[v.urn] = acl.urn
        for rule in self.of(T.NACL_RULE):
            acls = self.deps(rule, "networkAclId", [T.NACL, T.DEFAULT_NACL])
            egress = pget(rule, "egress")
            direction = "out" if same(egress, True) else "in"
            for acl in acls:
                self.acl_rules.setdefault(acl.urn, {"in": [], "out": []})[direction].append(
                    self._acl_rule(rule.props, "ruleNumber", "ruleAction"))
        for assoc in self.of(T.NACL_ASSOC):
            acls = self.deps(assoc, "networkAclId", [T.NACL, T.DEFAULT_NACL])
            for s in self.deps(assoc, "subnetId", [T.SUBNET]):
                self.subnet_acl[s.urn] = acls[0].urn if acls else None
        for sub in self.of(T.SUBNET):
            if sub.urn not in self.subnet_acl:
                vpc = self.subnet_vpc.get(sub.urn)
                self.subnet_acl[sub.urn] = default_acl.get(vpc) if vpc else None

    @staticmethod
    def _acl_rule(e: dict, number_key: str, action_key: str) -> AclRule:
        action = e.get(action_key)
        allow = not same(str(action).lower() if isinstance(action, str) else action, "deny")
        try:
            number = int(e.get(number_key))
        except (TypeError, ValueError):
            number = 0 if allow else 32767  # unknown order: an allow first, a deny last (never safer)
        ports = ports_of(e.get("protocol"), e.get("fromPort"), e.get("toPort"))
        if ports is None:
            ports = ALL if allow else Ports("none", -1, -1)
        cidr_value = e.get("cidrBlock") or e.get("ipv6CidrBlock")
        cidr = parse_cidr(cidr_value)
        if cidr is None and not allow:
            ports = Ports("none", -1, -1)  # an unreadable deny denies nothing we rely on
        return AclRule(number, allow, ports, cidr)

    def acl_ok(self, subnets: Iterable[str], src: Network | None, ports: Ports) -> bool:
        """Does at least one of these subnets' ACLs let the request in and the reply out?"""
        subnets = list(subnets)
        if not subnets:
            return True
        reply = ALL if ports.proto == "all" else Ports(ports.proto, 1024, 65535)
        for s in subnets:
            acl = self.subnet_acl.get(s)
            if acl is None:
                return True  # the VPC default ACL allows everything
            rules = self.acl_rules.get(acl, {"in": [], "out": []})
            if acl_allows(rules["in"], src, ports) and acl_allows(rules["out"], src, reply):
                return True
        return False

    def acl_out_ok(self, subnet: str, ports: Ports) -> bool:
        acl = self.subnet_acl.get(subnet)
        if acl is None:
            return True
        rules = self.acl_rules.get(acl, {"in": [], "out": []})
        reply = ALL if ports.proto == "all" else Ports(ports.proto, 1024, 65535)
        return acl_allows(rules["out"], None, ports) and acl_allows(rules["in"], None, reply)

    # -- security groups

    def _security_groups(self) -> None:
        for sg in self.of(*T.SECURITY_GROUPS):
            vpcs = self.deps(sg, "vpcId", [T.VPC])
            self.sg_vpc[sg.urn] = vpcs[0].urn if vpcs else None
            if sg.type == T.DEFAULT_SG:
                for v in vpcs:
                    self.default_sg[v.urn] = sg.urn
            rules = self.sg_rules.setdefault(sg.urn, [])
            ingress = pget(sg, "ingress")
            if is_unknown(ingress):
                self.problem(sg, "ingress", "the inline ingress rules are unknown at preview; they are "
                                            "treated as open to the internet (fail closed)")
                rules.append(Source("internet", "unknown inline ingress", sg.urn))
                continue
            for i, entry in enumerate(_items(ingress)):
                if not isinstance(entry, dict):
                    continue
                ports = self._rule_ports(sg, f"ingress[{i}]", entry.get("protocol"), entry.get("fromPort"),
                                         entry.get("toPort"))
                rules.extend(self._sources(
                    sg, sg.urn, f"ingress[{i}]", opener=sg.urn, ports=ports,
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
            ports = self._rule_ports(rule, "", pget(rule, "protocol"), pget(rule, "fromPort"), pget(rule, "toPort"))
            self._attach_rule(rule, self._sources(
                rule, None, "", opener=rule.urn, ports=ports,
                cidrs=(pget(rule, "cidrBlocks"), "cidrBlocks"),
                cidrs6=(pget(rule, "ipv6CidrBlocks"), "ipv6CidrBlocks"),
                prefix=(pget(rule, "prefixListIds"), "prefixListIds"),
                sgref=(pget(rule, "sourceSecurityGroupId"), "sourceSecurityGroupId"),
                self_ref=pget(rule, "self")))
        for rule in self.of(T.SG_INGRESS_RULE):
            ports = self._rule_ports(rule, "", pget(rule, "ipProtocol"), pget(rule, "fromPort"), pget(rule, "toPort"))
            self._attach_rule(rule, self._sources(
                rule, None, "", opener=rule.urn, ports=ports,
                cidrs=(pget(rule, "cidrIpv4"), "cidrIpv4"),
                cidrs6=(pget(rule, "cidrIpv6"), "cidrIpv6"),
                prefix=(pget(rule, "prefixListId"), "prefixListId"),
                sgref=(pget(rule, "referencedSecurityGroupId"), "referencedSecurityGroupId"),
                self_ref=None))

    def _rule_ports(self, res: Resource, where: str, protocol: Any, lo: Any, hi: Any) -> Ports:
        at = f"{where}." if where else ""
        if is_unknown(protocol) or is_unknown(lo) or is_unknown(hi):
            self.problem(res, f"{at}protocol", "the rule's protocol or ports are unknown at preview; treated "
                                               "as all traffic (fail closed)")
            return ALL
        found = ports_of(protocol, lo, hi)
        return found if found is not None else ALL

    def _attach_rule(self, rule: Resource, sources: list[Source]) -> None:
        groups = self.deps(rule, "securityGroupId", T.SECURITY_GROUPS)
        if not groups:
            literal = pget(rule, "securityGroupId")
            tags = pget(rule, "tags")
            if isinstance(literal, str) and isinstance(tags, dict) and tags.get(FOREIGN_SG_TAG) == literal:
                self._foreign_rule(rule, literal, sources)
            elif literal is not None:
                self.problem(rule, "securityGroupId", "the rule's security group is not a resource of "
                                                      "this stack (no property dependency), so the model "
                                                      "cannot tell what it opens")
            return
        for sg in groups:
            self.sg_rules.setdefault(sg.urn, [])
            self.sg_rules[sg.urn].extend(
                Source("sg", sg.urn, s.opener, s.ports) if s.kind == "self" else s for s in sources)

    def _foreign_rule(self, rule: Resource, group: str, sources: list[Source]) -> None:
        """A rule the stack adds to a backend's security group it does not own, declared so by the
        rule's `layerguard:foreign-security-group` tag (docs/CONTRACTS.md). The group's other rules
        are invisible here: the rule itself must admit only Wallarm node security groups, and the
        group is reported at every preview (report-acknowledged-gaps) for `layerguard verify` to
        audit."""
        others = [s for s in sources if not (s.kind == "sg" and self.layer(s.value) == "node")]
        if others or not sources:
            what = ", ".join(sorted({self._source_label(s) for s in others})) or "nothing it names"
            self.problem(rule, "securityGroupId", f"the rule opens security group {group}, which the stack does "
                                                  "not own and declares as the backend's, to " + what +
                                                  "; only the Wallarm nodes' security group may be admitted")
            return
        self.foreign_groups.append((rule.urn, group))

    def _source_label(self, s: Source) -> str:
        if s.kind == "sg":
            return self.label(_SG + s.value)
        if s.kind == "cidr":
            return str(s.value)
        return s.kind if s.value is None else f"{s.kind} ({s.value})"

    def _sources(self, res: Resource, own_sg: str | None, where: str, opener: str, ports: Ports,
                 cidrs: tuple, cidrs6: tuple, prefix: tuple, sgref: tuple, self_ref: Any) -> list[Source]:
        out: list[Source] = []
        at = f"{where}." if where else ""
        for (values, dep_prop), family in ((cidrs, "cidrBlocks"), (cidrs6, "ipv6CidrBlocks")):
            if values is None:
                continue
            items = [values] if is_unknown(values) else _items(values)
            unresolved = False
            for v in items:
                if is_unknown(v):
                    unresolved = True
                    continue
                net = parse_cidr(v)
                if net is None:
                    if v not in ("", None):
                        self.problem(res, f"{at}{dep_prop}", f"{v!r} is not a CIDR; treated as the internet")
                        out.append(Source("internet", f"unparseable CIDR {v!r}", opener, ports))
                    continue
                out.append(Source("cidr", net, opener, ports))
            if unresolved:
                found = self.deps(res, dep_prop, [T.SUBNET, T.VPC])
                nets = []
                for d in found:
                    pool = self.subnet_nets.get(d.urn) if d.type == T.SUBNET else self.vpc_nets.get(d.urn)
                    want = 4 if family == "cidrBlocks" else 6
                    nets.extend(n for n in (pool or []) if n.version == want)
                if nets:
                    out.extend(Source("cidr", n, opener, ports) for n in nets)
                else:
                    self.problem(res, f"{at}{dep_prop}", "a CIDR is unknown at preview and does not come "
                                                         "from a subnet or VPC of this stack; it is "
                                                         "treated as the internet (fail closed)")
                    out.append(Source("internet", "unknown CIDR", opener, ports))
        values, dep_prop = prefix
        items = [values] if is_unknown(values) else _items(values)
        items = [v for v in items if v is not None and not same(v, "")]
        if items:
            pl_deps = self.deps(res, dep_prop, [T.PREFIX_LIST])
            for pl in pl_deps:
                out.extend(self._prefix_list_sources(pl, opener, ports))
            for v in items:
                if is_unknown(v):
                    if not pl_deps:
                        self.problem(res, f"{at}{dep_prop}", "a prefix list is unknown at preview and is "
                                                             "not a resource of this stack; treated as the "
                                                             "internet")
                        out.append(Source("internet", "unknown prefix list", opener, ports))
                elif isinstance(v, str) and (v in self.cf_ids or v == T.CLOUDFRONT_PREFIX_LIST_NAME):
                    out.append(Source("cloudfront", v, opener, ports))
                elif not pl_deps and v:
                    out.append(Source("internet", f"prefix list {v} (contents unknown to the stack)", opener, ports))
        values, dep_prop = sgref
        if values is not None and not same(values, []):
            groups = self.deps(res, dep_prop, T.SECURITY_GROUPS)
            out.extend(Source("sg", g.urn, opener, ports) for g in groups)
            n_items = len(_items(values)) if not is_unknown(values) else 1
            if not groups or (not is_unknown(values) and n_items > len(groups)):
                self.problem(res, f"{at}{dep_prop}", "a source security group is not a resource of "
                                                     "this stack, so its members are unknown; treated "
                                                     "as the internet (fail closed)")
                out.append(Source("internet", "security group outside the stack", opener, ports))
        if self_ref is not None and (is_unknown(self_ref) or self_ref):
            out.append(Source("sg", own_sg, opener, ports) if own_sg else Source("self", None, opener, ports))
        return out

    def _prefix_list_sources(self, pl: Resource, opener: str, ports: Ports) -> list[Source]:
        name = pget(pl, "name")
        if same(name, T.CLOUDFRONT_PREFIX_LIST_NAME):
            return [Source("cloudfront", name, opener, ports)]
        nets = []
        entries = pget(pl, "entries")
        unknown = is_unknown(entries)
        for e in _items(entries) if not unknown else []:
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
        out = [Source("cidr", n, opener, ports) for n in nets]
        if unknown:
            out.append(Source("internet", f"prefix list '{pl.name}' with unknown entries", opener, ports))
        return out

    # -- endpoints: one builder per kind

    def _endpoint(self, res: Resource, kind: str, sgs: Iterable[Resource], subnets: Iterable[Resource]) -> Endpoint:
        tag = res.tag_layer
        if is_unknown(tag):
            self.problem(res, "tags", "the layerguard:layer tag is unknown at preview; the resource is "
                                      "treated as unclassified (untrusted)")
        ep = Endpoint(res.urn, kind, self.stack.layer(res),
                      sgs=list(dict.fromkeys(s.urn for s in sgs)),
                      subnets=list(dict.fromkeys(s.urn for s in subnets)))
        vpcs = {self.subnet_vpc.get(s) for s in ep.subnets} - {None}
        ep.vpc = next(iter(vpcs)) if len(vpcs) == 1 else None
        self.endpoints[res.urn] = ep
        return ep

    def _publicly(self, ep: Endpoint, opener: str, reason: str) -> None:
        """A public address: reachable only from a subnet routed to an internet gateway."""
        routed = [s for s in ep.subnets if self.public_subnets.get(s)]
        if routed or not ep.subnets:
            ep.public.append((opener, reason))

    def _endpoints(self) -> None:
        builders = {}
        for t in T.LOAD_BALANCERS:
            builders[t] = self._lb
        builders.update({T.ECS_SERVICE: self._ecs, T.INSTANCE: self._instance, T.SPOT_INSTANCE: self._instance,
                         T.NETWORK_INTERFACE: self._eni, T.ASG: self._asg, T.LAMBDA: self._lambda,
                         T.RDS_INSTANCE: self._rds, T.RDS_CLUSTER_INSTANCE: self._rds_cluster_instance,
                         T.DISTRIBUTION: self._distribution,
                         T.REST_API: self._rest_api, T.HTTP_API: self._http_api, T.HTTP_VPC_LINK: self._vpc_link})
        for res in self.stack.resources:
            build = builders.get(res.type)
            if build is not None:
                build(res)
        self._function_urls()
        self._elastic_ips()
        self._unused_launch_templates()

    def _lb(self, lb: Resource) -> None:
        sgt = T.SECURITY_GROUPS
        sgs = self._owned(lb, "securityGroups", "securityGroups", sgt, "security groups")
        subnets = self._owned(lb, "subnets", "subnets", [T.SUBNET], "subnets")
        subnets += self.deps(lb, "subnetMappings", [T.SUBNET])
        ep = self._endpoint(lb, "lb", sgs, subnets)
        lb_type = pget(lb, "loadBalancerType")
        ep.kind = "nlb" if same(lb_type, "network") else ("gwlb" if same(lb_type, "gateway") else "alb")
        if is_unknown(lb_type):
            self.problem(lb, "loadBalancerType", "the load balancer type is unknown at preview")
        internal = pget(lb, "internal")
        if is_unknown(internal):
            self.problem(lb, "internal", "internal is unknown at preview; the load balancer is treated "
                                         "as internet-facing (fail closed)")
            self._publicly(ep, lb.urn, "may be internet-facing (internal unknown)")
        elif internal is not True:
            self._publicly(ep, lb.urn, "is internet-facing")
        if ep.kind == "nlb" and not ep.sgs and ep.public:
            ep.exposures.append((lb.urn, "is an internet-facing network load balancer without a security "
                                         "group, which admits every source address"))

    def _ecs(self, svc: Resource) -> None:
        sgt = T.SECURITY_GROUPS
        sgs = self._owned(svc, "networkConfiguration.securityGroups", "networkConfiguration", sgt, "security groups")
        subnets = self._owned(svc, "networkConfiguration.subnets", "networkConfiguration", [T.SUBNET], "subnets")
        ep = self._endpoint(svc, "ecs", sgs, subnets)
        if self._bool(svc, "networkConfiguration.assignPublicIp", False, "a public IP"):
            self._publicly(ep, svc.urn, "assigns public IPs to its tasks")

    def _instance(self, inst: Resource) -> None:
        sgt = T.SECURITY_GROUPS
        tpl = self.deps(inst, "launchTemplate", [T.LAUNCH_TEMPLATE])
        sgs = self._owned(inst, "vpcSecurityGroupIds", "vpcSecurityGroupIds", sgt, "security groups")
        sgs += self._owned(inst, "securityGroups", "securityGroups", sgt, "security groups")
        subnets = self._owned(inst, "subnetId", "subnetId", [T.SUBNET], "subnet")
        for lt in tpl:
            sgs += self.deps_any(lt, ("vpcSecurityGroupIds", "networkInterfaces"), sgt)
            subnets += self.deps(lt, "networkInterfaces", [T.SUBNET])
        ep = self._endpoint(inst, "instance", sgs, subnets)
        assoc = self._bool(inst, "associatePublicIpAddress", None, "a public IP")
        for lt in tpl:
            if assoc is None:
                assoc = self._lt_public(lt)
        if assoc is None:
            assoc = any(pget(self.stack.by_urn[s], "mapPublicIpOnLaunch") is True for s in ep.subnets
                        if s in self.stack.by_urn)
        if assoc:
            self._publicly(ep, inst.urn, "associates a public IP address")
        if self._ipv6(inst, ep):
            self._publicly(ep, inst.urn, "has IPv6 addresses (globally routable)")

    def _eni(self, eni: Resource) -> None:
        sgs = self._owned(eni, "securityGroups", "securityGroups", T.SECURITY_GROUPS, "security groups")
        subnets = self._owned(eni, "subnetId", "subnetId", [T.SUBNET], "subnet")
        ep = self._endpoint(eni, "eni", sgs, subnets)
        if self._ipv6(eni, ep):
            self._publicly(ep, eni.urn, "has IPv6 addresses (globally routable)")

    def _ipv6(self, res: Resource, ep: Endpoint) -> bool:
        """IPv6 addresses are public: no NAT stands between them and an internet gateway route."""
        count = pget(res, "ipv6AddressCount")
        if is_unknown(count) or (isinstance(count, (int, float)) and count > 0):
            return True
        addresses = pget(res, "ipv6Addresses")
        if is_unknown(addresses) or (isinstance(addresses, list) and addresses):
            return True
        return any(pget(self.stack.by_urn[s], "assignIpv6AddressOnCreation") is True for s in ep.subnets
                   if s in self.stack.by_urn)

    def _asg(self, asg: Resource) -> None:
        sgt = T.SECURITY_GROUPS
        tpl = self.deps_any(asg, ("launchTemplate", "mixedInstancesPolicy"), [T.LAUNCH_TEMPLATE])
        subnets = self._owned(asg, "vpcZoneIdentifiers", "vpcZoneIdentifiers", [T.SUBNET], "subnets")
        sgs = []
        for lt in tpl:
            sgs += self.deps_any(lt, ("vpcSecurityGroupIds", "networkInterfaces"), sgt)
            subnets += self.deps(lt, "networkInterfaces", [T.SUBNET])
        if pget(asg, "launchConfiguration") is not None and not self.deps(asg, "launchConfiguration",
                                                                          [T.LAUNCH_CONFIGURATION]):
            self.problem(asg, "launchConfiguration", "the group launches from a launch configuration, whose "
                                                     "public IP and security groups the model does not follow")
        ep = self._endpoint(asg, "asg", sgs, subnets)
        public = None
        for lt in tpl:
            value = self._lt_public(lt)
            if value:
                self._publicly(ep, lt.urn, "launch template associates public IP addresses")
            public = value if public is None else (public or value)
        if public is None and any(pget(self.stack.by_urn[s], "mapPublicIpOnLaunch") is True
                                  for s in ep.subnets if s in self.stack.by_urn):
            self._publicly(ep, asg.urn, "launches in a subnet that maps public IPs")

    def _lambda(self, fn: Resource) -> None:
        sgs = self._owned(fn, "vpcConfig.securityGroupIds", "vpcConfig", T.SECURITY_GROUPS, "security groups")
        subnets = self._owned(fn, "vpcConfig.subnetIds", "vpcConfig", [T.SUBNET], "subnets")
        self._endpoint(fn, "lambda", sgs, subnets)

    def _rds(self, db: Resource) -> None:
        subnets = []
        for group in self.deps(db, "dbSubnetGroupName", [T.DB_SUBNET_GROUP]):
            subnets += self._owned(group, "subnetIds", "subnetIds", [T.SUBNET], "subnets")
        if pget(db, "dbSubnetGroupName") is not None and not self.deps(db, "dbSubnetGroupName", [T.DB_SUBNET_GROUP]):
            self.problem(db, "dbSubnetGroupName", "the database's subnet group is not a resource of this stack")
        sgs = self._owned(db, "vpcSecurityGroupIds", "vpcSecurityGroupIds", T.SECURITY_GROUPS, "security groups")
        ep = self._endpoint(db, "rds", sgs, subnets)
        if self._bool(db, "publiclyAccessible", False, "public accessibility"):
            self._publicly(ep, db.urn, "is publicly accessible")

    def _rds_cluster_instance(self, db: Resource) -> None:
        """An Aurora instance: its cluster's security groups, its (or its cluster's) subnet group."""
        clusters = self.deps(db, "clusterIdentifier", [T.RDS_CLUSTER])
        if not clusters:
            self.problem(db, "clusterIdentifier", "the instance's cluster is not a resource of this stack")
        sgs, subnets = [], []
        for group in self.deps(db, "dbSubnetGroupName", [T.DB_SUBNET_GROUP]):
            subnets += self._owned(group, "subnetIds", "subnetIds", [T.SUBNET], "subnets")
        for cluster in clusters:
            sgs += self._owned(cluster, "vpcSecurityGroupIds", "vpcSecurityGroupIds", T.SECURITY_GROUPS,
                               "security groups")
            if not subnets:
                for group in self.deps(cluster, "dbSubnetGroupName", [T.DB_SUBNET_GROUP]):
                    subnets += self._owned(group, "subnetIds", "subnetIds", [T.SUBNET], "subnets")
        ep = self._endpoint(db, "rds", sgs, subnets)
        if self._bool(db, "publiclyAccessible", False, "public accessibility"):
            self._publicly(ep, db.urn, "is publicly accessible")

    def _distribution(self, dist: Resource) -> None:
        ep = self._endpoint(dist, "cloudfront", [], [])
        ep.exposures.append((dist.urn, "is a CloudFront distribution"))

    def _rest_api(self, api: Resource) -> None:
        ep = self._endpoint(api, "restapi", [], [])
        types = pget(api, "endpointConfiguration.types")
        if is_unknown(types):
            self.problem(api, "endpointConfiguration.types", "the endpoint type is unknown at preview; "
                                                              "the API is treated as public")
            ep.exposures.append((api.urn, "may be public (endpoint type unknown)"))
        elif not (same(types, "PRIVATE") or (isinstance(types, list) and types
                                              and all(same(t, "PRIVATE") for t in types))):
            ep.exposures.append((api.urn, "is a public REST API"))

    def _http_api(self, api: Resource) -> None:
        ep = self._endpoint(api, "httpapi", [], [])
        ep.exposures.append((api.urn, "is a public HTTP API"))

    def _vpc_link(self, link: Resource) -> None:
        self._endpoint(link, "vpclink", self.deps(link, "securityGroupIds", T.SECURITY_GROUPS),
                       self.deps(link, "subnetIds", [T.SUBNET]))

    def _function_urls(self) -> None:
        for url in self.of(T.LAMBDA_URL):
            fns = self.deps(url, "functionName", [T.LAMBDA])
            if not fns:
                self.problem(url, "functionName", "the function URL's function is not a resource of this stack")
            auth = pget(url, "authorizationType")
            if same(auth, "AWS_IAM"):
                continue  # only signed requests of IAM principals: not a public entry
            if is_unknown(auth):
                self.problem(url, "authorizationType", "the authorization type is unknown at preview; "
                                                       "treated as NONE (public)")
            for fn in fns:
                self.endpoints[fn.urn].exposures.append((url.urn, "has a function URL reachable from the internet"))

    def _elastic_ips(self) -> None:
        targets_types = [T.INSTANCE, T.NETWORK_INTERFACE]
        for_nat = {e.urn for nat in self.of(T.NAT_GATEWAY) for e in self.deps(nat, "allocationId", [T.EIP])}
        for eip in self.of(T.EIP):
            for target in self.deps_any(eip, ("instance", "networkInterface"), targets_types):
                self._publicly(self.endpoints[target.urn], eip.urn, "has an Elastic IP")
            # After an update the provider reports where AWS attached the address: a NAT gateway's
            # own interface, or what an association resource names. Only what the program set
            # itself is an attachment of the EIP (the Analyze inputs say what it set).
            attached = [p for p in ("instance", "networkInterface")
                        if pget(eip, p) is not None and _configured(eip, p)]
            if attached and eip.urn not in for_nat and \
                    not self.deps_any(eip, ("instance", "networkInterface"), targets_types):
                self.problem(eip, "instance", "the Elastic IP is attached to something that is not a resource "
                                              "of this stack")
        for assoc in self.of(T.EIP_ASSOC):
            targets = self.deps_any(assoc, ("instanceId", "networkInterfaceId"), targets_types)
            for target in targets:
                self._publicly(self.endpoints[target.urn], assoc.urn, "has an Elastic IP association")
            if not targets:
                self.problem(assoc, "instanceId", "the Elastic IP association targets nothing of this stack "
                                                  "the model can follow (no property dependency)")

    def _unused_launch_templates(self) -> None:
        used = {lt.urn for r in self.of(T.INSTANCE, T.SPOT_INSTANCE, T.ASG)
                for lt in self.deps_any(r, ("launchTemplate", "mixedInstancesPolicy"), [T.LAUNCH_TEMPLATE])}
        for lt in self.of(T.LAUNCH_TEMPLATE):
            if lt.urn not in used and self._lt_public(lt):
                self.problem(lt, "networkInterfaces", "the launch template associates public IP addresses and "
                                                      "is used by nothing in this stack the model can follow")

    def _lt_public(self, lt: Resource) -> bool | None:
        nics = pget(lt, "networkInterfaces")
        if is_unknown(nics):
            self.problem(lt, "networkInterfaces", "the launch template's network interfaces are unknown at "
                                                  "preview; treated as public (fail closed)")
            return True
        result = None
        for i, nic in enumerate(_items(nics)):
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

    # -- what carries an app's traffic is app

    def _carriers(self) -> None:
        for att in self.of(T.ENI_ATTACHMENT):
            for eni in self.deps(att, "networkInterfaceId", [T.NETWORK_INTERFACE]):
                for inst in self.deps(att, "instanceId", [T.INSTANCE, T.SPOT_INSTANCE]):
                    if self.layer(inst.urn) in ("app", UNCLASSIFIED):
                        self._carry(eni.urn, inst.urn)
                    else:
                        self._carry(inst.urn, eni.urn)
        for sga in self.of(T.ENI_SG_ATTACHMENT):
            sgs = self.deps(sga, "securityGroupId", T.SECURITY_GROUPS)
            targets = self.deps(sga, "networkInterfaceId", [T.NETWORK_INTERFACE, T.INSTANCE, T.SPOT_INSTANCE])
            if not sgs or not targets:
                self.problem(sga, "networkInterfaceId", "the security group attachment names a network "
                                                        "interface or group that is not a resource of this stack")
            for t in targets:
                ep = self.endpoints.get(t.urn)
                if ep is not None:
                    for s in sgs:
                        if s.urn not in ep.sgs:
                            ep.sgs.append(s.urn)
                            ep.sg_openers[s.urn] = sga.urn
        cluster_default: dict[str, list[Resource]] = {}
        for ccp in self.of(T.ECS_CLUSTER_CAPACITY_PROVIDERS):
            providers = self.deps_any(ccp, ("capacityProviders", "defaultCapacityProviderStrategies"),
                                      [T.ECS_CAPACITY_PROVIDER])
            for cluster in self.deps(ccp, "clusterName", [T.ECS_CLUSTER]):
                cluster_default.setdefault(cluster.urn, []).extend(providers)
        for svc in self.of(T.ECS_SERVICE):
            ep = self.endpoints[svc.urn]
            providers = self.deps(svc, "capacityProviderStrategies", [T.ECS_CAPACITY_PROVIDER])
            launch = pget(svc, "launchType")
            if not providers and not same(launch, "FARGATE") and pget(svc, "capacityProviderStrategies") is None:
                for cluster in self.deps(svc, "cluster", [T.ECS_CLUSTER]):
                    providers += cluster_default.get(cluster.urn, [])
            hosts = [asg for cp in providers
                     for asg in self.deps(cp, "autoScalingGroupProvider", [T.ASG])]
            ec2 = same(launch, "EC2") or (bool(providers) and not any(
                same(pget(cp, "name"), n) for cp in providers for n in ("FARGATE", "FARGATE_SPOT")))
            if launch is None and not providers and pget(svc, "networkConfiguration") is None:
                ec2 = True  # no launch type, no capacity provider: ECS places the tasks on EC2 hosts
            if ec2 and not hosts:
                self.problem(svc, "launchType", "the service runs on EC2 container instances that are not "
                                                "resources of this stack, so the model cannot tell where its "
                                                "traffic arrives (fail closed)")
            for asg in hosts:
                if ep.layer in ("app", UNCLASSIFIED):
                    self._carry(asg.urn, svc.urn)
                host = self.endpoints.get(asg.urn)
                if host is not None and pget(svc, "networkConfiguration") is None:
                    # bridge/host networking: the tasks receive on the hosts' addresses and groups
                    ep.sgs.extend(s for s in host.sgs if s not in ep.sgs)
                    ep.subnets.extend(s for s in host.subnets if s not in ep.subnets)
                    ep.public.extend(host.public)

    def _carry(self, carrier: str, app: str) -> None:
        layer = self.layer(app)
        if layer in ("app", UNCLASSIFIED):
            self.layer_override[carrier] = "app"
            ep = self.endpoints.get(carrier)
            if ep is not None:
                ep.layer = "app"

    def _memberships(self) -> None:
        for ep in self.endpoints.values():
            if not ep.sgs and ep.kind in ("ecs", "instance", "eni", "asg", "rds", "alb", "vpclink"):
                # no security group: AWS applies the VPC's default group
                if ep.vpc in self.default_sg:
                    ep.sgs = [self.default_sg[ep.vpc]]
                else:
                    ep.sgs = [f"default|{ep.vpc or '?'}"]  # AWS default: admits its own members
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
            if isinstance(lbs, list) and lbs:
                wanted = [x for x in lbs if isinstance(x, dict) and x.get("targetGroupArn") is not None]
                if len(wanted) > len(self.deps(svc, "loadBalancers", tgt)):
                    self.problem(svc, "loadBalancers", "the service joins a target group that is not a "
                                                       "resource of this stack")
                if any(isinstance(x, dict) and x.get("elbName") is not None for x in lbs):
                    self.problem(svc, "loadBalancers", "the service registers with a Classic Load Balancer, "
                                                       "which the model does not follow")
        for asg in self.of(T.ASG):
            for prop in ("targetGroupArns", "trafficSources"):
                for tg in self.deps(asg, prop, tgt):
                    self.tg_members.setdefault(tg.urn, []).append((asg.urn, asg.urn))
            self._owned(asg, "targetGroupArns", "targetGroupArns", tgt, "target groups")
            if pget(asg, "loadBalancers") not in (None, []):
                self.problem(asg, "loadBalancers", "the group registers with a Classic Load Balancer, which "
                                                   "the model does not follow")
        for att in self.of(T.ASG_ATTACHMENT):
            asgs = self.deps(att, "autoscalingGroupName", [T.ASG])
            tgs = self.deps(att, "lbTargetGroupArn", tgt)
            if pget(att, "elb") is not None or (pget(att, "lbTargetGroupArn") is not None and not tgs):
                self.problem(att, "lbTargetGroupArn", "the attachment registers the group with a load "
                                                      "balancer the model does not follow")
            for tg in tgs:
                for asg in asgs:
                    self.tg_members.setdefault(tg.urn, []).append((asg.urn, att.urn))
        for att in self.of(*T.TG_ATTACHMENTS):
            tgs = self.deps(att, "targetGroupArn", tgt)
            if not tgs:
                self.problem(att, "targetGroupArn", "the attachment registers a target with a target group that "
                                                    "is not a resource of this stack (its load balancer could be "
                                                    "anything)")
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
        if self._in_subnet is None:
            self._in_subnet = {}
            for ep in self.endpoints.values():
                for s in ep.subnets:
                    self._in_subnet.setdefault(s, []).append(ep.urn)
        found = dict.fromkeys(u for s in self.subnets.overlapping(net, any_vpc=True)
                              for u in self._in_subnet.get(s, ()))
        if not found:
            self.problem(att, "targetId", f"the attachment targets {value}, an address in no subnet of this "
                                          "stack (outside the stack: could be anything)")
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

    # -- which ports each endpoint listens on

    def _listening(self) -> None:
        for urn, ep in self.endpoints.items():
            if ep.kind in ("alb", "nlb"):
                ep.listen = []
                for listener in self.lb_listeners.get(urn, ()):
                    ep.listen.extend(self._listener_ports(listener, ep.kind))
            elif ep.kind == "ecs":
                ep.listen = self._task_ports(self.stack.by_urn[urn])

    @staticmethod
    def _listener_ports(listener: Resource, kind: str) -> list:
        port = pget(listener, "port")
        proto = pget(listener, "protocol")
        number = int(port) if isinstance(port, (int, float)) else None
        if is_unknown(proto) or proto is None:
            protos = ["tcp"] if kind == "alb" else ["tcp", "udp"]
        else:
            p = str(proto).upper()
            protos = {"UDP": ["udp"], "TCP_UDP": ["tcp", "udp"]}.get(p, ["tcp"])
        return [(p, number) for p in protos]

    def _task_ports(self, svc: Resource) -> list | None:
        defs = self._containers(svc)
        if defs is None:
            return None
        out = []
        for c in defs:
            for pm in _items(c.get("portMappings")) if isinstance(c, dict) else []:
                if not isinstance(pm, dict):
                    continue
                port = pm.get("containerPort")
                proto = str(pm.get("protocol") or "tcp").lower()
                if not isinstance(port, (int, float)):
                    return None
                out.append((proto, int(port)))
        if pget(svc, "networkConfiguration") is None:
            return None  # bridge or host networking: host ports are dynamic
        return out

    def _containers(self, svc: Resource) -> list | None:
        tds = self.deps(svc, "taskDefinition", [T.ECS_TASK_DEFINITION])
        if len(tds) != 1:
            return None
        raw = pget(tds[0], "containerDefinitions")
        if not isinstance(raw, str):
            return raw if isinstance(raw, list) else None
        try:
            doc = json.loads(raw)
        except ValueError:
            return None
        return doc if isinstance(doc, list) else None

    # -- proven nodes

    def _prove_nodes(self) -> None:
        for urn, ep in self.endpoints.items():
            if ep.layer != "node" or not ep.compute:
                continue
            why = self._node_unproven(self.stack.by_urn[urn], ep)
            if why is None:
                self.filters.add(urn)
            else:
                self.unproven[urn] = why

    def _node_unproven(self, res: Resource, ep: Endpoint) -> str | None:
        if ep.kind != "ecs":
            return (f"a {ep.kind} cannot be proven to run the Wallarm node (only an ECS service whose task "
                    "definition the pack can read can)")
        tds = self.deps(res, "taskDefinition", [T.ECS_TASK_DEFINITION])
        if len(tds) != 1:
            return "its task definition is not a resource of this stack"
        raw = pget(tds[0], "containerDefinitions")
        if is_unknown(raw):
            sources = self.stack.deps(tds[0], "containerDefinitions")
            if sources and all(d.type.startswith(_SECRET_REFERENCES) for d in sources):
                # Unknown only because it embeds the ARN of a secret created in this stack: the
                # image cannot come from that ARN. Trusted at preview, proved exactly when the ARN
                # is known (update mode; `pulumi up` runs Analyze on the task definition first).
                self.pending[res.urn] = ", ".join(d.name for d in sources)
                return None
            return (f"the containerDefinitions of task definition '{tds[0].name}' are unknown at preview, so its "
                    "image cannot be proven (build them from values known at preview)")
        defs = self._containers(res)
        if defs is None:
            return f"the containerDefinitions of task definition '{tds[0].name}' are not a JSON list"
        rules = self.node_rules
        wallarm = [c for c in defs if isinstance(c, dict) and rules.is_wallarm_repo(c.get("image"))]
        if not wallarm:
            images = ", ".join(repr(c.get("image")) for c in defs if isinstance(c, dict))
            return f"no container runs the Wallarm node image (images: {images})"
        for c in wallarm:
            bad = rules.image_problem(c.get("image"))
            if bad:
                return bad
        ports = {c.get("name"): {pm.get("containerPort") for pm in _items(c.get("portMappings"))
                                 if isinstance(pm, dict)} for c in wallarm}
        for i, lb in enumerate(_items(pget(res, "loadBalancers"))):
            if not isinstance(lb, dict):
                continue
            name, port = lb.get("containerName"), lb.get("containerPort")
            if is_unknown(name) or is_unknown(port):
                return f"loadBalancers[{i}] names its container or port with a value unknown at preview"
            if name not in ports:
                return (f"its load balancer targets container {name!r}, not the Wallarm container "
                        f"({', '.join(repr(n) for n in ports)}): traffic would skip the node")
            if port not in ports[name] and (not isinstance(port, float) or int(port) not in ports[name]):
                return f"its load balancer targets port {port} of {name!r}, which the Wallarm container does not map"
        return None

    # -- CloudFront and API Gateway

    def _cloudfront(self) -> None:
        for dist in self.of(T.DISTRIBUTION):
            targets = self.cf_origins.setdefault(dist.urn, [])
            origin_deps = self.stack.deps(dist, "origins")
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
        for ep in self.endpoints.values():
            for opener, reason in ep.exposures:
                self._edge(INTERNET, ep.urn, [opener], reason)
            for sg in ep.sgs:
                self._edge(ep.urn, _SG + sg, self._stranger(ep, sg), "member of the security group",
                           membership=True)
                for src in self.sg_rules.get(sg, ()):
                    self._admit(ep, sg, src)
            if ep.compute:
                for s in ep.subnets:
                    self._edge(ep.urn, _NET + s, self._stranger(ep, s), "located in the subnet", membership=True)
            if ep.kind in ("nlb", "alb") and not ep.sgs and not ep.public:
                self._no_sg_internal(ep)
        for sub, reasons in self.public_subnets.items():
            for opener, reason in reasons:
                self._edge(INTERNET, _NET + sub, [opener], f"subnet {reason}")
        for lb_urn, listeners in self.lb_listeners.items():
            for listener in listeners:
                self._forward(lb_urn, listener, listener, "defaultActions")
                for rule in self.listener_rules.get(listener.urn, ()):
                    self._forward(lb_urn, listener, rule, "actions")
        for dist, targets in self.cf_origins.items():
            for target, via, opener in targets:
                self._edge(dist, target, [opener], "CloudFront VPC origin" if via == "vpc-origin" else "CloudFront origin")

    def _outside_members(self) -> None:
        """A security group labelled app with no member in the stack (an adopted backend's group,
        imported) protects app resources outside the stack. They are one protected endpoint here,
        `outside|<group>`: in the group, listening on any port, and, since the model cannot see
        their addresses, with a public one (fail closed). So the group's rules are judged as for any
        app resource: the nodes' group or subnets pass, the internet or the edge does not."""
        members = {sg for ep in self.endpoints.values() for sg in ep.sgs}
        for sg in self.of(*T.SECURITY_GROUPS):
            if sg.urn in members or sg.type == T.DEFAULT_SG or self.stack.layer(sg) != "app":
                continue
            vertex = _OUTSIDE + sg.urn
            ep = Endpoint(vertex, "outside", "app", sgs=[sg.urn], vpc=self.sg_vpc.get(sg.urn))
            ep.public.append((sg.urn, "its members are outside the stack and may have public addresses"))
            self.endpoints[vertex] = ep
            self.layer_override[vertex] = "app"

    def _no_sg_internal(self, ep: Endpoint) -> None:
        """An internal load balancer without security groups admits every address that can route to
        it: the compute in its VPC (a foothold there) and networks routed in."""
        for other in self.endpoints.values():
            if other.compute and other.urn != ep.urn and (other.vpc == ep.vpc or ep.vpc is None):
                found = carries(ALL, ep.listen)
                if found:
                    self._edge(other.urn, ep.urn, [ep.urn], "admitted: the load balancer has no security group",
                               ports=listen_text(found))

    def _admit(self, ep: Endpoint, sg: str, s: Source) -> None:
        found = carries(s.ports, ep.listen)
        if not found:
            return  # the rule admits nothing the resource listens on (or no request protocol at all)
        ports = listen_text(found)
        one = Ports(found[0][0], found[0][1], found[0][1]) if found[0][1] is not None else s.ports
        opener = (s.opener,) if s.opener else ()
        if sg in ep.sg_openers:
            opener = (ep.sg_openers[sg],)  # the group was attached by a separate resource
        if s.kind == "sg":
            openers = opener or (() if sg.startswith("default|") else (sg,))
            self._edge(_SG + s.value, ep.urn, openers, "admitted by a security-group reference", ports=ports)
        elif s.kind == "self":
            self._edge(_SG + sg, ep.urn, opener, "admitted by a self reference", ports=ports)
        elif s.kind in ("cloudfront", "internet"):
            if s.kind == "internet" or ep.public:
                if self.acl_ok(ep.subnets, None, one):
                    via_cf = s.kind == "cloudfront"
                    openers = opener if s.kind == "internet" or not ep.public or ep.kind == "outside" \
                        else tuple(o for o, _r in ep.public)
                    note = ("admitted from the CloudFront origin-facing prefix list" if via_cf
                            else f"admitted from {s.value}")
                    self._edge(INTERNET, ep.urn, openers, note, via_cf, ports=ports)
                    self.internet_admission.setdefault(ep.urn, []).append((opener, note, via_cf))
        elif s.kind == "cidr":
            self._admit_cidr(ep, sg, s, opener, ports, one)

    def _admit_cidr(self, ep: Endpoint, sg: str, s: Source, opener: tuple, ports: str, one: Ports) -> None:
        net = s.value
        vpc = self.sg_vpc.get(sg) or ep.vpc
        if vpc:
            inside = self.vpc_nets.get(vpc, [])
        else:
            if self._all_vpc_nets is None:
                self._all_vpc_nets = [n for ns in self.vpc_nets.values() for n in ns]
            inside = self._all_vpc_nets
        for sub in self.subnets.overlapping(net, vpc, any_vpc=vpc is None):
            src_net = self.subnet_nets.get(sub, [None])[0]
            if self.acl_ok(ep.subnets, src_net, one) and self.acl_out_ok(sub, one):
                self._edge(_NET + sub, ep.urn, opener, f"admitted from {net}, which overlaps the subnet", ports=ports)
        if not has_outside_part(net, inside):
            return
        if has_public_part(net) and ep.public and self.acl_ok(ep.subnets, net, one):
            note = f"admitted from {net} (internet addresses)"
            # the public address of an outside member is an assumption: the rule is what opens it
            openers = list(opener) if ep.kind == "outside" else [o for o, _r in ep.public]
            self._edge(INTERNET, ep.urn, openers, note, ports=ports)
            self.internet_admission.setdefault(ep.urn, []).append((opener, note, False))
        for kind, value, why in self.remote_sources(vpc, net):
            if kind == "subnet":
                self._edge(_NET + value, ep.urn, opener, f"admitted from {net}; {why}", ports=ports)
            elif self.acl_ok(ep.subnets, net, one):
                self._edge(INTERNET, ep.urn, opener + ((value,) if value else ()), f"admitted from {net}; {why}",
                           ports=ports)

    def _stranger(self, ep: Endpoint, group: str) -> list[str]:
        """An endpoint that joins a node or app security group / subnet from another layer is what
        opens the paths its membership creates (the group's own rules are legitimate)."""
        owner = self.layer(group) if group in self.stack.by_urn else UNCLASSIFIED
        if owner in ("node", "app") and ep.layer != owner:
            return [ep.urn]
        return []

    def _forward(self, lb_urn: str, listener: Resource, res: Resource, prop: str) -> None:
        lport = pget(listener, "port")
        lport_text = f":{int(lport)}" if isinstance(lport, (int, float)) else ""
        for tg in self.forwarded_groups(res, prop):
            tg_layer = self.stack.layer(tg)
            tport = pget(tg, "port")
            tport_text = f":{int(tport)}" if isinstance(tport, (int, float)) else ""
            via = f"listener '{listener.name}'{lport_text}" + (f", rule '{res.name}'" if res is not listener else "") + \
                f" -> target group '{tg.name}'{tport_text}"
            for member, membership in self.tg_members.get(tg.urn, ()):
                member_layer = self.endpoints[member].layer if member in self.endpoints else UNCLASSIFIED
                if tg_layer == member_layer:
                    openers = [res.urn]
                elif tg_layer == UNCLASSIFIED:
                    openers = [res.urn, membership]
                else:
                    openers = [membership]
                self._edge(lb_urn, member, openers, f"forwarded by {self._name(res.urn)} through target group "
                                                    f"'{tg.name}'", ports=tport_text, via=via)

    # ------------------------------------------------------------------ analyses

    def is_filter(self, vertex: str) -> bool:
        return vertex in self.filters

    def is_protected(self, vertex: str) -> bool:
        """App-layer endpoints (its load balancers included) and compute that may be app."""
        ep = self.endpoints.get(vertex)
        return ep is not None and (ep.layer == "app" or (ep.compute and ep.layer == UNCLASSIFIED))

    def _stops(self, vertex: str) -> bool:
        ep = self.endpoints.get(vertex)
        return ep is not None and ep.layer == "app"

    def bypasses(self) -> list[tuple[str, str, list[str], str]]:
        """(opener urn, protected endpoint urn, path labels, note) for every edge from the part of
        the graph the internet reaches without a proven node into a protected endpoint."""
        parent: dict[str, tuple[str, Edge] | None] = {INTERNET: None}
        queue = deque([INTERNET])
        while queue:
            v = queue.popleft()
            for e in self.out.get(v, ()):
                w = e.dst
                if w in parent or w in self.filters:
                    continue
                parent[w] = (v, e)
                if not self._stops(w):
                    queue.append(w)
        found = []
        seen = set()
        for v, entry in parent.items():
            if entry is None or not self.is_protected(v):
                continue
            for src, edge in self.inn.get(v, ()):
                if src not in parent or self._stops(src) or src in self.filters:
                    continue
                path = [*self._path(parent, src), self._hop(edge, v)]
                unproven = [u for u in self._chain(parent, src) if u in self.unproven]
                # app-layer load balancers in front of the app are the app's own: the path is opened
                # where it enters the app layer
                while True:
                    entry = parent.get(src)
                    if entry is None:
                        break
                    if self._app_forwarder(src) or (entry[1].membership and not entry[1].openers
                                                    and self._app_forwarder(entry[0])):
                        src, edge = entry
                        continue
                    break
                via = parent.get(src)
                if via is not None and via[0] == INTERNET and src.startswith(_NET) and \
                        self.layer(src[len(_NET):]) in ("app", "node") and via[1].openers:
                    via = (via[0], via[1]._replace(membership=True))  # the route made an app subnet public
                if unproven:
                    openers = tuple(unproven[:1])
                elif via is not None and via[1].membership and via[1].openers:
                    openers = via[1].openers  # a stranger joined the group the rule trusts
                else:
                    openers = edge.openers or self._last_openers(parent, src) or (v,)
                for opener in openers:
                    key = (opener, v)
                    if key not in seen:
                        seen.add(key)
                        found.append((opener, v, path, edge.note))
        return found

    def _app_forwarder(self, v: str) -> bool:
        ep = self.endpoints.get(v)
        return ep is not None and not ep.compute and self.layer(v) == "app"

    def _chain(self, parent, v: str) -> list[str]:
        out = []
        while v is not None:
            out.append(v)
            entry = parent.get(v)
            v = entry[0] if entry else None
        return out

    def _hop(self, edge: Edge, dst: str) -> str:
        label = self.label(dst) + (edge.ports if not dst.startswith((_SG, _NET)) else "")
        return f"[{edge.via}] -> {label}" if edge.via else label

    def _path(self, parent, v: str) -> list[str]:
        labels = []
        while v is not None:
            entry = parent.get(v)
            labels.append(self._hop(entry[1], v) if entry else self.label(v))
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
        """Every vertex with a path to a proven node -> its next hop toward one (None for nodes)."""
        nxt: dict[str, tuple[str, Edge] | None] = {}
        queue = deque()
        for urn in self.filters:
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
            w, e = nxt[v]
            if w in seen:
                break
            seen.add(w)
            labels.append(self._hop(e, w))
            v = w
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


def node_rules_from(cfg: dict) -> NodeRules:
    repos = cfg.get("nodeImageRepositories") or DEFAULT_NODE_REPOSITORIES
    majors = cfg.get("nodeImageMajors") or DEFAULT_NODE_MAJORS
    return NodeRules(tuple(str(r) for r in repos), tuple(int(m) for m in majors))


def model_for(stack: Stack, cloudfront_list_ids: Iterable[str] = (), node_rules: NodeRules | None = None) -> Model:
    """The model of this stack. The CLI runs every stack policy of one AnalyzeStack on the same
    resources, so the model is built once and shared (keyed by a fingerprint of the resources).
    Within one AnalyzeStack call the policies share one stack view object (view.build_stack), so
    the call's scope answers a repeat without expanding and fingerprinting the stack again."""
    ids = tuple(sorted(str(i) for i in cloudfront_list_ids))
    rules = node_rules or NodeRules()
    scope = sdk_memo.call_scope()
    scope_key = ("layerguard:model", id(stack), ids, rules)
    if scope is not None and scope_key in scope and scope[scope_key][0] is stack:
        return scope[scope_key][1]
    model = _model_for(stack, ids, rules)
    if scope is not None:
        scope[scope_key] = (stack, model)
    return model


def _model_for(given: Stack, ids: tuple, rules: NodeRules) -> Model:
    stack = declared.expand(given)  # an existing VPC the stack declares, as resources (declared.py)
    key = _fingerprint(stack, (ids, rules))
    with _CACHE_LOCK:
        if _CACHE["key"] == key and _CACHE["model"] is not None:
            model = _CACHE["model"]
            model.stack = stack  # same data; let labels and layers read the current objects
            return model
        model = Model(stack, ids, rules)
        _CACHE["key"], _CACHE["model"] = key, model
        return model

