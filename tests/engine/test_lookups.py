"""Lookups (invokes) real programs call, the user's answers to any invoke (`invokes:` in the file of
existing resources), an unanswered invoke naming itself, and a resource object passed as an id."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from layerguard import cloud
from layerguard.engine import preview

LOOKUPS = Path(__file__).resolve().parent.parent / "fixtures" / "lookups"
SECRET_SIG = "4dabf18193072939515e22adb298388d"


@pytest.fixture(scope="module", params=["preview", "update"])
def looked_up(request):
    result = preview(LOOKUPS, "dev", request.param)
    assert result.exit_code == 0, result.error
    return result


def test_default_vpc_and_its_subnets_agree(looked_up):
    out = looked_up.outputs
    assert out["vpc"]["default"] is True and out["vpc"]["cidr"] == "172.31.0.0/16"
    assert out["vpc"]["id"].startswith("vpc-")
    assert len(out["subnets"]) == 3 and all(s.startswith("subnet-") for s in out["subnets"])
    # the subnet looked up by an id get_subnets listed lies in that VPC, in its CIDR
    subnet = out["subnet"]
    assert subnet["id"] == out["subnets"][0] and subnet["vpc"] == out["vpc"]["id"]
    assert ipaddress.ip_network(subnet["cidr"]).subnet_of(ipaddress.ip_network(out["vpc"]["cidr"]))
    assert subnet["az"] == "eu-west-1a"
    assert out["sg"]["vpc"] == out["vpc"]["id"] and out["sg"]["id"].startswith("sg-")


def test_other_lookups_have_the_shapes_aws_gives(looked_up):
    out = looked_up.outputs
    assert out["zone"]["name"] == "example.org." and out["zone"]["id"].startswith("Z")
    assert len(out["zone"]["ns"]) == 4 and all(".awsdns-" in ns for ns in out["zone"]["ns"])
    assert out["ecr"] == {"user": "AWS", "endpoint": "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                          "credsEndpoint": "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"}
    assert out["role"] == "arn:aws:iam::123456789012:role/deployer"
    assert out["param"]["arn"] == "arn:aws:ssm:eu-west-1:123456789012:parameter/app/db-host"
    assert out["cert"]["status"] == "ISSUED"
    assert out["cert"]["arn"].startswith("arn:aws:acm:eu-west-1:123456789012:certificate/")


def test_lookups_are_deterministic_and_follow_their_arguments():
    assert cloud.invoke("aws:ec2/getVpc:getVpc", {"id": "vpc-1"}, "eu-west-1") == \
        cloud.invoke("aws:ec2/getVpc:getVpc", {"id": "vpc-1"}, "eu-west-1")
    assert cloud.invoke("aws:ec2/getVpc:getVpc", {"id": "vpc-1"}, "eu-west-1")["id"] == "vpc-1"
    a = cloud.invoke("aws:route53/getZone:getZone", {"name": "a.example"}, "eu-west-1")
    b = cloud.invoke("aws:route53/getZone:getZone", {"name": "b.example"}, "eu-west-1")
    assert a["zoneId"] != b["zoneId"]


def test_a_subnet_no_lookup_listed_lies_in_its_vpc():
    subnet = cloud.invoke("aws:ec2/getSubnet:getSubnet", {"id": "subnet-0feedface0000001"}, "eu-west-1")
    vpc = cloud.invoke("aws:ec2/getVpc:getVpc", {"id": subnet["vpcId"]}, "eu-west-1")
    assert ipaddress.ip_network(subnet["cidrBlock"]).subnet_of(ipaddress.ip_network(vpc["cidrBlock"]))
    assert subnet["availabilityZone"].startswith("eu-west-1")


def test_secret_lookup_fields_stay_secret():
    for token, args in (("aws:ecr/getAuthorizationToken:getAuthorizationToken", {}),
                        ("aws:ecr/getCredentials:getCredentials", {"registryId": "123456789012"})):
        answer = cloud.invoke(token, args, "eu-west-1")
        assert SECRET_SIG in answer["password"] and SECRET_SIG in answer["authorizationToken"], token
    assert SECRET_SIG in cloud.invoke("aws:ssm/getParameter:getParameter", {"name": "/x"}, "eu-west-1")["value"]


def test_aws_public_parameters_are_not_made_up():
    with pytest.raises(cloud.InvokeError, match="public parameters"):
        cloud.invoke("aws:ssm/getParameter:getParameter",
                     {"name": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"}, "eu-west-1")


def test_an_unanswered_invoke_names_token_and_arguments_and_how_to_answer():
    result = preview(LOOKUPS, "dev", config={"unanswered": "true"})
    assert result.exit_code == 2 and result.resources == []
    assert "aws:ec2/getInstance:getInstance" in result.error
    assert '"instanceId": "i-0123456789abcdef0"' in result.error
    assert "--existing" in result.error and "invokes:" in result.error and "token:" in result.error


def test_the_users_answer_answers_an_invoke_and_wins_over_the_engines():
    existing = {"invokes": [
        {"token": "aws:ec2/getInstance:getInstance", "args": {"instanceId": "i-0123456789abcdef0"},
         "result": {"id": "i-0123456789abcdef0", "privateIp": "10.1.2.3"}},
        {"token": "aws:ec2/getVpc:getVpc", "args": {"default": True},
         "result": {"id": "vpc-0aaaabbbbccccdddd", "cidrBlock": "10.77.0.0/16", "default": True}},
    ]}
    result = preview(LOOKUPS, "dev", config={"unanswered": "true"}, existing=existing)
    assert result.exit_code == 0, result.error
    assert result.outputs["vpc"] == {"id": "vpc-0aaaabbbbccccdddd", "cidr": "10.77.0.0/16", "default": True}


def test_an_answer_whose_arguments_differ_does_not_answer():
    existing = {"invokes": [{"token": "aws:ec2/getInstance:getInstance", "args": {"instanceId": "i-other"},
                             "result": {"id": "i-other"}}]}
    result = preview(LOOKUPS, "dev", config={"unanswered": "true"}, existing=existing)
    assert result.exit_code == 2 and "aws:ec2/getInstance:getInstance" in result.error


@pytest.mark.parametrize("invokes, fragment", [
    ({"token": "x"}, "list"),
    ([{"token": "getVpc", "result": {}}], "'token' must be an invoke token"),
    ([{"token": "aws:ec2/getVpc:getVpc"}], "'result' must be a mapping"),
    ([{"token": "aws:ec2/getVpc:getVpc", "result": {}, "answer": 1}], "unknown key(s) answer"),
])
def test_bad_invoke_answers_exit_2_naming_the_entry(invokes, fragment):
    result = preview(LOOKUPS, "dev", existing={"invokes": invokes})
    assert result.exit_code == 2 and fragment in result.error


@pytest.mark.parametrize("mode", ["preview", "update"])
def test_a_resource_passed_as_an_id_reaches_the_provider_as_its_id(mode):
    result = preview(LOOKUPS, "dev", mode)
    by_name = {r.name: r for r in result.resources}
    by_object, by_id = by_name["by-object"], by_name["by-id"]
    assert by_object.inputs["vpcId"] == by_id.inputs["vpcId"]
    assert isinstance(by_object.inputs["vpcId"], str)
    assert by_object.outputs["vpcId"] == by_id.outputs["vpcId"]
    assert by_object.property_dependencies == by_id.property_dependencies == \
        {"vpcId": [by_name["own"].urn]}
    if mode == "update":
        assert by_object.inputs["vpcId"] == by_name["own"].outputs["id"]
