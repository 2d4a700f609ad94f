"""The region's default VPC: where AWS puts what the stack places in a network without naming one.

AWS launches an instance without a subnet (RunInstances: "If you don't specify a subnet ID, we
choose a default subnet from your default VPC"), an Auto Scaling group without
`vpcZoneIdentifiers` (its availability zones' default subnets), an RDS instance without a subnet
group (the default DB subnet group), and creates a security group without `vpcId` ("Defaults to
the region's default VPC", terraform-provider-aws `aws_security_group`) in the region's default VPC.
That VPC is outside the stack, and AWS builds it public: an internet gateway, a main route table
routing 0.0.0.0/0 to it, a network ACL that allows everything, and default subnets with
`mapPublicIpOnLaunch=true`, so an instance there gets a public IPv4 address unless it says
`associatePublicIpAddress: false`. Whoever owns the account may have changed its routes, peerings
and default security group since, and other resources share it.

So (the DEFAULT VPC assumption in model.py): such an endpoint is in the default VPC (`ep.vpc` is
`defaultvpc|<region>`), with a public address unless it opts out; every CIDR a default-VPC
security group admits is a source outside the stack (its address space, routes and peerings are
not the stack's), judged as the internet; its default security group, which AWS gives a resource
without groups, has rules and members outside the stack (the internet too), unless the stack
manages it (`DefaultSecurityGroup` without `vpcId`), whose self-references still admit the other
members outside the stack. Only the network a program configured counts (`_configured`): the
provider's placeholders after an update (a subnet id, `associatePublicIpAddress: false`) are what
AWS chose, not what the program said.
"""

from __future__ import annotations

from typing import Any

from guard.framework import Resource, is_unknown

from . import kinds
from . import tokens as T
from .base import Endpoint, Source, _configured, _items, pget, same

DEFAULT_VPC = "defaultvpc|"  # + region: the vertex key of a region's default VPC

# Types the model does not follow that AWS places in the default VPC's default subnets when the
# property that names their subnet group is not given (each provider doc: "defaults to the default
# VPC"). Placed there, they fail closed like any unknown type placed in a network (kinds.py).
PLACED_BY_DEFAULT = {
    "aws:elasticache/replicationGroup:ReplicationGroup": "subnetGroupName",
    "aws:memorydb/cluster:Cluster": "subnetGroupName",
    "aws:redshift/cluster:Cluster": "clusterSubnetGroupName",
    "aws:docdb/cluster:Cluster": "dbSubnetGroupName",
    "aws:neptune/cluster:Cluster": "neptuneSubnetGroupName",
    "aws:dms/replicationInstance:ReplicationInstance": "replicationSubnetGroupId",
}

_OUTSIDE_NOTE = ("the group is in the region's default VPC, outside the stack: its default subnets are public "
                 "and its routes and peerings are not the stack's, so any address may come from the internet")


def default_vpc_key(res: Resource) -> str:
    region = res.region
    return DEFAULT_VPC + (region if isinstance(region, str) and region else "?")


def is_default_vpc(vpc: Any) -> bool:
    return isinstance(vpc, str) and vpc.startswith(DEFAULT_VPC)


def _given(res: Resource, prop: str) -> bool:
    """Whether the program configured `prop` (a value, possibly unknown; not empty)."""
    value = pget(res, prop)
    if value is None or same(value, "") or same(value, []):
        return False
    return _configured(res, prop)


def _explicit(res: Resource, prop: str) -> Any:
    """The value the program configured for `prop`, else None (a provider placeholder is not)."""
    return pget(res, prop) if _configured(res, prop) else None


