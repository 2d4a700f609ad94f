"""What every CI output reads from a `PreviewResult`: the pack's policies with their metadata, the
resources the pack judged, and the traffic picture (the path from the internet, bypasses in red).

The traffic picture is drawn from `layerguard.paths` (the display-only hop graph over property
dependencies) and from the pack's bypass findings: a finding of a bypass policy names the resource
that opens the path (`Violation.urn`); what it opens onto is found the same way `paths` links
resources, through property dependencies and security-group membership, never through ids.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .. import paths
from ..engine import LAYERS, UNKNOWN_SENTINELS, CapturedResource, PreviewResult, Violation

# The pack's policies whose findings are paths around a layer: the node bypass (LG-PATH-001) and
# direct access to a CloudFront origin (LG-EDGE-002, around the edge WAF). Matched by policy name,
# the only identity the Analyzer protocol gives a finding.
BYPASS_POLICIES = frozenset({"disallow-node-bypass", "disallow-direct-origin-access"})
INTERNET = "internet"
_RULE_ID = re.compile(r"^([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+):\s*")
# Levels that fail `pulumi preview` (the CLI stops on both).
FAILING = ("mandatory", "remediate")


@dataclass(frozen=True)
class Policy:
    name: str          # the policy's name, what a finding names
    rule_id: str       # the stable ID from the description ("LG-ALB-001: ..."), else the name
    description: str   # without the ID prefix
    severity: str      # low | medium | high | critical | "" (not sent)
    remediation: str
    url: str
    level: str         # the enforcement level in force for this run (after --policy-pack-config)


def policies(result: PreviewResult) -> list[Policy]:
    """The pack's policies as GetAnalyzerInfo described them, with the level in force."""
    if result.pack is None:
        return []
    out = []
    for p in result.pack.policies:
        description = p.get("description") or ""
        match = _RULE_ID.match(description)
        rule_id = match.group(1) if match else next(
            (t for t in p.get("tags") or () if _RULE_ID.match(t + ":")), p["name"])
        level = (result.policy_config.get(p["name"]) or {}).get("enforcementLevel") or p.get("enforcementLevel")
        out.append(Policy(name=p["name"], rule_id=rule_id,
                          description=description[match.end():] if match else description,
                          severity=p.get("severity") or "", remediation=p.get("remediation") or "",
                          url=p.get("url") or "", level=level or "advisory"))
    return out


def judged(result: PreviewResult) -> list[CapturedResource]:
    """The resources the pack judged on their own: what the engine sends to `Analyze` (custom
    resources the program registers; not the stack, components, default providers or reads)."""
    return [r for r in result.resources if r.custom and r.kind == "register"]


def finding(v: Violation) -> str:
    """A finding's own text: the pack repeats the policy description on the first line."""
    first, *rest = v.message.strip().splitlines() or [""]
    return "\n".join(rest).strip() or first


def short_type(type_token: str) -> str:
    return type_token.split(":")[-1]


def layer_counts(result: PreviewResult) -> list[tuple[str, int, int, int]]:
    """(layer, resources to create, failing findings, advisory findings), in layer order."""
    custom = [r for r in result.resources if r.custom and r.kind != "default-provider"
              and not r.type.startswith("pulumi:providers:")]
    resources = Counter(r.layer for r in custom)
    by_urn = result.by_urn()
    failing, advisory = Counter(), Counter()
    for v in result.violations:
        layer = by_urn[v.urn].layer if v.urn in by_urn else "unclassified"
        (failing if v.enforcement in FAILING else advisory)[layer] += 1
    rows = []
    for layer in (*LAYERS, "unclassified"):
        if resources[layer] or failing[layer] or advisory[layer]:
            rows.append((layer, resources[layer], failing[layer], advisory[layer]))
    return rows


def verdict(result: PreviewResult) -> str:
    if result.exit_code == 2 or result.error:
        return "ERROR"
    if result.pack is None:
        return "NOT ANALYSED"
    return "FAILED" if result.mandatory else "PASSED"


