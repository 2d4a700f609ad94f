"""Per-resource policies through the offline preview: a compliant baseline plus one change per case.

Each case names the stack, an optional policy pack config and the exact set of (policy, resource)
violations OUR per-resource policies must report, in `preview` and in `update` mode alike. Other
policies of the pack (the reachability ones) are not judged here.
"""

from __future__ import annotations

import os
import re

import pytest
from _previews import MODES, describe, key, run_all, urn_of

from guard.registry import HYGIENE

PROGRAM = "hygiene"
OURS = {m.RULE.name: m.RULE.id for m in HYGIENE}

TLS, REDIRECT, HEADERS, DESYNC, DELETION = ("enforce-listener-tls-policy", "require-https-redirect",
                                            "enforce-drop-invalid-header-fields",
                                            "enforce-desync-mitigation-mode", "require-deletion-protection")
LOGGING, RATE, PUBLIC_IP, TOKEN, MODE = ("configure-waf-logging", "require-rate-based-rule",
                                         "disallow-task-public-ip", "require-wallarm-token-secret",
                                         "enforce-wallarm-mode")
RELEASE = "require-supported-node-release"
PRIVATE_API = "disallow-private-api-outside-endpoints"

# change: {(policy, offending resource name)} it must produce on its own (empty: a safe variation).
EXPECT = {
    "baseline": set(),
    # LG-ALB-001
    "listener-no-ssl-policy": {(TLS, "edge-https")},
    "listener-old-ssl-policy": {(TLS, "edge-https")},
    "listener-tls13-1-0": {(TLS, "edge-https")},
    "listener-tls13-1-3": set(),
    # LG-ALB-002
    "http-forward": {(REDIRECT, "edge-http")},
    "http-rule-forward": {(REDIRECT, "edge-http-rule")},
    "http-rule-fixed-response": set(),
    "https-rule-forward": set(),
    "alb-internal-http-forward": set(),
    # LG-ALB-003 / 004 / 005 (deletion protection: the default config requires it in prod only)
    "alb-keeps-invalid-headers": {(HEADERS, "edge-alb")},
    "alb-desync-monitor": {(DESYNC, "edge-alb")},
    "alb-desync-default": set(),
    "alb-no-deletion-protection": set(),
    # LG-WAF-001
    "waf-no-logging": {(LOGGING, "edge-acl")},
    "waf-log-bad-name": {(LOGGING, "edge-acl-logging")},
    "waf-log-autonamed": set(),
    "waf-log-s3": set(),
    "waf-cloudfront-log-region": {(LOGGING, "cf-acl-logging")},
    "waf-cloudfront-log-use1": set(),
    # LG-WAF-002
    "waf-no-rate-rule": {(RATE, "edge-acl")},
    "waf-rate-count-only": {(RATE, "edge-acl")},
    "waf-rate-standalone": set(),
    # LG-ECS-001
    "node-public-ip": {(PUBLIC_IP, "node-svc")},
    "app-public-ip": {(PUBLIC_IP, "app-svc")},
    "untagged-public-ip": {(PUBLIC_IP, "app-svc")},
    "edge-public-ip": {(PUBLIC_IP, "edge-svc")},
    "edge-public-ip-default-tags": {(PUBLIC_IP, "edge-dt-svc")},
    # LG-WLM-001 / 002 (the default config allows monitoring outside prod)
    "token-in-env": {(TOKEN, "node-task")},
    "token-missing": {(TOKEN, "node-task")},
    "wallarm-mode-monitoring": set(),
    "wallarm-mode-bogus": {(MODE, "node-task")},
    # LG-WLM-002 through a custom vhost written by an init container
    "vhost-healthz-off": set(),
    "vhost-location-off-proxy": {(MODE, "node-task")},
    "vhost-server-off": {(MODE, "node-task")},
    # LG-WLM-002 failing closed (issue 20): the 7.x image gates NGINX on WALLARM_IGNORE_REGISTER_ERROR
    "node-register-error-ignored": set(),
    # LG-WLM-003: supported releases everywhere, the 7.1 floor and a visible release in production
    "node-image-6x": set(),
    "node-image-old-minor": {(RELEASE, "node-task")},
    "node-image-untagged": {(RELEASE, "node-task")},
    "node-image-digest-only": set(),
    "node-image-tag-digest": set(),
    # LG-APIGW-002 (a literal inline policy: no endpoint of the stack, so only "any endpoint" counts)
    "private-api-open-inline": {(PRIVATE_API, "private-api")},
    "private-api-literal-endpoint": set(),
    # production by declaration (the provider's layerguard:environment default tag)
    "declare-prod": set(),
    "declare-dev": set(),
    "declare-blank": set(),
}

