"""The network family of the reachability model: VPCs and subnets, route tables and route targets,
network ACLs, security groups and their rules' sources (CIDRs, prefix lists, group references),
the default security group, and the admission of traffic into an endpoint through its groups
(`_admit*`). The assumptions it implements are in `model.py`'s docstring (THE INTERNET, public
subnets, ACLs, CIDRs outside the VPC).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from guard.framework import UNCLASSIFIED, Resource, is_unknown

from . import declared
from . import tokens as T
from .base import _NET, _OUTSIDE, _SG, INTERNET, Endpoint, Source, _items, pget, same
from .net import (
    ALL,
    AclRule,
    Network,
    Ports,
    acl_allows,
    carries,
    has_outside_part,
    has_public_part,
    listen_text,
    parse_cidr,
    ports_of,
)

# The tag by which a stack declares that a rule's literal security group is a backend's group it
# does not own (layerguard's existing backend writes it; docs/CONTRACTS.md, "Foreign security groups").
FOREIGN_SG_TAG = "layerguard:foreign-security-group"

_PUBLIC_INTERNET = parse_cidr("0.0.0.0/0")


class NetworkFamily:
    """Mixin of `Model` (model.py): the builders of this family; state lives on the model."""

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
        foreign_main = []
        for rt in self.of(T.DEFAULT_ROUTE_TABLE):
            vpcs = self.deps(rt, "defaultRouteTableId", [T.VPC])
            if not vpcs:
                foreign_main.append(rt)  # judged by its routes below
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
        # The main table of a VPC outside the stack routes subnets the model cannot see: as a route
        # added to a table outside the stack, it fails closed only when it may make them public (a
        # route of public space to an internet gateway, or to a target the model cannot judge); a
        # NAT gateway, endpoint or egress-only route admits nothing from the internet.
        for rt in foreign_main:
            if any(kind in ("igw", "unknown", "foreign") and (dest is None or has_public_part(dest))
                   for dest, kind, _target, _opener in self.rt_routes.get(rt.urn, ())):
                self.problem(rt, "defaultRouteTableId", "the default route table belongs to a VPC that is not a "
                                                        "resource of this stack and routes public space to an "
                                                        "internet gateway (or a target the model cannot judge), so "
                                                        "the model cannot tell which subnets it makes public "
                                                        "(fail closed)")
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
        if s.kind == "subnets":
            return "the IPv6 blocks of " + (", ".join(self.label(_NET + v) for v in s.value) or "no subnet")
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
                elif family == "ipv6CidrBlocks" and found:
                    # an Amazon-provided IPv6 block, computed until created: whatever its value, it
                    # holds exactly the IPv6 blocks of that VPC's subnets (or is that subnet's)
                    out.append(Source("subnets", tuple(self._v6_subnets(found)), opener, ports))
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

    def _v6_subnets(self, found: list[Resource]) -> list[str]:
        """The subnets an IPv6 block of these VPCs or subnets covers: a subnet's own, a VPC's every
        subnet given an IPv6 block (a subnet without one has no IPv6 address in it)."""
        out: list[str] = []
        for d in found:
            if d.type == T.SUBNET:
                out.append(d.urn)
                continue
            for sub in self.of(T.SUBNET):
                block = pget(sub, "ipv6CidrBlock")
                if self.subnet_vpc.get(sub.urn) == d.urn and block is not None and not same(block, ""):
                    out.append(sub.urn)
        return list(dict.fromkeys(out))

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

    def _outside_members(self) -> None:
        """A security group labelled app with no member in the stack (an adopted backend's group,
        imported) protects app resources outside the stack. They are one protected endpoint here,
        `outside|<group>`: in the group, listening on any port, and, since the model cannot see
        their addresses, with a public one (fail closed). So the group's rules are judged as for any
        app resource: the nodes' group or subnets pass, the internet or the edge does not.

        The default security group of a VPC that is not a resource of the stack (an existing VPC
        named by a literal id or a `.get()` lookup, declared or not, adopted with
        `DefaultSecurityGroup`) always has
        such members, whatever its label and whatever the stack puts in it: AWS gives it to every
        resource launched in that VPC without a group, which the stack cannot see and which may be
        the app (the backend the stack fronts). Its rules are judged the same way."""
        members = {sg for ep in self.endpoints.values() for sg in ep.sgs}
        for sg in self.of(*T.SECURITY_GROUPS):
            foreign_default = sg.type == T.DEFAULT_SG and pget(sg, "vpcId") is not None \
                and all(declared.is_declared(v.urn) for v in self.deps(sg, "vpcId", [T.VPC]))
            if not foreign_default and (sg.urn in members or sg.type == T.DEFAULT_SG or self.stack.layer(sg) != "app"):
                continue
            vertex = _OUTSIDE + sg.urn
            ep = Endpoint(vertex, "outside", "app", sgs=[sg.urn], vpc=self.sg_vpc.get(sg.urn))
            ep.public.append((sg.urn, "its members are outside the stack and may have public addresses"
                                      + (" (the default group of a VPC outside the stack: whatever was launched "
                                         "there without a group, the app perhaps)" if foreign_default else "")))
            self.endpoints[vertex] = ep
            self.layer_override[vertex] = "app"

    # -- admission (graph edges into an endpoint through its security groups)

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
        entry = self.listeners_for(ep, s.ports)  # a load balancer is entered on these listeners only
        ports = listen_text(found)
        one = Ports(found[0][0], found[0][1], found[0][1]) if found[0][1] is not None else s.ports
        opener = (s.opener,) if s.opener else ()
        if sg in ep.sg_openers:
            opener = (ep.sg_openers[sg],)  # the group was attached by a separate resource
        if s.kind == "sg":
            openers = opener or (() if sg.startswith("default|") else (sg,))
            self._edge(_SG + s.value, ep.urn, openers, "admitted by a security-group reference", ports=ports, entry=entry, rule=s.opener)
        elif s.kind == "self":
            self._edge(_SG + sg, ep.urn, opener, "admitted by a self reference", ports=ports, entry=entry, rule=s.opener)
        elif s.kind in ("cloudfront", "internet"):
            if s.kind == "internet" or ep.public:
                if self.acl_ok(ep.subnets, None, one):
                    via_cf = s.kind == "cloudfront"
                    openers = opener if s.kind == "internet" or not ep.public or ep.kind == "outside" \
                        else tuple(o for o, _r in ep.public)
                    note = ("admitted from the CloudFront origin-facing prefix list" if via_cf
                            else f"admitted from {s.value}")
                    self._edge(INTERNET, ep.urn, openers, note, via_cf, ports=ports, entry=entry, rule=s.opener)
                    self.internet_admission.setdefault(ep.urn, []).append((opener, note, via_cf))
        elif s.kind == "cidr":
            self._admit_cidr(ep, sg, s, opener, ports, one, entry)
        elif s.kind == "subnets":
            for sub in s.value:
                if self.acl_ok(ep.subnets, None, one) and self.acl_out_ok(sub, one):
                    self._edge(_NET + sub, ep.urn, opener, "admitted from the subnet's IPv6 block (computed)",
                               ports=ports, entry=entry, rule=s.opener)

    def _admit_cidr(self, ep: Endpoint, sg: str, s: Source, opener: tuple, ports: str, one: Ports,
                    entry: tuple | None = None) -> None:
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
                self._edge(_NET + sub, ep.urn, opener, f"admitted from {net}, which overlaps the subnet", ports=ports, entry=entry, rule=s.opener)
        if not has_outside_part(net, inside):
            return
        if has_public_part(net) and ep.public and self.acl_ok(ep.subnets, net, one):
            note = f"admitted from {net} (internet addresses)"
            # the public address of an outside member is an assumption: the rule is what opens it
            openers = list(opener) if ep.kind == "outside" else [o for o, _r in ep.public]
            self._edge(INTERNET, ep.urn, openers, note, ports=ports, entry=entry, rule=s.opener)
            self.internet_admission.setdefault(ep.urn, []).append((opener, note, False))
        for kind, value, why in self.remote_sources(vpc, net):
            if kind == "subnet":
                self._edge(_NET + value, ep.urn, opener, f"admitted from {net}; {why}", ports=ports, entry=entry, rule=s.opener)
            elif kind == "foreign":
                # a range the rule may rightly trust, opened to other accounts by what `value` names
                if self.acl_ok(ep.subnets, net, one):
                    self._edge(INTERNET, ep.urn, (value,), f"admitted from {net}; {why}", ports=ports, entry=entry, rule=s.opener)
            elif self.acl_ok(ep.subnets, net, one):
                self._edge(INTERNET, ep.urn, opener + ((value,) if value else ()), f"admitted from {net}; {why}",
                           ports=ports, entry=entry, rule=s.opener)

    def _stranger(self, ep: Endpoint, group: str) -> list[str]:
        """An endpoint that joins a node or app security group / subnet from another layer is what
        opens the paths its membership creates (the group's own rules are legitimate)."""
        owner = self.layer(group) if group in self.stack.by_urn else UNCLASSIFIED
        if owner in ("node", "app") and ep.layer != owner:
            return [ep.urn]
        return []
