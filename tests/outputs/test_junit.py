"""`preview --junit`: the common JUnit XML shape, one test case per policy and resource judged,
a failure exactly for each (policy, resource) with a mandatory finding."""

from __future__ import annotations

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
    failing = {(c.get("classname"), c.get("name")) for c in _cases(_suite(run)) if c.find("failure") is not None}
    assert failing == run.mandatory
    assert bool(failing) == (run.exit_code == 1)


@pytest.mark.parametrize("which", ["dev_run", "bypass_run"])
def test_every_policy_meets_every_aws_resource(request, which):
    run = request.getfixturevalue(which)
    cases = {(c.get("classname"), c.get("name")) for c in _cases(_suite(run))}
    policies = {c for c, _ in cases}
    assert "disallow-node-bypass" in policies and "enforce-listener-tls-policy" in policies
    aws = [r["urn"] for r in run.result["resources"] if r["type"].startswith("aws:")]
    missing = [(p, u) for p in policies for u in aws if (p, u) not in cases]
    assert not missing, missing[:5]


def test_bypass_failure_names_the_opener(bypass_run):
    opener = bypass_run.urn(BYPASS_OPENER)
    case = next(c for c in _cases(_suite(bypass_run))
                if c.get("classname") == "disallow-node-bypass" and c.get("name") == opener)
    failure = case.find("failure")
    assert failure is not None and failure.get("type") == "LG-PATH-001"
    assert BYPASS_OPENER in failure.get("message") and BYPASS_OPENER in failure.text
