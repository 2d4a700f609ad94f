"""SARIF 2.1.0 for code scanning: one rule per policy of the pack, one result per finding.

Shaped for GitHub code scanning ("SARIF support for code scanning", docs.github.com): every result
has a physical location (GitHub rejects results without `physicalLocation.artifactLocation.uri`),
the line of the stack file (`Pulumi.<stack>.yaml`, or the `--config-file`) that set the offending
value where it can be found (the finding names the key, or quotes a value the file sets and the
resource carries), else the program's entry point (a finding about a resource the program
registers, whose line the engine does not know); the resource itself is the result's logical
location, its URN the `fullyQualifiedName`. Rules carry `security-severity` (GitHub's scale: critical > 9.0, high 7.0-8.9,
medium 4.0-6.9, low 0.1-3.9) and the `security` tag, `help` and `helpUri`; results carry a
`partialFingerprints` entry of their own (rule and URN), so an alert stays one alert across runs
however the program file changes; `automationDetails.id` is per stack, so each stack's upload is
its own analysis category.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from .. import __version__, stackfile
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


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        if value[:1] in "[{":   # a JSON document as an input (ECS container definitions, policies)
            try:
                return [value, *_strings(json.loads(value))]
            except ValueError:
                pass
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _config_line(message: str, res, entries: list[stackfile.Entry], keys: dict[str, int]) -> int | None:
    """The stack-file line that set what a finding is about: a config key the message names, else
    a value of the file the message quotes (or, six characters or longer, contains) and the
    resource's inputs carry."""
    for key, line in keys.items():
        if len(key.split(":")[-1]) >= 6 and re.search(rf"(?<![\w]){re.escape(key.split(':')[-1])}(?![\w])", message):
            return line
    if res is None:
        return None
    carried = _strings(res.inputs)
    for entry in entries:
        value = entry.value if isinstance(entry.value, str) else None
        if not value or len(value) < 2:
            continue
        quoted = f"'{value}'" in message or f'"{value}"' in message
        # a short value must be an input of its own (WALLARM_MODE=off), not part of a name (/dev/)
        held = any(value == text or (len(value) >= 6 and value in text) for text in carried)
        if (quoted or (len(value) >= 6 and value in message)) and held:
            return entry.line
    return None


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


def run(result: PreviewResult, program_file: Path, label: str | None = None,
        stack_file: Path | None = None) -> dict[str, Any]:
    """One SARIF run for one preview (`label`: the run's name in `preview --all`, which keeps two
    runs of one stack apart in code scanning; `stack_file`: the config file it read)."""
    entries = stackfile.entries(stack_file) if stack_file is not None else []
    keys = stackfile.key_lines(stack_file) if stack_file is not None else {}
    stack_uri = _artifact_uri(stack_file) if stack_file is not None else ""
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
        program_location = {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 1}}
        line = _config_line(v.message, res, entries, keys) if stack_file is not None else None
        physical = {"artifactLocation": {"uri": stack_uri, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": line}} if line else program_location
        results.append({
            "ruleId": rule["id"],
            "ruleIndex": index[v.policy],
            "level": _level(v),
            "message": {"text": model.finding(v)},
            "locations": [{
                "physicalLocation": physical,
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


def document(results: list[tuple], labels: list[str] | None = None) -> dict[str, Any]:
    """The SARIF log: one run per (preview, its program's entry point[, its stack file])."""
    return {"$schema": SCHEMA_URI, "version": "2.1.0",
            "runs": [run(item[0], item[1], labels[i] if labels else None, item[2] if len(item) > 2 else None)
                     for i, item in enumerate(results)]}


def write(path: Path, results: list[tuple], labels: list[str] | None = None) -> None:
    path.write_text(json.dumps(document(results, labels), indent=2) + "\n", encoding="utf-8")
