"""`preview --junit`: the common JUnit XML shape, one test case per policy, a failure exactly for
each policy with a mandatory finding, listing every resource it found."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from _cli_runs import BYPASS_OPENER


def _suite(run) -> ET.Element:
    root = ET.parse(run.junit).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    for key in ("tests", "failures", "errors", "skipped"):
        assert root.get(key) == suites[0].get(key), key
    return suites[0]


def _cases(suite: ET.Element) -> list[ET.Element]:
    cases = suite.findall("testcase")
    for case in cases:
        assert case.get("classname") and case.get("name"), ET.tostring(case)
        assert len(case.findall("failure")) <= 1
    return cases


@pytest.mark.parametrize("which", ["dev_run", "bypass_run"])
def test_counts_match_the_cases(request, which):
    suite = _suite(request.getfixturevalue(which))
    cases = _cases(suite)
    assert int(suite.get("tests")) == len(cases) > 0
    assert int(suite.get("failures")) == sum(1 for c in cases if c.find("failure") is not None)
    assert int(suite.get("skipped")) == sum(1 for c in cases if c.find("skipped") is not None)


@pytest.mark.parametrize("which", ["dev_run", "bypass_run"])
def test_failures_are_the_mandatory_findings(request, which):
    run = request.getfixturevalue(which)
    cases = _cases(_suite(run))
    failing = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
    assert set(failing) == {policy for policy, _urn in run.mandatory}
    assert bool(failing) == (run.exit_code == 1)
    for policy, urn in run.mandatory:        # each failure lists every resource its policy found
        assert urn in failing[policy].text, (policy, urn)


@pytest.mark.parametrize("which", ["dev_run", "bypass_run"])
def test_one_case_per_policy(request, which):
    run = request.getfixturevalue(which)
    names = [c.get("name") for c in _cases(_suite(run))]
    assert len(names) == len(set(names))
    sarif = json.loads(run.sarif.read_text(encoding="utf-8"))
    policies = {r["name"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert set(names) == policies and "disallow-node-bypass" in policies


def test_bypass_failure_names_the_opener(bypass_run):
    case = next(c for c in _cases(_suite(bypass_run)) if c.get("name") == "disallow-node-bypass")
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "LG-PATH-001" and case.get("classname") == "LG-PATH-001"
    assert BYPASS_OPENER in failure.get("message") and bypass_run.urn(BYPASS_OPENER) in failure.text
