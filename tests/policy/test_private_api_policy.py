"""LG-APIGW-002 over hand-written resources (no engine): the `Analyze` requests of one operation, in
registration order, as `pulumi up` sends them once the endpoint exists. The same cases through the
offline preview and update are in test_reachability_entries.py (`DECIDED_AT_UP`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

PACK = Path(__file__).resolve().parents[2] / "policy"
if str(PACK) not in sys.path:
    sys.path.insert(0, str(PACK))

from guard.framework import Finding, Resource, Unknown  # noqa: E402
from guard.planned import INPUTS  # noqa: E402
from guard.policies.aws.apigateway import private_api_policy as rule  # noqa: E402

ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
API = "aws:apigateway/restApi:RestApi"
POLICY = "aws:apigateway/restApiPolicy:RestApiPolicy"
OURS = "vpce-0123456789abcdef0"
FOREIGN = "vpce-0fee0000000000001"


@pytest.fixture(autouse=True)
def new_operation():
    """Each test is an operation of its own (what the pack process sees as a new preview or up)."""
    INPUTS.operation += 1
    yield


def _res(type_: str, name: str, props: dict) -> Resource:
    return Resource(urn=f"urn:pulumi:test::hand::{type_}::{name}", type=type_, name=name, props=props,
                    provider_region="eu-west-1")


def analyze(res: Resource) -> list:
    return list(rule.check(res, {}))


def endpoint(name: str = "endpoint", vpc: object = "vpc-0a1b2c3d", service: object = "com.amazonaws.eu-west-1.execute-api"):
    return analyze(_res(ENDPOINT, name, {"vpcEndpointType": "Interface", "serviceName": service, "vpcId": vpc}))


def api(types: str = "PRIVATE", policy: object = None, name: str = "api") -> list:
    props = {"endpointConfiguration": {"types": [types]}}
    if policy is not None:
        props["policy"] = policy
    return analyze(_res(API, name, props))


def policy(document: object) -> list:
    return analyze(_res(POLICY, "api-policy", {"restApiId": "a1b2c3d4e5", "policy": document}))


def allow(condition: dict | None = None, **extra) -> dict:
    st = {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*", **extra}
    return st | ({"Condition": condition} if condition is not None else {})


def deny(condition: dict | None = None, **extra) -> dict:
    return allow(condition, **extra) | {"Effect": "Deny"}


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


LIMITED = doc(allow({"StringEquals": {"aws:SourceVpce": OURS}}), deny({"StringNotEquals": {"aws:SourceVpce": OURS}}))


def test_a_policy_limited_to_the_stacks_endpoint_passes():
    assert endpoint() == [] and api() == []
    assert policy(LIMITED) == []


def test_a_document_unknown_at_preview_waits_for_the_policy():
    endpoint()
    api()
    [finding] = policy(Unknown("policy", "string"))
    assert isinstance(finding, Finding) and finding.waits_for is not None and finding.waits_for.path == "policy"


@pytest.mark.parametrize("document", [
    doc(allow(Action="execute-api:Inv*")),                                      # a wildcard action, unconditioned
    doc(allow(NotAction="execute-api:ManageConnections")),                      # NotAction: Invoke is granted
    doc(allow(), deny({"StringNotEquals": {"aws:SourceVpce": OURS}},            # the Deny is on another API
                      Resource="arn:aws:execute-api:eu-west-1:111122223333:zzzz999999/*")),
    doc(allow({"StringLike": {"aws:SourceVpce": "vpce-*"}})),                   # any endpoint id
])
def test_an_allow_any_outside_endpoint_may_use_is_refused(document):
    endpoint()
    api()
    [message] = policy(document)
    assert "Statement[0]" in message and "any VPC endpoint of another VPC or account" in message


def test_a_deny_naming_this_api_stops_the_unconditioned_allow():
    endpoint()
    api()
    assert policy(doc(allow(), deny({"StringNotEquals": {"aws:SourceVpce": OURS}},
                                    Resource="arn:aws:execute-api:eu-west-1:*:a1b2c3d4e5/*"))) == []


def test_more_literal_endpoint_ids_than_the_stack_has_endpoints():
    endpoint()
    api()
    both = {"aws:SourceVpce": [OURS, FOREIGN]}
    [message] = policy(doc(allow({"StringEquals": both}), deny({"StringNotEquals": both})))
    assert "2 literal endpoint ids" in message and "1 execute-api endpoint" in message


def test_two_endpoints_may_be_named_by_a_stack_that_has_two():
    endpoint("endpoint-a")
    endpoint("endpoint-b", vpc="vpc-0b")
    api()
    both = {"aws:SourceVpce": [OURS, FOREIGN]}
    assert policy(doc(allow({"StringEquals": both}), deny({"StringNotEquals": both}))) == []


def test_literal_ids_are_left_to_the_stack_rule_when_no_endpoint_was_seen():
    api()
    both = {"aws:SourceVpce": [OURS, FOREIGN]}
    assert policy(doc(allow({"StringEquals": both}), deny({"StringNotEquals": both}))) == []


def test_an_operation_starts_with_no_endpoints():
    endpoint()
    INPUTS.operation += 1
    both = {"aws:SourceVpce": [OURS, FOREIGN]}
    assert policy(doc(allow({"StringEquals": both}), deny({"StringNotEquals": both}))) == []


def test_source_vpc_must_be_an_endpoints_vpc():
    endpoint(vpc="vpc-0a1b2c3d")
    api()
    assert policy(doc(allow({"StringEquals": {"aws:SourceVpc": "vpc-0a1b2c3d"}}))) == []
    [message] = policy(doc(allow({"StringEquals": {"aws:SourceVpc": "vpc-0ther"}})))
    assert "VPC vpc-0ther" in message


def test_endpoints_of_other_services_are_not_the_apis():
    endpoint(service="com.amazonaws.eu-west-1.s3")
    api()
    both = {"aws:SourceVpce": [OURS, FOREIGN]}
    assert policy(doc(allow({"StringEquals": both}))) == []  # no execute-api endpoint seen: left to LG-APIGW-001


def test_a_policy_without_endpoint_keys_beside_a_regional_api_is_left_to_the_stack_rule():
    api("REGIONAL", name="public-api")
    api()
    ip_allow_list = doc(allow({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))
    assert policy(ip_allow_list) == []
    # the same document where every REST API of the operation is private is judged
    INPUTS.operation += 1
    api()
    [message] = policy(ip_allow_list)
    assert "any VPC endpoint of another VPC or account" in message


def test_a_policy_naming_endpoint_keys_is_judged_beside_a_regional_api():
    api("REGIONAL", name="public-api")
    [message] = policy(doc(allow(), deny({"StringNotEquals": {"aws:SourceVpce": OURS}},
                                         Resource="arn:aws:execute-api:eu-west-1:*:zzzz999999/*")))
    assert "Statement[0]" in message


def test_the_inline_policy_of_a_private_api_is_judged_and_a_regional_ones_is_not():
    endpoint()
    assert api(policy=doc(allow())) != []
    assert api("REGIONAL", policy=doc(allow()), name="public-api") == []
    assert api(policy="") == [] and api(policy=LIMITED) == []
    [waits] = api(policy=Unknown("policy", "string"))
    assert waits.waits_for is not None


def test_an_unknown_endpoint_type_is_judged_as_private():
    assert analyze(_res(API, "api", {"endpointConfiguration": {"types": Unknown("endpointConfiguration.types")},
                                     "policy": doc(allow())})) != []


def test_a_document_that_is_not_json_is_a_finding_through_the_adapter():
    from guard.rules import _run
    res = _res(POLICY, "api-policy", {"restApiId": "a1b2c3d4e5", "policy": "{not json"})
    [finding] = _run(lambda: rule.check(res, {}), res.urn)
    assert "the rule failed" in finding.message and finding.urn == res.urn
