"""The reachability policies through the offline preview (real pack process, real Analyzer protocol).

One scenario program (tests/policy/scenarios) builds a compliant internet -> WAF + ALB -> Wallarm
nodes -> internal app stack from plain pulumi_aws resources; `scenarios:case` applies one change.
Every case runs in `preview` and in `update` mode and must get the same verdict in both, with no
"can't run policy during preview" advisory. For each case the test pins the exact set of
(policy, offending resource) findings of the three reachability policies.

The whole catalogue runs by default (CI runs it); LAYERGUARD_SCENARIOS=core runs only the core set
for a quicker local loop.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from layerguard.engine import PreviewResult, preview

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy"
PROGRAM = Path(__file__).resolve().parent / "scenarios"
if str(PACK) not in sys.path:
    sys.path.insert(0, str(PACK))

from guard.policies.stack import no_bypass, origin_protection, perimeter_waf  # noqa: E402

BYPASS, WAF, ORIGIN = no_bypass.RULE.name, perimeter_waf.RULE.name, origin_protection.RULE.name
OURS = {BYPASS, WAF, ORIGIN}
MODES = ("preview", "update")

# case: the exact {(policy, offending resource name)} our three policies must report.
BYPASSES = {
    # security groups: CIDRs, prefix lists, references
    "app-sg-ipv6-world": {(BYPASS, "bypass-rule")},                # ::/0
    "app-sg-public-subnet-cidr": {(BYPASS, "bypass-rule")},        # an edge subnet's cidr_block output
    "app-sg-edge-sg-ref": {(BYPASS, "bypass-rule")},               # app LB admits the edge ALB's SG
    "app-sg-cloudfront-list": {(BYPASS, "bypass-rule")},           # origin-facing list = the internet
    "app-sg-inline-world": {(BYPASS, "bypass-sg")},                # inline ingress open to the world
    "unclassified-public-instance": {(BYPASS, "bypass-rule")},     # app admits an untagged public box
    # load balancing
    "edge-weighted-app-tg": {(BYPASS, "edge-https")},              # weighted forward, 10% to the app
    "edge-rule-to-app-tg": {(BYPASS, "edge-admin-rule")},          # listener rule to the app TG
    "app-svc-in-node-tg": {(BYPASS, "app-svc")},                   # app tasks join the node TG
    "tg-attachment-app-instance": {(BYPASS, "bypass-attachment")},  # instance attached to the node TG
    "app-asg-in-node-tg": {(BYPASS, "app-asg")},                   # ASG target_group_arns
    "edge-alb-in-node-sg": {(BYPASS, "edge-alb")},                 # edge ALB joins the node SG
    "app-lb-internet-facing": {(BYPASS, "app-alb")},
    # public addresses
    "app-task-public-ip": {(BYPASS, "app-svc")},
    "app-instance-eip": {(BYPASS, "bypass-eip")},
    "app-instance-mapped-subnet": {(BYPASS, "mapped")},            # subnet maps public IPs
    # CloudFront and API Gateway
    "cloudfront-vpc-origin-app-lb": {(BYPASS, "bypass-vpc-origin")},
    "http-api-vpc-link-app": {(BYPASS, "bypass-integration")},
    "rest-api-vpc-link-app": {(BYPASS, "bypass-integration")},
    # perimeter: internet entries reaching the nodes without WAF
    "edge-alb-no-waf": {(WAF, "edge-alb")},
    "edge-nlb-no-cloudfront": {(WAF, "edge-nlb")},
    "http-api-to-nodes": {(WAF, "http-api")},
    "rest-api-stage-no-waf": {(WAF, "rest-stage")},
    "cloudfront-acl-default-region": {(WAF, "edge-cdn"), (ORIGIN, "edge-alb")},
}
EXTENDED_BYPASSES = {
    "app-sg-open-world": {(BYPASS, "bypass-rule")},                # IPv4 0.0.0.0/0 on the app tasks
    "app-sg-vpc-cidr": {(BYPASS, "bypass-rule")},                  # VPC CIDR covers the public subnets
    "app-lambda-url": {(BYPASS, "bypass-url")},
    "cloudfront-origin-open": {(WAF, "edge-alb"), (ORIGIN, "edge-alb")},
    "app-sg-peer-cidr": {(BYPASS, "bypass-rule")},
    "app-instance-public-ip": {(BYPASS, "app-worker")},
    "app-rds-public": {(BYPASS, "app-db")},
    "cloudfront-origin-app-lb": {(BYPASS, "bypass-cdn")},
    "edge-listener-to-app-tg": {(BYPASS, "edge-https")},
    "node-sg-open-world": {(WAF, "open-node-rule")},
    "node-public-ip": {(WAF, "node-svc")},
    "cloudfront-no-waf": {(WAF, "edge-cdn"), (WAF, "edge-alb"), (ORIGIN, "edge-alb")},
    "nlb-admits-public-subnet": {(WAF, "edge-nlb-from-vpc")},
}
SAFE = [
    "baseline",
    "safe-node-subnet-cidr",          # app LB admits the node subnets' literal CIDRs
    "safe-node-subnet-outputs",       # ... and the node subnets' cidr_block outputs (unknown at preview)
    "safe-cloudfront-nlb",            # CloudFront + WAF in front of an NLB limited to the origin-facing list
    "safe-cloudfront-vpc-origin",     # CloudFront VPC origin to an internal NLB; ACL via region input
    "safe-cloudfront-secret-header",  # public ALB: 403 default, header rule forwards to the nodes
    "safe-app-listener-rules",        # internal app ALB: weighted listener rule over two app TGs
    "safe-weighted-nodes",            # blue/green: weighted forward to two node TGs
    "safe-rest-api-waf",              # REST API stage with WAF, VPC link to an internal NLB
]
EXTENDED_SAFE = ["safe-sg-rule-reference", "safe-isolated-bastion"]

if os.environ.get("LAYERGUARD_SCENARIOS") != "core":
    BYPASSES = {**BYPASSES, **EXTENDED_BYPASSES}
    SAFE = SAFE + EXTENDED_SAFE

_RESULTS: dict[tuple[str, str], PreviewResult] = {}


def _run(cases: list[str]) -> None:
    """Run every (case, mode) not yet run, a few at a time (each preview is two processes)."""
    todo = [(c, m) for c in cases for m in MODES if (c, m) not in _RESULTS]

    def one(key):
        case, mode = key
        return preview(program_dir=PROGRAM, stack="test", mode=mode, policy_pack=PACK,
                       config={"scenarios:case": case})

    with ThreadPoolExecutor(max_workers=4) as pool:
        for key, result in zip(todo, pool.map(one, todo), strict=False):
            _RESULTS[key] = result


@pytest.fixture(scope="module")
def results(request) -> dict:
    """Every selected case's previews, run together up front (so `-k` runs only what it selects)."""
    selected = [item.callspec.params["case"] for item in request.session.items
                if hasattr(item, "callspec") and "case" in item.callspec.params
                and item.module is request.module]
    _run([*list(dict.fromkeys(selected)), "app-sg-edge-sg-ref"])
    return _RESULTS


