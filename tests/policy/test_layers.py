"""The pack's one layer identity (guard.layers) and the provider-computed pruning
(guard.planned), over hand-built resources: labels read the way AWS applies tags, and unknowns
the program did not configure removed from the planned outputs while configured ones stay."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

PACK = Path(__file__).resolve().parents[2] / "policy"
if str(PACK) not in sys.path:
    sys.path.insert(0, str(PACK))

from guard.framework import INPUTS, Stack, Unknown, is_unknown, layer_hint, to_resource  # noqa: E402
from guard.values import plain  # noqa: E402

SVC = "aws:ecs/service:Service"
SG = "aws:ec2/securityGroup:SecurityGroup"
RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
U_STR, U_BOOL, U_ARR = ("04da6b54-80e4-46f7-96ec-b56ff0331ba9", "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
                        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2")


class Provider:
    """What CrossGuard hands a policy as `args.provider` (props as plain data suffice)."""

    def __init__(self, props: dict) -> None:
        self.props = props


def urn(typ: str, name: str) -> str:
    return f"urn:pulumi:dev::layers::{typ}::{name}"


def res(typ, name, props, provider=None, deps=None, planned=False):
    return to_resource(urn(typ, name), typ, name, props, None, provider, (), deps or {}, planned=planned)


DEFAULT_APP = Provider({"region": "eu-west-1", "defaultTags": json.dumps({"tags": {"layerguard:layer": "app"}})})


@pytest.mark.parametrize("tags,expected", [
    ({"layerguard:layer": "node"}, "node"),
    ({"LayerGuard:Layer": "App"}, "app"),            # key and value, case-insensitively
    ({"layerguard:layer": " Edge "}, "edge"),
    ({"layerguard:layer": "frontend"}, "unclassified"),  # not a layer
    ({"layerguard:layer": "node", "LAYERGUARD:LAYER": "app"}, "app"),  # disagreeing: could be app
    ({"layerguard:layer": "node", "LAYERGUARD:LAYER": "edge"}, "unclassified"),
])
def test_label_case_and_conflicts(tags, expected):
    assert layer_hint(res(SVC, "svc", {"tags": tags})) == expected


def test_provider_default_tags_apply_and_resource_tags_override():
    assert layer_hint(res(SVC, "svc", {}, DEFAULT_APP)) == "app"
    assert layer_hint(res(SVC, "svc", {"tags": {"layerguard:layer": "node"}}, DEFAULT_APP)) == "node"
    as_object = Provider({"defaultTags": {"tags": {"layerguard:layer": "edge"}}})  # config-made provider
    assert layer_hint(res(SVC, "svc", {}, as_object)) == "edge"


def test_default_tags_skip_attachments_that_take_no_tags():
    """A security group rule is untagged unless it has tags: it follows its group, not the
    provider's default tags (AWS applies default tags to taggable resources only)."""
    group = res(SG, "sg", {"tags": {"layerguard:layer": "node"}})
    rule = res("aws:ec2/securityGroupRule:SecurityGroupRule", "r", {}, DEFAULT_APP,
               {"securityGroupId": [group.urn]})
    assert Stack([group, rule]).layer(rule) == "node"


def test_ec2_tag_resource_labels_its_target():
    svc = res(SVC, "svc", {"tags": {"layerguard:layer": "node"}})
    tag = res("aws:ec2/tag:Tag", "t", {"resourceId": Unknown("resourceId"), "key": "LayerGuard:Layer",
                                        "value": "app"}, deps={"resourceId": [svc.urn]})
    other = res("aws:ec2/tag:Tag", "o", {"key": "Name", "value": "x"}, deps={"resourceId": [svc.urn]})
    stack = Stack([svc, tag, other])
    assert stack.layer(svc) == "app"
    assert stack.layers()[svc.urn] == "app"


def test_component_then_unclassified():
    inside = to_resource("urn:pulumi:dev::p::layerguard:app:InternalApp$aws:ecs/service:Service::s", SVC, "s",
                         {}, None, None)
    assert layer_hint(inside) == "app"
    assert layer_hint(res(SVC, "bare", {})) == "unclassified"


def test_unknown_label_is_reported_not_guessed():
    svc = res(SVC, "svc", {"tags": U_STR})
    assert is_unknown(svc.tag_layer)
    group = res(SG, "sg", {"tags": {"layerguard:layer": "app"}})
    rule = res(RULE, "r", {"tags": U_STR}, deps={"securityGroupId": [group.urn]})
    assert Stack([group, rule]).layer(rule) == "unclassified"  # no layer from attachment either


# --- provider-computed unknowns ---------------------------------------------------------------


def test_inputs_decide_what_is_configured():
    u = urn(SVC, "svc-a")
    assert INPUTS.wants(u)
    INPUTS.record(u, plain({"networkConfiguration": {"subnets": ["s"], "securityGroups": [U_STR]},
                            "loadBalancers": [{"targetGroupArn": U_STR}, {"containerName": "x"}]}))
    planned = {"networkConfiguration": {"subnets": ["s"], "securityGroups": [U_STR], "assignPublicIp": U_BOOL},
               "loadBalancers": [{"targetGroupArn": U_STR, "containerName": "w"},
                                 {"containerName": "x", "targetGroupArn": U_STR, "elbName": U_STR}],
               "arn": U_STR, "tagsAll": U_STR}
    r = to_resource(u, SVC, "svc-a", planned, None, None, (), {"networkConfiguration": [urn(SG, "g")]},
                    planned=True)
    assert "arn" not in r.props and "assignPublicIp" not in r.props["networkConfiguration"]
    assert is_unknown(r.props["networkConfiguration"]["securityGroups"][0])  # configured: kept
    # list items are compared position-free: an item key set anywhere in the inputs is kept
    assert is_unknown(r.props["loadBalancers"][1]["targetGroupArn"])
    assert "elbName" not in r.props["loadBalancers"][1]
    assert set(r.computed) >= {"arn", "tagsAll", "networkConfiguration.assignPublicIp"}
    assert r.taggable  # a computed tagsAll: the provider's default tags reach it


def test_without_inputs_dependencies_decide():
    """No Analyze seen: an unknown under a top-level property with a property dependency was
    configured from another resource; one without any dependency is provider-computed."""
    planned = {"ingress": U_ARR, "vpcId": U_STR, "egress": [{"cidrBlocks": U_ARR}], "tags": {"a": "b"}}
    r = to_resource(urn(SG, "never-analyzed"), SG, "never-analyzed", planned, None, None, (),
                    {"vpcId": [urn("aws:ec2/vpc:Vpc", "v")], "tags": []}, planned=True)
    assert "ingress" not in r.props and r.props["egress"] == [{}]
    assert is_unknown(r.props["vpcId"])


def test_inputs_are_not_pruned_in_resource_policies():
    r = to_resource(urn(SG, "in"), SG, "in", {"ingress": U_ARR}, None, None)
    assert is_unknown(r.props["ingress"])