class DefaultVpc:
    """Mixin of `Model` (model.py): one pass, `_default_vpc`, run after the endpoints are built and
    before their groups are resolved (`_carriers`, `_memberships`)."""

    def _default_vpc(self) -> None:
        for sg in self.of(*T.SECURITY_GROUPS):
            if self.sg_vpc.get(sg.urn) is None and not _given(sg, "vpcId"):
                key = default_vpc_key(sg)
                self.sg_vpc[sg.urn] = key
                if sg.type == T.DEFAULT_SG:
                    self.default_sg.setdefault(key, sg.urn)
        for urn, ep in self.endpoints.items():
            res = self.stack.by_urn.get(urn)
            if res is None or ep.subnets:
                continue
            where = self._default_placement(res, ep)
            if where is None:
                continue
            ep.vpc = default_vpc_key(res)
            opener, public = where
            if public:
                ep.public.append((opener, "is in a default subnet of the region's default VPC (no subnet given), "
                                          "which maps a public IPv4 address and routes to an internet gateway"))
            for sg in ep.sgs:
                if self.sg_vpc.get(sg) is None:
                    # a literal or looked-up vpcId (`get_vpc(default=True)`): AWS launches the resource
                    # only into its own groups' VPC, so the group is the default VPC's too
                    self.sg_vpc[sg] = ep.vpc
            if not ep.sgs:
                pseudo = f"default|{ep.vpc}"
                self.sg_rules.setdefault(pseudo, [Source(
                    "internet", "the default VPC's default security group, whose rules and other members "
                                "are outside the stack")])
        for res in self.of(*PLACED_BY_DEFAULT):
            prop = PLACED_BY_DEFAULT[res.type]
            if not _given(res, prop) and kinds.classify(res.type, res.props)[0] == "ignored":
                self.problem(res, prop, f"no {prop} is given, so AWS places it in the region's default VPC, which "
                                        "is outside the stack and public; the model does not follow this type, so "
                                        "it fails closed (give it a subnet group of the stack's VPC)")
        for sg, vpc in list(self.sg_vpc.items()):
            if is_default_vpc(vpc):
                own_default = self.default_sg.get(vpc) == sg
                self.sg_rules[sg] = [self._outside_source(s, sg, own_default) for s in self.sg_rules.get(sg, ())]

    def _outside_source(self, s: Source, sg: str, own_default: bool) -> Source:
        if s.kind == "cidr":
            return Source("internet", f"{s.value} ({_OUTSIDE_NOTE})", s.opener, s.ports)
        if own_default and (s.kind == "self" or (s.kind == "sg" and s.value == sg)):
            return Source("internet", "the other members of the default VPC's default security group, which "
                                      "are outside the stack", s.opener, s.ports)
        return s

    def _default_placement(self, res: Resource, ep: Endpoint) -> tuple[str, bool] | None:
        """(opener, public address) when AWS places the endpoint in the default VPC, else None."""
        if ep.kind == "instance":
            templates = self.deps(res, "launchTemplate", [T.LAUNCH_TEMPLATE])
            if _given(res, "subnetId") or _given(res, "networkInterfaces") or \
                    any(self._lt_network_given(lt) for lt in templates):
                return None
            if _explicit(res, "associatePublicIpAddress") is not None:
                return res.urn, False  # compute.py reads the program's own choice
            return res.urn, not any(self._lt_declines_public(lt) for lt in templates)
        if ep.kind == "asg":
            templates = self.deps_any(res, ("launchTemplate", "mixedInstancesPolicy"), [T.LAUNCH_TEMPLATE])
            if _given(res, "vpcZoneIdentifiers") or _given(res, "launchConfiguration") or \
                    any(self._lt_network_given(lt) for lt in templates):
                return None
            if any(self._lt_public_value(lt) is not None for lt in templates):
                return res.urn, False  # compute.py reads the template's own choice
            return res.urn, True
        if ep.kind == "eni":
            return (res.urn, False) if not _given(res, "subnetId") else None
        if ep.kind == "rds":
            if _given(res, "dbSubnetGroupName"):
                return None
            if res.type == T.RDS_CLUSTER_INSTANCE and any(
                    _given(c, "dbSubnetGroupName") for c in self.deps(res, "clusterIdentifier", [T.RDS_CLUSTER])):
                return None
            return res.urn, False  # publiclyAccessible (default false) is compute.py's
        return None

    @staticmethod
    def _nics(lt: Resource) -> list:
        nics = pget(lt, "networkInterfaces")
        return [] if is_unknown(nics) else [n for n in _items(nics) if isinstance(n, dict)]

    def _lt_network_given(self, lt: Resource) -> bool:
        if is_unknown(pget(lt, "networkInterfaces")):
            return True  # compute.py fails closed on it
        return any(n.get(p) is not None and not same(n.get(p), "") for n in self._nics(lt)
                   for p in ("subnetId", "networkInterfaceId"))

    def _lt_public_value(self, lt: Resource) -> Any:
        values = [n.get("associatePublicIpAddress") for n in self._nics(lt)]
        return next((v for v in values if v is not None), None)

    def _lt_declines_public(self, lt: Resource) -> bool:
        value = self._lt_public_value(lt)
        return value is False or (isinstance(value, str) and value.lower() == "false")
