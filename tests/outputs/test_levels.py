"""How each kind of finding shows in SARIF and JUnit: the levels a real preview of ours rarely
produces (advisory, "can't run policy during preview", a disabled policy) added to a real result."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path

from layerguard.engine import Violation
from layerguard.outputs import junit, sarif


def _with_other_levels(result):
    result = copy.deepcopy(result)
    alb = next(r for r in result.resources if r.name == "edge-alb")
    result.violations += [
        Violation("enforce-desync-mitigation-mode", "layerguard", "advisory", alb.urn,
                  "LG-ALB-004: desc\n[LG-ALB-004] advisory finding on edge-alb"),
        Violation("require-deletion-protection", "layerguard", "advisory", alb.urn,
                  "can't run policy 'require-deletion-protection' during preview: urn:...:edge-alb"),
    ]
    result.policy_config["enforce-wallarm-mode"] = {"enforcementLevel": "disabled", "properties": {}}
    return result, alb.urn


def test_sarif_levels(cdn_result):
    result, urn = _with_other_levels(cdn_result)
    run = sarif.run(result, Path("__main__.py"))
    levels = {(r["ruleId"], r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]): r["level"]
              for r in run["results"]}
    assert levels[("LG-ALB-004", urn)] == "warning"
    assert levels[("LG-ALB-005", urn)] == "note"
    assert "error" in levels.values()   # the bypass itself
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["LG-WLM-002"]["defaultConfiguration"] == {"level": "none", "enabled": False}


def test_junit_levels(cdn_result):
    result, urn = _with_other_levels(cdn_result)
    suite = junit.document([result]).getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    advisory = cases["enforce-desync-mitigation-mode"]
    assert advisory.find("failure") is None and "advisory finding" in advisory.find("system-out").text
    assert urn in advisory.find("system-out").text
    undecided = cases["require-deletion-protection"]
    assert undecided.find("failure") is None and undecided.find("skipped") is not None
    assert "edge-alb" in undecided.find("skipped").get("message")
    assert cases["enforce-wallarm-mode"].find("skipped").get("message").startswith("disabled")
    failures = {name for name, c in cases.items() if c.find("failure") is not None}
    assert failures == {v.policy for v in cdn_result.mandatory}
    assert int(suite.get("skipped")) == 2
    assert len(cases) == len(suite.findall("testcase")) == len(result.pack.policies)
    ET.fromstring(ET.tostring(suite))   # serialises
