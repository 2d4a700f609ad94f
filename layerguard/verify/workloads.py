"""What runs behind the entry, live: ECS services and the revisions they run, listeners and their
rules, target registrations and the groups of the interfaces behind them, web ACL rules.

An operator can weaken the perimeter after `pulumi up` without touching a security group: scale the
nodes to 0, roll the node service to a revision in `monitoring` mode, point a listener (or a rule)
of the entry at the app's target group, register the app's address with the nodes' target group,
give an app interface the nodes' group, empty the web ACL. Each of those is read here and reported;
the revision the node service runs, the listeners' live actions and their rules also reach the
policy pack's own rules (`overlay()`, used by reachability.py), so the Wallarm mode of the running
revision is judged by `enforce-wallarm-mode` exactly as at preview, and a listener forwarding around
the nodes by `disallow-node-bypass`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from .findings import Report
from .live import error_code, number
from .state import State, StateResource

SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
LISTENER_TYPES = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
RULE_TYPES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
TARGET_GROUP_TYPES = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
SG = "aws:ec2/securityGroup:SecurityGroup"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"


@dataclass
class Overlay:
    """Live values that replace what the state says, for the pack: per URN, properties and
    property dependencies; plus resources the state does not have (live listener rules)."""
    props: dict[str, dict[str, Any]] = field(default_factory=dict)
    deps: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    extras: list[dict[str, Any]] = field(default_factory=list)


def _target_group_urns(state: State) -> dict[str, StateResource]:
    out = {}
    for tg in state.of(*TARGET_GROUP_TYPES):
        for key in (tg.id, tg.get("arn")):
            if isinstance(key, str) and key:
                out[key] = tg
    return out


# --- ECS ------------------------------------------------------------------------------------------

def check_services(account, state: State, report: Report, overlay: Overlay) -> None:
    """Node services: still asking for (and running) as many tasks as the state declares, and
    running the revision it declares. A revision other than the declared one goes to the pack in
    place of the declared task definition, and is compared on its Wallarm mode here too."""
    services = [s for s in state.of(SERVICE) if s.layer == "node"]
    if not services:
        return
    ecs = account.client("ecs")
    task_defs = {td.get("arn") or td.id: td for td in state.of(TASK_DEFINITION)}
    for svc in services:
        cluster, name = svc.get("cluster"), svc.get("name") or svc.id
        label = f"{name} ({svc.name})"
        if not (isinstance(cluster, str) and isinstance(name, str)):
            report.note("ecs-drift", svc.urn, "the service has no cluster/name in the state")
            continue
        found = ecs.describe_services(cluster=cluster, services=[name]).get("services") or []
        live = next((s for s in found if s.get("status") != "INACTIVE"), None)
        if live is None:
            report.add("ecs-drift", label, "the node service is in the state but not in the account: no node filters")
            continue
        declared = number(svc.get("desiredCount"))
        desired, running = live.get("desiredCount", 0), live.get("runningCount", 0)
        if desired == 0 or (declared is not None and desired < declared):
            report.add("ecs-drift", label, f"desiredCount is {desired}, the state declares {declared}: "
                                           "fewer nodes than deployed (0 means no node filters)")
        elif running == 0:
            report.add("ecs-drift", label, f"runningCount is 0 of {desired} desired: no node is running")
        revisions = {live.get("taskDefinition")} | {d.get("taskDefinition") for d in live.get("deployments") or []
                                                   if d.get("status") in ("PRIMARY", "ACTIVE")}
        declared_td = task_defs.get(svc.get("taskDefinition"))
        for arn in sorted(r for r in revisions if isinstance(r, str) and r):
            if arn == svc.get("taskDefinition"):
                continue
            td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            live_defs = td.get("containerDefinitions") or []
            want = _modes(declared_td.get("containerDefinitions")) if declared_td else set()
            got = _modes(live_defs)
            weaker = sorted(m for m in got if _RANK.get(m, -1) < min((_RANK.get(w, 0) for w in want), default=0))
            evidence = f"runs {arn}, the state declares {svc.get('taskDefinition')}"
            if weaker or (want and not got):
                evidence += f"; its Wallarm mode is {', '.join(weaker) or 'unset (monitoring)'}, " \
                            f"the declared revision's is {', '.join(sorted(want))}"
            report.add("ecs-drift", label, evidence)
            if declared_td is not None:
                # The pack judges the running revision in place of the declared one.
                overlay.props.setdefault(declared_td.urn, {})["containerDefinitions"] = json.dumps(live_defs)


_RANK = {"off": 0, "monitoring": 1, "safe_blocking": 2, "block": 3}


def _modes(definitions: Any) -> set[str]:
    """WALLARM_MODE values and the server-level `wallarm_mode` of a vhost carried in the env."""
    import re
    if isinstance(definitions, str):
        try:
            definitions = json.loads(definitions)
        except ValueError:
            return set()
    out = set()
    for c in definitions if isinstance(definitions, list) else []:
        for env in (c.get("environment") or []) if isinstance(c, dict) else []:
            value = env.get("value") if isinstance(env, dict) else None
            if env.get("name") == "WALLARM_MODE" and isinstance(value, str):
                out.add(value)
            elif isinstance(value, str):
                # The first directive is the server's (locations that answer without proxying,
                # such as the health check, turn it off later in the file).
                first = re.search(r"^\s*wallarm_mode\s+(\w+);", value, re.MULTILINE)
                if first:
                    out.add(first.group(1))
    return out


# --- listeners, rules, targets ----------------------------------------------------------------------

def _forwards(actions: list[dict[str, Any]]) -> list[str]:
    out = []
    for a in actions or []:
        if a.get("TargetGroupArn"):
            out.append(a["TargetGroupArn"])
        for tg in (a.get("ForwardConfig") or {}).get("TargetGroups") or []:
            if tg.get("TargetGroupArn"):
                out.append(tg["TargetGroupArn"])
    return out


def _declared_forwards(actions: Any) -> set[str]:
    out = set()
    for a in actions if isinstance(actions, list) else []:
        if not isinstance(a, dict):
            continue
        if isinstance(a.get("targetGroupArn"), str):
            out.add(a["targetGroupArn"])
        for tg in ((a.get("forward") or {}).get("targetGroups") or []) if isinstance(a.get("forward"), dict) else []:
            if isinstance(tg, dict) and isinstance(tg.get("arn"), str):
                out.add(tg["arn"])
    return out


def check_listeners(account, state: State, report: Report, overlay: Overlay) -> None:
    """Every listener of the state's load balancers, live: its default action and its rules must
    forward only where the state declares. The live actions reach the pack (property dependencies
    on the target groups they name), so a path around the nodes is the pack's verdict too."""
    elb = account.client("elbv2")
    tgs = _target_group_urns(state)
    declared = {}
    for lst in state.of(*LISTENER_TYPES):
        declared[lst.get("arn") or lst.id] = lst
    declared_rules: dict[str, set[str]] = {}
    for rule in state.of(*RULE_TYPES):
        arn = rule.get("listenerArn")
        if isinstance(arn, str):
            declared_rules.setdefault(arn, set()).update(_declared_forwards(rule.get("actions")))
    for arn, lst in declared.items():
        label = f"{arn} ({lst.name})"
        try:
            live = elb.describe_listeners(ListenerArns=[arn])["Listeners"][0]
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) not in ("ListenerNotFound", "ValidationError"):
                raise
            report.add("entry-missing", label, "the listener is in the state but not in the account")
            continue
        allowed = _declared_forwards(lst.get("defaultActions")) | declared_rules.get(arn, set())
        live_default = _forwards(live.get("DefaultActions"))
        _judge(report, label, "the default action", live_default, allowed, tgs)
        if live_default:
            urns = [tgs[t].urn for t in live_default if t in tgs]
            overlay.props.setdefault(lst.urn, {})["defaultActions"] = [
                {"type": "forward", "targetGroupArn": t} for t in live_default]
            overlay.deps.setdefault(lst.urn, {})["defaultActions"] = urns
        for rule in elb.describe_rules(ListenerArn=arn)["Rules"]:
            if rule.get("IsDefault"):
                continue
            forwards = _forwards(rule.get("Actions"))
            _judge(report, label, f"rule {rule.get('RuleArn')} (priority {rule.get('Priority')})", forwards, allowed, tgs)
            if forwards:
                name = f"live-rule-{str(rule.get('RuleArn', '')).rsplit('/', 1)[-1]}"
                overlay.extras.append({
                    "urn": f"urn:pulumi:{state.stack}::{state.project}::{LISTENER_RULE}::{name}",
                    "type": LISTENER_RULE, "name": name,
                    "props": {"listenerArn": arn, "priority": number(rule.get("Priority")),
                              "actions": [{"type": "forward", "targetGroupArn": t} for t in forwards]},
                    "deps": {"listenerArn": [lst.urn], "actions": [tgs[t].urn for t in forwards if t in tgs]}})


