"""What the engine sends the pack, checked against what the Pulumi CLI sends (see the citations in
layerguard/engine.py, host.py and schema.py): planned state at preview, created state at update,
the registrations analysed, URNs, the program's environment, reads, policy config, update stops."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest
from google.protobuf import json_format

from layerguard import cloud, schema
from layerguard.engine import analyzer_messages, is_unknown, preview
from layerguard.report import render

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "engine"
PROGRAM, PACK = FIXTURES / "program", FIXTURES / "pack"
REPO = FIXTURES.parent.parent.parent
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
EXISTING = {"resources": [{"type": "aws:ec2/vpc:Vpc", "id": "vpc-0123456789abcdef0",
                           "properties": {"cidrBlock": "10.99.0.0/16", "arn": "arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-0123456789abcdef0"}}]}


@pytest.fixture(scope="module")
def planned():
    return preview(PROGRAM, "dev", "preview", policy_pack=None)


@pytest.fixture(scope="module")
def created():
    return preview(PROGRAM, "dev", "update", policy_pack=None)


def sent(result, name):
    """The (Analyze properties, AnalyzeStack properties) the engine sends for one resource."""
    for res, request, entry in analyzer_messages(result):
        if res.name == name:
            return (json_format.MessageToDict(request.properties),
                    json_format.MessageToDict(entry.properties))
    raise AssertionError(f"no Analyze/AnalyzeStack message for {name}")


def test_preview_stack_state_is_the_plan_computed_unknown_optional_absent(planned):
    inputs, state = sent(planned, "plain-sg")
    # configured: as given
    assert state["description"] == "no rules given" and state["tags"] == {"team": "edge"}
    # computed and not configured: unknown (the CLI sends the string sentinel for every kind)
    for computed in ("ingress", "egress", "arn", "ownerId", "namePrefix", "id"):
        assert state[computed] == UNKNOWN, computed
    # optional and not configured: absent
    assert "revokeRulesOnDelete" not in state
    # known at plan time: the Check's auto-name, tags merged with the provider's default tags,
    # the provider's region
    assert state["name"].startswith("plain-sg-") and len(state["name"]) == len("plain-sg-") + 7
    assert state["tagsAll"] == {"owner": "platform-team", "team": "edge"}
    assert state["region"] == "eu-west-1"
    # Analyze gets the inputs after Check: the auto-name, nothing computed
    assert inputs["name"] == state["name"]
    assert not {"ingress", "arn", "tagsAll", "region"} & set(inputs)


def test_preview_nested_objects_the_program_set_keep_optional_fields_absent(planned):
    _inputs, state = sent(planned, "alb-sg")
    [rule] = state["ingress"]
    assert rule["fromPort"] == 443 and rule["cidrBlocks"] == ["0.0.0.0/0"]
    assert "description" not in rule and "ipv6CidrBlocks" not in rule
    assert state["egress"] == UNKNOWN


@pulumi.output_type
class _Inner:
    def __init__(__self__, *, given: str, computed: str, optional: str | None = None):
        pulumi.set(__self__, "given", given)
        pulumi.set(__self__, "computed", computed)

    @property
    @pulumi.getter
    def given(self) -> str:
        return pulumi.get(self, "given")

    @property
    @pulumi.getter(name="computedValue")
    def computed(self) -> str:
        return pulumi.get(self, "computed")

    @property
    @pulumi.getter
    def optional(self) -> str | None:
        return pulumi.get(self, "optional")


@pulumi.output_type
class _Outer:
    @property
    @pulumi.getter
    def items(self) -> pulumi.Output[list[_Inner]]:
        return pulumi.get(self, "items")

    @property
    @pulumi.getter(name="oneInner")
    def one_inner(self) -> pulumi.Output[_Inner | None]:
        return pulumi.get(self, "one_inner")


def test_nested_computed_fields_follow_the_output_types_annotations():
    state = schema.plan_object(_Outer, {"items": [{"given": "a"}], "oneInner": {"given": "b", "optional": "c"}},
                               schema.unknown, [])
    assert state["items"] == [{"given": "a", "computedValue": UNKNOWN}]
    assert state["oneInner"] == {"given": "b", "optional": "c", "computedValue": UNKNOWN}
    assert schema.plan_object(_Outer, {}, schema.unknown, []) == {"items": UNKNOWN}


def test_program_sees_the_plan_at_preview(planned):
    assert planned.outputs["sgName"].startswith("plain-sg-")   # known: filled by Check
    assert is_unknown(planned.outputs["sgIngress"])             # computed: unknown


def test_update_fills_every_computed_attribute_with_a_placeholder_of_its_kind(created):
    _inputs, sg = sent(created, "plain-sg")
    assert sg["id"].startswith("sg-") and sg["arn"] == f"arn:aws:ec2:eu-west-1:123456789012:security-group/{sg['id']}"
    assert sg["ingress"] == [] and sg["egress"] == [] and sg["ownerId"] == cloud.ACCOUNT_ID
    assert not any(is_unknown(v) for v in sg.values())
    _inputs, alb = sent(created, "alb")
    assert alb["arn"].startswith("arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/")
    assert alb["arnSuffix"] == alb["arn"].split(":loadbalancer/")[1]
    assert alb["vpcId"].startswith("vpc-") and alb["internal"] is False
    _inputs, queue = sent(created, "pair-inner-queue")
    assert queue["url"].startswith("https://") and queue["arn"].startswith("arn:aws:sqs:eu-west-1:123456789012:")
    subnet = next(r for r in created.resources if r.name == "public-0")
    eni_ip = created.outputs["eniIp"]
    import ipaddress
    assert ipaddress.ip_address(eni_ip) in ipaddress.ip_network(subnet.inputs["cidrBlock"])


def test_placeholders_are_derived_from_attribute_name_and_kind():
    ctx = cloud.Context("aws:lambda/function:Function", "fn", {"name": "fn"}, "eu-west-1", {})
    assert cloud.placeholder(ctx, ["invokeArn"], "string") == (
        "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
        "arn:aws:lambda:eu-west-1:123456789012:function:fn/invocations")
    assert cloud.placeholder(ctx, ["enabled"], "bool") is False
    assert cloud.placeholder(ctx, ["subnetIds"], "array") == []
    vpc = cloud.Context("aws:ec2/vpc:Vpc", "vpc", {}, "eu-west-1", {})
    assert cloud.placeholder(vpc, ["defaultSecurityGroupId"], "string").startswith("sg-")   # made with it
    assert cloud.placeholder(vpc, ["mainRouteTableId"], "string").startswith("rtb-")
    # A reference to another resource: derived from what the program referenced, else left null.
    subnets = {"subnet-1": {"vpcId": "vpc-9", "cidrBlock": "10.1.0.0/24", "mapPublicIpOnLaunch": True}}
    lb = cloud.Context("aws:lb/loadBalancer:LoadBalancer", "lb", {"subnets": ["subnet-1"]}, "eu-west-1", subnets)
    assert cloud.placeholder(lb, ["vpcId"], "string") == "vpc-9"
    rule = cloud.Context("aws:ec2/securityGroupRule:SecurityGroupRule", "r", {"cidrBlocks": ["10.0.0.0/8"]},
                         "eu-west-1", {})
    assert cloud.placeholder(rule, ["sourceSecurityGroupId"], "string") is schema.ABSENT
    assert cloud.placeholder(rule, ["securityGroupRuleId"], "string").startswith("sgr-")
    # An instance in a subnet that maps public IPs gets one, as AWS gives it.
    box = cloud.Context("aws:ec2/instance:Instance", "box", {"subnetId": "subnet-1"}, "eu-west-1", subnets)
    assert cloud.placeholder(box, ["associatePublicIpAddress"], "bool") is True
    assert cloud.placeholder(box, ["publicIp"], "string").startswith("3.")
    assert cloud.placeholder(box, ["privateDns"], "string").endswith(".eu-west-1.compute.internal")
    # What AWS answers itself: a published function's version and qualified ARN, no resource
    # policy attached at create, the API key read from the header.
    published = cloud.Context("aws:lambda/function:Function", "fn", {"name": "fn", "publish": True}, "eu-west-1", {})
    assert cloud.placeholder(published, ["qualifiedArn"], "string") == "arn:aws:lambda:eu-west-1:123456789012:function:fn:1"
    assert cloud.placeholder(ctx, ["version"], "string") == "$LATEST"
    api = cloud.Context("aws:apigateway/restApi:RestApi", "api", {}, "eu-west-1", {})
    assert cloud.placeholder(api, ["policy"], "string") == ""
    assert cloud.placeholder(api, ["apiKeySource"], "string") == "HEADER"


def test_nested_component_urns_carry_the_whole_parent_type_chain(planned):
    queue = next(r for r in planned.resources if r.name == "pair-inner-queue")
    assert queue.urn == ("urn:pulumi:dev::fixture::fixture:app:Pair$fixture:app:Inner$"
                         "aws:sqs/queue:Queue::pair-inner-queue")


def test_the_cli_analyses_the_stack_components_and_providers_but_not_reads():
    result = preview(PROGRAM, "dev", "preview", policy_pack=PACK, existing=EXISTING,
                     config={"readExisting": "true"})
    analysed = {v.message.split("\n")[1] for v in result.violations if v.policy == "echo-analyzed"}
    assert analysed == {"analyzed pulumi:pulumi:Stack fixture-dev", "analyzed pulumi:providers:aws default_7_51_1",
                        "analyzed pulumi:providers:aws east", "analyzed fixture:app:Pair pair",
                        "analyzed fixture:app:Inner pair-inner"}
    read = next(r for r in result.resources if r.kind == "read")
    assert read.name == "shared-vpc"
    names = [res.name for res, _q, _e in analyzer_messages(result)]
    assert "shared-vpc" not in names and "in-shared" in names and "fixture-dev" in names


def test_reads_are_answered_from_the_file_of_existing_resources():
    result = preview(PROGRAM, "dev", "preview", existing=EXISTING, config={"readExisting": "true"})
    assert result.exit_code == 0, result.error
    assert result.outputs["sharedCidr"] == "10.99.0.0/16"
    subnet = next(r for r in result.resources if r.name == "in-shared")
    assert subnet.inputs["vpcId"] == "vpc-0123456789abcdef0"  # the read's id is known at preview
    assert "1 existing read" in render(result)
    assert [r["kind"] for r in result.to_json()["resources"] if r["name"] == "shared-vpc"] == ["read"]
    by_name = preview(PROGRAM, "dev", "preview", config={"readExisting": "true"},
                      existing={"shared-vpc": {"cidrBlock": "10.98.0.0/16"}})
    assert by_name.outputs["sharedCidr"] == "10.98.0.0/16"


def test_a_read_the_file_does_not_answer_exits_2_naming_the_resource():
    result = preview(PROGRAM, "dev", "preview", config={"readExisting": "true"})
    assert result.exit_code == 2 and "'shared-vpc'" in result.error and "--existing" in result.error


def test_cli_existing_file_in_yaml(tmp_path):
    existing = tmp_path / "existing.yaml"
    existing.write_text("aws:ec2/vpc:Vpc::vpc-0123456789abcdef0:\n  cidrBlock: 10.97.0.0/16\n")
    out = tmp_path / "out.json"
    run = subprocess.run([sys.executable, "-m", "layerguard", "preview", "--stack", "dev", "--program", str(PROGRAM),
                          "--no-policy-pack", "--config", "readExisting=true", "--existing", str(existing),
                          "--json", str(out)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    missing = subprocess.run([sys.executable, "-m", "layerguard", "preview", "--stack", "dev", "--program",
                              str(PROGRAM), "--no-policy-pack", "--config", "readExisting=true"],
                             cwd=REPO, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "shared-vpc" in missing.stderr


def test_program_environment_and_arguments_are_the_language_hosts(planned):
    # The Python language host adds PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS only; the
    # executor gets project, stack, dry-run as arguments and runs the entry point "." from the
    # project directory.
    assert planned.outputs["argv"] == ["."]
    assert planned.outputs["cwd"] == str(PROGRAM)
    env = planned.outputs["env"]
    assert env["configKeys"] == ["aws:defaultTags", "aws:region"]
    for key in ("PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_DRY_RUN", "PULUMI_ORGANIZATION"):
        assert env[key] is None, key


def test_policy_config_naming_a_policy_the_pack_lacks_is_accepted():
    result = preview(PROGRAM, "dev", "preview", policy_pack=PACK,
                     policy_config={"no-such-policy": "mandatory", "all": "advisory"})
    assert result.exit_code == 0, result.error
    assert result.policy_config["no-such-policy"]["enforcementLevel"] == "mandatory"
    assert result.policy_config["no-world-ingress"]["enforcementLevel"] == "advisory"


def test_update_stops_at_a_mandatory_analyze_violation_before_analyze_stack(tmp_path):
    result = preview(PROGRAM, "dev", "update", policy_pack=PACK)
    assert result.exit_code == 1
    assert result.stopped is not None and result.stopped.name == "alb-sg"
    assert not result.stack_analyzed
    policies = {v.policy for v in result.violations}
    assert "no-world-ingress" in policies
    # No stack policy runs after the stop. (Whether the bucket's Analyze came before it is a race:
    # the bucket waits only for its component's registration, the group for the VPC's create, and
    # the CLI's step generator takes registrations as they arrive, so the test does not pin it.)
    assert not {"count-stack", "echo-context"} & policies
    assert "UPDATE STOPPED at alb-sg" in render(result)
    previewed = preview(PROGRAM, "dev", "preview", policy_pack=PACK)
    assert previewed.stopped is None and previewed.stack_analyzed  # a preview reports and goes on


def test_deferred_rules_are_listed_apart_and_never_change_the_exit_code():
    result = preview(PROGRAM, "dev", "preview", policy_pack=PACK,
                     policy_config={"no-world-ingress": "advisory", "deferred-rule": "mandatory"})
    [deferred] = result.deferred
    assert deferred.policy == "deferred-rule" and deferred.urn.endswith("::api-key")
    assert result.exit_code == 0 and deferred not in result.mandatory
    report = render(result)
    section = report.split("Decided at `pulumi up`: 1", 1)[1]
    assert "deferred-rule" in section and "deferred-rule" not in report.split("Decided at `pulumi up`: 1")[0]
    doc = result.to_json()
    assert [d["policy"] for d in doc["deferred"]] == ["deferred-rule"]
    assert json.dumps(doc)  # serialisable
