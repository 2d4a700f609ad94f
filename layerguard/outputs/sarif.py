"""SARIF 2.1.0 for code scanning: one rule per policy of the pack, one result per finding.

Shaped for GitHub code scanning ("SARIF support for code scanning", docs.github.com): every result
has a physical location (GitHub rejects results without `physicalLocation.artifactLocation.uri`),
here the program's entry point, since a finding is about a resource the program registers and the
engine does not know the line; the resource itself is the result's logical location, its URN the
`fullyQualifiedName`. Rules carry `security-severity` (GitHub's scale: critical > 9.0, high 7.0-8.9,
medium 4.0-6.9, low 0.1-3.9) and the `security` tag, `help` and `helpUri`; results carry a
`partialFingerprints` entry of their own (rule and URN), so an alert stays one alert across runs
however the program file changes; `automationDetails.id` is per stack, so each stack's upload is
its own analysis category.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .. import __version__
from ..engine import PreviewResult
from . import model

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.0"}
RULE_LEVEL = {"mandatory": "error", "remediate": "error", "advisory": "warning", "disabled": "none"}


def _level(v) -> str:
    if v.could_not_run:   # the SDK's "can't run policy ... during preview": not a finding
        return "note"
    return RULE_LEVEL.get(v.enforcement, "warning")


def _artifact_uri(program_file: Path) -> str:
    """The entry point relative to the working directory (the checkout root in CI), else absolute."""
    try:
        return program_file.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return program_file.resolve().as_uri()


def _rule(policy: model.Policy) -> dict[str, Any]:
    help_md = [f"**{policy.rule_id} `{policy.name}`** ({policy.severity or 'no severity'}, {policy.level})",
               "", policy.description]
    if policy.remediation:
        help_md += ["", f"**Remediation:** {policy.remediation}"]
    if policy.url:
        help_md += ["", f"[Reference]({policy.url})"]
    rule: dict[str, Any] = {
        "id": policy.rule_id,
        "name": policy.name,
        "shortDescription": {"text": f"{policy.rule_id} {policy.name}"},
        "fullDescription": {"text": policy.description or policy.name},
        "help": {"text": policy.remediation or policy.description or policy.name, "markdown": "\n".join(help_md)},
        "defaultConfiguration": {"level": RULE_LEVEL.get(policy.level, "warning"),
                                 "enabled": policy.level != "disabled"},
        "properties": {"tags": ["security", "pulumi", "crossguard"], "precision": "very-high",
                       "enforcementLevel": policy.level},
    }
    if policy.url:
        rule["helpUri"] = policy.url
    if policy.severity in SECURITY_SEVERITY:
        rule["properties"]["security-severity"] = SECURITY_SEVERITY[policy.severity]
        rule["properties"]["severity"] = policy.severity
    return rule


def run(result: PreviewResult, program_file: Path, label: str | None = None) -> dict[str, Any]:
    """One SARIF run for one preview (`label`: the run's name in `preview --all`, which keeps two
    runs of one stack apart in code scanning)."""
    policies = model.policies(result)
    index = {p.name: i for i, p in enumerate(policies)}
    rules = [_rule(p) for p in policies]
    by_urn = result.by_urn()
    stack_urn = next((r.urn for r in result.resources if r.type == "pulumi:pulumi:Stack"), "")
    uri = _artifact_uri(program_file)
    results = []
    for v in result.violations:
        if v.policy not in index:   # a finding of a policy GetAnalyzerInfo did not list
            index[v.policy] = len(rules)
            rules.append({"id": v.policy, "name": v.policy, "shortDescription": {"text": v.policy}})
        rule = rules[index[v.policy]]
        urn = v.urn or stack_urn
        res = by_urn.get(urn)
        logical: dict[str, Any] = {"fullyQualifiedName": urn, "kind": "resource"}
        if res is not None:
            logical["name"] = res.name
        fingerprint = hashlib.sha256(f"{rule['id']}\0{urn}".encode()).hexdigest()
        properties: dict[str, Any] = {"enforcementLevel": v.enforcement, "policyPack": v.pack, "stack": result.stack}
        if res is not None:
            properties.update({"resourceType": res.type, "layer": res.layer})
        results.append({
            "ruleId": rule["id"],
            "ruleIndex": index[v.policy],
            "level": _level(v),
            "message": {"text": model.finding(v)},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                                     "region": {"startLine": 1}},
                "logicalLocations": [logical],
            }],
            "partialFingerprints": {"layerguardFinding/v1": fingerprint},
            "properties": properties,
        })
    pack = result.pack
    driver: dict[str, Any] = {"name": pack.name if pack else "layerguard", "rules": rules,
                              "properties": {"engine": f"layerguard offline preview {__version__}"}}
    if pack is not None:
        driver["version"] = pack.version
    return {
        "tool": {"driver": driver},
        "automationDetails": {"id": f"layerguard/{model.slug(label) if label else result.stack}/"},
        "invocations": [{"executionSuccessful": result.exit_code != 2,
                         **({"toolExecutionNotifications": [{"level": "error", "message": {"text": result.error}}]}
                            if result.error else {}),
                         "properties": {"mode": result.mode, "exitCode": result.exit_code,
                                        "verdict": model.verdict(result)}}],
        "results": results,
        "properties": {"stack": result.stack, "project": result.project},
    }


def document(results: list[tuple[PreviewResult, Path]], labels: list[str] | None = None) -> dict[str, Any]:
    """The SARIF log: one run per (preview, its program's entry point)."""
    return {"$schema": SCHEMA_URI, "version": "2.1.0",
            "runs": [run(result, program_file, labels[i] if labels else None)
                     for i, (result, program_file) in enumerate(results)]}


def write(path: Path, results: list[tuple[PreviewResult, Path]], labels: list[str] | None = None) -> None:
    path.write_text(json.dumps(document(results, labels), indent=2) + "\n", encoding="utf-8")
