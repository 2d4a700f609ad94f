"""Networks a stack declares instead of creating: an existing VPC and its subnets.

A stack deployed into a VPC it does not own passes literal subnet and VPC ids to its resources; the
model cannot see those (they are not resources of the stack) and fails closed on them. A stack may
declare such a network in the outputs of one of its components, under `declaredNetwork`:

    {"vpcId": "vpc-...", "cidrBlocks": ["10.40.0.0/16", ...],
     "subnets": [{"id": "subnet-...", "cidrBlock": "10.40.0.0/24", "availabilityZone": "eu-west-1a",
                  "public": true}, ...]}

(layerguard's `layerguard:network:Network` does, from its `existing*` settings; docs/CONTRACTS.md.)
`expand()` turns a declaration into what the model already understands: a VPC with those CIDRs, one
subnet per entry, and for the public subnets an internet gateway, a route table with a default
route to it and the associations. Every literal id a resource carries that names a declared VPC or
subnet is linked to it as a property dependency would be. The model then judges the stack exactly
as if it had created that network. What the declaration says is the user's claim about the account:
`layerguard verify` checks it against the live VPC after the deploy. A declaration the pack cannot
read is ignored, so the literal ids stay foreign and fail closed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from guard.framework import Resource, Stack

from . import tokens as T
from .net import parse_cidr

OUTPUT = "declaredNetwork"
_LABEL = {"layerguard:layer": "network"}


def is_declared(urn: str) -> bool:
    """Whether a vertex is a declared network's resource (an existing VPC or subnet `expand` made)."""
    return "$declared::" in urn


def _declarations(stack: Stack) -> list[tuple[Resource, dict]]:
    out = []
    for res in stack.resources:
        decl = res.props.get(OUTPUT) if isinstance(res.props, dict) else None
        if isinstance(decl, dict) and _valid(decl):
            out.append((res, decl))
    return out


def _valid(decl: dict) -> bool:
    subnets = decl.get("subnets")
    cidrs = decl.get("cidrBlocks")
    return (isinstance(decl.get("vpcId"), str) and isinstance(cidrs, list) and bool(cidrs)
            and all(isinstance(c, str) and parse_cidr(c) is not None for c in cidrs)
            and isinstance(subnets, list)
            and all(isinstance(s, dict) and isinstance(s.get("id"), str) and isinstance(s.get("public"), bool)
                    and isinstance(s.get("cidrBlock"), str) and parse_cidr(s["cidrBlock"]) is not None
                    for s in subnets))


def expand(stack: Stack) -> Stack:
    """The stack with its declared networks as resources; the same stack when it declares none."""
    decls = _declarations(stack)
    if not decls:
        return stack
    synthetic: list[Resource] = []
    by_id: dict[str, str] = {}   # literal id -> synthetic URN

    def add(owner: Resource, typ: str, name: str, props: dict, deps: dict[str, tuple[str, ...]]) -> str:
        urn = f"{owner.urn}$declared::{typ.rsplit(':', 1)[-1]}::{name}"  # is_declared()
        synthetic.append(Resource(urn=urn, type=typ, name=name, props={**props, "tags": dict(_LABEL)},
                                  parent=owner.urn, property_dependencies=deps))
        return urn

    for owner, decl in decls:
        vpc_id = decl["vpcId"]
        vpc = add(owner, T.VPC, vpc_id, {"cidrBlock": decl["cidrBlocks"][0]}, {})
        by_id[vpc_id] = vpc
        for i, cidr in enumerate(decl["cidrBlocks"][1:], start=1):
            add(owner, T.VPC_CIDR_ASSOC, f"{vpc_id}-cidr-{i}", {"cidrBlock": cidr, "vpcId": vpc_id},
                {"vpcId": (vpc,)})
        public_table = None
        if any(s["public"] for s in decl["subnets"]):
            igw = add(owner, T.INTERNET_GATEWAY, f"{vpc_id}-igw", {"vpcId": vpc_id}, {"vpcId": (vpc,)})
            public_table = add(owner, T.ROUTE_TABLE, f"{vpc_id}-public", {"vpcId": vpc_id}, {"vpcId": (vpc,)})
            add(owner, T.ROUTE, f"{vpc_id}-public-default",
                {"routeTableId": public_table, "destinationCidrBlock": "0.0.0.0/0", "gatewayId": igw},
                {"routeTableId": (public_table,), "gatewayId": (igw,)})
        for s in decl["subnets"]:
            props = {"vpcId": vpc_id, "cidrBlock": s["cidrBlock"], "mapPublicIpOnLaunch": False}
            if isinstance(s.get("availabilityZone"), str):
                props["availabilityZone"] = s["availabilityZone"]
            subnet = add(owner, T.SUBNET, s["id"], props, {"vpcId": (vpc,)})
            by_id[s["id"]] = subnet
            if s["public"] and public_table is not None:
                add(owner, T.ROUTE_TABLE_ASSOC, f"{s['id']}-public",
                    {"subnetId": s["id"], "routeTableId": public_table},
                    {"subnetId": (subnet,), "routeTableId": (public_table,)})

    resources = [_link(res, by_id) for res in stack.resources]
    return Stack(resources + synthetic)


def _link(res: Resource, by_id: dict[str, str]) -> Resource:
    """`res` with its literal declared ids linked as property dependencies."""
    added: dict[str, list[str]] = {}
    for prop, value in res.props.items() if isinstance(res.props, dict) else ():
        if prop == OUTPUT:
            continue
        for literal in _strings(value):
            urn = by_id.get(literal)
            if urn is not None and urn not in res.property_dependencies.get(prop, ()):
                added.setdefault(prop, []).append(urn)
    if not added:
        return res
    deps = dict(res.property_dependencies)
    for prop, urns in added.items():
        deps[prop] = tuple(deps.get(prop, ())) + tuple(dict.fromkeys(urns))
    return dataclasses.replace(res, property_dependencies=deps)


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
