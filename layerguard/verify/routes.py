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


def live_route_resources(state: State, live: LiveRoutes) -> list[dict[str, Any]]:
    """The undeclared routes and associations as the resources that would declare them."""
    igws = state.by_id(IGW)
    subnets = state.by_id(SUBNET)
    out = []
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
