"""Fidelity suite, public programs: pulumi/examples' AWS Python programs, vendored unchanged under
tests/fixtures/public (README there), must preview in both modes as under the CLI, or fail closed
naming what the engine cannot plan. Each runs from a copy whose `venv` (the virtualenv its
Pulumi.yaml names) is the environment these tests run in, as a user's `python -m venv venv` plus
`pip install -r requirements.txt` would be."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from layerguard.engine import preview

PUBLIC = Path(__file__).resolve().parent.parent / "fixtures" / "public"
AMI = {"token": "aws:ec2/getAmi:getAmi", "args": {},
       "result": {"id": "ami-0a1b2c3d4e5f67890", "architecture": "x86_64", "name": "answered-by-the-test"}}

# program -> (config, secrets, existing): what its README asks the user to set, and the reads and
# invokes a user answers in --existing.
CASES = {
    "aws-py-apigateway-lambda-serverless": ({}, {}, None),
    "aws-py-apigatewayv2-eventbridge": ({}, {}, None),
    "aws-py-apigatewayv2-http-api-quickcreate": ({}, {}, None),
    "aws-py-appsync": ({}, {}, None),
    "aws-py-assume-role-create-role": ({"unprivilegedUsername": "somebody"}, {}, None),
    "aws-py-ecs-instance": ({"cfg:autoscalingGroupSize": "2"}, {}, {"invokes": [AMI]}),
    "aws-py-eks": ({}, {}, None),
    "aws-py-redshift-glue-etl": ({"clusterDBName": "dev", "clusterDBUsername": "admin",
                                  "clusterIdentifier": "my-redshift-cluster", "clusterNodeType": "ra3.xlplus",
                                  "glueDBName": "glue", "region": "us-west-2"},
                                 {"clusterDBPassword": "offline-test-password"}, None),
    "aws-py-resources": ({}, {}, None),
    "aws-py-s3-folder": ({}, {}, None),
    "aws-py-secrets-manager": ({}, {}, None),
    "aws-py-serverless-raw": ({}, {}, None),
    "aws-py-slackbot": ({}, {}, None),
    "aws-py-stackreference-team": (
        {"companyStack": "acme/company/dev", "departmentStack": "acme/department/dev", "teamName": "a"}, {},
        {"resources": [{"type": "pulumi:pulumi:StackReference", "id": "acme/company/dev",
                        "properties": {"name": "acme/company/dev", "outputs": {"companyName": "acme"}}},
                       {"type": "pulumi:pulumi:StackReference", "id": "acme/department/dev",
                        "properties": {"name": "acme/department/dev", "outputs": {"departmentName": "ops"}}}],
         "invokes": [AMI]}),
    "aws-py-static-website": ({"targetDomain": "www.layerguard-fixture.net", "pathToWebsiteContents": "./www"},
                              {}, None),
    "aws-py-stepfunctions": ({}, {}, None),
    "aws-py-webserver": ({}, {}, {"invokes": [AMI]}),
    "aws-py-wordpress-fargate-rds": ({}, {}, None),
}
FAILS_CLOSED = {"aws-py-hub-and-spoke-network": ["awsx:ec2:Vpc::inspection-vpc", "awsx:ec2:Vpc::spoke1-vpc"]}


def _copy(tmp_path_factory, name: str) -> Path:
    program = tmp_path_factory.mktemp("public") / name
    shutil.copytree(PUBLIC / name, program)
    (program / "venv").symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
    return program


def test_every_vendored_program_has_a_case():
    vendored = {p.name for p in PUBLIC.iterdir() if p.is_dir()}
    assert vendored == set(CASES) | set(FAILS_CLOSED)
    assert len(CASES) >= 10


@pytest.mark.parametrize("mode", ["preview", "update"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_public_program_previews(tmp_path_factory, name, mode):
    config, secrets, existing = CASES[name]
    program = _copy(tmp_path_factory, name)
    # no Pulumi.dev.yaml: the values come from the command line, as `pulumi preview --config`
    result = preview(program, "dev", mode, config={"aws:region": "us-west-2", **config},
                     secrets=secrets, existing=existing)
    assert result.exit_code == 0, f"{name} ({mode}): {result.error}"
    created = [r for r in result.resources if r.custom and r.kind == "register"
               and not r.type.startswith("pulumi:providers:")]
    assert created, f"{name} ({mode}): no resource registered"
    assert all(r.urn.startswith(f"urn:pulumi:dev::{result.project}::") for r in result.resources)


@pytest.mark.parametrize("mode", ["preview", "update"])
@pytest.mark.parametrize("name", sorted(FAILS_CLOSED))
def test_public_program_with_remote_components_fails_closed(tmp_path_factory, name, mode):
    program = _copy(tmp_path_factory, name)
    result = preview(program, "dev", mode, config={"aws:region": "us-west-2"},
                     policy_pack=Path(__file__).resolve().parents[2] / "policy")
    assert result.exit_code == 2 and result.violations == []
    for urn_tail in FAILS_CLOSED[name]:
        assert urn_tail in result.error, result.error
    assert "remote component" in result.error


def test_a_public_program_read_unanswered_names_the_stack_reference(tmp_path_factory):
    config, _secrets, _existing = CASES["aws-py-stackreference-team"]
    result = preview(_copy(tmp_path_factory, "aws-py-stackreference-team"), "dev",
                     config={"aws:region": "us-west-2", **config})
    assert result.exit_code == 2
    assert "pulumi:pulumi:StackReference" in result.error and "acme/company/dev" in result.error


def test_a_public_program_sees_the_answered_stack_outputs(tmp_path_factory):
    config, _secrets, existing = CASES["aws-py-stackreference-team"]
    result = preview(_copy(tmp_path_factory, "aws-py-stackreference-team"), "dev", "update",
                     config={"aws:region": "us-west-2", **config}, existing=existing)
    instance = next(r for r in result.resources if r.type == "aws:ec2/instance:Instance")
    assert instance.inputs["tags"]["company"] == "acme" and instance.inputs["tags"]["department"] == "ops"
    assert instance.inputs["ami"] == "ami-0a1b2c3d4e5f67890"


@pytest.mark.parametrize("mode", ["preview", "update"])
def test_the_public_webserver_in_the_default_vpc_fails_the_pack(tmp_path_factory, mode):
    """aws-py-webserver launches its instance without a subnet, so in a default subnet of the
    region's default VPC (public: an internet gateway route, a public IP on launch), with port 80
    open to 0.0.0.0/0: the pack must fail it, naming the group that opens the path."""
    config, secrets, existing = CASES["aws-py-webserver"]
    result = preview(_copy(tmp_path_factory, "aws-py-webserver"), "dev", mode,
                     config={"aws:region": "us-west-2", **config}, secrets=secrets, existing=existing,
                     policy_pack=Path(__file__).resolve().parents[2] / "policy")
    assert result.exit_code == 1, result.error
    bypass = [v for v in result.violations if v.policy == "disallow-node-bypass" and v.enforcement == "mandatory"]
    opened = [v for v in bypass if v.urn.endswith("aws:ec2/securityGroup:SecurityGroup::web-secgrp")]
    assert len(opened) == 1, [(v.urn, v.message) for v in bypass]
    assert "internet -> Instance 'web-server-www':80" in opened[0].message
    assert "default VPC" in opened[0].message
    # the stack has no layer labels: the lead finding says so first
    assert any("no `layerguard:layer` labels" in v.message for v in bypass)
