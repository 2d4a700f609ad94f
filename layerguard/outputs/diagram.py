"""The traffic diagram (`--diagram FILE.svg|.png`) with AWS architecture icons.

Drawn with mingrammer's `diagrams` (its AWS icon set, rendered by Graphviz's `dot`) from the same
picture as the Markdown summary (`model.traffic`): one cluster per layer, the path from the internet
through the Wallarm nodes in blue, every bypass in red with the resource that opens it named on the
edge and drawn in red, and each web ACL joined by a dashed edge to the entry it protects.
"""

from __future__ import annotations

import base64
import re
import shutil
import tempfile
from pathlib import Path

from ..engine import PreviewResult
from . import model

FORMATS = ("svg", "png")
INTENDED = "#1f6feb"
BYPASS = "#d1242f"
OTHER = "#57606a"
LAYER_TITLES = {"network": "network", "edge": "edge layer: entry + AWS WAF",
                "node": "node layer: Wallarm filtering nodes", "app": "app layer: internal application",
                "unclassified": "unclassified (untrusted)"}
LAYER_COLOURS = {"edge": "#fff8e1", "node": "#e8f5e9", "app": "#e3f2fd", "network": "#f5f5f5",
                 "unclassified": "#fbe9e7"}


class DiagramUnavailable(Exception):
    """`diagrams` or Graphviz is missing: the message says what to install."""


