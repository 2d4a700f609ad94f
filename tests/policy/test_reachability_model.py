"""The reachability model over hand-built resources (no engine): fail-closed handling of unknowns,
CIDR arithmetic, and the cost on a 20,000-resource stack (must stay linear and under 10 s).

The catalogue through the real preview is tests/policy/test_reachability.py; these tests pin what
a preview cannot easily produce (unknown literals, very large stacks).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PACK = Path(__file__).resolve().parents[2] / "policy"
if str(PACK) not in sys.path:
    sys.path.insert(0, str(PACK))

from guard.framework import Resource, Stack, Unknown  # noqa: E402
from guard.reachability import Model  # noqa: E402
from guard.reachability.net import SubnetIndex, has_outside_part, parse_cidr  # noqa: E402
from guard.reachability.perimeter import Perimeter  # noqa: E402


class Builder:
    """Resources the way build_stack() hands them to a stack policy (plain props, URN deps)."""

    def __init__(self, prefix: str = "") -> None:
        self.resources: list[Resource] = []
        self.prefix = prefix

    def add(self, type_: str, name: str, props: dict | None = None, deps: dict | None = None,
            layer: str | None = None) -> Resource:
        props = dict(props or {})
        if layer:
            props.setdefault("tags", {"layerguard:layer": layer})
        name = self.prefix + name
        res = Resource(urn=f"urn:pulumi:test::scenarios::{type_}::{name}", type=type_, name=name,
                       props=props, provider_region="eu-west-1",
                       property_dependencies={k: tuple(r.urn for r in v) for k, v in (deps or {}).items()})
        self.resources.append(res)
        return res

    def cell(self) -> dict:
        """One compliant edge ALB -> node service -> internal app ALB -> app service slice: the edge
        subnet routes to an internet gateway, the nodes run the Wallarm image behind the edge ALB."""
        a = self.add
        unk = Unknown("x", "string")
        vpc = a("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"}, layer="network")
        igw = a("aws:ec2/internetGateway:InternetGateway", "igw", {"vpcId": unk}, {"vpcId": [vpc]}, layer="network")
        rt = a("aws:ec2/routeTable:RouteTable", "public-rt", {"vpcId": unk}, {"vpcId": [vpc]}, layer="network")
        a("aws:ec2/route:Route", "default-route", {"routeTableId": unk, "gatewayId": unk,
                                                   "destinationCidrBlock": "0.0.0.0/0"},
          {"routeTableId": [rt], "gatewayId": [igw]})
        edge_sub = a("aws:ec2/subnet:Subnet", "edge-a", {"cidrBlock": "10.0.0.0/24", "mapPublicIpOnLaunch": False},
                     {"vpcId": [vpc]}, layer="edge")
        a("aws:ec2/routeTableAssociation:RouteTableAssociation", "edge-a-rt", {"subnetId": unk, "routeTableId": unk},
          {"subnetId": [edge_sub], "routeTableId": [rt]})
        node_sub = a("aws:ec2/subnet:Subnet", "node-a", {"cidrBlock": "10.0.10.0/24"}, {"vpcId": [vpc]}, layer="node")
        app_sub = a("aws:ec2/subnet:Subnet", "app-a", {"cidrBlock": "10.0.20.0/24"}, {"vpcId": [vpc]}, layer="app")
        sg = {}
        for layer in ("edge", "node", "app"):
            sg[layer] = a("aws:ec2/securityGroup:SecurityGroup", f"{layer}-sg", {"ingress": []}, {"vpcId": [vpc]},
                          layer=layer)
        rule = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
        tcp = {"ipProtocol": "tcp"}
        a(rule, "edge-in", {**tcp, "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0", "securityGroupId": unk},
          {"securityGroupId": [sg["edge"]]})
        a(rule, "node-in", {**tcp, "fromPort": 80, "toPort": 80, "referencedSecurityGroupId": unk, "securityGroupId": unk},
          {"securityGroupId": [sg["node"]], "referencedSecurityGroupId": [sg["edge"]]})
        a(rule, "app-in", {**tcp, "fromPort": 80, "toPort": 80, "referencedSecurityGroupId": unk, "securityGroupId": unk},
          {"securityGroupId": [sg["app"]], "referencedSecurityGroupId": [sg["node"]]})
        lb = "aws:lb/loadBalancer:LoadBalancer"
        edge_alb = a(lb, "edge-alb", {"internal": False, "loadBalancerType": "application"},
                     {"subnets": [edge_sub], "securityGroups": [sg["edge"]]}, layer="edge")
        app_alb = a(lb, "app-alb", {"internal": True, "loadBalancerType": "application"},
                    {"subnets": [app_sub], "securityGroups": [sg["app"]]}, layer="app")
        acl = a("aws:wafv2/webAcl:WebAcl", "acl", {"scope": "REGIONAL"}, layer="edge")
        a("aws:wafv2/webAclAssociation:WebAclAssociation", "acl-assoc", {}, {"resourceArn": [edge_alb], "webAclArn": [acl]})
        tg = "aws:lb/targetGroup:TargetGroup"
        node_tg = a(tg, "node-tg", {"port": 80}, layer="node")
        app_tg = a(tg, "app-tg", {"port": 8080}, layer="app")
        fwd = [{"type": "forward", "targetGroupArn": unk}]
        a("aws:lb/listener:Listener", "edge-https", {"port": 443, "protocol": "HTTPS", "defaultActions": fwd},
          {"loadBalancerArn": [edge_alb], "defaultActions": [node_tg]})
        a("aws:lb/listener:Listener", "app-http", {"port": 80, "protocol": "HTTP", "defaultActions": fwd},
          {"loadBalancerArn": [app_alb], "defaultActions": [app_tg]})
        td = "aws:ecs/taskDefinition:TaskDefinition"
        node_td = a(td, "node-task", {"containerDefinitions": json.dumps([{
            "name": "wallarm", "image": "wallarm/node:7.1.0", "portMappings": [{"containerPort": 80}]}])},
            layer="node")
        app_td = a(td, "app-task", {"containerDefinitions": json.dumps([{
            "name": "app", "image": "nginx:1.27", "portMappings": [{"containerPort": 8080}]}])}, layer="app")
        svc = "aws:ecs/service:Service"
        net = {"assignPublicIp": False, "subnets": [unk], "securityGroups": [unk]}
        node = a(svc, "node-svc", {"networkConfiguration": net, "launchType": "FARGATE",
                                   "loadBalancers": [{"containerName": "wallarm", "containerPort": 80,
                                                      "targetGroupArn": unk}]},
                 {"networkConfiguration": [node_sub, sg["node"]], "loadBalancers": [node_tg],
                  "taskDefinition": [node_td]}, layer="node")
        app = a(svc, "app-svc", {"networkConfiguration": net, "launchType": "FARGATE",
                                 "loadBalancers": [{"containerName": "app", "containerPort": 8080,
                                                    "targetGroupArn": unk}]},
                {"networkConfiguration": [app_sub, sg["app"]], "loadBalancers": [app_tg],
                 "taskDefinition": [app_td]}, layer="app")
        return {"vpc": vpc, "sg": sg, "edge_alb": edge_alb, "app_alb": app_alb, "node": node, "app": app,
                "edge_sub": edge_sub, "node_sub": node_sub, "app_sub": app_sub, "app_tg": app_tg,
                "node_td": node_td, "igw": igw, "rt": rt}

    def model(self) -> Model:
        return Model(Stack(list(self.resources)))


def openers(model: Model) -> set[str]:
    return {model.stack.by_urn[o].name for o, _app, _path, _note in model.bypasses()}


def test_compliant_cell_has_no_bypass_and_no_problem():
    b = Builder()
    b.cell()
    m = b.model()
    assert m.bypasses() == [] and m.problems == []
    assert Perimeter(m).unprotected_paths() == []


def test_unknown_internal_flag_fails_closed():
    b = Builder()
    cell = b.cell()
    cell["app_alb"].props["internal"] = Unknown("internal", "boolean")
    m = b.model()
    assert [(p.urn, p.prop, p.area) for p in m.problems] == [(cell["app_alb"].urn, "internal", "reach")]


def test_internet_facing_app_lb_needs_a_public_subnet_and_an_open_group():
    b = Builder()
    cell = b.cell()
    cell["app_alb"].props["internal"] = False
    assert openers(b.model()) == set()  # private subnet: no route to the internet gateway
    cell["app_alb"].property_dependencies["subnets"] = (cell["edge_sub"].urn,)
    assert openers(b.model()) == set()  # public subnet, but its group admits only the nodes
    b.add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "partner",
          {"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "cidrIpv4": "203.0.113.0/24"},
          {"securityGroupId": [cell["sg"]["app"]]})
    assert "app-alb" in openers(b.model())


def test_unknown_cidr_without_subnet_dependency_is_the_internet():
    b = Builder()
    cell = b.cell()
    b.add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "mystery",
          {"cidrIpv4": Unknown("cidrIpv4", "string")}, {"securityGroupId": [cell["sg"]["app"]]})
    m = b.model()
    assert "mystery" in openers(m)
    assert any(p.prop == "cidrIpv4" for p in m.problems)


def test_unknown_cidr_from_node_subnet_is_resolved_through_dependencies():
    b = Builder()
    cell = b.cell()
    b.add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "from-nodes",
          {"cidrIpv4": Unknown("cidrIpv4", "string")},
          {"securityGroupId": [cell["sg"]["app"]], "cidrIpv4": [cell["node_sub"]]})
    m = b.model()
    assert m.bypasses() == [] and m.problems == []


def test_unknown_cidr_from_edge_subnet_opens_a_path():
    b = Builder()
    cell = b.cell()
    b.add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "from-edge",
          {"cidrIpv4": Unknown("cidrIpv4", "string")},
          {"securityGroupId": [cell["sg"]["app"]], "cidrIpv4": [cell["edge_sub"]]})
    assert openers(b.model()) == {"from-edge"}


def test_untagged_public_service_trusted_by_the_app_is_a_bypass():
    """An untagged service is unclassified: it may be app, so being reached around the nodes (it
    joined the node target group) is itself a bypass, and an app rule admitting its security group
    opens a second path (it is a foothold too)."""
    b = Builder()
    cell = b.cell()
    rogue_sg = b.add("aws:ec2/securityGroup:SecurityGroup", "rogue-sg", {}, {"vpcId": [cell["vpc"]]})
    b.add("aws:ecs/service:Service", "rogue", {"networkConfiguration": {"assignPublicIp": True}},
          {"networkConfiguration": [rogue_sg], "loadBalancers": [b.resources[[r.name for r in b.resources].index("node-tg")]]})
    b.add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "app-from-rogue",
          {"referencedSecurityGroupId": Unknown("r", "string")},
          {"securityGroupId": [cell["sg"]["app"]], "referencedSecurityGroupId": [rogue_sg]})
    assert openers(b.model()) == {"app-from-rogue", "rogue"}


def test_cidr_arithmetic():
    vpc = [parse_cidr("10.0.0.0/16")]
    assert has_outside_part(parse_cidr("0.0.0.0/0"), vpc)
    assert has_outside_part(parse_cidr("10.0.0.0/15"), vpc)
    assert not has_outside_part(parse_cidr("10.0.3.0/24"), vpc)
    assert has_outside_part(parse_cidr("::/0"), vpc)
    idx = SubnetIndex()
    for i in range(0, 40, 2):
        idx.add("vpc", parse_cidr(f"10.0.{i}.0/24"), f"s{i}")
    assert idx.overlapping(parse_cidr("10.0.4.0/23"), "vpc") == ["s4"]
    assert idx.overlapping(parse_cidr("10.0.3.0/24"), "vpc") == []
    assert len(idx.overlapping(parse_cidr("10.0.0.0/16"), "vpc")) == 20
    assert idx.overlapping(parse_cidr("10.0.4.0/24"), "other") == []


def test_twenty_thousand_resources_build_and_stay_clean():
    # Scale, not speed: how long this takes is measured by `make bench` (B2), never asserted here.
    b = Builder()
    for i in range(1000):
        b.prefix = f"c{i}-"
        b.cell()
    assert len(b.resources) >= 20_000
    m = b.model()
    assert m.bypasses() == []
    assert Perimeter(m).unprotected_paths() == []
    # ... and one bypass among them is still found, and only that one.
    b.prefix = "last-"
    cell = b.cell()
    b.add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "app-open-world",
          {"cidrIpv4": "0.0.0.0/0"}, {"securityGroupId": [cell["sg"]["app"]]})
    assert openers(b.model()) == {"last-app-open-world"}


def _cloudfront_in_front(acl_props: dict, provider_region: str | None, web_acl_literal=None) -> list:
    """A distribution in front of the cell's edge ALB (whose own WAF is removed), ALB limited to
    the CloudFront prefix list; returns the resources the perimeter names (the ALB is covered only
    while the distribution carries a valid web ACL)."""
    b = Builder()
    cell = b.cell()
    b.resources = [r for r in b.resources if r.name != "acl-assoc"]
    edge_in = next(r for r in b.resources if r.name == "edge-in")
    edge_in.props = {"prefixListId": "pl-3b927c52", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443}
    # the prefix list admits every distribution: the listener forwards only on the secret header
    https = next(r for r in b.resources if r.name == "edge-https")
    https.props["defaultActions"] = [{"type": "fixed-response", "fixedResponse": {"statusCode": "403"}}]
    node_tg = https.property_dependencies.pop("defaultActions")
    b.add("aws:lb/listenerRule:ListenerRule", "verified",
          {"actions": [{"type": "forward", "targetGroupArn": Unknown("t", "string")}],
           "conditions": [{"httpHeader": {"httpHeaderName": "X-Origin-Verify", "values": ["s3cr3t-0f-the-d1stribution"]}}]},
          {"listenerArn": [https], "actions": [b.resources[[r.urn for r in b.resources].index(node_tg[0])]]})
    deps = {}
    if web_acl_literal is None:
        acl = b.add("aws:wafv2/webAcl:WebAcl", "cf-acl", acl_props, layer="edge")
        acl.provider_region = provider_region
        deps["webAclId"] = [acl]
    b.add("aws:cloudfront/distribution:Distribution", "cdn",
          {"webAclId": web_acl_literal if web_acl_literal is not None else Unknown("webAclId", "string"),
           "origins": [{"domainName": Unknown("d", "string"),
                        "customHeaders": [{"name": "X-Origin-Verify", "value": "s3cr3t-0f-the-d1stribution"}]}]},
          {**deps, "origins": [cell["edge_alb"]]}, layer="edge")
    m = b.model()
    return sorted({m.stack.by_urn[o].name for _v, opens, _p, _r in Perimeter(m).unprotected_paths() for o in opens})


BOTH = ["cdn", "edge-alb"]


def test_cloudfront_acl_region_comes_from_the_provider_or_the_resource():
    assert _cloudfront_in_front({"scope": "CLOUDFRONT"}, "us-east-1") == []
    assert _cloudfront_in_front({"scope": "CLOUDFRONT"}, "eu-west-1") == BOTH
    assert _cloudfront_in_front({"scope": "CLOUDFRONT", "region": "us-east-1"}, "eu-west-1") == []
    assert _cloudfront_in_front({"scope": "REGIONAL"}, "us-east-1") == BOTH
    assert _cloudfront_in_front({"scope": Unknown("scope", "string")}, "us-east-1") == BOTH
    assert _cloudfront_in_front({"scope": "CLOUDFRONT"}, None) == BOTH  # region unknowable


def test_cloudfront_literal_acl_arn_is_parsed():
    ok = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/a1b2"
    assert _cloudfront_in_front({}, None, web_acl_literal=ok) == []
    assert _cloudfront_in_front({}, None, web_acl_literal=ok.replace("us-east-1", "eu-west-1")) == BOTH
    assert _cloudfront_in_front({}, None, web_acl_literal="") == BOTH


# --- issue 9: ports, ACLs, routes, proven nodes, open world ------------------------------------

from guard.reachability.model import NodeRules, split_image  # noqa: E402
from guard.reachability.net import AclRule, Ports, acl_allows, carries, ports_of  # noqa: E402

INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def test_ports_and_protocols():
    assert carries(ports_of("icmp", 3, 4), None) == []
    assert carries(ports_of("-1", 0, 0), [("tcp", 80)]) == [("tcp", 80)]
    assert carries(ports_of("tcp", 8080, 8080), [("tcp", 80)]) == []
    assert carries(ports_of("udp", 80, 80), [("tcp", 80)]) == []
    assert carries(ports_of("6", 0, 65535), [("tcp", 443)]) == [("tcp", 443)]
    assert carries(ports_of("tcp", 1, 1), []) == []  # a load balancer without listeners


def test_network_acl_order_and_partial_denies():
    net = parse_cidr("10.0.0.0/24")
    allow_all = AclRule(300, True, Ports("all"), None)
    deny_edge = AclRule(100, False, Ports("tcp", 0, 65535), net)
    assert not acl_allows([deny_edge, allow_all], net, Ports("tcp", 8080, 8080))
    assert acl_allows([deny_edge._replace(number=400), allow_all], net, Ports("tcp", 8080, 8080))
    # a deny of part of the source range does not stop the rest of it
    assert acl_allows([deny_edge, allow_all], parse_cidr("10.0.0.0/23"), Ports("tcp", 8080, 8080))
    assert not acl_allows([], net, Ports("tcp", 80, 80))  # the implicit deny


def test_node_image_rules():
    rules = NodeRules()
    assert split_image("registry-1.docker.io/wallarm/node:7.1.0@sha256:ab") == ("registry-1.docker.io/wallarm/node", "7.1.0")
    assert rules.image_problem("wallarm/node:7.1.0") is None
    assert rules.image_problem("123456789012.dkr.ecr.eu-west-1.amazonaws.com/hub/wallarm/node:6.6.1") is None
    assert rules.image_problem("wallarm/node:5.3.0") is not None
    assert rules.image_problem("wallarm/node:latest") is not None
    assert rules.image_problem("evil.example/wallarm/node:7.1.0") is not None
    assert rules.image_problem("123456789012.dkr.ecr.eu-west-1.amazonaws.com/a/b/wallarm/node:7.1.0") is not None
    assert NodeRules(majors=(7,)).image_problem("wallarm/node:6.6.1") is not None


def test_unproven_node_is_reported_and_not_a_filter():
    b = Builder()
    cell = b.cell()
    cell["node_td"].props["containerDefinitions"] = json.dumps([{"name": "wallarm", "image": "nginx:1.27",
                                                                 "portMappings": [{"containerPort": 80}]}])
    m = b.model()
    assert set(m.unproven) == {cell["node"].urn} and not m.filters
    assert "node-svc" in openers(m)  # traffic passes the unproven node to the app


def test_icmp_from_anywhere_is_not_a_path_but_tcp_is():
    b = Builder()
    cell = b.cell()
    b.add(INGRESS, "pmtu", {"ipProtocol": "icmp", "fromPort": 3, "toPort": 4, "cidrIpv4": "0.0.0.0/0"},
          {"securityGroupId": [cell["sg"]["app"]]})
    assert openers(b.model()) == set()
    b.add(INGRESS, "open", {"ipProtocol": "tcp", "fromPort": 8080, "toPort": 8080, "cidrIpv4": "0.0.0.0/0"},
          {"securityGroupId": [cell["sg"]["app"]]})
    assert openers(b.model()) == {"open"}  # 0.0.0.0/0 covers the public edge subnet


def test_private_cidr_needs_a_route_and_foreign_routes_are_the_internet():
    b = Builder()
    cell = b.cell()
    b.add(INGRESS, "corp", {"ipProtocol": "tcp", "fromPort": 8080, "toPort": 8080, "cidrIpv4": "172.16.0.0/12"},
          {"securityGroupId": [cell["sg"]["app"]]})
    assert openers(b.model()) == set()  # no route to 172.16.0.0/12: nothing can send from there
    b.add("aws:ec2/route:Route", "to-vpn", {"destinationCidrBlock": "172.16.0.0/12", "gatewayId": "vgw-0123"},
          {"routeTableId": [cell["vpc"]]})
    assert openers(b.model()) == {"corp", "to-vpn"}


def test_unknown_resource_in_a_subnet_fails_closed_and_inert_ones_do_not():
    b = Builder()
    cell = b.cell()
    b.add("aws:newservice/endpoint:Endpoint", "share", {"subnetIds": [Unknown("s", "string")]},
          {"subnetIds": [cell["app_sub"]]})
    b.add("aws:efs/mountTarget:MountTarget", "nfs", {"subnetId": Unknown("s", "string")},
          {"subnetId": [cell["app_sub"]]})
    b.add("aws:iam/role:Role", "role", {"assumeRolePolicy": "{}"})
    b.add("aws:sns/topic:Topic", "topic", {})
    m = b.model()
    assert [(m.stack.by_urn[p.urn].name, p.prop) for p in m.problems] == [("share", "type")]


def test_node_task_waiting_only_for_a_secret_arn_is_trusted_at_preview():
    b = Builder()
    cell = b.cell()
    secret = b.add("aws:secretsmanager/secret:Secret", "token", {}, layer="node")
    cell["node_td"].props["containerDefinitions"] = Unknown("containerDefinitions", "string")
    cell["node_td"].property_dependencies["containerDefinitions"] = (secret.urn,)
    m = b.model()
    assert m.filters == {cell["node"].urn} and m.pending and openers(m) == set()
    other = b.add("aws:lb/loadBalancer:LoadBalancer", "elsewhere", {"internal": True})
    cell["node_td"].property_dependencies["containerDefinitions"] = (secret.urn, other.urn)
    assert set(b.model().unproven) == {cell["node"].urn}


REST_API, HTTP_API = "aws:apigateway/restApi:RestApi", "aws:apigatewayv2/api:Api"
LAMBDA = "aws:lambda/function:Function"
FN_URI = ("arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
          "arn:aws:lambda:eu-west-1:123456789012:function:{}/invocations")


def _problems(m: Model) -> set[tuple[str, str]]:
    return {(m.stack.by_urn[p.urn].name, p.prop) for p in m.problems}


def test_literal_function_uri_is_matched_by_name_or_fails_closed():
    b = Builder()
    api = b.add(REST_API, "api", {"endpointConfiguration": {"types": "REGIONAL"}}, layer="edge")
    b.add(LAMBDA, "worker", {"name": "worker-1a2b3c4"}, layer="app")  # auto-named: not 'worker'
    b.add(LAMBDA, "orders", {"name": "orders"}, layer="app")
    for name, target in (("to-orders", "orders:live"), ("to-worker", "worker"), ("to-foreign", "billing")):
        b.add("aws:apigateway/integration:Integration", name, {"type": "AWS_PROXY", "uri": FN_URI.format(target)},
              {"restApi": [api]})
    m = b.model()
    assert openers(m) == {"to-orders"}
    assert _problems(m) == {("to-worker", "uri"), ("to-foreign", "uri")}


def test_lambda_authorizers_run_app_code_whatever_the_label():
    b = Builder()
    api = b.add(HTTP_API, "api", {"protocolType": "HTTP"}, layer="edge")
    fn = b.add(LAMBDA, "authz", {"name": "authz"}, layer="edge")
    b.add("aws:apigatewayv2/authorizer:Authorizer", "request-authz",
          {"authorizerType": "REQUEST", "authorizerUri": Unknown("authorizerUri", "string")},
          {"apiId": [api], "authorizerUri": [fn]})
    b.add("aws:apigatewayv2/authorizer:Authorizer", "jwt-authz",
          {"authorizerType": "JWT", "jwtConfiguration": {"issuer": "https://issuer.example"}}, {"apiId": [api]})
    m = b.model()
    assert openers(m) == {"request-authz"} and m.layer(fn.urn) == "app"


def test_custom_domain_is_an_entry_of_its_own_unless_private():
    b = Builder()
    unk = Unknown("x", "string")
    api = b.add(HTTP_API, "api", {"protocolType": "HTTP", "disableExecuteApiEndpoint": True}, layer="edge")
    public = b.add("aws:apigatewayv2/domainName:DomainName", "public-domain",
                   {"domainNameConfiguration": {"endpointType": "REGIONAL"}}, layer="edge")
    b.add("aws:apigatewayv2/apiMapping:ApiMapping", "public-mapping", {"apiId": unk, "domainName": unk},
          {"apiId": [api], "domainName": [public]})
    m = b.model()
    assert [e.openers for e in m.internet_edges(public.urn)] == [(b.resources[-1].urn,)]
    assert m.internet_edges(api.urn) == []  # the default endpoint is disabled
    private = b.add("aws:apigateway/domainName:DomainName", "private-domain",
                    {"endpointConfiguration": {"types": ["PRIVATE"]}}, layer="edge")
    b.add("aws:apigateway/basePathMapping:BasePathMapping", "private-mapping", {"restApi": unk, "domainName": unk},
          {"restApi": [api], "domainName": [private]})
    assert b.model().internet_edges(private.urn) == []


def test_vpc_link_integration_to_a_literal_arn_fails_closed():
    b = Builder()
    api = b.add(HTTP_API, "api", {"protocolType": "HTTP"}, layer="edge")
    link = b.add("aws:apigatewayv2/vpcLink:VpcLink", "link", {}, layer="edge")
    b.add("aws:apigatewayv2/integration:Integration", "literal-listener",
          {"integrationType": "HTTP_PROXY", "connectionType": "VPC_LINK", "connectionId": Unknown("x", "string"),
           "integrationUri": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/app/1/2"},
          {"apiId": [api], "connectionId": [link]})
    assert _problems(b.model()) == {("literal-listener", "integrationUri")}


def _key_protected_api(extra_origin: dict | None = None, key_required: bool = True, host=None):
    from guard.reachability.perimeter import api_key_shield
    b = Builder()
    unk = Unknown("x", "string")
    api = b.add(REST_API, "api", {"id": "a1b2c3d4e5", "endpointConfiguration": {"types": "REGIONAL"}}, layer="edge")
    b.add("aws:apigateway/method:Method", "any", {"httpMethod": "ANY", "apiKeyRequired": key_required},
          {"restApi": [api]})
    secret = b.add("random:index/randomPassword:RandomPassword", "key-value", {"length": 40})
    key = b.add("aws:apigateway/apiKey:ApiKey", "key", {"value": unk}, {"value": [secret]})
    plan = b.add("aws:apigateway/usagePlan:UsagePlan", "plan", {"apiStages": [{"apiId": unk, "stage": "v1"}]},
                 {"apiStages": [api]})
    b.add("aws:apigateway/usagePlanKey:UsagePlanKey", "plan-key", {"keyId": unk, "usagePlanId": unk},
          {"keyId": [key], "usagePlanId": [plan]})
    acl = b.add("aws:wafv2/webAcl:WebAcl", "acl", {"scope": "CLOUDFRONT", "region": "us-east-1"}, layer="edge")
    origins = [{"originId": "api", "domainName": host or unk, "customHeaders": [{"name": "X-Api-Key", "value": unk}]}]
    if extra_origin:
        origins.append(extra_origin)
    b.add("aws:cloudfront/distribution:Distribution", "cdn", {"origins": origins, "webAclId": unk},
          {"origins": [api, secret], "webAclId": [acl]}, layer="edge")
    return api_key_shield(b.model(), api)


def test_api_key_only_cloudfront_sends_protects_the_origin():
    assert _key_protected_api().ok
    assert not _key_protected_api(key_required=False).ok
    leak = {"originId": "partner", "domainName": "assets.partner.example",
            "customHeaders": [{"name": "x-api-key", "value": Unknown("x", "string")}]}
    assert not _key_protected_api(extra_origin=leak).ok
    # in update state the origin's host is known: the API's own execute-api name is no leak
    assert _key_protected_api(host="a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com").ok
    assert not _key_protected_api(host="zz9zz9zz9z.execute-api.eu-west-1.amazonaws.com").ok


SG_TYPE = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_VPC_SPACE = [{"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrBlocks": ["172.31.0.0/16"]}]


def test_database_without_subnet_group_is_in_the_default_vpc():
    """No subnet group: the default VPC's default subnets. Not publicly accessible, but the default
    VPC's own space holds resources outside the stack."""
    b = Builder()
    b.cell()
    sg = b.add(SG_TYPE, "db-sg", {"ingress": DEFAULT_VPC_SPACE}, layer="app")  # no vpcId: the default VPC's
    b.add("aws:rds/instance:Instance", "app-db", {"vpcSecurityGroupIds": [Unknown("id", "string")],
                                                   "publiclyAccessible": False},
          {"vpcSecurityGroupIds": [sg]}, layer="app")
    assert openers(b.model()) == {"db-sg"}
    sg.props["ingress"] = []
    assert openers(b.model()) == set()


