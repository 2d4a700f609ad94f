"""The open world and what crosses networks: resource types the model does not understand
(`kinds.py`) and routes that carry private address space to another network (VPC peering,
Transit Gateway). The home for RAM shares, TGW attachments and endpoint services as they are
modelled. The assumptions are in `model.py`'s docstring (A CIDR outside the VPC, FAILS CLOSED).
"""

from __future__ import annotations

from typing import Any

from . import kinds
from . import tokens as T
from .base import pget
from .net import Network


class Sharing:
    """Mixin of `Model` (model.py): the builders of this family; state lives on the model."""

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

    # -- cross-network reach (peering, Transit Gateway)

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
