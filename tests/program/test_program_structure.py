"""Layers, components, tags and the provider, for every stack in both modes."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from _program import ancestors, of_type, ok, supports_tags

COMPONENTS = {
    "layerguard:network:Network": "network",
    "layerguard:edge:AlbPerimeter": "edge",
    "layerguard:node:NodeFleet": "node",
    "layerguard:app:InternalApp": "app",
    # Alarms, security group change alerts and Config rules: stack-wide, in the network layer.
    "layerguard:network:Operations": "network",
}
LAYER_TAG = "layerguard:layer"


def aws_resources(result) -> list:
    return [r for r in result.resources
            if r.custom and r.type.startswith("aws:") and r.kind == "register"]


def test_one_component_per_layer_owns_every_resource(stack_run):
    stack, mode, result = stack_run
    components = [r for r in result.resources if r.type in COMPONENTS]
    assert sorted(r.type for r in components) == sorted(COMPONENTS), \
        f"{stack}/{mode}: components {[r.urn for r in components]}"
    for res in aws_resources(result):
        owners = [a for a in ancestors(result, res) if a.type in COMPONENTS]
        assert owners, f"{res.urn} is not inside a layer component"
        # Child names derive from the component name.
        assert res.name.startswith(owners[0].name + "-"), f"{res.urn}: name not derived from {owners[0].name}"


def test_every_taggable_resource_carries_its_layer_tag(stack_run):
    stack, mode, result = stack_run
    checked = 0
    for res in aws_resources(result):
        if not supports_tags(res.type):
            continue
        owner = next(a for a in ancestors(result, res) if a.type in COMPONENTS)
        tags = res.inputs.get("tags")
        assert isinstance(tags, dict) and tags.get(LAYER_TAG) == COMPONENTS[owner.type], \
            f"{res.urn}: tags {tags!r}, expected {LAYER_TAG}={COMPONENTS[owner.type]}"
        assert res.layer == COMPONENTS[owner.type], f"{res.urn}: engine sees layer {res.layer}"
        checked += 1
    assert checked > 40, f"{stack}/{mode}: only {checked} taggable resources"


def test_resources_per_layer(stack_run):
    stack, mode, result = stack_run
    counts = Counter(r.layer for r in aws_resources(result))
    assert set(counts) == {"network", "edge", "node", "app"}, f"{stack}/{mode}: {counts}"
    types = Counter(r.type for r in aws_resources(result))
    az = {"dev": 2, "staging": 2, "prod": 3}[stack]
    nat = {"dev": 1, "staging": 1, "prod": 3}[stack]
    assert types["aws:ec2/subnet:Subnet"] == 2 * az
    assert types["aws:ec2/natGateway:NatGateway"] == nat
    assert types["aws:ec2/eip:Eip"] == nat
    assert types["aws:ec2/flowLog:FlowLog"] == 1
    assert types["aws:lb/loadBalancer:LoadBalancer"] == 2
    assert types["aws:wafv2/webAcl:WebAcl"] == 1
    assert types["aws:wafv2/webAclAssociation:WebAclAssociation"] == 1
    assert types["aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"] == 1
    assert types["aws:ecs/service:Service"] == 2
    assert types["aws:appautoscaling/policy:Policy"] == 2
    # Edge ALB access logs (on in every stack file): the bucket and its five settings.
    s3 = Counter(r.type for r in aws_resources(result) if r.type.startswith("aws:s3/"))
    assert s3 == Counter({"aws:s3/bucket:Bucket": 1, "aws:s3/bucketPolicy:BucketPolicy": 1,
                          "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
                          "aws:s3/bucketServerSideEncryptionConfiguration:"
                          "BucketServerSideEncryptionConfiguration": 1,
                          "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
                          "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1}), s3
    assert {r.layer for r in aws_resources(result) if r.type.startswith("aws:s3/")} == {"edge"}
    subnets = of_type(result, "aws:ec2/subnet:Subnet")
    assert len({s.inputs["availabilityZone"] for s in subnets}) == az


def test_explicit_provider_with_project_and_stack_default_tags(stack_run):
    stack, _mode, result = stack_run
    providers = [r for r in result.resources if r.type == "pulumi:providers:aws" and r.kind == "register"]
    assert len(providers) == 1, [p.urn for p in providers]
    provider = providers[0]
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags["layerguard:project"] == "layerguard" and tags["layerguard:stack"] == stack
    assert provider.inputs["region"] == "eu-west-1"
    for res in aws_resources(result):
        assert res.provider and res.provider.startswith(provider.urn + "::"), \
            f"{res.urn} uses provider {res.provider}, not the explicit one"


def test_components_register_real_outputs(update_run):
    _stack, result = update_run
    for res in result.resources:
        if res.type in COMPONENTS:
            assert res.outputs, f"{res.urn}: register_outputs was empty"


def test_stack_exports(stack_run):
    stack, mode, result = stack_run
    assert set(result.outputs) == {"entryUrl", "appInternalAddress", "webAclArn", "nodeServiceName",
                                  "alarmTopicArn"}
    if mode == "update":
        assert result.outputs["entryUrl"].startswith("https://")
        assert result.outputs["appInternalAddress"] == f"http://app.{stack}.layerguard.internal:8080"
        assert result.outputs["webAclArn"].startswith("arn:aws:wafv2:eu-west-1:")
        assert result.outputs["nodeServiceName"].startswith("node-service")


@pytest.mark.parametrize("stack,mode,nat,azs,nodes,protection,retention", [
    ("dev", "monitoring", 1, 2, 1, False, 14),
    ("staging", "safe_blocking", 1, 2, 2, True, 30),
    ("prod", "block", 3, 3, 3, True, 365),
])
def test_stacks_differ_as_environments_should(stack, mode, nat, azs, nodes, protection, retention):
    result = ok(stack, "update")
    by_name = {r.name: r for r in result.resources}
    containers = json.loads(by_name["node-task"].inputs["containerDefinitions"])
    env = {e["name"]: e["value"] for e in containers[-1]["environment"]}
    assert env["WALLARM_MODE"] == mode
    assert len(of_type(result, "aws:ec2/natGateway:NatGateway")) == nat
    assert len({s.inputs["availabilityZone"] for s in of_type(result, "aws:ec2/subnet:Subnet")}) == azs
    assert by_name["node-service"].inputs["desiredCount"] == nodes
    assert by_name["node-scaling"].inputs["minCapacity"] == nodes
    for lb in ("edge-alb", "app-alb"):
        assert by_name[lb].inputs["enableDeletionProtection"] is protection
    for group in of_type(result, "aws:cloudwatch/logGroup:LogGroup"):
        assert group.inputs["retentionInDays"] == retention, group.urn
