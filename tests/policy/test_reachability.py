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
    "app-sg-public-subnet-cidr": {(BYPASS, "bypass-rule")},        # an edge subnet's cidr_block output
    "app-sg-edge-sg-ref-port": {(BYPASS, "bypass-rule")},          # app LB admits the edge ALB's SG on :80
    "app-sg-inline-world": {(BYPASS, "bypass-sg")},                # inline ingress open to the world
    "unclassified-public-instance": {(BYPASS, "bastion"), (BYPASS, "bypass-rule")},  # untagged box: may be app, pivots
    # load balancing
    "edge-weighted-app-tg": {(BYPASS, "edge-https")},              # weighted forward, 10% to the app
    "edge-rule-to-app-tg": {(BYPASS, "edge-admin-rule")},          # listener rule to the app TG
    "app-svc-in-node-tg": {(BYPASS, "app-svc")},                   # app tasks join the node TG
    "tg-attachment-app-instance": {(BYPASS, "bypass-attachment")},  # instance attached to the node TG
    "app-asg-in-node-tg": {(BYPASS, "app-asg")},                   # ASG target_group_arns
    "edge-alb-in-node-sg": {(BYPASS, "edge-alb")},                 # edge ALB joins the node SG
    # CloudFront and API Gateway
    "cloudfront-vpc-origin-app-lb": {(BYPASS, "bypass-vpc-origin")},
    "http-api-vpc-link-app": {(BYPASS, "bypass-integration")},
    "rest-api-vpc-link-app": {(BYPASS, "bypass-integration")},
    # perimeter: internet entries reaching the nodes without WAF
    "edge-alb-no-waf": {(WAF, "edge-alb")},
    "edge-nlb-no-cloudfront": {(WAF, "edge-nlb")},
    "http-api-to-nodes": {(WAF, "http-api")},
    "rest-api-stage-no-waf": {(WAF, "rest-stage")},
    # the origin keeps its own regional ACL, so only the distribution's misplaced ACL is reported
    "cloudfront-acl-default-region": {(WAF, "edge-cdn")},
    # issue 9, cause 1: what the model does not understand fails closed, naming it
    "classic-elb-app": {(BYPASS, "bypass-elb")},
    "http-api-quick-create": {(BYPASS, "bypass-api")},
    "default-sg-open": {(BYPASS, "bypass-default-sg")},            # no SG: the VPC default group, opened
    "main-route-table-public": {(BYPASS, "bypass-main-rt")},       # app subnets public through the main table
    "foreign-subnet-literal": {(BYPASS, "app-worker")},
    # cause 2: nodes are proven, what carries app traffic is app
    "node-wrong-image": {(BYPASS, "node-svc")},
    "node-sidecar-target": {(BYPASS, "node-svc")},                 # the LB targets a sidecar, not the node
    "app-capacity-host": {(BYPASS, "app-hosts-lt")},               # EC2 hosts of an app service are app
    # cause 3: ports, protocols, routes, NACLs
    "app-sg-all-protocols": {(BYPASS, "bypass-rule")},
    "app-task-public-ip-open": {(BYPASS, "app-public-svc")},
    "nacl-allow-before-deny": {(BYPASS, "bypass-rule")},           # rule 100 allows before rule 200 denies
    "peering-foreign": {(BYPASS, "bypass-rule"), (BYPASS, "peer-route")},
    # perimeter rules
    "cloudfront-prefix-list-only-alb": {(WAF, "edge-alb"), (ORIGIN, "edge-alb")},  # any distribution passes
    "cloudfront-header-wildcard": {(WAF, "edge-alb"), (ORIGIN, "edge-alb")},
    "http-api-behind-cf-execute-api": {(WAF, "http-api"), (ORIGIN, "http-api")},
    # the region's default VPC (no subnet, no vpc_id): public and outside the stack
    "default-vpc-instance-open": {(BYPASS, "bypass-rule")},       # public IP from the default subnet, world rule
    "default-vpc-sg-no-vpc": {(BYPASS, "dv-sg")},                 # no public IP; admits the default VPC's space
    "default-vpc-no-sg": {(BYPASS, "app-default-box")},           # the default VPC's default group, not the stack's
    "default-vpc-asg-open": {(BYPASS, "bypass-rule")},            # ASG over availability zones: public default subnets
    "default-vpc-cache": {(BYPASS, "app-cache")},                 # no subnet group: an unfollowed type placed there
}
EXTENDED_BYPASSES = {
    # an app group with no member in the stack (its members are outside, e.g. adopted) admits the world
    "app-sg-memberless-world": {(BYPASS, "bypass-rule")},
    "app-sg-open-world": {(BYPASS, "bypass-rule")},                # IPv4 0.0.0.0/0 covers the public subnets
    "app-sg-vpc-cidr": {(BYPASS, "bypass-rule")},                  # VPC CIDR covers the public subnets
    "app-lambda-url": {(BYPASS, "bypass-url")},
    "cloudfront-origin-open": {(WAF, "edge-alb"), (ORIGIN, "edge-alb")},
    "cloudfront-origin-app-lb": {(BYPASS, "bypass-cdn")},
    "edge-listener-to-app-tg": {(BYPASS, "edge-https")},
    "node-sg-open-world": {(WAF, "open-node-rule")},
    "cloudfront-no-waf": {(WAF, "edge-cdn"), (WAF, "edge-alb"), (ORIGIN, "edge-alb")},
    "nlb-admits-public-subnet": {(WAF, "edge-nlb-from-vpc")},
    # was "safe": an NLB limited to the origin-facing list admits every distribution (issue 9)
    "safe-cloudfront-nlb": {(WAF, "edge-nlb"), (ORIGIN, "edge-nlb")},
    # issue 9, cause 1
    "rds-cluster-instance-public": {(BYPASS, "bypass-db-instance")},
    "rest-api-openapi-body": {(BYPASS, "bypass-api")},
    "ecs-task-set": {(BYPASS, "bypass-task-set")},
    "launch-configuration-public": {(BYPASS, "bypass-lc")},
    "default-route-table-igw": {(BYPASS, "bypass-default-rt")},
    "route-on-main-table": {(BYPASS, "bypass-route")},
    "foreign-sg-literal": {(BYPASS, "app-worker")},
    "eni-sg-attachment": {(BYPASS, "bypass-sg-attachment")},       # SG attached to the app ENI separately
    "global-accelerator": {(BYPASS, "bypass-endpoint-group")},
    "apprunner-service": {(BYPASS, "bypass-apprunner")},
    "lightsail-instance": {(BYPASS, "bypass-lightsail")},
    # cause 2
    "node-unsupported-major": {(BYPASS, "node-svc")},
    "node-latest-tag": {(BYPASS, "node-svc")},
    "node-lookalike-repo": {(BYPASS, "node-svc")},
    "node-instance-labelled": {(BYPASS, "node-box")},
    "app-eni-carrier": {(BYPASS, "bypass-eip")},                   # an edge-tagged ENI on an app instance
    "unclassified-compute-public": {(BYPASS, "mystery-box")},
    # cause 3
    "app-lb-internet-facing-open": {(BYPASS, "app-public-alb")},
    "app-rds-public-subnet": {(BYPASS, "app-db")},
    "tgw-foreign-attachment": {(BYPASS, "bypass-rule"), (BYPASS, "tgw-route")},
    "app-instance-ipv6": {(BYPASS, "app-v6-worker"), (BYPASS, "v6-default")},  # IPv6, ::/0 routed to the IGW
    # perimeter
    "cloudfront-header-wrong-value": {(WAF, "edge-alb"), (ORIGIN, "edge-alb")},
}
SAFE = [
    "baseline",
    "safe-node-subnet-cidr",          # app LB admits the node subnets' literal CIDRs
    "safe-node-subnet-outputs",       # ... and the node subnets' cidr_block outputs (unknown at preview)
    "safe-cloudfront-vpc-origin",     # CloudFront VPC origin to an internal NLB; ACL via region input
    "safe-cloudfront-secret-header",  # public ALB: 403 default, header rule forwards to the nodes
    "safe-app-listener-rules",        # internal app ALB: weighted listener rule over two app TGs
    "safe-weighted-nodes",            # blue/green: weighted forward to two node TGs
    "safe-rest-api-waf",              # REST API stage with WAF, VPC link to an internal NLB
    # issue 9
    "safe-icmp-world",                # ICMP from anywhere carries no request to :8080
    "safe-port-not-listening",        # edge SG admitted on a port the app LB does not listen on
    "safe-private-subnet-public-ip",  # public IP + open SG, but the subnet has no route to the IGW
    "safe-nacl-blocks-edge",          # app SG open to the world, the app subnets' NACL denies the edge first
    "safe-tgw-private-vpc",           # app admits a private VPC joined by a Transit Gateway
    "safe-internal-nlb-no-sg",        # internal NLB without security groups
    "safe-lambda-url-iam",            # function URL with AWS_IAM authorization
    "safe-node-ecr-pull-through",     # node image through an ECR pull-through cache
    "safe-redirect-listener-origin",  # CF-list origin with secret header; its :80 listener only redirects
    "safe-origin-own-waf",            # CloudFront origin open to the world, but it carries its own web ACL
    "safe-default-vpc-closed",        # public in the default VPC, its group admits ICMP and its own members only
]
EXTENDED_SAFE = [
    "safe-app-sg-memberless-nodes",  # the same group admitting only the nodes' group
    "safe-sg-rule-reference", "safe-isolated-bastion",
    "safe-main-route-table-private", "safe-eni-sg-attachment", "safe-app-on-ec2-capacity",
    "safe-peering-private-vpc", "safe-http-api-behind-cf", "safe-secret-header-random", "safe-intra-app-cidr",
    "safe-node-6x", "safe-node-with-sidecar",
    "safe-ipv6-egress-only",          # IPv6 address and ::/0 open, but only an egress-only gateway route
]
# Former bypass expectations that were false positives of the kind issue 9 names: our three policies
# must now stay silent (other policies of the pack may still fail the stack, e.g. a task public IP).
FORMER_FALSE_POSITIVES = [
    "app-sg-ipv6-world",          # ::/0 in a VPC without IPv6 addresses reaches nothing (routes)
    "app-sg-edge-sg-ref",         # admits the edge SG on :8080, the app ALB listens on :80 (ports)
    "app-sg-cloudfront-list",     # CloudFront list on an internal ALB, on a port it does not listen on
    "app-lb-internet-facing",     # internet-facing, but in subnets without an IGW route; SG admits nodes only
    "app-task-public-ip",         # public IP in a subnet without an IGW route (still LG-ECS-001)
    "app-instance-eip",           # Elastic IP in a subnet without an IGW route
    "app-instance-mapped-subnet",  # subnet maps public IPs but has no IGW route
    "app-instance-public-ip",     # public IP, but the security group admits only the app LB
    "app-rds-public",             # publicly accessible in private subnets
    "app-sg-peer-cidr",           # 192.168.0.0/16 with no route to it
    "node-public-ip",             # node public IP in a private subnet (still LG-ECS-001)
]

