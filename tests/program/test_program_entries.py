"""Every entry (alb, cloudfront with both origin styles, nlb, apigateway) from its example file,
through the offline preview with the policy pack, in both modes: the pack passes, the security
group rules and listeners form exactly the intended path, the report draws it, and each entry's
typical misconfiguration fails the preview (tests/program/misconfigured/ injects them).

Resources are linked through property dependencies (URNs), never ids.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _program import (
    EGRESS,
    INGRESS,
    LB,
    MODES,
    REPO,
    SECRET_SIG,
    SERVICE,
    SG,
    ancestors,
    dep,
    named,
    of_type,
    one_dep,
    run,
    supports_tags,
    walk_plain,
)

from layerguard import paths

EXAMPLES_DIR = REPO / "examples"
MISCONFIGURED = Path(__file__).resolve().parent / "misconfigured"
INTERNET = "0.0.0.0/0"
CLOUDFRONT = "cloudfront-origin-facing"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"

# Examples the pack cannot pass yet (name -> why), each a strict xfail. None today: the EC2 node
# fleet (issue 18) is proven like an ECS node (docs/ec2-fleet.md, "What the policy pack checks").
PACK_GAPS: dict[str, str] = {}
EXAMPLES = sorted(p.stem for p in EXAMPLES_DIR.glob("*.yaml"))


def example(name: str, mode: str = "preview", with_pack: bool = True):
    return run("dev", mode, config_file=EXAMPLES_DIR / f"{name}.yaml", with_pack=with_pack)


def example_ok(name: str, mode: str = "preview"):
    """The program registers its resources (whatever the pack says)."""
    result = example(name, mode)
    assert result.error is None and result.resources, f"{name}/{mode}: {result.error}"
    return result


def test_there_is_one_example_per_entry_and_origin_style():
    assert {"alb", "cloudfront-vpc-origin", "cloudfront-public-alb", "nlb-cloudfront",
            "nlb-waf-exempt", "apigateway"} <= set(EXAMPLES)
    for name in EXAMPLES:
        text = (EXAMPLES_DIR / f"{name}.yaml").read_text()
        # Entry examples open with their entry; the examples of existing infrastructure with theirs.
        assert "layerguard:entry:" in text or "layerguard:backend:" in text or "layerguard:adopted" in text \
            or text.startswith("# Entry "), name
        assert "Choose it" in text, f"{name}: says when to choose it"
        assert f"--config-file examples/{name}.yaml" in text, f"{name}: says how to run it"


@pytest.mark.parametrize("name,mode", [
    pytest.param(n, m, marks=[pytest.mark.xfail(strict=True, reason=PACK_GAPS[n])] if n in PACK_GAPS else [])
    for n in EXAMPLES for m in MODES])
def test_example_passes_the_pack(name, mode):
    result = example(name, mode)
    mandatory = [(v.policy, v.urn.split("::")[-1], v.message.splitlines()[-1]) for v in result.mandatory]
    assert result.exit_code == 0, f"{name}/{mode}: exit {result.exit_code}: {result.error or mandatory}"
    assert not result.could_not_run, f"{name}/{mode}: {result.could_not_run}"


def test_exempt_nlb_is_reported_as_an_advisory_every_time():
    """The acknowledged NLB without WAF passes, and the pack says so at every preview."""
    for mode in MODES:
        result = example_ok("nlb-waf-exempt", mode)
        assert result.exit_code == 0 and not result.mandatory, f"{mode}: {result.mandatory}"
        gaps = {(v.policy, v.enforcement, v.urn.split("::")[-1]) for v in result.violations
                if v.policy == "report-acknowledged-gaps"}
        assert gaps == {("report-acknowledged-gaps", "advisory", "edge-nlb")}, f"{mode}: {gaps}"
        assert not result.could_not_run, result.could_not_run


# -- the intended path, exactly ------------------------------------------------------------------

def rule_set(result) -> set[tuple]:
    """(direction, security group, peer, port); peer is a SG name, a CIDR or the CloudFront list."""
    names = {r.urn: r.name for r in of_type(result, SG)}
    rules = set()
    for type_token, direction in ((INGRESS, "in"), (EGRESS, "out")):
        for rule in of_type(result, type_token):
            inputs = rule.inputs
            assert inputs["ipProtocol"] == "tcp" and inputs["fromPort"] == inputs["toPort"], rule.urn
            owner = names[one_dep(rule, "securityGroupId")]
            if "referencedSecurityGroupId" in inputs:
                peer = names[one_dep(rule, "referencedSecurityGroupId")]
            elif "prefixListId" in inputs:
                assert inputs["prefixListId"] == "pl-3b927c52", rule.urn  # the origin-facing list
                peer = CLOUDFRONT
            else:
                peer = inputs["cidrIpv4"]
            rules.add((direction, owner, peer, int(inputs["toPort"])))
    return rules


BEHIND_THE_ENTRY = {
    ("out", "node-sg", "app-alb-sg", 8080),
    ("out", "node-sg", INTERNET, 443),
    ("in", "app-alb-sg", "node-sg", 8080),
    ("out", "app-alb-sg", "app-task-sg", 8080),
    ("in", "app-task-sg", "app-alb-sg", 8080),
    ("out", "app-task-sg", INTERNET, 443),
}


def entry_rules(sg: str, sources: list[tuple[str, int]]) -> set[tuple]:
    return {*(("in", sg, peer, port) for peer, port in sources),
            ("out", sg, "node-sg", 80), ("in", "node-sg", sg, 80), *BEHIND_THE_ENTRY}


EXPECTED_RULES = {
    "alb": entry_rules("edge-alb-sg", [(INTERNET, 443), (INTERNET, 80)]),
    "cloudfront-vpc-origin": entry_rules("edge-origin-alb-sg", [(CLOUDFRONT, 443)]),
    "cloudfront-public-alb": entry_rules("edge-origin-alb-sg", [(CLOUDFRONT, 443)]),
    "nlb-cloudfront": entry_rules("edge-origin-nlb-sg", [(CLOUDFRONT, 443)]),
    "nlb-waf-exempt": entry_rules("edge-nlb-sg", [(INTERNET, 443)]),
    # The VPC link reaches the internal NLB through PrivateLink: its group admits nothing.
    "apigateway": entry_rules("edge-link-nlb-sg", []),
    "apigateway-mtls": entry_rules("edge-link-nlb-sg", []),
}

ENTRY_LB = {"alb": "edge-alb", "cloudfront-vpc-origin": "edge-origin-alb",
            "cloudfront-public-alb": "edge-origin-alb", "nlb-cloudfront": "edge-origin-nlb",
            "nlb-waf-exempt": "edge-nlb", "apigateway": "edge-link-nlb",
            "apigateway-mtls": "edge-link-nlb"}


@pytest.mark.parametrize("name,mode", [(n, m) for n in EXPECTED_RULES for m in MODES])
def test_security_group_rules_are_exactly_the_intended_path(name, mode):
    result = example_ok(name, mode)
    assert rule_set(result) == EXPECTED_RULES[name], f"{name}/{mode}"
    by_urn = result.by_urn()
    # The nodes' only target group is the entry load balancer's, behind its only listener.
    lb = named(result, ENTRY_LB[name])
    (node_tg,) = [by_urn[u] for u in dep(named(result, "node-service"), "loadBalancers")]
    listeners = [r for r in of_type(result, LISTENER) if one_dep(r, "loadBalancerArn") == lb.urn]
    forwards = {by_urn[u].name for r in listeners for u in dep(r, "defaultActions")}
    forwards |= {by_urn[u].name for r in of_type(result, LISTENER_RULE)
                 if one_dep(r, "listenerArn") in {x.urn for x in listeners} for u in dep(r, "actions")}
    assert forwards == {node_tg.name}, f"{name}/{mode}: {forwards}"
    assert [named(result, n).name for n in [by_urn[u].name for u in dep(lb, "securityGroups")]] \
        == [ENTRY_LB[name] + "-sg"]


REPORT_PATHS = {
    "alb": ["edge-alb", "edge-https", "edge-node-tg", "node-service", "app-alb"],
    "cloudfront-vpc-origin": ["edge-distribution", "edge-vpc-origin", "edge-origin-alb",
                              "edge-origin-https", "edge-origin-node-tg", "node-service", "app-alb"],
    "cloudfront-public-alb": ["edge-distribution", "edge-origin-alb", "edge-origin-https",
                              "edge-origin-node-tg", "node-service", "app-alb"],
    "nlb-cloudfront": ["edge-distribution", "edge-vpc-origin", "edge-origin-nlb", "edge-origin-tls",
                       "edge-origin-node-tg", "node-service", "app-alb"],
    "nlb-waf-exempt": ["edge-nlb", "edge-tls", "edge-node-tg", "node-service", "app-alb"],
    "apigateway": ["edge-api", "edge-vpc-link", "edge-link-nlb", "edge-link-tcp",
                   "edge-link-node-tg", "node-service", "app-alb"],
}


@pytest.mark.parametrize("name", REPORT_PATHS)
def test_report_draws_the_entry_as_it_is(name):
    result = example_ok(name)
    by_urn = result.by_urn()
    (longest, *_rest) = paths.chains(result.resources)
    drawn = [by_urn[u].name for u in longest]
    assert drawn[:len(REPORT_PATHS[name])] == REPORT_PATHS[name], drawn
    assert drawn[-1] == "app-service", drawn


# -- per entry ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name,mode", [(n, m) for n in ("cloudfront-vpc-origin", "cloudfront-public-alb",
                                                         "nlb-cloudfront") for m in MODES])
def test_cloudfront_in_front(name, mode):
    result = example_ok(name, mode)
    dist = named(result, "edge-distribution")
    acl = named(result, "edge-web-acl")
    assert acl.inputs["scope"] == "CLOUDFRONT" and acl.provider_region == "us-east-1", acl.urn
    assert one_dep(dist, "webAclId") == acl.urn
    logs = named(result, "edge-waf-logs")
    assert logs.provider_region == "us-east-1" and logs.inputs["name"].startswith("aws-waf-logs-")
    assert one_dep(named(result, "edge-waf-logging"), "resourceArn") == acl.urn
    rate = acl.inputs["rules"][0]["statement"]["rateBasedStatement"]
    assert rate["aggregateKeyType"] == "IP"   # a CLOUDFRONT ACL sees the viewer as the source
    viewer = dist.inputs["viewerCertificate"]
    assert viewer["minimumProtocolVersion"] == "TLSv1.2_2021" and viewer["sslSupportMethod"] == "sni-only"
    assert viewer["acmCertificateArn"].startswith("arn:aws:acm:us-east-1:")
    assert dist.inputs["defaultCacheBehavior"]["viewerProtocolPolicy"] == "redirect-to-https"
    (origin,) = dist.inputs["origins"]
    lb = named(result, ENTRY_LB[name])
    if name in ("cloudfront-vpc-origin", "nlb-cloudfront"):
        # A VPC origin: the origin load balancer is internal, in the private subnets.
        vpc_origin = named(result, "edge-vpc-origin")
        assert one_dep(vpc_origin, "vpcOriginEndpointConfig") == lb.urn
        config = vpc_origin.inputs["vpcOriginEndpointConfig"]
        assert config["originProtocolPolicy"] == "https-only"
        assert config["originSslProtocols"] == {"items": ["TLSv1.2"], "quantity": 1}
        assert lb.inputs["internal"] is True
        assert all(named_subnet.startswith("network-private-") for named_subnet in
                   [result.by_urn()[u].name for u in dep(lb, "subnets")])
        assert "customOriginConfig" not in origin
    else:
        assert origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
        assert origin["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]
        assert lb.inputs["internal"] is False
    assert lb.urn in dep(dist, "origins")


@pytest.mark.parametrize("mode", MODES)
def test_public_origin_forwards_only_with_the_secret_header(mode):
    result = example_ok("cloudfront-public-alb", mode)
    https = named(result, "edge-origin-https")
    (default,) = https.inputs["defaultActions"]
    assert default["type"] == "fixed-response" and default["fixedResponse"]["statusCode"] == "403"
    assert https.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    (rule,) = [r for r in of_type(result, LISTENER_RULE) if one_dep(r, "listenerArn") == https.urn]
    (condition,) = rule.inputs["conditions"]
    assert condition["httpHeader"]["httpHeaderName"] == "X-Origin-Verify"
    (header,) = named(result, "edge-distribution").inputs["origins"][0]["customHeaders"]
    assert header["name"] == "X-Origin-Verify"
    # The value is a Pulumi secret on both sides, generated by pulumi-random, never plaintext.
    for value in (condition["httpHeader"]["values"][0], header["value"]):
        assert isinstance(value, dict) and SECRET_SIG in value, value
    assert named(result, "edge-origin-secret").type == "random:index/randomPassword:RandomPassword"
    if mode == "update":
        secret = header["value"]["value"]
        assert condition["httpHeader"]["values"][0]["value"] == secret
        leaked = [(r.urn, path) for r in result.resources for path, s in walk_plain(r.inputs) if s == secret]
        assert not leaked, leaked


@pytest.mark.parametrize("name,mode", [(n, m) for n in ("nlb-cloudfront", "nlb-waf-exempt") for m in MODES])
def test_nlb_entry(name, mode):
    result = example_ok(name, mode)
    lb = named(result, ENTRY_LB[name])
    # Behind CloudFront the NLB is internal, reached through a VPC origin: it cannot check a secret
    # header, and the origin-facing prefix list alone admits any distribution.
    behind_cloudfront = name == "nlb-cloudfront"
    assert lb.inputs["loadBalancerType"] == "network" and lb.inputs["internal"] is behind_cloudfront
    assert dep(lb, "securityGroups"), "an NLB made without a security group can never get one"
    prefix = ENTRY_LB[name].rsplit("-", 1)[0]
    tls = named(result, f"{prefix}-tls")
    assert tls.inputs["protocol"] == "TLS" and tls.inputs["port"] == 443
    assert tls.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    tg = named(result, f"{prefix}-node-tg")
    # auto: the nodes see the client when the NLB faces it; behind CloudFront they see the NLB
    # and read the viewer from CloudFront's X-Forwarded-For.
    preserved = name == "nlb-waf-exempt"
    assert tg.inputs["protocol"] == "TCP"
    assert tg.inputs["preserveClientIp"] == ("true" if preserved else "false")
    # The guide's NACL on the app subnets: app port from the node subnets only, then deny.
    nacl = named(result, f"{prefix}-private-nacl")
    assert sorted(result.by_urn()[u].name for u in dep(nacl, "subnetIds")) == \
        ["network-private-0", "network-private-1"]
    rules = sorted(nacl.inputs["ingress"], key=lambda r: r["ruleNo"])
    app_rules = [r for r in rules if r["fromPort"] == 8080]
    assert [r["action"] for r in app_rules] == ["allow", "allow", "deny"]
    assert app_rules[-1]["cidrBlock"] == INTERNET
    assert {r["cidrBlock"] for r in app_rules[:-1]} == {"10.20.128.0/19", "10.20.160.0/19"}
    node_port = {r["cidrBlock"] for r in rules if r["fromPort"] == 80}
    # The node port from where the NLB's connections come: the clients with preservation, else the
    # NLB's own subnets (private for the VPC-origin NLB, public for the internet-facing one).
    assert node_port == ({INTERNET} if preserved else
                         {"10.20.128.0/19", "10.20.160.0/19"} if behind_cloudfront else {"10.20.0.0/19", "10.20.32.0/19"})
    tags = lb.inputs["tags"]
    if name == "nlb-waf-exempt":
        assert tags["layerguard:waf-exemption"].startswith("partner clients pin our static IPs")
        assert not of_type(result, WEB_ACL), "no web ACL exists without CloudFront"
    else:
        assert "layerguard:waf-exemption" not in tags


@pytest.mark.parametrize("name,mode", [(n, m) for n in ("apigateway", "apigateway-mtls") for m in MODES])
def test_api_gateway_entry(name, mode):
    result = example_ok(name, mode)
    api = named(result, "edge-api")
    assert api.inputs["endpointConfiguration"]["types"] == "REGIONAL"
    nlb = named(result, "edge-link-nlb")
    assert nlb.inputs["internal"] is True and nlb.inputs["loadBalancerType"] == "network"
    link = named(result, "edge-vpc-link")
    assert one_dep(link, "targetArn") == nlb.urn
    for integration in ("edge-root-nodes", "edge-proxy-nodes"):
        res = named(result, integration)
        assert res.inputs["connectionType"] == "VPC_LINK" and one_dep(res, "connectionId") == link.urn
        assert one_dep(res, "uri") == nlb.urn
    stage = named(result, "edge-stage")
    assert one_dep(stage, "accessLogSettings") == named(result, "edge-access-logs").urn
    assert one_dep(named(result, "edge-web-acl-stage"), "resourceArn") == stage.urn
    assert named(result, "edge-web-acl").inputs["scope"] == "REGIONAL"
    throttling = named(result, "edge-throttling")
    assert throttling.inputs["methodPath"] == "*/*" and one_dep(throttling, "stageName") == stage.urn
    if name == "apigateway":
        assert throttling.inputs["settings"]["throttlingRateLimit"] == 200
        assert throttling.inputs["settings"]["throttlingBurstLimit"] == 400
        assert api.inputs["disableExecuteApiEndpoint"] is False
        assert named(result, "edge-account").type == "aws:apigateway/account:Account"
    else:
        assert api.inputs["disableExecuteApiEndpoint"] is True
        domain = named(result, "edge-domain")
        assert domain.inputs["securityPolicy"] == "TLS_1_2"
        assert domain.inputs["mutualTlsAuthentication"]["truststoreUri"].startswith("s3://")
        assert not of_type(result, "aws:apigateway/account:Account")


def test_no_public_ip_and_no_other_internet_facing_load_balancer():
    for name in EXPECTED_RULES:
        result = example_ok(name)
        facing = sorted(r.name for r in of_type(result, LB) if r.inputs["internal"] is not True)
        expected = [] if name.startswith(("apigateway", "cloudfront-vpc", "nlb-cloudfront")) else [ENTRY_LB[name]]
        assert facing == expected, f"{name}: {facing}"
        for svc in of_type(result, SERVICE):
            assert svc.inputs["networkConfiguration"]["assignPublicIp"] is False, svc.urn


PUBLIC = ["10.20.0.0/19", "10.20.32.0/19"]
PRIVATE = ["10.20.128.0/19", "10.20.160.0/19"]
TRUSTED_PROXIES = {
    "alb": PUBLIC,                      # the edge ALB appends the client
    "cloudfront-vpc-origin": PRIVATE,   # the internal origin ALB, preserving CloudFront's header
    "cloudfront-public-alb": PUBLIC,
    "nlb-cloudfront": PRIVATE,          # the internal VPC-origin NLB passes CloudFront's header on
    "nlb-waf-exempt": ["127.0.0.1/32"],  # the client itself is the source: no header is believed
    "apigateway": PRIVATE,              # the internal NLB behind the VPC link
}


@pytest.mark.parametrize("name", TRUSTED_PROXIES)
def test_nodes_trust_x_forwarded_for_only_from_the_hop_in_front(name):
    result = example_ok(name)
    containers = json.loads(named(result, "node-task").inputs["containerDefinitions"])
    (vhost,) = [e["value"] for c in containers for e in c.get("environment", [])
                if e["name"] == "NODE_VHOST"]
    trusted = re.findall(r"set_real_ip_from ([^;]+);", vhost)
    assert trusted == TRUSTED_PROXIES[name], trusted
    origin = {"cloudfront-vpc-origin", "cloudfront-public-alb"}
    for lb in of_type(result, LB):
        if lb.inputs["loadBalancerType"] == "application" and lb.layer == "edge":
            assert lb.inputs["xffHeaderProcessingMode"] == ("preserve" if name in origin else "append")


EDGE_COMPONENTS = {"layerguard:edge:AdoptedAlb", "layerguard:edge:AlbPerimeter", "layerguard:edge:CloudFrontPerimeter",
                   "layerguard:edge:NlbPerimeter", "layerguard:edge:ApiGatewayPerimeter"}


@pytest.mark.parametrize("name", EXAMPLES)
def test_entry_resources_are_edge_layer_and_named_from_the_component(name):
    result = example_ok(name)
    edge = [r for r in result.resources if r.custom and r.type.startswith(("aws:", "random:"))
            and any(a.type in EDGE_COMPONENTS for a in ancestors(result, r))]
    assert len(edge) >= 7, name
    for res in edge:
        assert res.name.startswith("edge-"), res.urn
        assert res.layer == "edge", f"{res.urn}: engine sees layer {res.layer}"
        if res.type.startswith("aws:") and supports_tags(res.type):
            assert res.inputs["tags"]["layerguard:layer"] == "edge", res.urn


# -- misconfigurations the pack must catch -----------------------------------------------------

MISCONFIGURATIONS = [
    # (example, case, policy that must fail, resource it must name)
    ("alb", "app-open-to-world", "disallow-node-bypass", "misconfig-app-open"),
    ("alb", "alb-without-web-acl", "enforce-perimeter-waf", "edge-alb"),
    # An internal origin reached through a VPC origin is not reachable from the internet whatever its
    # security group says, so "origin open to the world" is no bypass there; the perimeter is.
    ("cloudfront-vpc-origin", "distribution-without-web-acl", "enforce-perimeter-waf", "edge-distribution"),
    ("cloudfront-vpc-origin", "cloudfront-acl-outside-us-east-1", "enforce-perimeter-waf", "edge-distribution"),
    ("cloudfront-public-alb", "distribution-without-web-acl", "enforce-perimeter-waf", "edge-distribution"),
    ("cloudfront-public-alb", "header-not-required", "disallow-direct-origin-access", "edge-origin-alb"),
    ("nlb-cloudfront", "distribution-without-web-acl", "enforce-perimeter-waf", "edge-distribution"),
    ("nlb-cloudfront", "cloudfront-acl-outside-us-east-1", "enforce-perimeter-waf", "edge-distribution"),
    ("nlb-waf-exempt", "exemption-tag-missing", "enforce-perimeter-waf", "edge-nlb"),
    ("apigateway", "vpc-link-to-app", "disallow-node-bypass", "misconfig-direct-app"),
    ("apigateway", "stage-without-web-acl", "enforce-perimeter-waf", "edge-stage"),
]


@pytest.mark.parametrize("name,case,policy,resource", MISCONFIGURATIONS,
                         ids=lambda v: v if isinstance(v, str) else None)
def test_typical_misconfiguration_fails_the_preview(name, case, policy, resource):
    result = run("dev", "preview", config={"misconfig:case": case},
                 config_file=EXAMPLES_DIR / f"{name}.yaml", with_pack=True, program=MISCONFIGURED)
    assert result.error is None, result.error
    found = {(v.policy, v.urn.split("::")[-1]) for v in result.mandatory}
    assert result.exit_code == 1 and (policy, resource) in found, f"{name}/{case}: {sorted(found)}"
