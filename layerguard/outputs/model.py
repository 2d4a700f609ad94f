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
    if result.pack is None:
        return "NOT ANALYSED"
    return "FAILED" if result.mandatory else "PASSED"


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
    bypass: bool = False


@dataclass
class Traffic:
    nodes: dict[str, Node]
    edges: list[Edge]
    protections: list[tuple[str, str]]   # (web ACL URN, protected resource URN)
    bypasses: list[tuple[Violation, list[str]]]  # each bypass finding and the nodes it opens onto

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
        return f"{'ALB' if kind == 'application' else kind.upper() if len(kind) < 5 else kind}, " \
               f"{'internal' if res.inputs.get('internal') is True else 'internet-facing'}"
    if t == "aws:ecs/service:Service":
        launch = res.inputs.get("launchType")
        service = "ECS Fargate service" if launch == "FARGATE" else "ECS service"
        return f"Wallarm nodes, {service}" if res.layer == "node" else service
    if t in _SG_RULE_TYPES:
        sources = [res.inputs.get(k) for k in ("cidrIpv4", "cidrIpv6", "prefixListId", "cidrBlocks", "ipv6CidrBlocks")]
        shown = [", ".join(map(str, s)) if isinstance(s, list) else s for s in sources if s]
        return "security group rule" + (f" from {shown[0]}" if shown and isinstance(shown[0], str)
                                        and not _unknown(shown[0]) else "")
    return _DETAILS.get(t, short_type(t))


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
    """What an off-path opener opens onto: the drawable resources it reaches through property
    dependencies, a security group standing for its members, a target group for what it sends to."""
    by_urn, members = result.by_urn(), _members(result)
    _, hops = paths.build(result.resources)
    found: list[str] = []
    seen = {opener.urn}
    frontier = [u for deps in opener.property_dependencies.values() for u in deps]
    # Resources that name the opener (an attachment or association pointing at it) count too.
    frontier += [r.urn for r in result.resources
                 if any(opener.urn in deps for deps in r.property_dependencies.values())]
    for _ in range(3):
        nxt = []
        for urn in frontier:
            if urn in seen or urn not in by_urn:
                continue
            seen.add(urn)
            res = by_urn[urn]
            if res.type == paths.SG_TYPE:
                nxt.extend(members.get(urn, []))
            elif res.type in paths.TG_TYPES:
                nxt.extend(hops.get(urn, []))
            elif drawable(res):
                found.append(urn)
        if found:
            break
        frontier = nxt
    return list(dict.fromkeys(found))


def traffic(result: PreviewResult) -> Traffic:
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

    chains = paths.chains(result.resources)
    # Each chain collapses listeners, rules and target groups into the label of the hop they carry.
    hidden_edge: dict[str, tuple[str, str]] = {}   # hidden hop URN -> the edge it labels
    intended: set[tuple[str, str]] = set()          # edges of a chain through the node layer
    for chain in chains:
        prev, pending = INTERNET, []
        through_nodes = any(by_urn[u].layer == "node" for u in chain)
        for urn in chain:
            if by_urn[urn].type in _HIDDEN:
                pending.append(urn)
                continue
            node(urn)
            edge(prev, urn, " → ".join(_hop_label(by_urn[u]) for u in pending))
            if through_nodes:
                intended.add((prev, urn))
            for u in pending:
                hidden_edge[u] = (prev, urn)
            prev, pending = urn, []
        if pending and prev != INTERNET:
            note = " → ".join(_hop_label(by_urn[u]) for u in pending)
            if note not in nodes[prev].notes:
                nodes[prev].notes.append(note)

    protections = []
    for r in result.resources:
        if r.type == "aws:wafv2/webAclAssociation:WebAclAssociation":
            for acl in r.property_dependencies.get("webAclArn", []):
                for target in r.property_dependencies.get("resourceArn", []):
                    if target in nodes and acl in by_urn:
                        protections.append((acl, target))
        elif r.urn in nodes and r.type == "aws:cloudfront/distribution:Distribution":
            protections += [(acl, r.urn) for acl in r.property_dependencies.get("webAclId", []) if acl in by_urn]
    for acl, _ in protections:
        node(acl)

    def downstream(start: str) -> None:
        """Mark the edges from `start` onward as the bypass, up to where it joins the intended path."""
        todo, seen = [start], set()
        while todo:
            src = todo.pop()
            if src in seen:
                continue
            seen.add(src)
            for (a, b), e in edges.items():
                if a == src and (a, b) not in intended:
                    e.bypass = True
                    todo.append(b)

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
            for e in edges.values():
                if e.dst == v.urn:
                    e.bypass = True
            downstream(v.urn)
            for e in edges.values():             # named on the edges it opens
                if e.src == v.urn and e.bypass:
                    e.label = f"{e.label} · {tag}" if e.label else tag
            bypasses.append((v, [v.urn]))
        elif v.urn in hidden_edge:               # a listener, rule or target group on the path
            src, dst = hidden_edge[v.urn]
            e = edges[(src, dst)]
            e.bypass, e.label = True, f"{e.label} · {tag}"
            downstream(dst)
            bypasses.append((v, [dst]))
        else:                                    # off the path: a rule, an address, an attachment
            node(v.urn).opener = True
            targets = _targets(result, opener, drawable)
            edge(INTERNET, v.urn, tag).bypass = True
            for target in targets:
                node(target)
                edge(v.urn, target).bypass = True
            bypasses.append((v, targets or [v.urn]))
    return Traffic(nodes, list(edges.values()), protections, bypasses)


def summary_line(result: PreviewResult) -> str:
    title = "first preview of a fresh stack, computed values unknown" if result.mode == "preview" \
        else "update, computed values known"
    return f"Offline {result.mode} of stack `{result.stack}` (project `{result.project}`): {title}"
