"""A Markdown summary a CI job can post as a pull-request comment: the verdict, counts per layer,
the findings, and the traffic path as a Mermaid flowchart (GitHub and GitLab render ```mermaid
blocks in comments), every bypass in red and labelled with the resource that opens it."""

from __future__ import annotations

from pathlib import Path

from ..engine import PreviewResult
from . import model

MAX_ROWS = 100  # a PR comment holds 65,536 characters
LAYER_TITLES = {"internet": "internet", "network": "network", "edge": "edge: entry + AWS WAF",
                "node": "node: Wallarm filtering nodes", "app": "app: internal application",
                "unclassified": "unclassified (untrusted)"}
INTENDED = "#1f6feb"
BYPASS = "#d1242f"
OTHER = "#57606a"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _label(text: str) -> str:
    """Text inside a Mermaid quoted label."""
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def mermaid(result: PreviewResult) -> str:
    picture = model.traffic(result)
    ids = {key: f"n{i}" for i, key in enumerate(picture.nodes)}
    lines = ["flowchart LR", f'  {ids[model.INTERNET]}(("internet"))']
    for layer, nodes in picture.layers().items():
        lines.append(f'  subgraph layer_{layer}["{_label(LAYER_TITLES.get(layer, layer))}"]')
        for n in nodes:
            text = "<br/>".join(_label(t) for t in (n.name, n.detail, *n.notes) if t)
            lines.append(f'    {ids[n.key]}["{text}"]')
        lines.append("  end")
    links: list[str] = []
    intended, bypass, other, protect = [], [], [], []
    for e in picture.edges:
        label = f'|"{_label(e.label)}"|' if e.label else ""
        (bypass if e.bypass else intended if e.intended else other).append(len(links))
        links.append(f"  {ids[e.src]} -->{label} {ids[e.dst]}")
    for acl, target in picture.protections:
        protect.append(len(links))
        links.append(f'  {ids[acl]} -.->|"{_label(picture.protection_label(acl, target))}"| {ids[target]}')
    lines += links
    if intended:
        lines.append(f"  linkStyle {','.join(map(str, intended))} stroke:{INTENDED},stroke-width:2px")
    if bypass:
        lines.append(f"  linkStyle {','.join(map(str, bypass))} stroke:{BYPASS},stroke-width:3px,color:{BYPASS}")
    if other:
        lines.append(f"  linkStyle {','.join(map(str, other))} stroke:{OTHER},stroke-width:2px")
    if protect:
        lines.append(f"  linkStyle {','.join(map(str, protect))} stroke:#8c959f,stroke-width:1px")
    openers = [ids[n.key] for n in picture.nodes.values() if n.opener]
    if openers:
        lines.append(f"  classDef bypass fill:#ffebe9,stroke:{BYPASS},stroke-width:2px,color:#82071e")
        lines.append(f"  class {','.join(openers)} bypass")
    return "\n".join(lines)


def section(result: PreviewResult, label: str | None = None) -> str:
    verdict = model.verdict(result)
    mark = {"PASSED": "✅", "FAILED": "❌"}.get(verdict, "⚠️")
    title = f"`{label}`" if label else f"stack `{result.stack}`"
    if verdict == "ERROR":
        return "\n".join([f"## {mark} layerguard: {title} {verdict}", "", "The preview did not run:", "",
                          "```", result.error or "(no message)", "```"])
    out = [f"## {mark} layerguard: {title} {verdict}", "", model.summary_line(result) + "."]
    if result.pack is not None:
        failing = len(result.mandatory)
        out[-1] += (f" Policy pack `{result.pack.name}@v{result.pack.version}` ({len(result.pack.policies)} "
                    f"policies): {failing} failing finding(s), {len(result.violations) - failing} advisory.")
    if result.could_not_run:
        out += ["", f"> **Warning:** {len(result.could_not_run)} policy run(s) could not decide during "
                "preview (they read an unknown value); they are not enforced until the update."]
    out += ["", "| layer | resources | failing findings | advisory findings |", "|---|---:|---:|---:|"]
    out += [f"| {layer} | {n} | {f} | {a} |" for layer, n, f, a in model.layer_counts(result)]

    rule_ids = {p.name: p.rule_id for p in model.policies(result)}
    by_urn = result.by_urn()
    order = {"mandatory": 0, "remediate": 0, "advisory": 1}
    findings = sorted(result.violations, key=lambda v: (order.get(v.enforcement, 2), v.policy, v.urn))
    out += ["", f"### Findings ({len(findings)})", ""]
    if findings:
        out += ["| level | rule | resource | finding |", "|---|---|---|---|"]
        for v in findings[:MAX_ROWS]:
            res = by_urn.get(v.urn)
            where = f"`{res.name}` ({model.short_type(res.type)})" if res else (f"`{v.urn}`" if v.urn else "(stack)")
            level = "could not run" if v.could_not_run else v.enforcement
            out.append(f"| {level} | {_cell(rule_ids.get(v.policy, ''))} `{v.policy}` | {_cell(where)} "
                       f"| {_cell(model.finding(v))} |")
        if len(findings) > MAX_ROWS:
            out.append(f"\n…and {len(findings) - MAX_ROWS} more (see the SARIF or JUnit report).")
    else:
        out.append("No findings." if result.pack is not None else "No policy pack: nothing was analysed.")

    out += ["", "### Traffic path", "", "```mermaid", mermaid(result), "```", "",
            "Blue: the path from the internet through the Wallarm nodes. Red: a bypass the policy pack "
            "reported, labelled with the resource that opens it. Grey: another hop. Dashed: AWS WAF "
            "protecting an entry."]
    return "\n".join(out)


def document(results: list[PreviewResult], labels: list[str] | None = None) -> str:
    return "\n\n---\n\n".join(section(r, labels[i] if labels else None) for i, r in enumerate(results)) + "\n"


def write(path: Path, results: list[PreviewResult], labels: list[str] | None = None) -> None:
    path.write_text(document(results, labels), encoding="utf-8")
