"""The guide's security group audit, on the live account.

Every ingress rule of every app, backend and node security group is read with
`ec2:DescribeSecurityGroupRules` and compared with what the state declares for that group (its
inline `ingress` input and the standalone rule resources that name it). A rule open to the world,
open to a public CIDR, or unknown to the state (drift) is a finding naming the group and the rule.

Which groups: the state's security groups whose layer is `app` or `node`; groups the app and node
resources reference by id without the state defining them (an existing backend's group); and the
groups of whatever is registered live in an app target group (the instances or addresses of an
existing backend). For groups the state does not define, only the world/public checks apply: the
state cannot say what they intend.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from .findings import Report
from .state import State, StateResource

SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
TARGET_GROUP_TYPES = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1", "-1": "-1"}
WORLD = {"0.0.0.0/0", "::/0"}


def _proto(value: Any) -> str:
    text = str(value).lower()
    if text.endswith(".0"):
        text = text[:-2]
    return _PROTOCOLS.get(text, text)


def _port(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return -1


def rule_key(protocol: Any, from_port: Any, to_port: Any, kind: str, value: str) -> tuple:
    proto = _proto(protocol)
    ports = (-1, -1) if proto == "-1" else (_port(from_port), _port(to_port))
    return (proto, *ports, kind, value)


def live_rule_key(rule: dict[str, Any]) -> tuple:
    kind, value = live_source(rule)
    return rule_key(rule.get("IpProtocol"), rule.get("FromPort"), rule.get("ToPort"), kind, value)


def live_source(rule: dict[str, Any]) -> tuple[str, str]:
    if rule.get("CidrIpv4"):
        return "cidr", str(ipaddress.ip_network(rule["CidrIpv4"], strict=False))
    if rule.get("CidrIpv6"):
        return "cidr", str(ipaddress.ip_network(rule["CidrIpv6"], strict=False))
    if rule.get("PrefixListId"):
        return "prefix", rule["PrefixListId"]
    ref = rule.get("ReferencedGroupInfo") or {}
    return "sg", ref.get("GroupId", "")


def describe_rule(rule: dict[str, Any]) -> str:
    kind, value = live_source(rule)
    proto = _proto(rule.get("IpProtocol"))
    ports = "all ports" if proto == "-1" else (
        f"port {rule.get('FromPort')}" if rule.get("FromPort") == rule.get("ToPort")
        else f"ports {rule.get('FromPort')}-{rule.get('ToPort')}")
    what = {"cidr": "from", "prefix": "from prefix list", "sg": "from security group"}[kind]
    return f"rule {rule.get('SecurityGroupRuleId', '?')}: {'all traffic' if proto == '-1' else proto} {ports} {what} {value}"


def _cidrs(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for v in items:
        if isinstance(v, str) and v:
            try:
                out.append(str(ipaddress.ip_network(v, strict=False)))
            except ValueError:
                out.append(v)
    return out


def _list(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, str) and v]


def _keys(protocol: Any, lo: Any, hi: Any, cidrs: list, prefix_lists: list, groups: list) -> set[tuple]:
    """The rule keys of one rule or inline entry: a key per CIDR, prefix list and group it admits."""
    return ({rule_key(protocol, lo, hi, "cidr", c) for c in cidrs}
            | {rule_key(protocol, lo, hi, "prefix", pl) for pl in prefix_lists}
            | {rule_key(protocol, lo, hi, "sg", ref) for ref in groups})


def intended_rules(state: State, sg: StateResource) -> set[tuple]:
    """The ingress rules the state declares for `sg`: what the program gave the group (its
    `ingress` input, never the refreshed `ingress` output, which mirrors whatever the account had
    at the last refresh) and the standalone rule resources attached to it."""
    keys: set[tuple] = set()
    for entry in sg.inputs.get("ingress") or []:
        if not isinstance(entry, dict):
            continue
        keys |= _keys(entry.get("protocol"), entry.get("fromPort"), entry.get("toPort"),
                      _cidrs(entry.get("cidrBlocks")) + _cidrs(entry.get("ipv6CidrBlocks")),
                      _list(entry.get("prefixListIds")),
                      _list(entry.get("securityGroups")) + ([sg.id] if entry.get("self") else []))
    for rule in state.of(SG_RULE, SG_INGRESS):
        props = {**rule.inputs, **rule.outputs}
        attached = props.get("securityGroupId") == sg.id or sg.urn in rule.property_dependencies.get("securityGroupId", [])
        if not attached:
            continue
        if rule.type == SG_RULE:
            if props.get("type") != "ingress":
                continue
            keys |= _keys(props.get("protocol"), props.get("fromPort"), props.get("toPort"),
                          _cidrs(props.get("cidrBlocks")) + _cidrs(props.get("ipv6CidrBlocks")),
                          _list(props.get("prefixListIds")),
                          _list(props.get("sourceSecurityGroupId")) + ([sg.id] if props.get("self") else []))
        else:
            keys |= _keys(props.get("ipProtocol"), props.get("fromPort"), props.get("toPort"),
                          _cidrs(props.get("cidrIpv4")) + _cidrs(props.get("cidrIpv6")),
                          _list(props.get("prefixListId")), _list(props.get("referencedSecurityGroupId")))
    return keys


@dataclass
class AuditedGroup:
    id: str
    role: str                       # "app", "node" or "backend"
    resource: StateResource | None  # None: the state does not define the group
    why: str


@dataclass
class LiveGroups:
    """Live ingress rules of every security group the state defines or the audit looked at."""
    rules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    undeclared: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    audited: list[AuditedGroup] = field(default_factory=list)


def _referenced_groups(res: StateResource) -> list[str]:
    props = {**res.inputs, **res.outputs}
    found = _list(props.get("securityGroups")) + _list(props.get("vpcSecurityGroupIds"))
    net = props.get("networkConfiguration")
    if isinstance(net, dict):
        found += _list(net.get("securityGroups"))
    return found


def _target_groups_of_backend(account, state: State, report: Report) -> dict[str, str]:
    """Security groups of whatever is registered live in the app's target groups: instance
    targets by their instances, IP targets by the network interface holding the address."""
    elb, ec2 = account.client("elbv2"), account.client("ec2")
    found: dict[str, str] = {}
    for tg in state.of(*TARGET_GROUP_TYPES):
        if tg.layer != "app":
            continue
        arn = tg.get("arn") or tg.id
        try:
            health = elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TargetGroupNotFound":
                raise
            report.note("sg-world-open", f"{arn} ({tg.name})", "the app target group is not in the account: "
                                                              "its targets' groups cannot be audited")
            continue
        instance_ids = [t["Target"]["Id"] for t in health if t["Target"]["Id"].startswith("i-")]
        addresses = [t["Target"]["Id"] for t in health if not t["Target"]["Id"].startswith(("i-", "arn:"))]
        if instance_ids:
            for reservation in ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]:
                for inst in reservation["Instances"]:
                    for g in inst.get("SecurityGroups", []):
                        found.setdefault(g["GroupId"], f"of instance {inst['InstanceId']}, a target of {tg.name}")
        if addresses:
            enis = ec2.describe_network_interfaces(
                Filters=[{"Name": "addresses.private-ip-address", "Values": addresses[:200]}])["NetworkInterfaces"]
            for eni in enis:
                for g in eni.get("Groups", []):
                    found.setdefault(g["GroupId"], f"of {eni['NetworkInterfaceId']} ({eni.get('PrivateIpAddress')}), "
                                                   f"a target of {tg.name}")
    return found


def audited_groups(account, state: State, report: Report) -> list[AuditedGroup]:
    state_sgs = state.by_id(SG)
    groups: dict[str, AuditedGroup] = {}
    for sg in state.of(SG):
        if sg.layer in ("app", "node") and sg.id:
            groups[sg.id] = AuditedGroup(sg.id, sg.layer, sg, f"{sg.layer} layer ({sg.name})")
    for res in state.resources:
        if res.layer not in ("app", "node"):
            continue
        for gid in _referenced_groups(res):
            if gid.startswith("sg-") and gid not in groups:
                groups[gid] = AuditedGroup(gid, "backend" if res.layer == "app" else "node", state_sgs.get(gid),
                                           f"used by {res.layer} resource {res.name}")
    for gid, why in _target_groups_of_backend(account, state, report).items():
        if gid not in groups:
            groups[gid] = AuditedGroup(gid, "backend", state_sgs.get(gid), why)
    return list(groups.values())


def _live_rules(ec2, group_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    rules: dict[str, list[dict[str, Any]]] = {g: [] for g in group_ids}
    paginator = ec2.get_paginator("describe_security_group_rules")
    for i in range(0, len(group_ids), 100):
        chunk = group_ids[i:i + 100]
        for page in paginator.paginate(Filters=[{"Name": "group-id", "Values": chunk}]):
            for rule in page["SecurityGroupRules"]:
                if not rule.get("IsEgress") and rule.get("GroupId") in rules:
                    rules[rule["GroupId"]].append(rule)
    return rules


def _public(cidr: str) -> bool:
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return True
    return not (net.is_private or net.is_loopback or net.is_link_local)


def audit(account, state: State, report: Report) -> LiveGroups:
    ec2 = account.client("ec2")
    live = LiveGroups()
    live.audited = audited_groups(account, state, report)
    state_ids = [sg.id for sg in state.of(SG) if sg.id]
    all_ids = sorted(set(state_ids) | {g.id for g in live.audited})
    existing = set()
    for i in range(0, len(all_ids), 100):
        resp = ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": all_ids[i:i + 100]}])
        existing.update(g["GroupId"] for g in resp["SecurityGroups"])
    live.rules = _live_rules(ec2, sorted(existing))
    by_id = state.by_id(SG)
    for sg_id in sorted(existing & set(state_ids)):
        intended = intended_rules(state, by_id[sg_id])
        live.undeclared[sg_id] = [r for r in live.rules[sg_id] if live_rule_key(r) not in intended]
    for group in live.audited:
        label = f"{group.id} ({group.resource.name})" if group.resource else group.id
        if group.id not in existing:
            report.note("sg-drift", label, f"the {group.role} security group ({group.why}) does not exist in the account")
            continue
        for rule in live.rules[group.id]:
            kind, value = live_source(rule)
            if kind == "cidr" and value in WORLD:
                report.add("sg-world-open", label, f"{describe_rule(rule)}: the {group.role} group ({group.why}) "
                                                   "admits the whole internet, around the nodes")
            elif kind == "cidr" and _public(value):
                report.add("sg-public-source", label, f"{describe_rule(rule)}: the {group.role} group ({group.why}) "
                                                      "admits a public address range")
        if group.resource is not None:
            for rule in live.undeclared.get(group.id, []):
                report.add("sg-drift", label, f"{describe_rule(rule)} is not declared in the state "
                                              f"(the {group.role} group: {group.why})")
    return live