# Changes that touch different resources share one preview (each preview costs ~3 s of CPU);
# the batch must report exactly the union of its changes' findings. Set
# LAYERGUARD_ISOLATED_CASES=1 to run every change in a preview of its own instead.
# batch id: (stack, policy pack config, changes, expected findings when the stack or config
# changes the verdict, else None for the union of the changes' own findings)
BATCHES = {
    "baseline-dev": ("dev", None, ["baseline"], None),
    "baseline-prod": ("prod", None, ["baseline"], None),
    "fail-1": ("dev", None, ["listener-no-ssl-policy", "http-forward", "alb-keeps-invalid-headers",
                             "waf-no-logging", "waf-no-rate-rule", "node-public-ip", "token-in-env",
                             "wallarm-mode-bogus"], None),
    "fail-2": ("dev", None, ["listener-old-ssl-policy", "http-rule-forward", "alb-desync-monitor",
                             "waf-log-bad-name", "waf-rate-count-only", "app-public-ip", "token-missing",
                             "vhost-location-off-proxy"], None),
    "fail-3": ("dev", None, ["listener-tls13-1-0", "untagged-public-ip", "vhost-server-off", "edge-public-ip",
                             "waf-cloudfront-log-region", "edge-public-ip-default-tags"],
               None),
    "safe-1": ("dev", None, ["listener-tls13-1-3", "http-rule-fixed-response", "https-rule-forward",
                             "alb-desync-default", "waf-log-autonamed", "waf-rate-standalone",
                             "wallarm-mode-monitoring", "alb-no-deletion-protection",
                             "vhost-healthz-off"], None),
    "safe-2": ("dev", None, ["alb-internal-http-forward", "waf-log-s3", "waf-cloudfront-log-use1"], None),
    # the stack decides: prod requires deletion protection and WALLARM_MODE=block
    "prod": ("prod", None, ["alb-no-deletion-protection", "wallarm-mode-monitoring"],
             {(DELETION, "edge-alb"), (MODE, "node-task")}),
    # production requires failing closed with both switches the 7.x image reads
    "prod-fail-open": ("prod", None, ["node-register-error-ignored"], {(MODE, "node-task")}),
    "fail-release": ("dev", None, ["node-image-old-minor"], None),
    # own previews: the update stops at the private API, which would hide what comes after it
    "fail-private-api": ("dev", None, ["private-api-open-inline"], None),
    "safe-private-api": ("dev", None, ["private-api-literal-endpoint"], None),
    "fail-release-untagged": ("dev", None, ["node-image-untagged"], None),
    "safe-release": ("dev", None, ["node-image-6x"], None),
    "safe-release-digest": ("dev", None, ["node-image-digest-only"], None),
    "prod-release-6x": ("prod", None, ["node-image-6x"], {(RELEASE, "node-task")}),
    "prod-release-digest-only": ("prod", None, ["node-image-digest-only"], {(RELEASE, "node-task")}),
    "prod-release-tag-digest": ("prod", None, ["node-image-tag-digest"], set()),
    # production is what the stack declares, or its name: a copy of prod named `live` that
    # declares prod is judged as prod; a blank or unknown declaration is production (fail closed);
    # a declaration never takes production away from a stack named prod; nothing declared: the
    # name alone decides
    "live-declared-prod": ("live", None, ["declare-prod", "alb-no-deletion-protection",
                                          "wallarm-mode-monitoring"],
                           {(DELETION, "edge-alb"), (MODE, "node-task")}),
    "live-declared-blank": ("live", None, ["declare-blank", "node-image-6x"], {(RELEASE, "node-task")}),
    "live-declared-dev": ("live", None, ["declare-dev", "alb-no-deletion-protection",
                                         "wallarm-mode-monitoring", "node-image-6x"], set()),
    "live-undeclared": ("live", None, ["alb-no-deletion-protection", "wallarm-mode-monitoring",
                                       "node-image-6x"], set()),
    "prod-declared-dev": ("prod", None, ["declare-dev", "alb-no-deletion-protection"],
                          {(DELETION, "edge-alb")}),
    # the policy config decides
    "configured": ("dev", {REDIRECT: {"includeInternal": True},
                           DESYNC: {"allowedModes": ["strictest"]},
                           DELETION: {"stacks": ["*"]},
                           MODE: {"allowedModes": {"*": ["block"]}},
                           PUBLIC_IP: {"layers": ["node", "app", "unclassified"]}},
                   ["alb-internal-http-forward", "alb-desync-default", "alb-no-deletion-protection",
                    "wallarm-mode-monitoring", "edge-public-ip", "edge-public-ip-default-tags"],
                   {(REDIRECT, "edge-http"), (DESYNC, "edge-alb"), (DELETION, "edge-alb"), (MODE, "node-task")}),
}