def check(path: Path) -> str:
    """The output format for `path`; raises ValueError for another suffix and DiagramUnavailable
    when the drawing tools are missing. Called before the preview runs, so a CI job fails fast."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"--diagram {path}: the file must end in .svg or .png (got {path.suffix or 'no suffix'!r})")
    missing = []
    try:
        import diagrams  # noqa: F401
    except ImportError:
        missing.append("the Python package 'diagrams' (pip install -r requirements-dev.txt)")
    if shutil.which("dot") is None:
        missing.append("Graphviz's 'dot' (apt-get install graphviz, or `make setup`)")
    if missing:
        raise DiagramUnavailable(f"--diagram needs {' and '.join(missing)}")
    return fmt


def _icon(node: model.Node, inputs: dict):
    from diagrams.aws import compute, general, network, security

    t = node.type
    if t in ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"):
        kind = inputs.get("loadBalancerType") or "application"
        return {"application": network.ElbApplicationLoadBalancer,
                "network": network.ElbNetworkLoadBalancer}.get(kind, network.ElasticLoadBalancing)
    if t == "aws:ecs/service:Service":
        return compute.Fargate if inputs.get("launchType") == "FARGATE" else compute.ElasticContainerServiceService
    table = {
        "aws:cloudfront/distribution:Distribution": network.CloudFront,
        "aws:cloudfront/vpcOrigin:VpcOrigin": network.CloudFront,
        "aws:wafv2/webAcl:WebAcl": security.WAF,
        "aws:ec2/instance:Instance": compute.EC2Instance,
        "aws:ec2/eip:Eip": compute.EC2ElasticIpAddress,
        "aws:ec2/securityGroup:SecurityGroup": general.GenericFirewall,
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": general.GenericFirewall,
        "aws:ec2/securityGroupRule:SecurityGroupRule": general.GenericFirewall,
        "aws:lambda/function:Function": compute.LambdaFunction,
        "aws:lambda/functionUrl:FunctionUrl": compute.LambdaFunction,
    }
    if t in table:
        return table[t]
    if t.startswith(("aws:apigateway/", "aws:apigatewayv2/")):
        return network.APIGateway
    if t.startswith(("aws:lb/", "aws:alb/")):
        return network.ElasticLoadBalancing
    return general.General


def _text(node: model.Node) -> str:
    return "\n".join(_wrap(t) for t in (node.name, node.detail, *node.notes) if t)


def _wrap(text: str, width: int = 44) -> str:
    """Graphviz does not wrap labels: a long one (an exemption reason, a backend's DNS name) runs
    out of its cluster. Break it after a space, a dot or a slash."""
    lines, line = [], ""
    for piece in re.findall(r"[^ ./]+[ ./]*|[ ./]+", text):
        if line and len(line) + len(piece.rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        line += piece
    lines.append(line.rstrip())
    return "\n".join(lines)


def render(result: PreviewResult, path: Path) -> None:
    """Write the diagram of `result` to `path` (.svg or .png)."""
    fmt = check(path)
    from diagrams import Cluster, Diagram, Edge
    from diagrams.aws.general import InternetAlt1

    picture = model.traffic(result)
    by_urn = result.by_urn()
    fleet = f" · nodes: {', '.join(dict.fromkeys(picture.fleet))}" if picture.fleet else ""
    title = f"layerguard · stack {result.stack} · {model.verdict(result)} · " \
            f"{len(picture.bypasses) or 'no'} bypass{'es' if len(picture.bypasses) != 1 else ''}{fleet}\n" \
            "blue: the path through the Wallarm nodes · red: a bypass, named by the resource that opens it · " \
            "grey: another hop · dashed: AWS WAF"
    graph = {"fontsize": "18", "fontname": "Helvetica", "pad": "0.4", "nodesep": "0.7", "ranksep": "1.4",
             "splines": "spline", "labelloc": "t"}
    with tempfile.TemporaryDirectory() as tmp:
        stem = Path(tmp) / "traffic"
        with Diagram(title, filename=str(stem), outformat=fmt, show=False, direction="LR", graph_attr=graph,
                     node_attr={"fontname": "Helvetica", "fontsize": "12"},
                     edge_attr={"fontname": "Helvetica", "fontsize": "12"}):
            # Node ids by position, not the package's random uuid4: the same preview draws the same bytes.
            drawn = {model.INTERNET: InternetAlt1("internet", nodeid="internet")}
            for layer, nodes in picture.layers().items():
                style = {"bgcolor": LAYER_COLOURS.get(layer, "#ffffff"), "fontsize": "15",
                         "fontname": "Helvetica-Bold", "margin": "18",
                         "labelloc": "b"}
                with Cluster(LAYER_TITLES.get(layer, layer), graph_attr=style):
                    for n in nodes:
                        ordinal = len(drawn)
                        attrs = {"fontcolor": BYPASS, "fontname": "Helvetica-Bold"} if n.opener else {}
                        icon = _icon(n, by_urn[n.key].inputs if n.key in by_urn else {})
                        drawn[n.key] = icon(_text(n), nodeid=f"n{ordinal}", **attrs)
            for e in picture.edges:
                if e.bypass:
                    edge = Edge(color=BYPASS, fontcolor=BYPASS, penwidth="3.0", label=e.label,
                                fontname="Helvetica-Bold")
                elif e.intended:
                    edge = Edge(color=INTENDED, fontcolor="#0a3069", penwidth="2.0", label=e.label)
                else:
                    edge = Edge(color=OTHER, fontcolor=OTHER, penwidth="1.5", label=e.label)
                drawn[e.src] >> edge >> drawn[e.dst]
            for acl, target in picture.protections:
                drawn[acl] >> Edge(color="#8c959f", style="dashed", label=picture.protection_label(acl, target),
                                   fontcolor="#57606a") \
                    >> drawn[target]
        produced = stem.with_suffix(f".{fmt}")
        if fmt == "svg":
            _embed_icons(produced)
        shutil.move(str(produced), str(path))


def _embed_icons(svg: Path) -> None:
    """Graphviz links each icon by its path inside the `diagrams` package; embed them as data URIs
    so the SVG shows its icons anywhere (a README, a CI artifact), not only on this machine."""
    def inline(match: re.Match) -> str:
        icon = Path(match.group(1))
        data = base64.b64encode(icon.read_bytes()).decode("ascii")
        return f'xlink:href="data:image/png;base64,{data}"'

    text = re.sub(r'xlink:href="([^"]+\.png)"', inline, svg.read_text(encoding="utf-8"))
    svg.write_text(text, encoding="utf-8")
