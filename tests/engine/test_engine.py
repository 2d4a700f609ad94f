"""The offline engine against a fixture program and a throwaway fixture pack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from layerguard.engine import SECRET_SIG, is_unknown, preview
from layerguard.project import SECRET_PLACEHOLDER

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "engine"
PROGRAM, PACK, BROKEN = FIXTURES / "program", FIXTURES / "pack", FIXTURES / "broken"
REPO = FIXTURES.parent.parent.parent


@pytest.fixture(scope="module")
def runs():
    """The fixture stack in both modes. Under the CLI a mandatory `Analyze` violation stops an
    update before `AnalyzeStack`, so tests of stack policies in update mode use "complete", where
    that one policy is advisory."""
    return {
        "preview": preview(PROGRAM, "dev", "preview", policy_pack=PACK),
        "update": preview(PROGRAM, "dev", "update", policy_pack=PACK),
        "complete": preview(PROGRAM, "dev", "update", policy_pack=PACK,
                            policy_config={"no-world-ingress": "advisory"}),
    }


def completed(runs):
    """The runs in which every resource was analysed and AnalyzeStack ran, one per mode."""
    return {"preview": runs["preview"], "update": runs["complete"]}


def one(result, type_suffix, name):
    matches = [r for r in result.resources if r.type.endswith(type_suffix) and r.name == name]
    assert len(matches) == 1, f"expected one {type_suffix} named {name}, got {[r.urn for r in matches]}"
    return matches[0]


def violations(result, policy):
    return [v for v in result.violations if v.policy == policy]


def test_preview_leaves_computed_outputs_unknown(runs):
    subnet = one(runs["preview"], ":Subnet", "public-0")
    assert is_unknown(subnet.inputs["vpcId"]), subnet.urn
    assert is_unknown(runs["preview"].outputs["albDns"])
    assert is_unknown(runs["preview"].outputs["logArn"])


def test_preview_knows_outputs_that_echo_given_inputs(runs):
    assert runs["preview"].outputs["logName"] == "logs-hello"


def test_update_knows_computed_outputs_with_realistic_values(runs):
    subnet = one(runs["update"], ":Subnet", "public-0")
    assert subnet.inputs["vpcId"].startswith("vpc-"), subnet.urn
    assert runs["update"].outputs["logArn"] == "arn:aws:logs:us-east-1:123456789012:log-group:logs-hello"
    dns = runs["update"].outputs["albDns"]
    assert dns.endswith(".eu-west-1.elb.amazonaws.com") and not dns.startswith("internal-")
    listener = one(runs["update"], ":Listener", "https")
    assert listener.inputs["loadBalancerArn"].startswith("arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/")


def test_invokes_are_answered_realistically(runs):
    assert runs["preview"].outputs["zones"][:2] == ["eu-west-1a", "eu-west-1b"]
    assert one(runs["preview"], ":Subnet", "public-1").inputs["availabilityZone"] == "eu-west-1b"


def test_unknown_invoke_fails_loudly_naming_the_token():
    result = preview(PROGRAM, "dev", config={"callUnknownInvoke": "true"})
    assert result.exit_code == 2
    assert "aws:rds/getEngineVersion:getEngineVersion" in result.error
    # it names its arguments and how to answer it
    assert '"engine": "postgres"' in result.error and "invokes:" in result.error and "--existing" in result.error
    assert result.resources == []


def test_parent_dependencies_and_property_dependencies_are_captured(runs):
    for result in runs.values():
        component = one(result, ":Pair", "pair")
        bucket = one(result, ":BucketV2", "pair-bucket")
        assert bucket.parent == component.urn, bucket.urn
        assert bucket.urn == "urn:pulumi:dev::fixture::fixture:app:Pair$aws:s3/bucketV2:BucketV2::pair-bucket"
        vpc = one(result, ":Vpc", "vpc")
        assert vpc.urn == "urn:pulumi:dev::fixture::aws:ec2/vpc:Vpc::vpc"  # no Stack$ prefix, as in real stacks
        subnet = one(result, ":Subnet", "public-0")
        assert subnet.property_dependencies["vpcId"] == [vpc.urn]
        assert vpc.urn in subnet.dependencies
        alb = one(result, ":LoadBalancer", "alb")
        assert set(alb.property_dependencies["subnets"]) == {one(result, ":Subnet", f"public-{i}").urn for i in (0, 1)}
        tg = one(result, ":TargetGroup", "tg")
        assert one(result, ":Listener", "https").property_dependencies["defaultActions"] == [tg.urn]


def test_inputs_use_engine_camel_case_names(runs):
    sg = one(runs["preview"], ":SecurityGroup", "alb-sg")
    assert sg.inputs["ingress"][0]["cidrBlocks"] == ["0.0.0.0/0"]
    assert sg.inputs["ingress"][0]["fromPort"] == 443


def test_providers_and_their_regions(runs):
    for result in runs.values():
        default = [r for r in result.resources if r.type == "pulumi:providers:aws" and r.name.startswith("default_")]
        assert len(default) == 1 and default[0].inputs["region"] == "eu-west-1"
        logs = one(result, ":LogGroup", "east-logs")
        east = one(result, "pulumi:providers:aws", "east")
        assert logs.provider.startswith(east.urn + "::") and logs.provider_region == "us-east-1"
        assert one(result, ":Vpc", "vpc").provider_region == "eu-west-1"


def test_config_reaches_the_program(runs):
    outputs = runs["preview"].outputs
    assert outputs["replicas"] == 2                          # stack file overrides the default 1
    assert outputs["tags"] == {"owner": "platform", "cost-center": 42}   # structured value
    assert json.loads(outputs["policy"]) == {"greeting": "hello"}       # project default


def test_secret_config_reaches_the_program_as_a_secret(runs):
    version = one(runs["preview"], ":SecretVersion", "api-key")
    value = version.inputs["secretString"]
    assert value[SECRET_SIG] == "1b47061264138c4ac30d75fd1eb44270"
    assert value["value"] == SECRET_PLACEHOLDER  # a `secure:` value cannot be decrypted offline


def test_overridden_secret_stays_a_secret():
    result = preview(PROGRAM, "dev", config={"apiKey": "s3cr3t-token-value"})
    assert result.exit_code == 0
    version = one(result, ":SecretVersion", "api-key")
    assert version.inputs["secretString"] == {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270",
                                              "value": "s3cr3t-token-value"}


def test_secret_overrides_reach_the_program_as_secrets():
    result = preview(PROGRAM, "dev", secrets={"greeting": "hi-there"})
    assert result.exit_code == 0
    exported = result.outputs["greetingSecret"]
    assert exported == {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "value": {"greeting": "hi-there"}}
    assert preview(PROGRAM, "dev").outputs["greetingSecret"] == "plain"


def test_each_enforcement_level_is_reported(runs):
    for result in (runs["preview"], runs["update"]):
        [mandatory] = violations(result, "no-world-ingress")
        assert mandatory.enforcement == "mandatory"
        assert mandatory.urn == one(result, ":SecurityGroup", "alb-sg").urn
        assert result.exit_code == 1
    [advisory] = violations(runs["preview"], "tagged-buckets")
    assert advisory.enforcement == "advisory" and advisory.urn.endswith("::pair-bucket")


def test_stack_policy_sees_property_dependencies_and_reports_urns(runs):
    for result in completed(runs).values():
        [linked] = violations(result, "count-stack")
        assert linked.urn == one(result, ":Listener", "https").urn
        assert "linked to alb" in linked.message


def test_policy_reading_an_unknown_value_could_not_run_in_preview(runs):
    could_not = runs["preview"].could_not_run
    assert {v.policy for v in could_not} == {"reads-unknown"}
    assert all(v.enforcement == "advisory" and ".vpcId" in v.message for v in could_not)
    assert runs["update"].could_not_run == []


def test_pack_sees_stack_context_like_under_the_cli(runs):
    for mode, result in completed(runs).items():
        [echo] = violations(result, "echo-context")
        context = json.loads(echo.message.split("context ", 1)[1])
        assert context["stack"] == "dev" and context["project"] == "fixture"
        assert context["region"] == "eu-west-1"
        assert context["dry_run"] == ("true" if mode == "preview" else "false")
        assert context["tags"]["pulumi:project"] == "fixture"


def test_policy_config_sets_levels_and_properties():
    # A preview: with `all` mandatory, an update would stop at the first resource analysed.
    config = {"all": "mandatory", "no-world-ingress": "disabled", "reads-unknown": "disabled",
              "count-stack": {"minimum": 1000}}
    result = preview(PROGRAM, "dev", "preview", policy_pack=PACK, policy_config=config)
    assert violations(result, "no-world-ingress") == []
    assert violations(result, "tagged-buckets")[0].enforcement == "mandatory"
    assert any("fewer than 1000" in v.message for v in violations(result, "count-stack"))


def test_exit_code_zero_when_only_advisories():
    config = {"no-world-ingress": "advisory"}
    result = preview(PROGRAM, "dev", "update", policy_pack=PACK, policy_config=config)
    assert result.exit_code == 0 and result.violations and not result.mandatory


@pytest.mark.parametrize("kwargs, fragment", [
    ({"stack": "missing"}, "no config file"),
    ({"stack": "bad"}, "not valid YAML"),
    ({"stack": "typed"}, "'fixture:replicas' must be of type 'integer'"),
    ({"stack": "plainsecret"}, "'fixture:apiKey' must be encrypted as it's secret"),
    ({"stack": "dev", "config": {"failWith": "kaboom"}}, "ValueError: kaboom"),
    ({"stack": "dev", "policy_pack": BROKEN}, "this pack is broken on purpose"),
    ({"stack": "dev", "policy_pack": PACK, "policy_config": {"count-stack": {"minimum": "many"}}}, "minimum"),
    ({"stack": "dev", "policy_pack": PACK, "policy_config": {"no-such-policy": {"x": 1}}}, "no-such-policy"),
    ({"stack": "dev", "existing": {"resources": [{"id": "vpc-1", "properties": {}}]}}, "needs 'type' and 'id'"),
    ({"stack": "dev", "existing": {"aws:ec2/vpc:Vpc::vpc-1": "10.0.0.0/16"}}, "'properties' must be a mapping"),
    ({"stack": "dev", "mode": "destroy"}, "mode must be one of"),
])
def test_invalid_input_exits_2_with_one_message(kwargs, fragment):
    result = preview(PROGRAM, **kwargs)
    assert result.exit_code == 2
    assert fragment in result.error
    assert result.violations == []


def _pack_processes() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if b"pulumi.policy" in cmdline and cwd in (str(PACK), str(BROKEN)):
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return False


def test_pack_process_is_gone_after_success_and_failure(monkeypatch):
    # Started as `python -m pulumi.policy` (found by its command line) or forked from the suite's
    # zygote (found by its pid): either way, gone once the preview returns.
    from layerguard import analyzer
    pids, enter = [], analyzer.PolicyPackProcess.__enter__

    def recording(self):
        entered = enter(self)
        pids.append(self.process.pid)
        return entered

    monkeypatch.setattr(analyzer.PolicyPackProcess, "__enter__", recording)
    preview(PROGRAM, "dev", policy_pack=PACK)
    assert _pack_processes() == [] and len(pids) == 1 and not _alive(pids[0])
    failed = preview(PROGRAM, "dev", policy_pack=PACK, config={"failWith": "late"})
    assert failed.exit_code == 2
    assert _pack_processes() == [] and len(pids) == 2 and not _alive(pids[1])


def cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "layerguard", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_cli_exit_codes_report_and_json(tmp_path):
    out = tmp_path / "result.json"
    run = cli("preview", "--stack", "dev", "--program", str(PROGRAM), "--policy-pack", str(PACK),
              "--json", str(out))
    assert run.returncode == 1, run.stderr
    assert "[mandatory] no-world-ingress" in run.stdout
    assert "could not run during preview" in run.stdout
    doc = json.loads(out.read_text())
    assert doc["stack"] == "dev" and doc["mode"] == "preview"
    assert {"urn", "type", "name", "parent", "layer"} <= set(doc["resources"][0])
    assert {v["enforcement"] for v in doc["violations"]} == {"mandatory", "advisory"}
    assert [d["policy"] for d in doc["deferred"]] == ["deferred-rule"]
    assert "deferred-rule" not in {v["policy"] for v in doc["violations"]}
    assert any(r["layer"] == "edge" and r["name"] == "alb" for r in doc["resources"])

    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"no-world-ingress": "advisory"}))
    ok = cli("preview", "--stack", "dev", "--program", str(PROGRAM), "--policy-pack", str(PACK),
             "--policy-pack-config", str(config), "--mode", "update")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASSED" in ok.stdout

    bad = cli("preview", "--stack", "typed", "--program", str(PROGRAM))
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "fixture:replicas" in bad.stderr
