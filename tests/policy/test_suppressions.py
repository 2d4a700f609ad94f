"""Suppressions through the policy pack config: applied ones disappear from the mandatory verdict and
are listed by `report-suppressions`; invalid ones are not applied and fail `require-suppression-reason`."""

from __future__ import annotations

import pytest
from _previews import MODES, describe, key, run_all, urn_of

PROGRAM = "hygiene"
CASE = "alb-keeps-invalid-headers,http-forward,waf-no-rate-rule"
REASON = "legacy clients send underscores in header names until 2026-09"
CONFIG = {
    # valid, by logical name: a resource policy
    "enforce-drop-invalid-header-fields": {"suppressions": [{"resource": "edge-alb", "reason": REASON}]},
    # valid, by URN glob: a stack policy
    "require-rate-based-rule": {"suppressions": [
        {"resource": "urn:pulumi:*::edge-acl", "reason": "rate limiting is done by the CDN in front"}]},
    # reason too short: not applied, itself a violation
    "require-https-redirect": {"suppressions": [{"resource": "edge-http", "reason": "legacy"}]},
    # no reason at all and matching nothing: still a violation
    "configure-waf-logging": {"suppressions": [{"resource": "nothing-*"}]},
}


@pytest.fixture(scope="module")
def results():
    keys = [key(PROGRAM, "dev", CASE, mode, CONFIG) for mode in MODES]
    keys += [key(PROGRAM, "dev", CASE, mode) for mode in MODES]
    return run_all(keys)


THREE = {"enforce-drop-invalid-header-fields", "require-rate-based-rule", "require-https-redirect"}


def test_unsuppressed_baseline_of_this_file_fails_all_three():
    result = run_all([key(PROGRAM, "dev", CASE, "preview")])[key(PROGRAM, "dev", CASE, "preview")]
    assert THREE <= {v.policy for v in result.mandatory}, describe(result)
    assert not [v for v in result.violations if v.policy == "report-suppressions"], describe(result)


def test_unsuppressed_baseline_of_this_file_stops_an_update_at_the_first():
    # An update stops at the first resource a mandatory Analyze rejects, as the CLI does.
    result = run_all([key(PROGRAM, "dev", CASE, "update")])[key(PROGRAM, "dev", CASE, "update")]
    assert result.stopped and result.exit_code == 1, describe(result)
    assert {v.policy for v in result.mandatory} <= THREE and result.mandatory, describe(result)


@pytest.mark.parametrize("mode", MODES)
def test_valid_suppressions_are_applied_and_reported(results, mode):
    result = results[key(PROGRAM, "dev", CASE, mode, CONFIG)]
    assert result.could_not_run == [], describe(result)
    mandatory = {(v.policy, v.urn) for v in result.mandatory}
    alb, acl = urn_of(result, "edge-alb"), urn_of(result, "edge-acl")
    assert ("enforce-drop-invalid-header-fields", alb) not in mandatory, describe(result)
    assert ("require-rate-based-rule", acl) not in mandatory, describe(result)
    reported = {(v.urn, v.enforcement) for v in result.violations if v.policy == "report-suppressions"}
    assert reported == {(alb, "advisory"), (acl, "advisory")}, describe(result)
    by_urn = {v.urn: v.message for v in result.violations if v.policy == "report-suppressions"}
    assert "LG-ALB-003" in by_urn[alb] and REASON in by_urn[alb]
    assert "LG-WAF-002" in by_urn[acl]


@pytest.mark.parametrize("mode", MODES)
def test_invalid_suppressions_are_ignored_and_fail(results, mode):
    result = results[key(PROGRAM, "dev", CASE, mode, CONFIG)]
    http = urn_of(result, "edge-http")
    still = [v for v in result.mandatory if v.policy == "require-https-redirect" and v.urn == http]
    assert still and "suppression ignored" in still[0].message, describe(result)
    meta = [v for v in result.violations if v.policy == "require-suppression-reason"]
    assert all(v.enforcement == "mandatory" for v in meta)
    assert sorted("LG-ALB-002" in v.message for v in meta) == [False, True], describe(result)
    assert any("LG-WAF-001" in v.message for v in meta), describe(result)
    assert result.exit_code == 1
