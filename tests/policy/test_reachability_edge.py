"""The edge families of the reachability model over hand-built resources (no engine): what each
listener admits (per port, per header value), the code a distribution runs, and what the stack
shares with other accounts. Each test is a compliant cell plus one change, both directions.

The catalogue through the real preview is tests/policy/test_reachability_entries.py; these pin
variants of its classes (issue 18 classes 1-3 and the per-listener false positive) that it does not
spell out.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
PACK = Path(__file__).resolve().parents[2] / "policy"
if str(PACK) not in sys.path:
    sys.path.insert(0, str(PACK))

from test_reachability_model import Builder, openers  # noqa: E402

from guard.framework import Unknown  # noqa: E402
from guard.reachability.perimeter import Perimeter, origin_protection  # noqa: E402

UNK = Unknown("x", "string")
RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LISTENER = "aws:lb/listener:Listener"
FWD = [{"type": "forward", "targetGroupArn": UNK}]


def _by_name(b: Builder, name: str):
    return next(r for r in b.resources if r.name == name)


def _admin_listener(b: Builder, cell: dict, source: dict) -> None:
    """A second listener on the edge ALB, :8443 straight to the app, admitted from `source`."""
    b.add(LISTENER, "edge-admin", {"port": 8443, "protocol": "HTTPS", "defaultActions": FWD},
          {"loadBalancerArn": [cell["edge_alb"]], "defaultActions": [cell["app_tg"]]})
    b.add(RULE, "app-from-edge", {"ipProtocol": "tcp", "fromPort": 8080, "toPort": 8080,
                                  "referencedSecurityGroupId": UNK},
          {"securityGroupId": [cell["sg"]["app"]], "referencedSecurityGroupId": [cell["sg"]["edge"]]})
    b.add(RULE, "admin-in", {"ipProtocol": "tcp", "fromPort": 8443, "toPort": 8443, **source},
          {"securityGroupId": [cell["sg"]["edge"]]})


def test_a_listener_admitted_only_from_the_nodes_subnet_is_no_path():
    b = Builder()
    cell = b.cell()
    _admin_listener(b, cell, {"cidrIpv4": "10.0.10.0/24"})
    assert openers(b.model()) == set()


def test_a_rule_opening_only_a_listener_around_the_nodes_is_named():
    b = Builder()
    cell = b.cell()
    _admin_listener(b, cell, {"cidrIpv4": "198.51.100.0/24"})
    assert openers(b.model()) == {"admin-in"}


def test_a_rule_opening_every_port_names_the_listener_around_the_nodes():
    """The same listener behind a rule that also serves the node listener: the listener is what to change."""
    b = Builder()
    cell = b.cell()
    _admin_listener(b, cell, {"cidrIpv4": "10.0.10.0/24"})
    _by_name(b, "edge-in").props.update({"fromPort": 0, "toPort": 65535})
    assert openers(b.model()) == {"edge-admin"}


def _distribution(b: Builder, cell: dict, origin_config: dict, behaviour: dict | None = None, deps=()):
    acl = b.add("aws:wafv2/webAcl:WebAcl", "cdn-acl", {"scope": "CLOUDFRONT", "region": "us-east-1"}, layer="edge")
    return b.add("aws:cloudfront/distribution:Distribution", "cdn", {
        "webAclId": UNK, "origins": [{"originId": "o", "domainName": UNK, "customOriginConfig": origin_config}],
        "defaultCacheBehavior": behaviour or {"targetOriginId": "o"}},
        {"origins": [cell["edge_alb"]], "webAclId": [acl], "defaultCacheBehavior": list(deps)}, layer="edge")


HTTPS_ONLY = {"originProtocolPolicy": "https-only", "httpPort": 80, "httpsPort": 443}


def test_cloudfront_connects_only_to_the_listener_on_its_origin_port():
    b = Builder()
    cell = b.cell()
    _admin_listener(b, cell, {"cidrIpv4": "10.0.10.0/24"})
    _distribution(b, cell, HTTPS_ONLY)
    assert openers(b.model()) == set()
    b2 = Builder()
    cell2 = b2.cell()
    _admin_listener(b2, cell2, {"cidrIpv4": "10.0.10.0/24"})
    _distribution(b2, cell2, {**HTTPS_ONLY, "originProtocolPolicy": "match-viewer", "httpPort": 8443})
    assert openers(b2.model()) == {"edge-admin"}


def test_edge_code_is_an_endpoint_unless_labelled_edge():
    for layer, expected in ((None, {"cdn"}), ("app", {"cdn"}), ("edge", set())):
        b = Builder()
        cell = b.cell()
        fn = b.add("aws:lambda/function:Function", "edge-fn", {"publish": True}, layer=layer)
        _distribution(b, cell, HTTPS_ONLY, {"targetOriginId": "o", "lambdaFunctionAssociations": [
            {"eventType": "origin-response", "lambdaArn": UNK}]}, deps=[fn])
        assert openers(b.model()) == expected, layer


def test_edge_code_outside_the_stack_fails_closed():
    b = Builder()
    cell = b.cell()
    dist = _distribution(b, cell, HTTPS_ONLY, {"targetOriginId": "o", "functionAssociations": [
        {"eventType": "viewer-request", "functionArn": "arn:aws:cloudfront::123456789012:function/rewrite"}]})
    m = b.model()
    assert [(p.urn, p.prop) for p in m.problems] == [(dist.urn, "defaultCacheBehavior")]


def _secret_origin(b: Builder, cell: dict, conditions: list, deps: list) -> None:
    """The edge ALB as a secret-header origin: 403 by default, one rule forwarding to the nodes."""
    listener = _by_name(b, "edge-https")
    listener.props["defaultActions"] = [{"type": "fixed-response"}]
    listener.property_dependencies = {"loadBalancerArn": (cell["edge_alb"].urn,)}
    b.add("aws:lb/listenerRule:ListenerRule", "verified", {"actions": FWD, "conditions": conditions},
          {"listenerArn": [listener], "actions": [_by_name(b, "node-tg")], "conditions": deps})


def _origin_verdict(b: Builder, cell: dict):
    m = b.model()
    urn = cell["edge_alb"].urn
    return origin_protection(m, urn), Perimeter(m)


def _secret_cell(conditions_for, secret_as=None):
    b = Builder()
    cell = b.cell()
    _by_name(b, "acl-assoc").property_dependencies = {}  # no regional ACL: CloudFront's WAF only
    secret = b.add(*(secret_as or ("random:index/randomPassword:RandomPassword", "secret", {"length": 40, "result": UNK})))
    conditions, deps = conditions_for(secret, b)
    _secret_origin(b, cell, conditions, deps)
    return b, cell, secret


def test_a_header_condition_anded_with_a_private_source_range_is_protected():
    def conditions(_secret, _b):
        return [{"httpHeader": {"httpHeaderName": "X-Internal", "values": ["true"]}},
                {"sourceIp": {"values": ["10.0.0.0/8"]}}], []
    b, cell, _s = _secret_cell(conditions)
    verdict, _p = _origin_verdict(b, cell)
    assert verdict.ok, verdict.reason


def test_a_wildcard_value_beside_the_secret_admits_anyone():
    def conditions(secret, _b):
        return [{"httpHeader": {"httpHeaderName": "X-Origin-Verify", "values": [UNK, "*"]}}], [secret]
    b, cell, _s = _secret_cell(conditions)
    verdict, _p = _origin_verdict(b, cell)
    assert not verdict.ok and "wildcard" in verdict.reason


def test_a_guessable_random_value_is_no_secret():
    """A pet name, a short password or a random integer is found by trying values at the ALB;
    a long password, a UUID or a 16-byte id is not."""
    def conditions(secret, _b):
        return [{"httpHeader": {"httpHeaderName": "X-Origin-Verify", "values": [UNK]}}], [secret]
    for typ, props, ok in (("randomPet:RandomPet", {"length": 2}, False),
                           ("randomPassword:RandomPassword", {"length": 6, "result": UNK}, False),
                           ("randomPassword:RandomPassword", {"length": 11, "result": UNK}, False),
                           ("randomPassword:RandomPassword", {"length": 12, "result": UNK}, True),
                           ("randomInteger:RandomInteger", {"min": 0, "max": 9999}, False),
                           ("randomString:RandomString", {"length": 32, "result": UNK}, True),
                           ("randomUuid:RandomUuid", {"result": UNK}, True),
                           ("randomId:RandomId", {"byteLength": 16}, True)):
        b, cell, _s = _secret_cell(conditions, (f"random:index/{typ}", "secret", props))
        verdict, _p = _origin_verdict(b, cell)
        assert verdict.ok is ok, (typ, verdict.reason)


def test_a_secret_mixed_with_a_non_secret_source_is_not_proved_secret():
    def conditions(secret, b):
        bucket = b.add("aws:s3/bucketV2:BucketV2", "bucket", {"bucket": UNK})
        return [{"httpHeader": {"httpHeaderName": "X-Origin-Verify", "values": [UNK, UNK]}}], [secret, bucket]
    b, cell, _s = _secret_cell(conditions)
    verdict, _p = _origin_verdict(b, cell)
    assert not verdict.ok


def _share(b: Builder, resource, name: str = "share-assoc"):
    share = b.add("aws:ram/resourceShare:ResourceShare", "share", {"allowExternalPrincipals": True}, layer="network")
    return b.add("aws:ram/resourceAssociation:ResourceAssociation", name, {"resourceArn": UNK},
                 {"resourceArn": [resource], "resourceShareArn": [share]})


def test_a_shared_node_subnet_is_a_source_for_what_trusts_its_range():
    b = Builder()
    cell = b.cell()
    b.add(RULE, "app-from-node-range", {"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "cidrIpv4": "10.0.10.0/24"},
          {"securityGroupId": [cell["sg"]["app"]]})
    assert openers(b.model()) == set()
    _share(b, cell["node_sub"])
    assert openers(b.model()) == {"share-assoc"}


def _endpoint_service(b: Builder, cell: dict, **props):
    return b.add("aws:ec2/vpcEndpointService:VpcEndpointService", "svc",
                 {"networkLoadBalancerArns": [UNK], **props}, {"networkLoadBalancerArns": [cell["app_alb"]]},
                 layer="app")


def test_an_endpoint_service_needing_acceptance_admits_only_what_the_stack_accepts():
    b = Builder()
    cell = b.cell()
    svc = _endpoint_service(b, cell, acceptanceRequired=True, allowedPrincipals=["*"])
    m = b.model()
    assert openers(m) == set() and m.problems == []
    b.add("aws:ec2/vpcEndpointConnectionAccepter:VpcEndpointConnectionAccepter", "accept-partner",
          {"vpcEndpointId": "vpce-0123456789abcdef0", "vpcEndpointServiceId": UNK},
          {"vpcEndpointServiceId": [svc]})
    assert openers(b.model()) == {"accept-partner"}


def test_an_endpoint_service_open_to_an_account_without_acceptance_is_a_source():
    b = Builder()
    cell = b.cell()
    _endpoint_service(b, cell, acceptanceRequired=False,
                      allowedPrincipals=["arn:aws:iam::210987654321:root"])
    assert openers(b.model()) == {"svc"}


def test_a_shared_transit_gateway_needs_auto_accept_and_default_routing():
    def build(**tgw_props):
        b = Builder()
        cell = b.cell()
        tgw = b.add("aws:ec2transitgateway/transitGateway:TransitGateway", "tgw", tgw_props, layer="network")
        b.add("aws:ec2/route:Route", "tgw-route", {"routeTableId": UNK, "transitGatewayId": UNK,
                                                   "destinationCidrBlock": "10.1.0.0/16"},
              {"routeTableId": [cell["rt"]], "transitGatewayId": [tgw]})
        b.add(RULE, "corp-rule", {"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "cidrIpv4": "10.1.0.0/16"},
              {"securityGroupId": [cell["sg"]["app"]]})
        _share(b, tgw, "tgw-share")
        return b.model()
    # the TGW has no attachment of another VPC of the stack: 10.1.0.0/16 on it is outside the stack
    assert openers(build(autoAcceptSharedAttachments="enable")) >= {"tgw-share"}
    assert "tgw-share" not in openers(build(autoAcceptSharedAttachments="disable"))
    assert "tgw-share" not in openers(build(autoAcceptSharedAttachments="enable",
                                            defaultRouteTableAssociation="disable"))


def test_the_perimeter_is_judged_per_listener_too():
    """An edge ALB without a web ACL: its public listener forwards nowhere, its listener to the nodes
    is admitted only from a private range, so no internet path reaches the nodes without WAF; the
    same listener admitted from a public range is one."""
    for source, expected in (("10.0.10.0/24", []), ("198.51.100.0/24", ["edge-alb"])):
        b = Builder()
        cell = b.cell()
        _by_name(b, "acl-assoc").property_dependencies = {}
        listener = _by_name(b, "edge-https")
        listener.props["defaultActions"] = [{"type": "fixed-response"}]
        listener.property_dependencies = {"loadBalancerArn": (cell["edge_alb"].urn,)}
        b.add(LISTENER, "edge-internal", {"port": 8080, "protocol": "HTTP", "defaultActions": FWD},
              {"loadBalancerArn": [cell["edge_alb"]], "defaultActions": [_by_name(b, "node-tg")]})
        b.add(RULE, "internal-in", {"ipProtocol": "tcp", "fromPort": 8080, "toPort": 8080, "cidrIpv4": source},
              {"securityGroupId": [cell["sg"]["edge"]]})
        m = b.model()
        found = [m.stack.by_urn[entry].name for entry, _o, _p, _r in Perimeter(m).unprotected_paths()]
        assert found == expected, source
