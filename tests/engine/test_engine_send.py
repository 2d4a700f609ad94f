"""What the engine sends the pack, call by call, against what the Pulumi CLI sends (docs/CONTRACTS.md,
"What the engine sends"). Each test names the CLI source it holds the engine to."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest
from google.protobuf import json_format

from layerguard import project
from layerguard.cli import main
from layerguard.engine import SECRET_SIG, analyzer_messages, preview, stack_tags

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REMEDIATE = FIXTURES / "engine" / "remediate"
PROGRAM = FIXTURES / "engine" / "program"
STRING = "random:index/randomString:RandomString"


def messages_of(result, name):
    [(res, request, entry)] = [m for m in analyzer_messages(result) if m[0].name == name]
    return res, request, entry


# An update of a dynamic resource is refused offline (host.py `unplannable`): the update runs
# leave it out.
NO_DYNAMIC = {"remediate:dynamic": "false"}


def _fixture(mode, **kwargs):
    return preview(REMEDIATE / "program", "test", mode, policy_pack=REMEDIATE / "pack",
                   config=NO_DYNAMIC if mode == "update" else None, **kwargs)


@pytest.fixture(scope="module", params=["preview", "update"])
def remediated(request):
    return _fixture(request.param)


def reported(result, policy):
    return {v.urn.rsplit("::", 1)[1]: v.message.splitlines()[-1] for v in result.violations if v.policy == policy}


def test_remediation_replaces_the_inputs_analyze_and_the_stack_see(remediated):
    """step_generator.go `continueStepsFromImport`: Remediate first, and "the transformed inputs
    rather than the old ones from this point onwards" (at preview too)."""
    assert remediated.exit_code == 0, remediated.error
    assert reported(remediated, "report-inputs")["short"] == "length 32.0"
    assert reported(remediated, "report-outputs")["short"] == "length 32.0"
    [fix] = remediated.remediations
    assert (fix.policy, fix.urn.rsplit("::", 1)[1], fix.before["length"], fix.after["length"]) == \
        ("lengthen", "short", 10, 32)
    assert next(r for r in remediated.resources if r.name == "short").inputs["length"] == 32


def test_without_a_remediate_policy_nothing_is_remediated():
    result = preview(REMEDIATE / "program", "test", "preview", policy_pack=REMEDIATE / "pack",
                     policy_config={"lengthen": "disabled"})
    assert result.exit_code == 0, result.error
    assert reported(result, "report-inputs")["short"] == "length 10.0"
    assert not result.remediations


def test_a_remediate_level_violation_is_mandatory():
    """analyze_snapshot.go `analyzeResource`: a diagnostic at `remediate` after remediation ran is
    downgraded to `mandatory`; in an update the resource is invalid."""
    for mode in ("preview", "update"):
        result = _fixture(mode, policy_config={"still-failing": "remediate"})
        [violation] = [v for v in result.violations if v.policy == "still-failing"]
        assert violation.enforcement == "mandatory" and violation.urn.endswith("::short")
        assert result.exit_code == 1
    assert result.stopped is not None and result.stopped.name == "short"


def test_internal_keys_are_not_sent_to_analyze():
    """analyzer_plugin.go `Analyze`/`AnalyzeStack`: `SkipInternalKeys: true` drops the dynamic
    resource's top-level `__provider`."""
    result = _fixture("preview")
    res, request, entry = messages_of(result, "echo")
    assert "__provider" in res.inputs  # the SDK sent it
    assert "__provider" not in request.properties and "__provider" not in entry.properties
    assert reported(result, "report-inputs")["echo"] == "keys hello"
    # At preview the CLI plans a dynamic resource with its inputs as its state (the dynamic
    # provider does not support previews: provider_plugin.go `Create`).
    assert entry.properties["hello"] == "world"