# Unknown at preview (computed from another resource), known (and compliant) at update: resource
# rules defer to `pulumi up`, reported by the advisory report-deferred-checks policy.
PREVIEW_ONLY = ("listener-ssl-unknown,taskdef-unknown",
                {(TLS, "edge-https"), (TOKEN, "node-task"), (MODE, "node-task"), (RELEASE, "node-task")})

# The token's secret is created in the same stack: deferred at preview in both cases; at update
# the compliant one passes and the token in `environment` fails.
IN_STACK = {"token-secret-in-stack": set(), "token-secret-in-stack,token-in-env": {(TOKEN, "node-task")}}
IN_STACK_DEFERRED = {(TOKEN, "node-task"), (MODE, "node-task"), (RELEASE, "node-task")}
DEFERRED_POLICY = "report-deferred-checks"
_DEFERRED_RE = re.compile(r"^decided at `pulumi up`, before (\S+) is created: \[(LG-[A-Z]+-\d{3})\] (\S+) "
                          r"waits for \.(\S+) \(")

# A predicate that throws is reported as its own violation, in both modes.
CRASH = ("waf-rulejson-garbage", {(RATE, "edge-acl")})


def _runs():
    """[(run id, stack, config, case string, expected)] for the batches (or isolated changes)."""
    runs = []
    for batch_id, (stack, config, changes, override) in BATCHES.items():
        expected = set().union(*(EXPECT[c] for c in changes)) if override is None else override
        if os.environ.get("LAYERGUARD_ISOLATED_CASES") and len(changes) > 1 and override is None:
            runs += [(f"{batch_id}/{c}", stack, config, c, EXPECT[c]) for c in changes]
        else:
            runs.append((batch_id, stack, config, ",".join(changes), expected))
    return runs


RUNS = {run[0]: run for run in _runs()}


def _requests():
    out = [key(PROGRAM, stack, case, mode, config) for _, stack, config, case, _ in RUNS.values()
           for mode in MODES]
    for case in (PREVIEW_ONLY[0], CRASH[0], *IN_STACK):
        out += [key(PROGRAM, "dev", case, mode) for mode in MODES]
    return out


@pytest.fixture(scope="module")
def results():
    return run_all(_requests())


def ours(result):
    return {(v.policy, v.urn) for v in result.violations if v.policy in OURS and v.enforcement == "mandatory"}


def expected_urns(result, expected):
    return {(policy, urn_of(result, name)) for policy, name in expected}


def _check_common(result):
    assert result.error is None, describe(result)
    assert result.could_not_run == [], describe(result)
    for v in result.violations:
        if v.policy in OURS:
            assert f"[{OURS[v.policy]}]" in v.message, describe(result)  # the rule ID is in the report
            assert v.urn, describe(result)  # every finding names its resource