def _judge(report: Report, label: str, what: str, forwards: list[str], allowed: set[str],
           tgs: dict[str, StateResource]) -> None:
    for arn in forwards:
        if arn in allowed:
            continue
        tg = tgs.get(arn)
        where = f"{tg.name}, a target group of the {tg.layer} layer" if tg else "a target group the state does not declare"
        report.add("listener-drift", label, f"{what} forwards to {arn} ({where}); the state declares "
                                            f"{', '.join(sorted(allowed)) or 'no forward'}")


def check_targets(account, state: State, report: Report) -> None:
    """Registrations and the interfaces behind them: an app or node target group must hold only
    its own layer's interfaces, and no interface of one layer may carry the other's security group.
    Target health is read as the API gives it (`DescribeTargetHealth`)."""
    elb, ec2 = account.client("elbv2"), account.client("ec2")
    groups = {sg.id: sg for sg in state.of(SG) if sg.id}
    layer_of_group = {gid: sg.layer for gid, sg in groups.items() if sg.layer in ("app", "node")}
    # Whose targets a group holds: the layer of the ECS service that registers in it (the nodes'
    # group belongs to the edge component), else its own layer.
    holds: dict[str, str] = {}
    for svc in state.of(SERVICE):
        for lb in svc.get("loadBalancers") or []:
            if isinstance(lb, dict) and isinstance(lb.get("targetGroupArn"), str) and svc.layer in ("app", "node"):
                holds[lb["targetGroupArn"]] = svc.layer
    for tg in state.of(*TARGET_GROUP_TYPES):
        arn = tg.get("arn") or tg.id
        layer = holds.get(arn) or (tg.layer if tg.layer in ("app", "node") else None)
        if layer is None:
            continue
        try:
            health = elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) not in ("TargetGroupNotFound", "ValidationError"):
                raise
            report.add("entry-missing", f"{arn} ({tg.name})", "the target group is in the state but not in the account")
            continue
        addresses = [h["Target"]["Id"] for h in health if h.get("Target", {}).get("Id", "").count(".") == 3]
        instances = [h["Target"]["Id"] for h in health if h.get("Target", {}).get("Id", "").startswith("i-")]
        enis = []
        if addresses:
            enis += ec2.describe_network_interfaces(
                Filters=[{"Name": "addresses.private-ip-address", "Values": addresses}])["NetworkInterfaces"]
        if instances:
            for reservation in ec2.describe_instances(InstanceIds=instances)["Reservations"]:
                for inst in reservation["Instances"]:
                    enis += inst.get("NetworkInterfaces") or []
        for eni in enis:
            eni_id = eni.get("NetworkInterfaceId", "?")
            carried = {g["GroupId"]: layer_of_group.get(g["GroupId"]) for g in eni.get("Groups") or []}
            layers = {v for v in carried.values() if v}
            foreign = sorted(g for g, group_layer in carried.items() if group_layer and group_layer != layer)
            if not foreign:
                continue
            names = ", ".join(f"{g} ({groups[g].name})" for g in foreign)
            if layer in layers:
                evidence = (f"the {layer} interface {eni_id} also carries {names} of the "
                            f"{', '.join(sorted(layers - {layer}))} layer: whatever that group admits reaches it")
            else:
                evidence = (f"{tg.name} holds the {layer} layer's targets, and has the target "
                            f"{eni.get('PrivateIpAddress', eni_id)}, an interface of the {', '.join(sorted(layers))} "
                            f"layer ({names}): its traffic reaches that layer directly")
            report.add("target-drift", f"{eni_id} (a target of {tg.name})", evidence)