def test_a_dynamic_resource_is_refused_at_update():
    """Its outputs are what the program's own `create` returns, which the engine does not run:
    exit 2 naming it, never a verdict."""
    result = preview(REMEDIATE / "program", "test", "update", policy_pack=REMEDIATE / "pack")
    assert result.exit_code == 2 and not result.violations
    assert "::echo (pulumi-python:dynamic:Resource)" in result.error, result.error


def test_resource_options_come_from_the_registration(remediated):
    """step_generator.go `analyzeAll` / `AnalyzeResources`; analyzer_plugin.go
    `marshalResourceOptions`; custom timeouts in seconds (source_eval.go `generateTimeoutInSeconds`)."""
    _res, request, entry = messages_of(remediated, "opts")
    for options in (request.options, entry.options):
        assert options.protect is True
        assert list(options.ignoreChanges) == ["length"]
        assert options.deleteBeforeReplaceDefined and not options.deleteBeforeReplace
        assert list(options.additionalSecretOutputs) == ["result"]
        assert (options.customTimeouts.create, options.customTimeouts.update, options.customTimeouts.delete) == \
            (90, 0, 7200)
        assert options.parent == "urn:pulumi:test::remediate::pulumi:pulumi:Stack::remediate-test"
        assert list(options.aliases) == []
    _res, request, _entry = messages_of(remediated, "short")
    assert not request.options.protect and not request.options.deleteBeforeReplaceDefined
    assert request.options.HasField("customTimeouts")


def test_default_provider_inputs_are_the_config_strings_with_version():
    """target.go `GetPackageConfig` (strings, namespace dropped, secrets kept secret),
    registry.go `SetProviderVersion`, and the bridge's `CheckConfig` re-encoding objects as compact
    JSON (config_encoding.go `jsonEncodePropertyValue`)."""
    result = preview(PROGRAM, "dev", "preview", secrets={"aws:secretKey": "s3cr3t"})
    assert result.exit_code == 0, result.error
    [default] = [r for r in result.resources if r.kind == "default-provider" and r.type == "pulumi:providers:aws"]
    version = metadata.version("pulumi_aws")
    assert default.name == "default_" + version.replace(".", "_")
    assert default.inputs["region"] == "eu-west-1"
    assert default.inputs["defaultTags"] == '{"tags":{"owner":"platform-team"}}'
    assert default.inputs["version"] == version
    assert default.inputs["secretKey"][SECRET_SIG] and default.inputs["secretKey"]["value"] == "s3cr3t"
    explicit = [r for r in result.resources if r.type == "pulumi:providers:aws" and r.kind == "register"]
    assert explicit and all(r.inputs["version"] == version for r in explicit)
    # Every resource of the default provider carries it, as sent.
    _res, request, _entry = next(m for m in analyzer_messages(result) if m[0].provider
                                and m[0].provider.startswith(default.urn + "::"))
    sent = json_format.MessageToDict(request.provider.properties)
    assert sent["defaultTags"] == '{"tags":{"owner":"platform-team"}}' and request.provider.urn == default.urn


def test_stack_tags_merge_existing_project_and_config_tags():
    """backend/stack.go `GetMergedStackTags`: the stack's tags, then the project's and `pulumi:tags`."""
    config = project.load(PROGRAM, "dev", overrides={"pulumi:tags": json.dumps({"team": "edge"})})
    tags = stack_tags(config, {"pulumi:project": "stale", "foo": "bar"})
    assert tags == {"foo": "bar", "pulumi:project": "fixture", "pulumi:runtime": "python",
                    "pulumi:description": "A small program for the offline engine's own tests.", "team": "edge"}


def test_bad_pulumi_tags_and_bad_tag_flag_stop_with_a_clear_message(capsys):
    result = preview(PROGRAM, "dev", "preview", policy_pack=FIXTURES / "engine" / "pack",
                     config={"pulumi:tags": '{"team": 1}'})
    assert result.exit_code == 2 and "pulumi:tags[team] must be a string" in result.error
    assert main(["preview", "--program", str(PROGRAM), "--stack", "dev", "--tag", "novalue"]) == 2
    assert "--tag takes KEY=VALUE" in capsys.readouterr().err