def findings(result: PreviewResult) -> set[tuple[str, str]]:
    names = {r.urn: r.name for r in result.resources}
    return {(v.policy, names.get(v.urn, v.urn)) for v in result.violations if v.policy in OURS}


def verdict(result: PreviewResult) -> set[tuple]:
    return {(v.policy, v.urn, v.enforcement) for v in result.violations}


def describe(result: PreviewResult) -> str:
    lines = [f"{result.mode}: exit={result.exit_code} error={result.error}"]
    lines += [f"  {v.enforcement} {v.policy} {v.urn}: {v.message.splitlines()[-1]}" for v in result.violations]
    return "\n".join(lines)


def _common(results: dict, case: str) -> tuple[PreviewResult, PreviewResult]:
    pre, upd = results[(case, "preview")], results[(case, "update")]
    for r in (pre, upd):
        assert r.error is None, f"{case}: {describe(r)}"
        assert not r.could_not_run, f"{case}/{r.mode}: policies fell back to advisories: {r.could_not_run}"
    assert verdict(pre) == verdict(upd), f"{case}: preview and update disagree\n{describe(pre)}\n{describe(upd)}"
    return pre, upd


@pytest.mark.parametrize("case", list(BYPASSES))
def test_bypass_is_reported(results, case):
    pre, upd = _common(results, case)
    for r in (pre, upd):
        assert r.exit_code == 1, f"{case}: {describe(r)}"
        mandatory = {(v.policy, v.urn) for v in r.violations if v.policy in OURS and v.enforcement == "mandatory"}
        assert mandatory, f"{case}/{r.mode}: no mandatory reachability violation\n{describe(r)}"
        assert findings(r) == BYPASSES[case], f"{case}/{r.mode}:\n{describe(r)}"


@pytest.mark.parametrize("case", SAFE)
def test_safe_variation_passes(results, case):
    pre, upd = _common(results, case)
    for r in (pre, upd):
        assert findings(r) == set(), f"{case}/{r.mode}:\n{describe(r)}"
        assert r.exit_code == 0, f"{case}/{r.mode}: the whole pack must pass\n{describe(r)}"


def test_catalogue_size():
    assert len(BYPASSES) >= 20 and len([c for c in SAFE if c != "baseline"]) >= 8


def test_violation_messages_name_the_path(results):
    """A bypass message shows the path from the internet; the URN is the opener, not the target."""
    r = results[("app-sg-edge-sg-ref", "preview")]
    (v,) = [v for v in r.violations if v.policy == BYPASS]
    assert "internet -> LoadBalancer 'edge-alb'" in v.message and "'app-alb'" in v.message
    assert v.urn.endswith("::bypass-rule"), v.urn
