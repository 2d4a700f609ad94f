"""A backend the stack does not own (e.g. Kong behind an internal NLB): the nodes reach it by DNS
name, and the stack adds exactly one ingress rule to each of its security groups.

Those groups belong to someone else: their other rules are invisible to the stack and to the
policy pack. Every rule added here says so in its description and carries the tag
`layerguard:foreign-security-group` = the group's id (docs/CONTRACTS.md, "Foreign security groups"),
so the pack can name the group in its advisory at every preview.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..interfaces import UpstreamPeer, UpstreamTls
from ..settings import ExistingBackend
from ..tagging import layer_tags

LAYER = "app"
FOREIGN_SG_TAG = "layerguard:foreign-security-group"


@dataclass(frozen=True)
class ExistingBackendArgs:
    backend: ExistingBackend
    # The application's own group, imported (adopted ALB case): the stack then owns its ingress.
    adopted_security_group_id: str | None = None
    vpc_id: pulumi.Input[str] | None = None


class ExistingBackendUpstream(pulumi.ComponentResource):
    """An `Upstream` at `scheme://host:port` outside the stack."""

    def __init__(self, name: str, args: ExistingBackendArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("layerguard:app:ExistingBackend", name, None, opts)
        b = args.backend
        self._name, self._backend = name, b
        self.host = pulumi.Output.from_input(b.host)
        self.port, self.scheme = b.port, b.scheme
        self.host_header = b.host_header
        self.path_prefix = ""
        self.headers: dict[str, str] = {}
        self.tls = (UpstreamTls(verify=b.tls_verify, server_name=b.host_header or b.host,
                                ca_bundle=b.ca_bundle) if b.scheme == "https" else None)
        self.peers = [UpstreamPeer(f"Nodes to the backend {b.host} (group {sg})", security_group_id=sg)
                      for sg in b.security_group_ids]
        if args.adopted_security_group_id:
            self.peers.append(UpstreamPeer(
                f"Nodes to the backend {b.host} (adopted group {args.adopted_security_group_id})",
                security_group_id=args.adopted_security_group_id))
        self.peers += [UpstreamPeer(f"Nodes to the backend {b.host} ({cidr})", cidr=cidr)
                       for cidr in b.cidrs]
        self._adopted_id, self._vpc_id = args.adopted_security_group_id, args.vpc_id
        self.adopted_security_group: aws.ec2.SecurityGroup | None = None
        self.ready: list[pulumi.Resource] = []
        self.address = f"{b.scheme}://{b.host}:{b.port}"
        self.rules: list[aws.vpc.SecurityGroupIngressRule] = []
        self.register_outputs({"address": self.address,
                               "foreignSecurityGroupIds": list(b.security_group_ids)})

    def admit(self, name: str, security_group: aws.ec2.SecurityGroup) -> None:
        """One ingress rule per foreign group, from `security_group` on the backend port; nothing else."""
        for i, sg_id in enumerate(self._backend.security_group_ids):
            tags = {**layer_tags(LAYER, f"{self._name}-in-{name}-{i}"), FOREIGN_SG_TAG: sg_id}
            self.rules.append(aws.vpc.SecurityGroupIngressRule(
                f"{self._name}-in-{name}-{i}", security_group_id=sg_id,
                referenced_security_group_id=security_group.id, ip_protocol="tcp",
                from_port=self.port, to_port=self.port,
                description=(f"layerguard {pulumi.get_stack()}: {name} to the backend; the only rule "
                             "this stack adds to this group"),
                tags=tags, opts=pulumi.ResourceOptions(parent=self)))
        if self._adopted_id:
            self._adopt(name, security_group)

    def _adopt(self, name: str, security_group: aws.ec2.SecurityGroup) -> None:
        """Import the application's group and make its inline ingress exactly one rule: from the
        nodes on the backend port. Inline `ingress` is authoritative: every other ingress rule of the
        group (the old one from the ALB, any 0.0.0.0/0) is removed by the update that follows the
        import. Its name and description cannot change without replacing the group, which an import
        refuses, so they keep what exists; its egress stays the owner's."""
        self.adopted_security_group = aws.ec2.SecurityGroup(
            f"{self._name}-adopted-sg", vpc_id=self._vpc_id,
            description="Managed by layerguard: in from the Wallarm nodes only",
            ingress=[aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=self.port, to_port=self.port,
                security_groups=[security_group.id],
                description=f"layerguard {pulumi.get_stack()}: {name} to the backend")],
            tags=layer_tags(LAYER, f"{self._name}-adopted-sg"),
            opts=pulumi.ResourceOptions(parent=self, import_=self._adopted_id,
                                        ignore_changes=["name", "namePrefix", "description", "egress"]))
