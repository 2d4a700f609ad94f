"""The load balancing family of the reachability model: load balancers (ALB, NLB, GWLB) as
endpoints, listeners and listener rules, target groups and their attachments, what each
listener forwards to, and the ports each endpoint listens on. The assumptions are in
`model.py`'s docstring (Traffic, REACHED resources send on).
"""

from __future__ import annotations

from guard.framework import UNCLASSIFIED, Resource, is_unknown

from . import tokens as T
from .base import _SG, Edge, Endpoint, pget, same
from .net import Ports, carries


class LoadBalancing:
    """Mixin of `Model` (model.py): the builders of this family; state lives on the model."""

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
        found = self._literal_targets(att, value)  # compute.py: a function ARN by name; an address is not what runs near it
        if found is None:
            self.problem(att, "targetId", "the attachment's target is neither a resource of this stack "
                                          "(no property dependency) nor a literal IP address")
            return []
        if not found and not (isinstance(value, str) and value.startswith("arn:")):  # an ARN: reported already
            self.problem(att, "targetId", f"the attachment targets {value}, an address in no subnet of this "
                                          "stack (outside the stack: could be anything)")
        return found

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
                                                    f"'{tg.name}'", ports=tport_text, via=via, listener=listener.urn)

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

    # -- reachability per listener

    def listeners_for(self, ep: Endpoint, ports: Ports) -> tuple | None:
        """The listeners of a load balancer a security group rule admitting `ports` lets traffic
        into (None for anything else: it is entered as a whole). A source admitted on 443 reaches the
        443 listener, not every listener of the load balancer."""
        if ep.kind not in ("alb", "nlb"):
            return None
        return tuple(listener.urn for listener in self.lb_listeners.get(ep.urn, ())
                     if carries(ports, self._listener_ports(listener, ep.kind)))

    def _lb_sends(self) -> None:
        """A load balancer sends only what its listeners forward (and health checks) to its targets:
        as a member of its security groups it reaches a target only through those forwards, so the
        membership path to a resource it targets is dropped (the forward, per listener, stands). To
        what trusts its groups but is not its target it still reaches (fail closed: anything that
        joins those groups may send there), now as a direct edge that keeps the opener.

        A VPC link (REST or HTTP API) opens connections only to its integrations' targets (the
        edges `apigateway.py` adds): as a member of its security groups it reaches nothing else,
        so its membership paths are dropped with no direct edge in their place. What else is in
        those groups keeps its own edges."""
        for urn, ep in self.endpoints.items():
            if ep.kind not in ("alb", "nlb", "vpclink"):
                continue
            out = self.out.get(urn, [])
            targets = {e.dst for e in out if e.listener}
            keep: list[Edge] = []
            for e in out:
                if not (e.membership and e.dst.startswith(_SG)):
                    keep.append(e)
                    continue
                for e2 in self.out.get(e.dst, ()) if ep.kind != "vpclink" else ():
                    if e2.dst == urn or e2.dst in targets:
                        continue
                    direct = e2._replace(openers=e.openers or e2.openers, membership=bool(e.openers),
                                         note=f"as a member of {self.label(e.dst)}, {e2.note}")
                    keep.append(direct)
                    self.inn.setdefault(e2.dst, []).append((urn, direct))
                self.inn[e.dst] = [(v, x) for v, x in self.inn.get(e.dst, ()) if not (v == urn and x is e)]
            self.out[urn] = keep

    def stray_admission(self, lb: str, entry: tuple | None) -> bool:
        """Is a rule admitting these listeners only what opens them, on a load balancer whose other
        listeners serve the nodes? (Then the rule, not the listener, is what to change.)"""
        if not entry:
            return False
        by_listener: dict[str, set] = {}
        for e in self.out.get(lb, ()):
            if e.listener:
                by_listener.setdefault(e.listener, set()).add(e.dst)
        entered = set().union(*(by_listener.get(x, set()) for x in entry))
        others = set().union(*(d for x, d in by_listener.items() if x not in entry))
        return bool(entered) and not (entered & self.filters) and bool(others & self.filters)
