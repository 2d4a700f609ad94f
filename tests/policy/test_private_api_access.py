"""LG-APIGW-001 over hand-written resources (no engine): a compliant private API baseline, then one
change per failing case, asserting the exact set of resources the rule names. The same mistakes in
the real program are tests/program/test_program_backends.py (`test_pack_catches_...`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

PACK = Path(__file__).resolve().parents[2] / "policy"
if str(PACK) not in sys.path:
    sys.path.insert(0, str(PACK))

from guard.framework import Resource, Stack, Unknown  # noqa: E402
from guard.policies.aws.apigateway import private_api_access as rule  # noqa: E402

VPC = "aws:ec2/vpc:Vpc"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
POLICY = "aws:apigateway/restApiPolicy:RestApiPolicy"
VPCE_ID = "vpce-0123456789abcdef0"


def _res(type_: str, name: str, props: dict, deps: dict | None = None) -> Resource:
    return Resource(urn=f"urn:pulumi:test::hand::{type_}::{name}", type=type_, name=name, props=props,
                    provider_region="eu-west-1",
                    property_dependencies={k: tuple(r.urn for r in v) for k, v in (deps or {}).items()})


def document(condition: dict | None = None, **allow) -> str:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
                 "Resource": "execute-api:/*", **allow}
    if condition is not None:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def stack(*, policy: object = "unknown", policy_deps: bool = True, endpoint_sg: bool = True,
          rule_source: str = "node", inline: list | None = None, service: object = None,
          literal_vpc: str | None = None, policy_on: str = "endpoint", extra: tuple = ()) -> Stack:
    """A private API as a user writes it by hand; each keyword is one change to the baseline."""
    vpc = _res(VPC, "vpc", {"cidrBlock": "10.20.0.0/16"})
    node_sg = _res(SG, "node-sg", {"tags": {"layerguard:layer": "node"}}, {"vpcId": [vpc]})
    app_sg = _res(SG, "app-sg", {"tags": {"layerguard:layer": "app"}}, {"vpcId": [vpc]})
    ep_sg = _res(SG, "endpoint-sg", {"tags": {"layerguard:layer": "app"}, "ingress": inline or []},
                 {"vpcId": [vpc]})
    peer = {"node": node_sg, "app": app_sg}.get(rule_source)
    props = {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "securityGroupId": Unknown("securityGroupId", "string")}
    if peer is None:
        props["cidrIpv4"] = rule_source
    else:
        props["referencedSecurityGroupId"] = Unknown("referencedSecurityGroupId", "string")
    rule_deps = {"securityGroupId": [ep_sg], **({"referencedSecurityGroupId": [peer]} if peer else {})}
    ingress = _res(INGRESS, "endpoint-in", props, rule_deps)
    endpoint = _res(ENDPOINT, "endpoint", {
        "vpcEndpointType": "Interface", "privateDnsEnabled": True,
        "serviceName": service if service is not None else "com.amazonaws.eu-west-1.execute-api",
        **({"securityGroupIds": [Unknown("securityGroupIds[0]", "string")]} if endpoint_sg else {}),
        **({"vpcId": literal_vpc} if literal_vpc else {}),
    }, {**({} if literal_vpc else {"vpcId": [vpc]}), **({"securityGroupIds": [ep_sg]} if endpoint_sg else {})})
    resources = [vpc, node_sg, app_sg, ep_sg, ingress, endpoint, *extra]
    if policy is not None:
        value = Unknown("policy", "string") if policy == "unknown" else policy
        resources.append(_res(POLICY, "resource-policy", {"restApiId": "a1b2c3d4e5", "policy": value},
                              {"policy": [endpoint if policy_on == "endpoint" else vpc]} if policy_deps else {}))
    return Stack(resources)


def named(s: Stack) -> set[str]:
    return {f.urn.rsplit("::", 1)[-1] for f in rule.check(s, rule.RULE.defaults())}


def test_compliant_private_api_at_preview_and_at_update():
    assert named(stack()) == set()
    limited = document({"StringEquals": {"aws:SourceVpce": VPCE_ID}})
    assert named(stack(policy=limited)) == set()
    assert named(stack(policy=document({"ForAnyValue:StringEquals": {"aws:sourceVpce": [VPCE_ID]}}))) == set()


def test_other_endpoints_are_not_judged():
    assert named(stack(service="com.amazonaws.eu-west-1.s3", policy=None)) == set()


def test_endpoint_without_its_resource_policy():
    assert named(stack(policy=None)) == {"endpoint"}


def test_policy_not_computed_from_the_endpoint_fails_closed_at_preview():
    # Neither does it cover the endpoint: both are named.
    assert named(stack(policy_deps=False)) == {"endpoint", "resource-policy"}


@pytest.mark.parametrize("doc", [
    document(),
    document({"StringNotEquals": {"aws:SourceVpce": VPCE_ID}}),
    document({"StringLike": {"aws:SourceVpce": "vpce-*"}}),
    document({"StringEquals": {"aws:SourceIp": "10.20.0.0/16"}}),
    document(Action=["execute-api:*"]),
    json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "NotAction": "s3:*",
                               "Resource": "*"}]}),
], ids=["no-condition", "negative-operator", "wildcard", "other-key", "action-wildcard", "not-action"])
def test_allow_not_limited_to_the_endpoint(doc):
    assert named(stack(policy=doc)) == {"resource-policy"}


def test_literal_ids_not_from_the_stack():
    doc = document({"StringEquals": {"aws:SourceVpce": VPCE_ID}})
    assert named(stack(policy=doc, policy_deps=False)) == {"endpoint", "resource-policy"}


@pytest.mark.parametrize("source,offender", [
    ("10.20.0.0/16", "endpoint-in"), ("0.0.0.0/0", "endpoint-in"), ("app", "endpoint-in")])
def test_endpoint_group_open_to_more_than_the_nodes(source, offender):
    assert named(stack(rule_source=source)) == {offender}


def test_inline_ingress_is_named_on_the_group():
    inline = [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.20.0.0/16"]}]
    assert named(stack(inline=inline)) == {"endpoint-sg"}


def test_endpoint_without_a_security_group():
    assert named(stack(endpoint_sg=False)) == {"endpoint"}


def test_unknown_service_name_fails_closed():
    assert named(stack(service=Unknown("serviceName", "string"))) == {"endpoint"}


def test_source_vpc_computed_from_the_endpoints_vpc():
    assert named(stack(policy_on="vpc")) == set()
    assert named(stack(policy_on="vpc", policy=document({"StringEquals": {"aws:SourceVpc": "vpc-0a1b2c3d"}}))) == set()


def test_source_vpc_naming_the_declared_vpc_literally():
    # An existing VPC: the endpoint's vpcId is a configured literal, so the policy may name it.
    named_vpc = document({"StringEquals": {"aws:SourceVpc": "vpc-0a1b2c3d"}})
    assert named(stack(literal_vpc="vpc-0a1b2c3d", policy=named_vpc, policy_deps=False)) == set()
    assert named(stack(literal_vpc="vpc-0ffffff0", policy=named_vpc, policy_deps=False)) == {
        "endpoint", "resource-policy"}


def test_resource_policy_of_a_public_api_of_the_stack_is_not_judged():
    api = _res("aws:apigateway/restApi:RestApi", "public-api", {"endpointConfiguration": {"types": "REGIONAL"}})
    public = _res(POLICY, "public-policy", {"restApiId": Unknown("restApiId", "string"), "policy": document()},
                  {"restApiId": [api]})
    assert named(stack(extra=(api, public))) == set()


def test_inline_policy_of_a_private_api_is_judged():
    api = _res("aws:apigateway/restApi:RestApi", "private-api",
               {"endpointConfiguration": {"types": "PRIVATE"}, "policy": document()})
    assert named(stack(extra=(api,))) == {"private-api"}
    api.props["policy"] = Unknown("policy", "string")
    assert named(stack(extra=(api,))) == {"private-api"}  # unknown and not computed from the endpoint


def _deny_else(condition: dict, **deny) -> str:
    """AWS's documented pattern: an unconditioned Allow and a Deny of every other source."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
         "Condition": condition, **deny},
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}]})


