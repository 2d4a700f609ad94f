"""JUnit XML for a CI test tab: one test case per policy.

The common shape (`testsuites` > `testsuite` > `testcase` with `failure` / `skipped`) that CI test
reporters read. One suite per preview; in it one case per policy in force (classname its rule ID,
name the policy), which fails when the policy has a finding at a failing level (mandatory,
remediate): the failure's message counts and names the resources, its text lists each resource's
URN with its finding. Advisory findings stay in the passing case's `system-out`; a policy that
could not decide during preview (and has no failing finding) is `skipped`, as is a disabled
policy. Findings of a policy GetAnalyzerInfo did not list get a case of their own. A preview that
could not run (exit 2: bad settings, a program or pack failure) is one case with an `error`.
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
    by_policy: dict[str, list] = defaultdict(list)
    for v in sorted(result.violations, key=lambda v: (v.policy, v.urn, v.message)):
        by_policy[v.policy].append(v)
    by_urn = result.by_urn()
    stack_urn = next((r.urn for r in result.resources if r.type == "pulumi:pulumi:Stack"), "")

    def where(v) -> str:
        res = by_urn.get(v.urn)
        return res.name if res is not None else (v.urn or "(stack)")

    el = ET.Element("testsuite", name=name)
    counts = {"tests": 0, "failures": 0, "skipped": 0}
    listed = [(p.name, p.rule_id, p.level) for p in policies]
    known = {p.name for p in policies}
    listed += [(policy, policy, "") for policy in sorted(by_policy) if policy not in known]
    for policy, rule_id, level in listed:
        case = ET.SubElement(el, "testcase", classname=rule_id, name=policy)
        counts["tests"] += 1
        if level == "disabled":
            ET.SubElement(case, "skipped", message="disabled by the policy pack config")
            counts["skipped"] += 1
            continue
        found = by_policy.get(policy, [])
        failing = [v for v in found if v.enforcement in model.FAILING and not v.could_not_run]
        undecided = [v for v in found if v.could_not_run]
        advisory = [v for v in found if v not in failing and v not in undecided]
        if failing:
            counts["failures"] += 1
            names = list(dict.fromkeys(where(v) for v in failing))
            failure = ET.SubElement(case, "failure", type=rule_id,
                                    message=f"{len(names)} resource(s): {', '.join(names)}")
            failure.text = "\n\n".join(f"{v.urn or stack_urn or '(stack)'}\n{model.finding(v)}" for v in failing)
        elif undecided:
            counts["skipped"] += 1
            names = list(dict.fromkeys(where(v) for v in undecided))
            ET.SubElement(case, "skipped", message=f"could not decide during preview on {len(names)} "
                                                   f"resource(s): {', '.join(names)}")
        if advisory:
            out = ET.SubElement(case, "system-out")
            out.text = "\n\n".join(f"[advisory] {v.urn or stack_urn or '(stack)'}\n{model.finding(v)}"
                                     for v in advisory)
    for key, value in counts.items():
        el.set(key, str(value))
    el.set("errors", "0")
    properties = ET.Element("properties")
    for name, value in (("stack", result.stack), ("mode", result.mode), ("verdict", model.verdict(result)),
                        ("policyPack", f"{result.pack.name}@v{result.pack.version}" if result.pack else ""),
                        ("resourcesJudged", str(len(model.judged(result))))):
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
