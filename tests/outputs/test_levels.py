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
    cases = {(c.get("classname"), c.get("name")): c for c in suite.findall("testcase")}
    advisory = cases[("enforce-desync-mitigation-mode", urn)]
    assert advisory.find("failure") is None and "advisory finding" in advisory.find("system-out").text
    undecided = cases[("require-deletion-protection", urn)]
    assert undecided.find("failure") is None and undecided.find("skipped") is not None
    disabled = [c for (policy, _), c in cases.items() if policy == "enforce-wallarm-mode"]
    assert len(disabled) == 1 and disabled[0].find("skipped").get("message").startswith("disabled")
    failures = {key for key, c in cases.items() if c.find("failure") is not None}
    assert failures == {(v.policy, v.urn) for v in cdn_result.mandatory}
    assert int(suite.get("skipped")) == 2
    ET.fromstring(ET.tostring(suite))   # serialises