def test_unconditioned_allow_limited_by_a_deny_of_every_other_source():
    assert named(stack(policy=_deny_else({"StringNotEquals": {"aws:SourceVpce": VPCE_ID}}))) == set()
    assert named(stack(policy=_deny_else({"StringNotEquals": {"aws:sourceVpc": "vpc-0a1b2c3d"}},
                                         Resource="arn:aws:execute-api:eu-west-1:1:a1b2c3d4e5/*"))) == set()


@pytest.mark.parametrize("condition,deny", [
    ({"StringNotLike": {"aws:SourceVpce": "vpce-*"}}, {}),
    ({"StringNotEquals": {"aws:SourceVpce": VPCE_ID, "aws:PrincipalAccount": "1"}}, {}),
    ({"StringNotEquals": {"aws:SourceVpce": VPCE_ID}}, {"Resource": "execute-api:/prod/GET/*"}),
    ({"StringNotEquals": {"aws:SourceVpce": VPCE_ID}}, {"Principal": {"AWS": "arn:aws:iam::1:root"}}),
], ids=["wildcard", "extra-key", "one-method", "one-principal"])
def test_deny_that_does_not_cover_every_other_source(condition, deny):
    assert named(stack(policy=_deny_else(condition, **deny))) == {"resource-policy"}