def test_looked_up_group_of_a_default_vpc_instance_is_the_default_vpcs():
    """A group whose vpcId is a literal (`get_vpc(default=True)`) on an instance without a subnet:
    AWS launches only into the group's VPC, so its rules are judged as the default VPC's."""
    b = Builder()
    b.cell()
    sg = b.add(SG_TYPE, "lookup-sg", {"vpcId": "vpc-0d3fa017defa01700", "ingress": DEFAULT_VPC_SPACE}, layer="app")
    box = b.add("aws:ec2/instance:Instance", "box", {"vpcSecurityGroupIds": [Unknown("id", "string")],
                                                     "associatePublicIpAddress": False},
                {"vpcSecurityGroupIds": [sg]}, layer="app")
    m = b.model()
    assert openers(m) == {"lookup-sg"}
    assert m.endpoints[box.urn].public == []  # it said no public address; it is still in the default VPC


def test_unfollowed_type_in_the_default_vpc_fails_closed():
    """A Redshift cluster without a subnet group is in the default VPC: a type the model does not
    follow, placed in a network, fails closed naming it; with the stack's subnet group it does not."""
    b = Builder()
    b.cell()
    cluster = b.add("aws:redshift/cluster:Cluster", "warehouse", {"nodeType": "ra3.xlplus"}, layer="app")
    m = b.model()
    assert [(p.urn, p.prop) for p in m.problems] == [(cluster.urn, "clusterSubnetGroupName")]
    cluster.props["clusterSubnetGroupName"] = Unknown("name", "string")
    assert b.model().problems == []
