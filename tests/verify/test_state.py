"""The exported state: format checks, layers, and the export written from an offline preview."""

from __future__ import annotations

import json

import pytest

from layerguard.engine import SECRET_SIG, CapturedResource, PreviewResult
from layerguard.verify import from_preview
from layerguard.verify.state import StateError, parse

STACK = "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev"


def doc(*resources, version=3):
    return {"version": version, "deployment": {"resources": [
        {"urn": STACK, "type": "pulumi:pulumi:Stack", "custom": False}, *resources]}}


def sg(name, tags=None, **extra):
    return {"urn": f"urn:pulumi:dev::p::aws:ec2/securityGroup:SecurityGroup::{name}", "custom": True,
            "type": "aws:ec2/securityGroup:SecurityGroup", "id": f"sg-{name}", "outputs": {"tagsAll": tags or {}}, **extra}


def test_layers_from_tags_all_and_attachments():
    rule = {"urn": "urn:pulumi:dev::p::aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::r", "custom": True,
            "type": "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "id": "sgr-1",
            "propertyDependencies": {"securityGroupId": [sg("app")["urn"]]}}
    state = parse(doc(sg("app", {"layerguard:layer": "app"}), sg("other"), rule, version=4))
    layers = {r.name: r.layer for r in state.resources}
    assert layers == {"p-dev": "unclassified", "app": "app", "other": "unclassified", "r": "app"}
    assert (state.stack, state.project) == ("dev", "p")


def test_resources_pending_deletion_are_not_part_of_the_stack():
    state = parse(doc(sg("gone", {"layerguard:layer": "app"}, delete=True)))
    assert [r.name for r in state.resources] == ["p-dev"]


@pytest.mark.parametrize(("content", "words"), [
    ({"version": 2, "deployment": {"resources": []}}, "version is 2"),
    ({"checkpoint": {}}, "no `deployment` key"),
    ({"version": 3, "deployment": {"resources": {}}}, "deployment.resources must be a list"),
    ({"version": 3, "deployment": {"resources": [{"type": "x"}]}}, "deployment.resources[0]"),
])
def test_bad_state_names_what_is_wrong(content, words):
    with pytest.raises(StateError) as info:
        parse(content, "state.json")
    assert words in str(info.value) and "state.json" in str(info.value)


def test_export_from_a_preview_never_carries_a_secret_in_plaintext():
    secret = {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "value": "wallarm-token-plaintext"}
    result = PreviewResult("dev", "update", 0, resources=[
        CapturedResource(urn=STACK, type="pulumi:pulumi:Stack", name="p-dev", parent=None, custom=False, inputs={}),
        CapturedResource(urn="urn:pulumi:dev::p::aws:secretsmanager/secretVersion:SecretVersion::t",
                         type="aws:secretsmanager/secretVersion:SecretVersion", name="t", parent=STACK, custom=True,
                         inputs={"secretString": secret}, outputs={"arn": "arn:x"}, id="t-1"),
    ])
    exported = from_preview(result)
    text = json.dumps(exported)
    assert "wallarm-token-plaintext" not in text
    res = parse(exported).resources[1]
    assert res.id == "t-1" and res.outputs["arn"] == "arn:x" and "ciphertext" in res.inputs["secretString"]


def test_export_needs_an_update_preview():
    with pytest.raises(ValueError, match="update-mode"):
        from_preview(PreviewResult("dev", "preview", 0))


def test_dev_stack_export_keeps_ids_dependencies_and_layers(dev_export):
    state = parse(dev_export)
    by_name = {r.name: r for r in state.resources}
    assert {n: by_name[n].layer for n in ("app-task-sg", "app-alb-sg", "node-sg", "edge-alb-sg", "app-task-in-alb")} == {
        "app-task-sg": "app", "app-alb-sg": "app", "node-sg": "node", "edge-alb-sg": "edge", "app-task-in-alb": "app"}
    assert by_name["app-task-sg"].id.startswith("sg-")
    assert by_name["app-task-in-alb"].property_dependencies["securityGroupId"] == [by_name["app-task-sg"].urn]
    assert state.region() == "eu-west-1"


def test_an_auto_scaling_groups_tag_list_labels_it():
    asg = {"urn": "urn:pulumi:dev::p::aws:autoscaling/group:Group::nodes", "custom": True,
           "type": "aws:autoscaling/group:Group", "id": "nodes-1",
           "outputs": {"tags": [{"key": "layerguard:layer", "value": "node", "propagateAtLaunch": True},
                                {"key": "Name", "value": "nodes", "propagateAtLaunch": True}]}}
    state = parse(doc(asg))
    assert {r.name: r.layer for r in state.resources}["nodes"] == "node"