def _statements(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ALLOW = {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}
DENY_ELSE = {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
             "Condition": {"StringNotEquals": {"aws:SourceVpce": VPCE_ID}}}


@pytest.mark.parametrize("action", ["execute-api:Inv*", "execute-api:*", "*", "execute-api:I?voke", ["s3:*", "Execute-Api:*"]])
def test_wildcard_actions_are_expanded_against_invoke(action):
    assert named(stack(policy=_statements({**ALLOW, "Action": action}))) == {"resource-policy"}
    limited = {**ALLOW, "Action": action, "Condition": {"StringEquals": {"aws:SourceVpce": VPCE_ID}}}
    assert named(stack(policy=_statements(limited))) == set()


def test_wildcard_action_that_is_not_invoke_grants_nothing():
    assert named(stack(policy=_statements({**ALLOW, "Action": "execute-api:ManageConnections"}))) == set()


def test_deny_naming_another_api_does_not_limit_this_one():
    other = {**DENY_ELSE, "Resource": "arn:aws:execute-api:eu-west-1:123456789012:zz9zz9zz9z/*"}
    assert named(stack(policy=_statements(ALLOW, other))) == {"resource-policy"}
    this = {**DENY_ELSE, "Resource": "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/*"}
    assert named(stack(policy=_statements(ALLOW, this))) == set()
    any_api = {**DENY_ELSE, "Resource": "arn:aws:execute-api:*:*:*"}
    assert named(stack(policy=_statements(ALLOW, any_api))) == set()


def test_an_extra_deny_narrows_never_widens():
    narrow = {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*/DELETE/*"}
    limited = {**ALLOW, "Condition": {"StringEquals": {"aws:SourceVpce": VPCE_ID}}}
    assert named(stack(policy=_statements(limited, DENY_ELSE, narrow))) == set()


def test_allow_for_a_literal_endpoint_that_is_not_the_stacks():
    """With the endpoint's id readable (update state), a second literal id is another endpoint."""
    foreign = "vpce-0c0ffee0000000001"
    doc = _statements({**ALLOW, "Condition": {"StringEquals": {"aws:SourceVpce": [VPCE_ID, foreign]}}},
                      {**DENY_ELSE, "Condition": {"StringNotEquals": {"aws:SourceVpce": [VPCE_ID, foreign]}}})
    s = stack(policy=doc)
    endpoint = next(r for r in s.resources if r.name == "endpoint")
    endpoint.props["id"] = VPCE_ID
    assert named(s) == {"resource-policy"}
    only_ours = _statements({**ALLOW, "Condition": {"StringEquals": {"aws:SourceVpce": VPCE_ID}}})
    s = stack(policy=only_ours)
    next(r for r in s.resources if r.name == "endpoint").props["id"] = VPCE_ID
    assert named(s) == set()
    # unreadable id: the one literal is taken as the endpoint's, a second is an outsider
    assert named(stack(policy=doc)) == {"resource-policy"}


def test_endpoint_group_by_literal_id_beside_a_stack_group():
    s = stack()
    endpoint = next(r for r in s.resources if r.name == "endpoint")
    endpoint.props["securityGroupIds"] = [Unknown("securityGroupIds[0]", "string"), "sg-0f00ba40000000001"]
    assert named(s) == {"endpoint"}


def test_empty_or_unset_inline_policy_is_none():
    for value in ("", "  "):
        api = _res("aws:apigateway/restApi:RestApi", "private-api",
                   {"endpointConfiguration": {"types": "PRIVATE"}, "policy": value})
        assert named(stack(extra=(api,))) == set()


def test_consumer_endpoint_of_a_stack_endpoint_service_is_not_execute_api():
    service = _res("aws:ec2/vpcEndpointService:VpcEndpointService", "svc", {"acceptanceRequired": True})
    consumer = _res(ENDPOINT, "consumer", {"vpcEndpointType": "Interface",
                                           "serviceName": Unknown("serviceName", "string")},
                    {"serviceName": [service]})
    assert named(stack(extra=(service, consumer))) == set()