@pytest.mark.parametrize("run_id", sorted(RUNS))
def test_same_verdict_in_both_modes(results, run_id):
    _, stack, config, case, expected = RUNS[run_id]
    verdicts = {}
    for mode in MODES:
        result = results[key(PROGRAM, stack, case, mode, config)]
        _check_common(result)
        verdicts[mode] = {(p, u.rsplit("::", 1)[-1]) for p, u in ours(result)}
        if expected:
            assert result.exit_code == 1, describe(result)
        if mode == "update" and result.stopped:
            # The CLI stops an update at the first resource a mandatory Analyze rejects (the
            # engine's `_analyze`, after pulumi/pulumi's step generator): it reports part of what the
            # preview reports, on that resource, and no AnalyzeStack runs.
            assert verdicts["update"] and verdicts["update"] <= verdicts["preview"], describe(result)
            assert {u for _p, u in ours(result)} == {result.stopped.urn}, describe(result)
            assert not result.stack_analyzed, describe(result)
            continue
        assert ours(result) == expected_urns(result, expected), describe(result)
        if mode == "update":
            assert verdicts["preview"] == verdicts["update"]


def deferred(result):
    """{(policy, resource name)} the report-deferred-checks diagnostics name, checking their form."""
    out = set()
    for v in result.violations:
        if v.policy != DEFERRED_POLICY:
            continue
        line = v.message.splitlines()[-1]
        match = _DEFERRED_RE.match(line)
        assert match and v.enforcement == "advisory", describe(result)
        name, rule_id, policy, _path = match.groups()
        assert OURS[policy] == rule_id and v.urn == urn_of(result, name), describe(result)
        out.add((policy, name))
    return out


def test_unknown_at_preview_is_deferred_to_up(results):
    case, expected = PREVIEW_ONLY
    at_preview = results[key(PROGRAM, "dev", case, "preview")]
    _check_common(at_preview)
    assert ours(at_preview) == set(), describe(at_preview)
    assert deferred(at_preview) == expected, describe(at_preview)
    # Stack rules never defer: a node whose image is hidden behind an unknown value (here a target
    # group ARN, not a secret the stack creates) is not proven at the first preview (fail closed).
    assert {(v.policy, v.urn.rsplit("::", 1)[-1]) for v in at_preview.mandatory} == \
        {("disallow-node-bypass", "node-svc")}, describe(at_preview)
    assert all("not a proven Wallarm node" in v.message for v in at_preview.mandatory), describe(at_preview)
    at_update = results[key(PROGRAM, "dev", case, "update")]
    _check_common(at_update)
    assert ours(at_update) == set(), describe(at_update)
    assert deferred(at_update) == set(), describe(at_update)


@pytest.mark.parametrize("case", sorted(IN_STACK))
def test_token_secret_created_in_stack(results, case):
    at_preview = results[key(PROGRAM, "dev", case, "preview")]
    _check_common(at_preview)
    assert ours(at_preview) == set(), describe(at_preview)
    assert deferred(at_preview) == IN_STACK_DEFERRED, describe(at_preview)
    assert at_preview.exit_code == 0, describe(at_preview)
    at_update = results[key(PROGRAM, "dev", case, "update")]
    _check_common(at_update)
    assert deferred(at_update) == set(), describe(at_update)
    assert ours(at_update) == expected_urns(at_update, IN_STACK[case]), describe(at_update)
    assert at_update.exit_code == (1 if IN_STACK[case] else 0), describe(at_update)


def test_predicate_crash_is_a_violation(results):
    case, expected = CRASH
    for mode in MODES:
        result = results[key(PROGRAM, "dev", case, mode)]
        _check_common(result)
        assert ours(result) == expected_urns(result, expected), describe(result)
        assert any("the rule failed" in v.message for v in result.violations if v.policy in OURS)


def test_every_change_is_exercised():
    used = {c for _, _, changes, _ in BATCHES.values() for c in changes}
    assert used == set(EXPECT)


def test_every_hygiene_policy_has_a_failing_case():
    covered = {policy for _, _, _, _, expected in RUNS.values() for policy, _ in expected}
    assert covered == set(OURS)
