"""The open world and what crosses networks: resource types the model does not understand
(`kinds.py`), routes that carry private address space to another network (VPC peering, Transit
Gateway), and what the stack shares with other accounts (RAM shares of subnets, Transit Gateways
and CloudFront VPC origins; PrivateLink endpoint services): those accounts are sources. The
assumptions are in `model.py`'s docstring (A CIDR outside the VPC, SHARED, FAILS CLOSED).
"""

from __future__ import annotations

from typing import Any

from guard.framework import Resource, is_unknown

from . import kinds
from . import tokens as T
from .base import Endpoint, _items, pget, same
from .net import Network

# RAM resource types the model follows, by the resource part of their ARN
_SHAREABLE_ARNS = ("subnet/", "transit-gateway/", "vpc-origin/")


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

    # -- what the stack shares with other accounts

    def _ram_shares(self) -> None:
        """`ram_shared`: resource urn -> the RAM resource associations that share it. A share's
        principals are other accounts (or their organization) by construction, whether or not the
        stack names them (`PrincipalAssociation`, `allowExternalPrincipals` widen who, never
        whether): every association shares. One naming a resource outside the stack (a literal
        ARN) of a kind the model follows fails closed."""
        for assoc in self.of(T.RAM_RESOURCE_ASSOC):
            found = self.stack.deps(assoc, "resourceArn")
            for res in found:
                self.ram_shared.setdefault(res.urn, []).append(assoc.urn)
            arn = pget(assoc, "resourceArn")
            if not found and (is_unknown(arn) or (isinstance(arn, str) and
                                                  any(k in arn for k in _SHAREABLE_ARNS))):
                self.problem(assoc, "resourceArn", "the share names a network resource that is not a resource of "
                                                   "this stack, so the model cannot tell what other accounts "
                                                   "reach through it (fail closed)")

    def _shared_tgws(self) -> None:
        """`tgw_open`: Transit Gateway urn -> [(opener, why)]: what puts a network outside the stack
        on it, routed: (a) shared through RAM with `autoAcceptSharedAttachments` enabled (their
        attachments need no acceptance) and the default route table associated and propagated
        (their attachments are routed to and from the stack's); (b) a route table association,
        propagation or static route of the gateway naming an attachment that is not a VPC
        attachment of the stack (a literal id, an accepter of another account's request): the
        stack itself wires that network into the gateway's routing, however it was accepted (a
        static route to a peering attachment with another account's gateway is one)."""
        self._tgw_outside_attachments()
        for tgw in self.of(T.TRANSIT_GATEWAY):
            shares = self.ram_shared.get(tgw.urn)
            if not shares:
                continue
            auto = pget(tgw, "autoAcceptSharedAttachments")
            if is_unknown(auto):
                self.problem(tgw, "autoAcceptSharedAttachments", "whether the shared Transit Gateway accepts "
                                                                 "attachments automatically is unknown at preview; "
                                                                 "treated as enabled (fail closed)")
            elif not same(auto, "enable"):
                continue
            if any(same(pget(tgw, p), "disable")
                   for p in ("defaultRouteTableAssociation", "defaultRouteTablePropagation")):
                continue  # a foreign attachment lands in no route table the stack's routes use
            self.tgw_open.setdefault(tgw.urn, []).append(
                (shares[0], "shared with other accounts whose VPCs attach without acceptance"))

    def _tgw_outside_attachments(self) -> None:
        for res in self.of(T.TGW_RT_ASSOC, T.TGW_RT_PROPAGATION, T.TGW_ROUTE):
            if pget(res, "transitGatewayAttachmentId") is None:
                continue  # a blackhole route
            if self.deps(res, "transitGatewayAttachmentId", [T.TGW_VPC_ATTACHMENT]):
                continue  # the stack's own attachment: its VPC is judged by its routes
            tables = self.deps(res, "transitGatewayRouteTableId", [T.TGW_ROUTE_TABLE])
            tgws = [g for t in tables for g in self.deps(t, "transitGatewayId", [T.TRANSIT_GATEWAY])]
            # a gateway's own default route table (`associationDefaultRouteTableId`)
            tgws += self.deps(res, "transitGatewayRouteTableId", [T.TRANSIT_GATEWAY])
            if not tgws:
                tgws = self.of(T.TRANSIT_GATEWAY)  # which gateway is unknown: any of the stack's (fail closed)
                if not tgws:
                    continue
            what = {T.TGW_RT_ASSOC: "associates", T.TGW_RT_PROPAGATION: "propagates",
                    T.TGW_ROUTE: "routes to"}[res.type]
            for tgw in tgws:
                self.tgw_open.setdefault(tgw.urn, []).append(
                    (res.urn, f"whose routing {what} an attachment that is not the stack's (another network)"))

    def _shares(self) -> None:
        """Sources that other accounts are: a shared subnet (their resources are placed in it), a
        shared VPC origin (their distributions, without this stack's WAF, reach its load balancer),
        an endpoint service they may connect to (their VPC endpoints reach its load balancers)."""
        for sub in self.of(T.SUBNET):
            for assoc in self.ram_shared.get(sub.urn, ()):
                self._edge("internet", "net|" + sub.urn, [assoc],
                           "subnet is shared through RAM with other accounts, whose resources are placed in it")
        for vo in self.of(T.VPC_ORIGIN):
            shares = self.ram_shared.get(vo.urn)
            if shares:
                ep = self._entry_vertex(vo.urn, "shared-origin")
                ep.exposures.append((shares[0], "is shared through RAM: other accounts' CloudFront distributions "
                                                "(without this stack's WAF) use it"))
                self.endpoints[vo.urn] = ep
                for lb in self.deps(vo, "vpcOriginEndpointConfig", T.LOAD_BALANCERS):
                    self._edge(vo.urn, lb.urn, [shares[0]], "VPC origin shared with other accounts",
                               entry=self.origin_entry(None, lb.urn, "vpc-origin", vo.urn))
        for svc in self.of(T.ENDPOINT_SERVICE):
            self._endpoint_service(svc)

    def _entry_vertex(self, urn: str, kind: str) -> Endpoint:
        """What other accounts enter through: an entry that forwards (edge), whatever its label."""
        ep = Endpoint(urn, kind, "edge")
        self.endpoints[urn] = ep
        self.layer_override[urn] = "edge"
        return ep

    def _endpoint_service(self, svc: Resource) -> None:
        """PrivateLink: whoever may create an endpoint to the service reaches its load balancers.
        Allowed principals (inline `allowedPrincipals`, `VpcEndpointServiceAllowedPrinciple`; `*` is
        every AWS account) are other accounts' networks unless every connection must be accepted
        (`acceptanceRequired`), then only the connections the stack accepts
        (`VpcEndpointConnectionAccepter`) of endpoints that are not the stack's. The stack's own
        endpoints to the service add no outside source."""
        lbs = self.deps_any(svc, ("networkLoadBalancerArns", "gatewayLoadBalancerArns"), T.LOAD_BALANCERS)
        for prop in ("networkLoadBalancerArns", "gatewayLoadBalancerArns"):
            value = pget(svc, prop)
            if value is not None and (is_unknown(value) or len(_items(value)) > len(self.deps(svc, prop, T.LOAD_BALANCERS))):
                self.problem(svc, prop, "the endpoint service fronts a load balancer that is not a resource of this "
                                        "stack, so the model cannot tell what other accounts reach (fail closed)")
        openers: list[tuple[str, str]] = []
        accept = self._bool(svc, "acceptanceRequired", True, "acceptance of connections")
        inline = pget(svc, "allowedPrincipals")
        if is_unknown(inline):
            self.problem(svc, "allowedPrincipals", "the allowed principals are unknown at preview; treated as "
                                                   "another account (fail closed)")
            openers.append((svc.urn, "allows principals unknown at preview"))
        elif _items(inline):
            openers.append((svc.urn, f"allows {', '.join(str(p) for p in _items(inline))} to connect"))
        for principal in self.of(T.ENDPOINT_SERVICE_PRINCIPAL):
            if any(d.urn == svc.urn for d in self.deps(principal, "vpcEndpointServiceId", [T.ENDPOINT_SERVICE])):
                openers.append((principal.urn, f"allows {pget(principal, 'principalArn')} to connect"))
        if accept:
            openers = []
            for acc in self.of(T.ENDPOINT_CONNECTION_ACCEPTER):
                if not any(d.urn == svc.urn for d in self.deps(acc, "vpcEndpointServiceId", [T.ENDPOINT_SERVICE])):
                    continue
                if not self.deps(acc, "vpcEndpointId", [T.VPC_ENDPOINT]):
                    openers.append((acc.urn, "accepts a connection from an endpoint that is not the stack's"))
        if not openers:
            return
        ep = self._entry_vertex(svc.urn, "endpoint-service")
        for opener, why in openers:
            ep.exposures.append((opener, f"is a PrivateLink endpoint service that {why}: other accounts' VPC "
                                         "endpoints reach its load balancers"))
            for lb in lbs:
                self._edge(svc.urn, lb.urn, [opener], "PrivateLink endpoint service")

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
                opened = self.tgw_open.get(target, ()) if kind == "tgw" and isinstance(target, str) else ()
                for opener, how in opened:
                    out.append(("foreign", opener, f"{part} is routed to Transit Gateway {self._name(target)}, {how}"))
                if other is None:
                    out.append(("internet", opener, f"{part} is routed to {kind} {self._name(target) if isinstance(target, str) else target}, "
                                                    "a network outside the stack"))
                    continue
                for ovpc in other:
                    for sub in self.subnets.overlapping(part, ovpc):
                        if self._routes_back(sub, kind, target, vpc):
                            out.append(("subnet", sub, f"{part} is routed through {kind} to VPC {self._name(ovpc)}"))
        return out

    def _routes_back(self, sub: str, kind: str, target: str, vpc: str) -> bool:
        """Does subnet `sub` (on the other side of a peering connection or Transit Gateway) route
        part of `vpc`'s space back through the same link? Its requests to `vpc` leave by its own
        route table: without such a route they go elsewhere (an internet gateway drops private
        destinations) and no connection to `vpc` opens, whatever `vpc` routes toward it. A table
        the model cannot see, an unknown route target or a link named by a literal id (it may be
        this one) count as routing back (fail closed)."""
        table = self.subnet_table.get(sub)
        if table is None:
            return True
        nets = self.vpc_nets.get(vpc, [])
        for dest, k, t, _opener in self.rt_routes.get(table, ()):
            if k == "unknown":
                return True
            if k != kind and not (k == "foreign" and kind in ("peering", "tgw")):
                continue
            if not (self._same_link(t, target) or not (isinstance(t, str) and t in self.stack.by_urn)):
                continue
            if dest is None or not nets or any(dest.version == n.version and dest.overlaps(n) for n in nets):
                return True
        return False

    def _same_link(self, a: Any, b: Any) -> bool:
        """Two route targets name the same peering connection (its accepter is the same link) or gateway."""
        def link(t: Any) -> Any:
            res = self.stack.by_urn.get(t) if isinstance(t, str) else None
            if res is not None and res.type == T.PEERING_ACCEPTER:
                found = self.deps(res, "vpcPeeringConnectionId", [T.PEERING])
                return found[0].urn if found else t
            return t
        return link(a) == link(b)

    def _other_side(self, kind: str, target: Any, vpc: str | None) -> list[str] | None:
        res = self.stack.by_urn.get(target) if isinstance(target, str) else None
        if res is None:
            return None
        if kind == "peering" and res.type == T.PEERING_ACCEPTER:
            # the accepter side of a peering: the requester is the stack's only when the connection
            # is a resource of the stack; otherwise another account's (or an unseen) VPC
            peerings = self.deps(res, "vpcPeeringConnectionId", [T.PEERING])
            if not peerings:
                return None
            res = peerings[0]
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
