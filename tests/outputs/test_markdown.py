"""`preview --markdown`: a pull-request comment with the verdict, counts per layer, the findings and
the traffic path as a Mermaid flowchart whose bypass links are red and name their opener."""

from __future__ import annotations

import re

from _cli_runs import BYPASS_OPENER

from layerguard.outputs import markdown


def _mermaid(text: str) -> str:
    blocks = re.findall(r"```mermaid\n(.*?)\n```", text, re.S)
    assert len(blocks) == 1, text
    assert blocks[0].startswith("flowchart LR\n")
    return blocks[0]


def _links(block: str) -> tuple[list[str], dict[str, set[int]]]:
    """The link lines in order (Mermaid numbers them for linkStyle) and each colour's link indexes."""
    links = [line.strip() for line in block.splitlines() if "-->" in line or "-.->" in line]
    styles: dict[str, set[int]] = {}
    for indexes, colour in re.findall(r"linkStyle ([\d,]+) stroke:(#[0-9a-f]{6})", block):
        styles.setdefault(colour, set()).update(int(i) for i in indexes.split(","))
    return links, styles


def _names(block: str) -> dict[str, str]:
    """Mermaid node id -> the first line of its label (the resource name)."""
    return {m.group(1): m.group(2) for m in re.finditer(r'(n\d+)\[?\(?\(?"([^"<]+)', block)}


def _edges(block: str) -> list[tuple[str, str, str]]:
    names = _names(block)
    out = []
    for line in _links(block)[0]:
        m = re.match(r'(n\d+) -\.?->(?:\|"([^"]*)"\|)? (n\d+)', line)
        assert m, line
        out.append((names[m.group(1)], m.group(2) or "", names[m.group(3)]))
    return out


def test_compliant_stack(dev_run):
    text = dev_run.markdown.read_text(encoding="utf-8")
    assert text.startswith("## ✅ layerguard: stack `dev` PASSED")
    assert "No findings." in text
    rows = dict(re.findall(r"^\| (network|edge|node|app|unclassified) \| (\d+) \|", text, re.M))
    assert {"edge", "node", "app"} <= set(rows) and all(int(n) > 0 for n in rows.values())
    block = _mermaid(text)
    _, styles = _links(block)
    assert markdown.BYPASS not in styles
    edges = _edges(block)
    # internet -> entry ALB -> Wallarm nodes -> internal ALB -> app, all in the intended colour.
    path = [(a, b) for a, _, b in edges if a != "edge-web-acl"]
    assert path == [("internet", "edge-alb"), ("edge-alb", "node-service"), ("node-service", "app-alb"),
                    ("app-alb", "app-service")], edges
    assert styles[markdown.INTENDED] == {0, 1, 2, 3}
    assert ("edge-web-acl", "protects", "edge-alb") in edges
    assert re.search(r'subgraph layer_node\["node: Wallarm filtering nodes"\]\n\s+n\d+\["node-service', block)


def test_bypass_case(bypass_run):
    text = bypass_run.markdown.read_text(encoding="utf-8")
    assert text.startswith("## ❌ layerguard: stack `test` FAILED")
    row = [line for line in text.splitlines() if line.startswith("| mandatory |")]
    assert len(row) == len(bypass_run.mandatory) == 1
    assert "LG-PATH-001 `disallow-node-bypass`" in row[0] and f"`{BYPASS_OPENER}`" in row[0]
    assert re.search(r"^\| app \| \d+ \| 1 \| 0 \|$", text, re.M), "the finding counts in the app layer"
    block = _mermaid(text)
    _, styles = _links(block)
    edges = _edges(block)
    red = {edges[i][0::2] for i in styles[markdown.BYPASS]}
    assert red == {("internet", BYPASS_OPENER), (BYPASS_OPENER, "app-svc")}
    assert ("internet", f"bypass: {BYPASS_OPENER}", BYPASS_OPENER) in edges
    assert re.search(r"class n\d+ bypass", block)


def test_entry_that_bypasses_joins_the_intended_path(cdn_result):
    assert cdn_result.exit_code == 1, cdn_result.error
    block = _mermaid(markdown.section(cdn_result))
    _, styles = _links(block)
    edges = _edges(block)
    red = [edges[i] for i in sorted(styles[markdown.BYPASS])]
    # Red from the internet through the distribution to the app ALB; from there the path is shared.
    assert {(a, b) for a, _, b in red} == {("internet", "bypass-cdn"), ("bypass-cdn", "app-alb")}
    assert ("bypass-cdn", "bypass: bypass-cdn", "app-alb") in red
    blue = {(a, b) for i, (a, _, b) in enumerate(edges) if i in styles[markdown.INTENDED]}
    assert ("app-alb", "app-svc") in blue and ("edge-alb", "node-svc") in blue