if os.environ.get("LAYERGUARD_SCENARIOS") != "core":
    BYPASSES = {**BYPASSES, **EXTENDED_BYPASSES}
    SAFE = SAFE + EXTENDED_SAFE
else:
    FORMER_FALSE_POSITIVES = FORMER_FALSE_POSITIVES[:3]

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
    _run([*list(dict.fromkeys(selected)), "app-sg-edge-sg-ref-port", "edge-weighted-app-tg"])
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
    if upd.stopped:
        # The CLI stops an update at the first resource a mandatory resource policy rejects, before
        # AnalyzeStack (the engine's `_analyze`): the stack rules are only observable in the
        # preview. The stop must come from a finding the preview reports too.
        stop = {(v.policy, v.urn, v.enforcement) for v in upd.violations if v.urn == upd.stopped.urn}
        assert not upd.stack_analyzed and stop and stop <= verdict(pre), \
            f"{case}: the update stopped on something the preview did not report\n{describe(pre)}\n{describe(upd)}"
        return pre, pre
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


@pytest.mark.parametrize("case", FORMER_FALSE_POSITIVES)
def test_former_false_positive_is_silent(results, case):
    pre, upd = _common(results, case)
    for r in (pre, upd):
        assert findings(r) == set(), f"{case}/{r.mode}:\n{describe(r)}"


def test_catalogue_size():
    assert len(BYPASSES) >= 20 and len([c for c in SAFE if c != "baseline"]) >= 8


def test_violation_messages_name_the_path(results):
    """A bypass message shows the path from the internet with ports; the URN is the opener."""
    r = results[("app-sg-edge-sg-ref-port", "preview")]
    (v,) = [v for v in r.violations if v.policy == BYPASS]
    assert "internet -> LoadBalancer 'edge-alb':443" in v.message and "LoadBalancer 'app-alb':80" in v.message
    assert "opened by SecurityGroupIngressRule 'bypass-rule'" in v.message
    assert v.urn.endswith("::bypass-rule"), v.urn
    r = results[("edge-weighted-app-tg", "update")]
    (v,) = [v for v in r.violations if v.policy == BYPASS]
    assert ("internet -> LoadBalancer 'edge-alb':443 -> [listener 'edge-https':443 -> target group "
            "'app-tg':8080] -> Service 'app-svc':8080") in v.message, v.message