# --- WAF ---------------------------------------------------------------------------------------------

def check_web_acls(account, state: State, report: Report) -> None:
    """Each web ACL of the state keeps the rules it declares (by name) and its default action."""
    acls = state.of(WEB_ACL)
    if not acls:
        return
    for acl in acls:
        scope = acl.get("scope") or "REGIONAL"
        waf = account.client("wafv2", region="us-east-1" if scope == "CLOUDFRONT" else None)
        name, acl_id = acl.get("name"), acl.id
        label = f"{acl.get('arn') or acl_id} ({acl.name})"
        if not (isinstance(name, str) and acl_id):
            report.note("waf-rules", acl.urn, "the web ACL has no name/id in the state")
            continue
        try:
            live = waf.get_web_acl(Name=name, Scope=scope, Id=acl_id)["WebACL"]
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) != "WAFNonexistentItemException":
                raise
            report.add("entry-missing", label, "the web ACL is in the state but not in the account")
            continue
        want = {r.get("name") for r in acl.get("rules") or [] if isinstance(r, dict) and r.get("name")}
        got = {r.get("Name") for r in live.get("Rules") or []}
        missing = sorted(want - got)
        if missing:
            report.add("waf-rules", label, f"the web ACL lacks rule(s) the state declares: {', '.join(missing)}"
                                           f" ({len(got)} rule(s) live, {len(want)} declared)")
        declared_default = acl.get("defaultAction")
        if isinstance(declared_default, dict) and "block" in declared_default and "Block" not in (live.get("DefaultAction") or {}):
            report.add("waf-rules", label, "the default action is no longer block, as the state declares")
