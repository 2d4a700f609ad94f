"""JUnit XML for a CI test tab: one test case per policy and resource judged.

The common shape (`testsuites` > `testsuite` > `testcase` with `failure` / `skipped`) that CI test
reporters read. One suite per preview; in it, every policy in force against every resource the pack
judged (the Analyzer protocol does not say which types a policy looks at, so each policy meets every
resource, as it does in `Analyze`), plus a case for each finding on the stack as a whole. A finding
at a failing level (mandatory, remediate) is a `failure`; an advisory finding stays a passing case
with the finding in `system-out`; a policy that could not decide during preview is `skipped`, and a
disabled policy is one skipped case. A preview that could not run (exit 2: bad settings, a
program or pack failure) is one case with an `error`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from ..engine import PreviewResult
from . import model


def _error_suite(result: PreviewResult, name: str) -> ET.Element:
    el = ET.Element("testsuite", name=name, tests="1", failures="0", errors="1", skipped="0")
    case = ET.SubElement(el, "testcase", classname="layerguard", name="preview")
    error = ET.SubElement(case, "error", message=(result.error or "the preview did not run").splitlines()[0])
    error.text = result.error or ""
    return el


def suite(result: PreviewResult, label: str | None = None) -> ET.Element:
    name = f"layerguard preview {label or result.stack}"
    if model.verdict(result) == "ERROR":
        return _error_suite(result, name)
    policies = model.policies(result)
    findings: dict[tuple[str, str], list] = defaultdict(list)
    for v in result.violations:
        findings[(v.policy, v.urn)].append(v)
    stack_urn = next((r.urn for r in result.resources if r.type == "pulumi:pulumi:Stack"), "")
    cases: list[tuple[str, str]] = []  # (policy, urn)
    for p in policies:
        if p.level == "disabled":
            continue
        cases += [(p.name, r.urn) for r in model.judged(result)]
    # Findings on resources not judged on their own (the stack, components) or by unlisted policies.
    listed = set(cases)
    cases += [key for key in findings if key not in listed]

    el = ET.Element("testsuite", name=name)
    counts = {"tests": 0, "failures": 0, "skipped": 0}
    meta = {p.name: p for p in policies}
    for p in policies:
        if p.level == "disabled":
            case = ET.SubElement(el, "testcase", classname=p.name, name="(policy disabled)")
            ET.SubElement(case, "skipped", message="disabled by the policy pack config")
            counts["tests"] += 1
            counts["skipped"] += 1
    for policy, urn in cases:
        case = ET.SubElement(el, "testcase", classname=policy, name=urn or stack_urn or "(stack)")
        counts["tests"] += 1
        found = findings.get((policy, urn), [])
        failing = [v for v in found if v.enforcement in model.FAILING and not v.could_not_run]
        undecided = [v for v in found if v.could_not_run]
        advisory = [v for v in found if v not in failing and v not in undecided]
        rule_id = meta[policy].rule_id if policy in meta else policy
        if failing:
            counts["failures"] += 1
            failure = ET.SubElement(case, "failure", type=rule_id,
                                    message=model.finding(failing[0]).splitlines()[0])
            failure.text = "\n\n".join(model.finding(v) for v in failing)
        elif undecided:
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=undecided[0].message.splitlines()[0])
        if advisory:
            out = ET.SubElement(case, "system-out")
            out.text = "\n\n".join(f"[advisory] {model.finding(v)}" for v in advisory)
    for key, value in counts.items():
        el.set(key, str(value))
    el.set("errors", "0")
    properties = ET.Element("properties")
    for name, value in (("stack", result.stack), ("mode", result.mode), ("verdict", model.verdict(result)),
                        ("policyPack", f"{result.pack.name}@v{result.pack.version}" if result.pack else "")):
        ET.SubElement(properties, "property", name=name, value=value)
    el.insert(0, properties)
    return el


def document(results: list[PreviewResult], labels: list[str] | None = None) -> ET.ElementTree:
    """One suite per preview; `labels` name them (`preview --all`), else the stack does."""
    root = ET.Element("testsuites", name="layerguard")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for i, result in enumerate(results):
        el = suite(result, labels[i] if labels else None)
        root.append(el)
        for key in totals:
            totals[key] += int(el.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def write(path: Path, results: list[PreviewResult], labels: list[str] | None = None) -> None:
    document(results, labels).write(path, encoding="utf-8", xml_declaration=True)
