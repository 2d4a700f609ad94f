"""Route tables, live: routes to an internet gateway and subnet associations the state does not
declare. Either can make a private subnet public; both are reported (`route-drift`) and merged
into the pack's model as the resources that would have declared them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .findings import Report
from .state import State, StateResource

ROUTE_TABLES = ("aws:ec2/routeTable:RouteTable", "aws:ec2/defaultRouteTable:DefaultRouteTable")
ROUTE = "aws:ec2/route:Route"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
IGW = "aws:ec2/internetGateway:InternetGateway"
SUBNET = "aws:ec2/subnet:Subnet"


@dataclass
class LiveRoutes:
    igw_routes: list[tuple[StateResource, dict[str, Any]]] = field(default_factory=list)
    associations: list[tuple[StateResource, dict[str, Any]]] = field(default_factory=list)
    # subnets whose declared association no longer holds (the pack must not see it)
    withdrawn: set[str] = field(default_factory=set)


def _attached(res: StateResource, table: StateResource) -> bool:
    props = {**res.inputs, **res.outputs}
    return props.get("routeTableId") == table.id or table.urn in res.property_dependencies.get("routeTableId", [])


def _destination(route: dict[str, Any]) -> str:
    return route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock") or route.get("DestinationPrefixListId", "")


def declared_igw_routes(state: State, table: StateResource) -> set[tuple[str, str]]:
    """(destination, gateway) pairs the state routes to an internet gateway from `table`."""
    out = set()
    for r in table.inputs.get("routes") or []:
        if isinstance(r, dict) and str(r.get("gatewayId", "")).startswith("igw-"):
            out.add((r.get("cidrBlock") or r.get("ipv6CidrBlock") or "", r["gatewayId"]))
    for route in state.of(ROUTE):
        props = {**route.inputs, **route.outputs}
        if _attached(route, table) and str(props.get("gatewayId", "")).startswith("igw-"):
            out.add((props.get("destinationCidrBlock") or props.get("destinationIpv6CidrBlock") or "", props["gatewayId"]))
    return out


def audit(account, state: State, report: Report) -> LiveRoutes:
    tables = [t for t in state.of(*ROUTE_TABLES) if t.id]
    live = LiveRoutes()
    if not tables:
        return live
    ec2 = account.client("ec2")
    by_id = {t.id: t for t in tables}
    found = ec2.describe_route_tables(Filters=[{"Name": "route-table-id", "Values": sorted(by_id)}])["RouteTables"]
    for rt in found:
        table = by_id[rt["RouteTableId"]]
        declared = declared_igw_routes(state, table)
        for route in rt.get("Routes", []):
            gateway = route.get("GatewayId", "")
            if gateway.startswith("igw-") and route.get("State", "active") == "active" \
                    and (_destination(route), gateway) not in declared:
                live.igw_routes.append((table, route))
                report.add("route-drift", f"{table.id} ({table.name})",
                           f"route {_destination(route)} -> {gateway} is not declared in the state: "
                           "subnets using this table reach the internet gateway")
        subnets = {str({**a.inputs, **a.outputs}.get("subnetId")) for a in state.of(ASSOCIATION) if _attached(a, table)}
        for assoc in rt.get("Associations", []):
            if assoc.get("SubnetId") and assoc["SubnetId"] not in subnets:
                live.associations.append((table, assoc))
                report.add("route-drift", f"{table.id} ({table.name})",
                           f"association {assoc.get('RouteTableAssociationId')} of subnet {assoc['SubnetId']} "
                           "is not declared in the state")
    return live


def check_subnet_tables(account, state: State, report: Report, live: LiveRoutes) -> None:
    """The table that applies to each subnet of the state, read from the account: its explicit
    association, else its VPC's main table (a subnet with no explicit association uses the main
    one). A subnet served by another table than the state associates it with, or by a table the
    state does not have, is drift; when that table routes to an internet gateway the subnet is
    public. The state's own tables are audited route by route in `audit`."""
    subnets = [s for s in state.of(SUBNET) if s.id]
    if not subnets:
        return
    ec2 = account.client("ec2")
    state_tables = {t.id: t for t in state.of(*ROUTE_TABLES) if t.id}
    declared: dict[str, StateResource] = {}
    for assoc in state.of(ASSOCIATION):
        props = {**assoc.inputs, **assoc.outputs}
        table = next((t for t in state_tables.values() if _attached(assoc, t)), None)
        if table is not None and isinstance(props.get("subnetId"), str):
            declared[props["subnetId"]] = table
    ids = [s.id for s in subnets]
    explicit: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 100):
        for rt in ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": ids[i:i + 100]}])["RouteTables"]:
            for assoc in rt.get("Associations", []):
                if assoc.get("SubnetId") in ids:
                    explicit[assoc["SubnetId"]] = rt
    mains: dict[str, dict[str, Any] | None] = {}
    for subnet in subnets:
        rt = explicit.get(subnet.id)
        how = "its explicit association"
        if rt is None:
            vpc = subnet.get("vpcId")
            if vpc not in mains:
                found = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [str(vpc)]},
                                                          {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
                mains[vpc] = found[0] if found else None
            rt, how = mains[vpc], "the VPC's main table (no explicit association)"
        if rt is None:
            continue
        want = declared.get(subnet.id)
        if want is not None and rt["RouteTableId"] == want.id:
            continue
        if want is None and rt["RouteTableId"] in state_tables:
            continue  # a table of the state with no declared association of this subnet: `audit` reports it
        igw = sorted(f"{_destination(r)} -> {r['GatewayId']}" for r in rt.get("Routes", [])
                     if str(r.get("GatewayId", "")).startswith("igw-") and r.get("State", "active") == "active")
        declared_text = f"the state associates it with {want.id} ({want.name})" if want else \
            "the state declares no table for it"
        report.add("route-drift", f"{subnet.id} ({subnet.name})",
                   f"the {subnet.layer} subnet is served by {rt['RouteTableId']} ({how}); {declared_text}"
                   + (f"; that table routes {', '.join(igw)}: the subnet is public" if igw else ""))
        if igw:
            table = state_tables.get(rt["RouteTableId"]) or _live_table(state, rt)
            for r in rt.get("Routes", []):
                if str(r.get("GatewayId", "")).startswith("igw-") and (table, r) not in live.igw_routes:
                    live.igw_routes.append((table, r))
            live.associations.append((table, {"SubnetId": subnet.id,
                                              "RouteTableAssociationId": f"{rt['RouteTableId']}-{subnet.id}"}))
            if want is not None:
                live.withdrawn.add(subnet.id)


def _live_table(state: State, rt: dict[str, Any]) -> StateResource:
    """A table the state does not have, as the resource that would declare it (for the pack)."""
    vpcs = {v.id: v for v in state.resources if v.type == "aws:ec2/vpc:Vpc" and v.id}
    vpc = vpcs.get(rt.get("VpcId", ""))
    name = f"live-{rt['RouteTableId']}"
    return StateResource(urn=f"urn:pulumi:{state.stack}::{state.project}::aws:ec2/routeTable:RouteTable::{name}",
                         type="aws:ec2/routeTable:RouteTable", custom=True, id=rt["RouteTableId"],
                         inputs={"vpcId": rt.get("VpcId")}, outputs={"vpcId": rt.get("VpcId")}, parent="",
                         dependencies=[], property_dependencies={"vpcId": [vpc.urn]} if vpc else {}, provider="")


def live_route_resources(state: State, live: LiveRoutes) -> list[dict[str, Any]]:
    """The undeclared routes and associations as the resources that would declare them."""
    igws = state.by_id(IGW)
    subnets = state.by_id(SUBNET)
    out = []
    known = {t.urn for t in state.of(*ROUTE_TABLES)}
    for table in {t.urn: t for t, _r in live.igw_routes + live.associations}.values():
        if table.urn not in known:
            known.add(table.urn)
            out.append({"urn": table.urn, "type": table.type, "name": table.name,
                        "props": dict(table.inputs), "deps": dict(table.property_dependencies)})
    for table, route in live.igw_routes:
        gateway = route["GatewayId"]
        props = {"routeTableId": table.id, "gatewayId": gateway}
        props["destinationIpv6CidrBlock" if ":" in _destination(route) else "destinationCidrBlock"] = _destination(route)
        deps = {"routeTableId": [table.urn]}
        if gateway in igws:
            deps["gatewayId"] = [igws[gateway].urn]
        name = f"live-{table.id}-{_destination(route).replace('/', '_')}"
        out.append({"urn": f"urn:pulumi:{state.stack}::{state.project}::{ROUTE}::{name}", "type": ROUTE,
                    "name": name, "props": props, "deps": deps})
    for table, assoc in live.associations:
        props = {"routeTableId": table.id, "subnetId": assoc["SubnetId"]}
        deps = {"routeTableId": [table.urn]}
        if assoc["SubnetId"] in subnets:
            deps["subnetId"] = [subnets[assoc["SubnetId"]].urn]
        name = f"live-{assoc.get('RouteTableAssociationId')}"
        out.append({"urn": f"urn:pulumi:{state.stack}::{state.project}::{ASSOCIATION}::{name}", "type": ASSOCIATION,
                    "name": name, "props": props, "deps": deps})
    return out
