"""The traffic path from the internet to the workloads, as the report draws it.

A small, display-only hop graph over the captured registrations, linked through property
dependencies (ids are unknown at preview): entry -> listener -> target group -> workload, and a
workload -> the load balancer whose security group admits the workload's security group. Proving
that no other path exists is the policy pack's job, not this module's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

LB_TYPES = {"aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"}
LISTENER_TYPES = {"aws:lb/listener:Listener", "aws:alb/listener:Listener"}
RULE_TYPES = {"aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule"}
TG_TYPES = {"aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup"}
ATTACHMENT_TYPES = {"aws:lb/targetGroupAttachment:TargetGroupAttachment",
                    "aws:alb/targetGroupAttachment:TargetGroupAttachment"}
SG_TYPE = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE_TYPES = {"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                      "aws:ec2/securityGroupRule:SecurityGroupRule"}
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
VPC_ORIGIN = "aws:cloudfront/vpcOrigin:VpcOrigin"
REST_API = "aws:apigateway/restApi:RestApi"
INTEGRATION_TYPES = {"aws:apigateway/integration:Integration",
                     "aws:apigatewayv2/integration:Integration"}
VPC_LINK_TYPES = {"aws:apigateway/vpcLink:VpcLink", "aws:apigatewayv2/vpcLink:VpcLink"}
# Where traffic starts: a distribution, or an API (REST API -> VPC link -> NLB -> nodes); an HTTP
# API's stage stays an entry as before.
ENTRY_TYPES = {DISTRIBUTION, REST_API, "aws:apigatewayv2/stage:Stage"}
# What a distribution's origin or an integration can lead to.
ORIGIN_TYPES = LB_TYPES | {VPC_ORIGIN}
WORKLOAD_PROPS = ("networkConfiguration", "vpcSecurityGroupIds", "securityGroups")
VPC_ENDPOINT_TYPE = "aws:ec2/vpcEndpoint:VpcEndpoint"
# A component that registers this output is a backend the path may end at (shown with its address):
# the resources it adds to reach a backend outside the stack (an interface endpoint, a rule on a
# security group the stack does not own) lead to it.
ADDRESS_OUTPUT = "address"


def _deps(res, *props: str) -> list[str]:
    out: list[str] = []
    for prop in props:
        out.extend(res.property_dependencies.get(prop, []))
    return out


def describe(res) -> str:
    extra = ""
    if res.type in LB_TYPES:
        internal = res.inputs.get("internal")
        kind = res.inputs.get("loadBalancerType") or "application"
        extra = f" ({kind}, {'internal' if internal is True else 'internet-facing'})"
    elif not res.custom and isinstance((res.outputs or {}).get(ADDRESS_OUTPUT), str):
        extra = f" ({res.outputs[ADDRESS_OUTPUT]})"
    return f"[{res.layer}] {res.name}: {res.type.split(':')[-1]}{extra}"


def build(resources: Iterable) -> tuple[list[str], dict[str, list[str]]]:
    """Entry URNs and the hop graph (URN -> next URNs)."""
    resources = list(resources)
    by_urn = {r.urn: r for r in resources}
    hops: dict[str, list[str]] = defaultdict(list)
    sg_members: dict[str, list[str]] = defaultdict(list)   # SG urn -> LBs/workloads using it
    sg_admits: dict[str, list[str]] = defaultdict(list)    # target SG urn -> source SG urns
    tg_of_listener: dict[str, list[str]] = defaultdict(list)

    def backend_of(res) -> str | None:
        parent = by_urn.get(res.parent or "")
        if parent is not None and not parent.custom and ADDRESS_OUTPUT in (parent.outputs or {}):
            return parent.urn
        return None

    for r in resources:
        if r.type in LISTENER_TYPES:
            for lb in _deps(r, "loadBalancerArn"):
                hops[lb].append(r.urn)
            hops[r.urn].extend(u for u in _deps(r, "defaultActions") if u in by_urn
                               and by_urn[u].type in TG_TYPES)
        elif r.type in RULE_TYPES:
            for listener in _deps(r, "listenerArn"):
                tg_of_listener[listener].extend(u for u in _deps(r, "actions") if u in by_urn
                                                and by_urn[u].type in TG_TYPES)
        elif r.type == "aws:ecs/service:Service":
            for tg in _deps(r, "loadBalancers"):
                hops[tg].append(r.urn)
        elif r.type in ATTACHMENT_TYPES:
            for tg in _deps(r, "targetGroupArn"):
                hops[tg].extend(_deps(r, "targetId"))
        elif r.type == DISTRIBUTION:
            origins = [u for u in _deps(r, "origins") if u in by_urn and by_urn[u].type in ORIGIN_TYPES]
            # A VPC origin's domain name is its load balancer's: show distribution -> VPC origin -> LB.
            behind = {lb for u in origins if by_urn[u].type == VPC_ORIGIN
                      for lb in _deps(by_urn[u], "vpcOriginEndpointConfig")}
            hops[r.urn].extend(u for u in origins if u not in behind)
        elif r.type == VPC_ORIGIN:
            hops[r.urn].extend(u for u in _deps(r, "vpcOriginEndpointConfig") if u in by_urn
                               and by_urn[u].type in LB_TYPES)
        elif r.type in INTEGRATION_TYPES:
            links = [u for u in _deps(r, "connectionId") if u in by_urn and by_urn[u].type in VPC_LINK_TYPES]
            targets = links or [u for u in _deps(r, "uri", "integrationUri") if u in by_urn
                                and by_urn[u].type in LB_TYPES]
            for api in _deps(r, "restApi", "apiId"):
                hops[api].extend(targets)
        elif r.type in VPC_LINK_TYPES:
            hops[r.urn].extend(u for u in _deps(r, "targetArn", "targetArns") if u in by_urn
                               and by_urn[u].type in LB_TYPES)
        elif r.type in ENTRY_TYPES:
            hops[r.urn].extend(u for u in _deps(r, "apiId") if u in by_urn)
        if r.type == SG_TYPE:
            sg_admits[r.urn].extend(u for u in _deps(r, "ingress") if u in by_urn
                                    and by_urn[u].type == SG_TYPE)
        elif r.type in INGRESS_RULE_TYPES and r.inputs.get("type", "ingress") == "ingress":
            for target in _deps(r, "securityGroupId"):
                sg_admits[target].extend(_deps(r, "referencedSecurityGroupId", "sourceSecurityGroupId"))
            if not _deps(r, "securityGroupId") and backend_of(r):
                # A rule on a group outside the stack, added by a backend component: the backend.
                sg_admits[backend_of(r)].extend(_deps(r, "referencedSecurityGroupId"))
                sg_members[backend_of(r)].append(backend_of(r))
        if r.type == VPC_ENDPOINT_TYPE:
            for sg in _deps(r, "securityGroupIds"):
                if sg in by_urn and by_urn[sg].type == SG_TYPE:
                    sg_members[sg].append(r.urn)
            if backend_of(r):
                hops[r.urn].append(backend_of(r))
        if r.type in LB_TYPES or r.type.startswith("aws:ecs/service") or r.type == "aws:ec2/instance:Instance":
            for sg in _deps(r, "securityGroups", *WORKLOAD_PROPS):
                if sg in by_urn and by_urn[sg].type == SG_TYPE:
                    sg_members[sg].append(r.urn)

    # A backend's own group with no member in the stack (an adopted group): the backend is behind it.
    backends = {backend_of(r) for r in resources} - {None}
    for r in resources:
        if r.type == SG_TYPE and backend_of(r) and not sg_members.get(r.urn):
            sg_members[r.urn].append(backend_of(r))
    for listener, tgs in tg_of_listener.items():
        hops[listener].extend(tgs)
    # workload -> load balancer that admits its security group
    for target_sg, sources in sg_admits.items():
        for source_sg in sources:
            for workload in sg_members.get(source_sg, []):
                for lb in sg_members.get(target_sg, []):
                    if lb != workload and (by_urn[lb].type in (*LB_TYPES, VPC_ENDPOINT_TYPE)
                                           or lb in backends):
                        hops[workload].append(lb)

    entries = [r.urn for r in resources
               if (r.type in LB_TYPES and r.inputs.get("internal") is not True) or r.type in ENTRY_TYPES]
    # An entry that another entry forwards to (an ALB behind CloudFront) is not where traffic starts.
    forwarded = {u for e in entries for u in hops.get(e, [])}
    entries = [e for e in entries if e not in forwarded] or entries
    return entries, hops


def chains(resources: Iterable, limit: int = 12) -> list[list[str]]:
    """Every simple chain from an entry to a resource with no further hop (at most `limit`)."""
    resources = list(resources)
    entries, hops = build(resources)
    found: list[list[str]] = []

    def walk(urn: str, trail: list[str]) -> None:
        if len(found) >= limit:
            return
        nxt = sorted(u for u in set(hops.get(urn, [])) if u not in trail)
        if not nxt:
            found.append(trail)
            return
        for u in nxt:
            walk(u, [*trail, u])

    for entry in sorted(entries):
        walk(entry, [entry])
    # The longest chain first: the full path to the app reads before a redirect-only listener.
    return sorted(found, key=lambda chain: (-len(chain), chain))