def slug(label: str) -> str:
    """A run's label (`stack dev`, `examples/x.yaml (dev)`) as a file-name and id part."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-.") or "run"


# --- the traffic picture -------------------------------------------------------------------------
@dataclass
class Node:
    key: str            # URN, or INTERNET
    name: str
    type: str           # full type token ("" for the internet)
    layer: str
    detail: str = ""    # one line: kind and exposure ("ALB, internet-facing", "ECS service")
    notes: list[str] = field(default_factory=list)  # listeners that end here (redirects)
    opener: bool = False  # opens a bypass


@dataclass
class Edge:
    src: str
    dst: str
    label: str = ""
    bypass: bool = False    # on a path a bypass finding opens (drawn red)
    intended: bool = False  # on a path through the node layer (drawn blue); else a plain hop


@dataclass
class Traffic:
    nodes: dict[str, Node]
    edges: list[Edge]
    protections: list[tuple[str, str]]   # (web ACL URN, protected resource URN)
    bypasses: list[tuple[Violation, list[str]]]  # each bypass finding and the nodes it opens onto
    protection_labels: dict[tuple[str, str], str] = field(default_factory=dict)  # "protects stage x"
    fleet: list[str] = field(default_factory=list)   # the node fleet's mode and fail state, per service

    def protection_label(self, acl: str, target: str) -> str:
        return self.protection_labels.get((acl, target), "protects")

    def layers(self) -> dict[str, list[Node]]:
        out: dict[str, list[Node]] = defaultdict(list)
        for node in self.nodes.values():
            if node.key != INTERNET:
                out[node.layer].append(node)
        return {layer: out[layer] for layer in (*LAYERS, "unclassified") if out.get(layer)}


_HIDDEN = paths.LISTENER_TYPES | paths.RULE_TYPES | paths.TG_TYPES
_SG_RULE_TYPES = paths.INGRESS_RULE_TYPES
_DETAILS = {"aws:wafv2/webAcl:WebAcl": "AWS WAF web ACL", "aws:cloudfront/distribution:Distribution": "CloudFront",
            "aws:ec2/instance:Instance": "EC2 instance", "aws:ec2/eip:Eip": "Elastic IP"}
_MEMBER_PROPS = ("securityGroups", "vpcSecurityGroupIds", "networkConfiguration", "vpcConfig")


def _detail(res: CapturedResource) -> str:
    t = res.type
    if t in paths.LB_TYPES:
        kind = res.inputs.get("loadBalancerType") or "application"
        short = {"application": "ALB", "network": "NLB", "gateway": "GWLB"}.get(kind, kind)
        return f"{short}, {'internal' if res.inputs.get('internal') is True else 'internet-facing'}"
    if t == "aws:ecs/service:Service":
        launch = res.inputs.get("launchType")
        service = "ECS Fargate service" if launch == "FARGATE" else "ECS service"
        return f"Wallarm nodes, {service}" if res.layer == "node" else service
    if t in _SG_RULE_TYPES:
        sources = [res.inputs.get(k) for k in ("cidrIpv4", "cidrIpv6", "prefixListId", "cidrBlocks", "ipv6CidrBlocks")]
        shown = [", ".join(map(str, s)) if isinstance(s, list) else s for s in sources if s]
        return "security group rule" + (f" from {shown[0]}" if shown and isinstance(shown[0], str)
                                        and not _unknown(shown[0]) else "")
    if not res.custom:
        address = res.outputs.get("address")
        if isinstance(address, str) and not _unknown(address):
            return f"{short_type(t)}: {_host_of(address)}"
    return _DETAILS.get(t, short_type(t))


def _host_of(address: str) -> str:
    """`https://host:8443/prefix` -> `https://host:8443/prefix` without a trailing slash; the host
    is what names an existing backend in a picture."""
    return address.rstrip("/")


def _unknown(value: str) -> bool:
    return value in UNKNOWN_SENTINELS


def _hop_label(res: CapturedResource) -> str:
    if res.type in paths.LISTENER_TYPES:
        proto, port = res.inputs.get("protocol"), res.inputs.get("port")
        actions = res.inputs.get("defaultActions") or []
        kinds = sorted({a.get("type") for a in actions if isinstance(a, dict)} - {None, "forward"})
        text = f"{proto if isinstance(proto, str) else 'listener'}" \
               f"{':' + str(int(port)) if isinstance(port, (int, float)) else ''}"
        return text + (f" ({', '.join(kinds)})" if kinds else "")
    return res.name


def _members(result: PreviewResult) -> dict[str, list[str]]:
    """Security group URN -> the load balancers, services and instances that use it."""
    out: dict[str, list[str]] = defaultdict(list)
    for r in result.resources:
        for prop in _MEMBER_PROPS:
            for sg in r.property_dependencies.get(prop, []):
                out[sg].append(r.urn)
    return out


def _targets(result: PreviewResult, opener: CapturedResource, drawable) -> list[str]:
    """What an opener opens onto: the drawable resources reached from it through property
    dependencies (and through what names it), where a security group stands for its members, a
    listener for its load balancer, a listener rule for its listener and a target group for what it
    sends to. App-layer resources are preferred (a bypass is a path to the app); otherwise the
    nearest drawable ones. A rule's source group (`referencedSecurityGroupId`) is where traffic comes
    from, not what is opened: it is left out."""
    by_urn, members = result.by_urn(), _members(result)
    _, hops = paths.build(result.resources)
    sources = set(_source_groups(opener))
    frontier = [u for prop, deps in opener.property_dependencies.items() for u in deps if u not in sources]
    frontier += [r.urn for r in result.resources
                 if any(opener.urn in deps for deps in r.property_dependencies.values())]
    seen, nearest, app = {opener.urn}, [], []
    for _ in range(5):
        nxt = []
        for urn in frontier:
            if urn in seen or urn not in by_urn:
                continue
            seen.add(urn)
            res = by_urn[urn]
            if res.type == paths.SG_TYPE:
                nxt.extend(members.get(urn, []))
            elif res.type in paths.LISTENER_TYPES:
                nxt.extend(res.property_dependencies.get("loadBalancerArn", []))
            elif res.type in paths.RULE_TYPES:
                nxt.extend(res.property_dependencies.get("listenerArn", []))
            elif res.type in paths.TG_TYPES:
                nxt.extend(hops.get(urn, []))
            elif drawable(res):
                (app if res.layer == "app" else nearest).append(urn)
        if app:
            break
        frontier = nxt
    return list(dict.fromkeys(app or nearest[:3]))


def _source_groups(opener: CapturedResource) -> list[str]:
    return [u for prop in ("referencedSecurityGroupId", "sourceSecurityGroupId")
            for u in opener.property_dependencies.get(prop, [])]


def _env(container: dict) -> dict[str, str]:
    return {e.get("name"): e.get("value") for e in container.get("environment") or []
            if isinstance(e, dict) and isinstance(e.get("value"), str)}


def _containers(task: CapturedResource) -> list[dict] | None:
    import json
    raw = task.inputs.get("containerDefinitions")
    if isinstance(raw, str):
        if _unknown(raw):
            return None
        try:
            raw = json.loads(raw)
        except ValueError:
            return None
    return [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else None


_VHOST_DIRECTIVE = re.compile(r"^\s*(wallarm_mode|wallarm_fallback|wallarm_mode_allow_override)\s+(\S+);", re.M)


def fleet_state(result: PreviewResult, service: CapturedResource) -> list[str]:
    """The Wallarm mode and fail state a node service's task definition gives its nodes, as lines:
    `mode block (Cloud may only tighten)`, `fail-closed` or `FAIL-OPEN ...`. Read from Wallarm's
    documented settings: `WALLARM_MODE`/`WALLARM_FALLBACK` on the node container, and the
    `wallarm_mode`/`wallarm_fallback` directives of a virtual host the task writes (its first
    `wallarm_mode` is the server's; later ones are locations such as a health check)."""
    by_urn = result.by_urn()
    tasks = [by_urn[u] for u in service.property_dependencies.get("taskDefinition", []) if u in by_urn]
    if not tasks:
        return []
    containers = _containers(tasks[0])
    if containers is None:
        return ["mode: unknown at this preview"]
    env: dict[str, str] = {}
    directives: dict[str, str] = {}
    for c in containers:
        values = _env(c)
        if "WALLARM_MODE" in values or "wallarm/node" in str(c.get("image", "")):
            env.update(values)
        for text in values.values():
            for name, value in _VHOST_DIRECTIVE.findall(text):
                directives.setdefault(name, value)
    if not env and not directives:
        return []
    mode = directives.get("wallarm_mode") or env.get("WALLARM_MODE") or "monitoring (the image's default)"
    override = directives.get("wallarm_mode_allow_override")
    lines = [f"mode {mode}" + {"strict": " (Cloud may only tighten)", "off": " (Cloud cannot change it)",
                               "on": " (Cloud may override)"}.get(override or "", "")]
    fallback = directives.get("wallarm_fallback")
    closed = fallback == "off" if fallback else env.get("WALLARM_FALLBACK", "").lower() == "false"
    lines.append("fail-closed" if closed else "FAIL-OPEN: serves unfiltered if its rules fail to load")
    return lines


def _origin_headers(dist: CapturedResource) -> list[str]:
    """The custom headers a distribution adds towards its origins, by name; a secret value says so
    (the value is never shown)."""
    out = []
    for origin in dist.inputs.get("origins") or []:
        if not isinstance(origin, dict):
            continue
        for header in origin.get("customHeaders") or []:
            if not isinstance(header, dict) or not isinstance(header.get("name"), str):
                continue
            value = header.get("value")
            secret = isinstance(value, dict) and "4dabf18193072939515e22adb298388d" in value
            out.append(f"origin header {header['name']} ({'secret' if secret else 'PLAINTEXT value'})")
    return list(dict.fromkeys(out))



def traffic(result: PreviewResult) -> Traffic:
    # The program registers in an order that varies from run to run; the picture is drawn from
    # the resources and findings sorted, so one preview always gives the same picture (and bytes).
    import dataclasses
    result = dataclasses.replace(result, resources=sorted(result.resources, key=lambda r: r.urn),
                                 violations=sorted(result.violations, key=lambda v: (v.policy, v.urn, v.message)))
    by_urn = result.by_urn()
    nodes: dict[str, Node] = {INTERNET: Node(INTERNET, INTERNET, "", "internet", "the internet")}
    edges: dict[tuple[str, str], Edge] = {}

    def node(urn: str) -> Node:
        if urn not in nodes:
            res = by_urn[urn]
            nodes[urn] = Node(urn, res.name, res.type, res.layer, _detail(res))
        return nodes[urn]

    def edge(src: str, dst: str, label: str = "") -> Edge:
        e = edges.get((src, dst))
        if e is None:
            e = edges[(src, dst)] = Edge(src, dst, label)
        elif label and label not in e.label.split(" | "):
            e.label = f"{e.label} | {label}" if e.label else label
        return e

    def name(e: Edge, tag: str) -> None:
        if tag not in e.label:
            e.label = f"{e.label} · {tag}" if e.label else tag

    # Each chain collapses listeners, rules and target groups into the label of the hop they carry.
    # An edge of a chain through the node layer is intended; the others are drawn as plain hops
    # unless a bypass finding covers them.
    hidden_edge: dict[str, tuple[str, str]] = {}   # hidden hop URN -> the edge it labels
    walks: list[tuple[set[str], list[tuple[str, str]]]] = []   # (URNs on a chain, its edges)
    for chain in paths.chains(result.resources):
        prev, pending, steps = INTERNET, [], []
        through_nodes = any(by_urn[u].layer == "node" for u in chain)
        for urn in chain:
            if by_urn[urn].type in _HIDDEN:
                pending.append(urn)
                continue
            node(urn)
            e = edge(prev, urn, " → ".join(_hop_label(by_urn[u]) for u in pending))
            e.intended = e.intended or through_nodes
            steps.append((prev, urn))
            for u in pending:
                hidden_edge[u] = (prev, urn)
            prev, pending = urn, []
        if pending and prev != INTERNET:
            note = " → ".join(_hop_label(by_urn[u]) for u in pending)
            if note not in nodes[prev].notes:
                nodes[prev].notes.append(note)
        walks.append((set(chain), steps))

    protections = []
    labels: dict[tuple[str, str], str] = {}
    for r in result.resources:
        if r.type == "aws:wafv2/webAclAssociation:WebAclAssociation":
            for acl in r.property_dependencies.get("webAclArn", []):
                for target in r.property_dependencies.get("resourceArn", []):
                    shown, label = target, "protects"
                    stage = by_urn.get(target)
                    if target not in nodes and stage is not None and stage.type == "aws:apigateway/stage:Stage":
                        # WAF sits on a REST API's stage; the path shows the API
                        shown = next((u for u in stage.property_dependencies.get("restApi", []) if u in nodes), target)
                        label = f"protects stage {stage.name}"
                    if shown in nodes and acl in by_urn:
                        protections.append((acl, shown))
                        labels[(acl, shown)] = label
        elif r.urn in nodes and r.type == "aws:cloudfront/distribution:Distribution":
            protections += [(acl, r.urn) for acl in r.property_dependencies.get("webAclId", []) if acl in by_urn]
    for acl, _ in protections:
        node(acl)
    protected = {target for _acl, target in protections}
    fleet: list[str] = []
    for key, n in list(nodes.items()):
        res = by_urn.get(key)
        if res is None:
            continue
        if res.type == "aws:ecs/service:Service" and res.layer == "node":
            state = fleet_state(result, res)
            n.notes.extend(state)
            fleet.extend(state)
        if res.type == "aws:cloudfront/distribution:Distribution":
            n.notes.extend(_origin_headers(res))
        exemption = (res.inputs.get("tags") or {}).get("layerguard:waf-exemption") \
            if isinstance(res.inputs.get("tags"), dict) else None
        first_hop = any(e.src == INTERNET and e.dst == key for e in edges.values())
        if isinstance(exemption, str):
            n.notes.append(f"NO AWS WAF, exempt: {exemption}")
        elif first_hop and key not in protected:
            n.notes.append("NO AWS WAF")

    def through(urn: str) -> list[Edge]:
        """Mark the edges of every chain through `urn` as the bypass, except where it shares the
        intended path; returns them."""
        marked = []
        for members, steps in walks:
            if urn in members:
                for key in steps:
                    if not edges[key].intended:
                        edges[key].bypass = True
                        marked.append(edges[key])
        return marked

    def drawable(res: CapturedResource) -> bool:
        return res.custom and res.type not in _HIDDEN and res.type != paths.SG_TYPE

    bypasses = []
    for v in result.violations:
        if v.policy not in BYPASS_POLICIES or v.urn not in by_urn:
            continue
        opener = by_urn[v.urn]
        tag = f"bypass: {opener.name}"
        if v.urn in nodes:                       # an entry or a hop of the drawn path
            node(v.urn).opener = True
            marked = through(v.urn)
            targets = [] if any(e.src == v.urn for e in edges.values()) else _targets(result, opener, drawable)
            for target in targets:               # a dead end on the path (a VPC origin): what it opens
                node(target)
                e = edge(v.urn, target)
                e.bypass = True
                marked.append(e)
            leaving = [e for e in marked if e.src == v.urn] or [e for e in marked if e.dst == v.urn]
            for e in leaving:
                name(e, tag)
            bypasses.append((v, targets or [v.urn]))
            continue
        if v.urn in hidden_edge:                 # a listener, rule or target group on the path
            through(v.urn)
            e = edges[hidden_edge[v.urn]]
            e.bypass = True
            name(e, tag)
            bypasses.append((v, [e.dst]))
            continue
        # Off the path: a security group rule, an address, a target registration, an integration.
        targets = _targets(result, opener, drawable)
        reached = [e for e in edges.values() if e.dst in targets and not e.intended]
        if reached:                              # it adds a hop the path already shows (a registration)
            for e in reached:
                through(e.dst)
                e.bypass = True
                name(e, tag)
            bypasses.append((v, targets))
            continue
        node(v.urn).opener = True
        members = _members(result)
        sources = [m for sg in _source_groups(opener) for m in members.get(sg, []) if m in nodes] or [INTERNET]
        for source in sources:
            e = edge(source, v.urn)
            e.bypass = True
            name(e, tag)
        for target in targets:
            node(target)
            edge(v.urn, target).bypass = True
        bypasses.append((v, targets or [v.urn]))
    return Traffic(nodes, list(edges.values()), protections, bypasses, labels, fleet)


def summary_line(result: PreviewResult) -> str:
    title = "first preview of a fresh stack, computed values unknown" if result.mode == "preview" \
        else "update, computed values known"
    return f"Offline {result.mode} of stack `{result.stack}` (project `{result.project}`): {title}"
