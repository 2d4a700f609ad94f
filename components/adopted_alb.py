"""Edge layer on an ALB the user already runs (seed 001, "already behind an ALB"): the stack takes
over the load balancer, its security group and its HTTPS listener with Pulumi's `import` resource
option, makes the listener forward to the node target group and gives the load balancer the
stack's web ACL. Adopted resources are the stack's own from then on, so the policy pack judges them
like any other: no foreign id is left on the internet side.

What `import` does (pulumi/pulumi `pkg/resource/deploy/step_generator.go`, `generateSteps` and
`continueStepsFromImport`; `step.go`, `ImportStep.Apply`; since the "eventual state import" change,
pulumi/pulumi#19339): the engine reads the resource by its id from the provider (it must exist; it
is never created), stores what it read as the resource's old state, then diffs the program's inputs
against it like any update. A difference that updates in place (here: the default action, the TLS
policy, tags) is applied in the same `pulumi up`; a difference that needs a replacement is a
warning in `pulumi preview` and an error in `pulumi up` ("previously-imported resources that still
specify an ID may not be replaced"). So the inputs below keep the listener's replace-on-change
properties equal to what exists (`ignore_changes` keeps the existing name, description and access
log settings), and may change the rest. After the first
`pulumi up` the option is a no-op (the id in the state matches it), so the setting may stay.

The stack cannot see the ALB's other listeners and rules: take each one over the same way, or
delete it, so that no listener still forwards to the application directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .entries import waf
from .entries.node_targets import egress_to_nodes, node_target_group
from .interfaces import EntryAttachment, NodeTarget
from .network import Network
from .settings import AdoptedAlb
from .tagging import layer_tags

LAYER = "edge"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class AdoptedAlbArgs:
    alb: AdoptedAlb
    certificate_arn: str
    managed_rule_groups: Sequence[str]
    rate_limit: int
    rate_window_seconds: int
    log_retention_days: int
    deletion_protection: bool = True
    # SizeRestrictions_BODY of the Common rule set: count (the nodes inspect whole bodies) or block.
    body_size_action: str = "count"
    bot_control_inspection_level: str = "COMMON"


class AdoptedAlbEntry(pulumi.ComponentResource):
    """An `Entry` (see interfaces.py) on an existing ALB: one imported listener, the stack's web ACL."""

    def __init__(self, name: str, network: Network, args: AdoptedAlbArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("layerguard:edge:AdoptedAlb", name, None, opts)
        self._name, self._args, self._network = name, args, network
        self._attached = False
        child = pulumi.ResourceOptions(parent=self)
        alb = args.alb

        # Inline ingress is authoritative: after the import, HTTPS from the internet is the group's
        # only inbound rule (an old port 80 rule goes with it). Egress stays unmanaged here; the
        # rule to the nodes is added in attach().
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-alb-sg", vpc_id=network.vpc_id,
            description="Managed by layerguard: HTTPS from the internet; out to the nodes",
            ingress=[aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"],
                description="Internet to the adopted ALB on 443")],
            tags=self._tags("alb-sg"),
            opts=pulumi.ResourceOptions(parent=self, import_=alb.load_balancer_security_group_id,
                                        ignore_changes=["name", "namePrefix", "description", "egress"]))
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb", load_balancer_type="application", internal=False,
            subnets=network.public_subnet_ids, security_groups=[self.security_group.id],
            drop_invalid_header_fields=True, desync_mitigation_mode="strictest",
            xff_header_processing_mode="append", enable_deletion_protection=args.deletion_protection,
            enable_waf_fail_open=False, tags=self._tags("alb"),
            opts=pulumi.ResourceOptions(parent=self, import_=alb.load_balancer_arn,
                                        ignore_changes=["name", "namePrefix", "accessLogs",
                                                        "idleTimeout"]))

        # The same web ACL every entry builds (rate rule, managed groups with the body-size override,
        # logging with its own log resource policy): components/entries/waf.py.
        acl = waf.web_acl(name, "REGIONAL", waf.WafArgs(
            managed_rule_groups=args.managed_rule_groups, rate_limit=args.rate_limit,
            rate_window_seconds=args.rate_window_seconds, rate_limit_key="IP",
            log_retention_days=args.log_retention_days, body_size_action=args.body_size_action,
            bot_control_inspection_level=args.bot_control_inspection_level),
            self._tags, child, "Web ACL of the adopted ALB: AWS managed rules and a per-client rate limit")
        self.web_acl, self.waf_log_group = acl.web_acl, acl.log_group
        self.web_acl_association = aws.wafv2.WebAclAssociation(
            f"{name}-web-acl-alb", resource_arn=self.load_balancer.arn,
            web_acl_arn=self.web_acl.arn, opts=child)
        self.url = pulumi.Output.concat("https://", self.load_balancer.dns_name)
        self.register_outputs({"listenerArn": alb.listener_arn, "loadBalancerArn": alb.load_balancer_arn,
                               "webAclArn": self.web_acl.arn})

    def _tags(self, suffix: str) -> dict[str, str]:
        return layer_tags(LAYER, f"{self._name}-{suffix}")

    def attach(self, target: NodeTarget) -> EntryAttachment:
        """Import the listener and forward it to `target`; open the ALB's group to the nodes."""
        if self._attached:
            raise ValueError(f"{self._name}: the adopted ALB already routes to a target")
        self._attached = True
        name, alb = self._name, self._args.alb
        child = pulumi.ResourceOptions(parent=self)

        egress_to_nodes(name, "alb", "Adopted ALB", self.security_group.id, target, self._tags, child)
        self.target_group = node_target_group(name, target, self._network.vpc_id, self._tags, child)
        self.listener = aws.lb.Listener(
            f"{name}-listener", load_balancer_arn=self.load_balancer.arn, port=443, protocol="HTTPS",
            ssl_policy=TLS_POLICY, certificate_arn=self._args.certificate_arn,
            default_actions=[aws.lb.ListenerDefaultActionArgs(
                type="forward", target_group_arn=self.target_group.arn)],
            tags=self._tags("listener"),
            opts=pulumi.ResourceOptions(parent=self, import_=alb.listener_arn))
        lb_suffix = alb.load_balancer_arn.split(":loadbalancer/")[1]
        label = self.target_group.arn_suffix.apply(lambda tg: f"{lb_suffix}/{tg}")
        return EntryAttachment(
            target_group_arn=self.target_group.arn, ready=[self.listener], request_count_label=label,
            trusted_proxy_cidrs=tuple(self._network.public_subnet_cidrs))
