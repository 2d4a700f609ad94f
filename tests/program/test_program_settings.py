"""Settings: every bad value is reported with its key, before any resource is registered."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import yaml
from _program import REPO, run

from components import settings
from layerguard import project as project_config

CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-4000-8000-00000000000a"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:lg/token-AbCdEf"


def stack_config(stack: str = "dev", overrides: dict | None = None, secrets: dict | None = None):
    loaded = project_config.load(REPO, stack)
    config, secret_keys = dict(loaded.config), set(loaded.secret_keys)
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"layerguard:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = value
    for key, value in (secrets or {}).items():
        config[f"layerguard:{key}"] = value
        secret_keys.add(f"layerguard:{key}")
    return config, secret_keys


@pytest.fixture
def problems():
    """Load settings under a given config; return the problem lines (empty when valid)."""
    import pulumi.runtime.config as runtime_config
    saved = (dict(runtime_config.CONFIG.get()), set(runtime_config._SECRET_KEYS.get()))

    def load(stack="dev", overrides=None, secrets=None) -> list[str]:
        config, secret_keys = stack_config(stack, overrides, secrets)
        runtime_config.set_all_config(config, sorted(secret_keys))
        try:
            settings.load()
        except settings.SettingsError as exc:
            return exc.problems
        return []

    yield load
    runtime_config.set_all_config(*saved)


INVALID = [
    # (key named in the message, overrides, stack)
    ("aws:region", {"aws:region": "mars-north-1x"}, "dev"),
    ("environment", {"environment": "qa"}, "dev"),
    ("environment", {"environment": None}, "dev"),
    ("vpcCidr", {"vpcCidr": "8.8.0.0/16"}, "dev"),
    ("vpcCidr", {"vpcCidr": "10.0.0.0/8"}, "dev"),
    ("vpcCidr", {"vpcCidr": "not-a-cidr"}, "dev"),
    ("azCount", {"azCount": "1"}, "dev"),
    ("azCount", {"azCount": "4"}, "dev"),
    ("azCount", {"azCount": "two"}, "dev"),
    ("natGateways", {"natGateways": "double"}, "dev"),
    ("wallarmMode", {"wallarmMode": "blocking"}, "dev"),
    ("wallarmCloud", {"wallarmCloud": "ru"}, "dev"),
    ("wallarmApplication", {"wallarmApplication": "0"}, "dev"),
    ("nodeImageTag", {"nodeImageTag": "4.10.4"}, "dev"),
    ("nodeImageTag", {"nodeImageTag": "latest"}, "dev"),
    ("nodeCpu", {"nodeCpu": "300"}, "dev"),
    ("nodeMemory", {"nodeMemory": "8192"}, "dev"),
    ("nodePostanalyticsMemoryMib", {"nodePostanalyticsMemoryMib": "1024"}, "dev"),
    ("nodePostanalyticsMemoryMib", {"nodePostanalyticsMemoryMib": "64"}, "dev"),
    ("nodeMinCount", {"nodeMinCount": "0"}, "dev"),
    ("nodeMaxCount", {"nodeMinCount": "3", "nodeMaxCount": "2"}, "dev"),
    ("nodeHealthCheckGracePeriod", {"nodeHealthCheckGracePeriod": "10"}, "dev"),
    ("wallarmTokenSecretArn", {"wallarmTokenSecretArn": "arn:aws:s3:::bucket"}, "dev"),
    ("wallarmTokenSecretArn", {"wallarmTokenSecretArn": SECRET_ARN.replace("eu-west-1", "us-east-1")}, "dev"),
    ("wallarmToken / wallarmTokenSecretArn", {"wallarmTokenSecretArn": ""}, "dev"),
    ("appImage", {"appImage": "Not An Image!"}, "dev"),
    ("appPort", {"appPort": "80"}, "dev"),
    ("appCount", {"appCount": "0"}, "dev"),
    ("appHealthCheckPath", {"appHealthCheckPath": "health"}, "dev"),
    ("certificateArn", {"certificateArn": "bogus"}, "dev"),
    ("certificateArn", {"certificateArn": CERT.replace("eu-west-1", "us-east-1")}, "dev"),
    ("certificateArn", {"certificateArn": ""}, "dev"),
    ("allowHttpOnly", {"certificateArn": "", "allowHttpOnly": "true"}, "staging"),
    ("allowHttpOnly", {"allowHttpOnly": "true"}, "dev"),
    ("allowHttpOnly", {"allowHttpOnly": "yes"}, "dev"),
    ("wafManagedRuleGroups", {"wafManagedRuleGroups": '["AWSManagedRulesFooRuleSet"]'}, "dev"),
    ("wafManagedRuleGroups", {"wafManagedRuleGroups": '["AWSManagedRulesSQLiRuleSet", "AWSManagedRulesSQLiRuleSet"]'}, "dev"),
    ("wafManagedRuleGroups", {"wafManagedRuleGroups": json.dumps(list(settings.WAF_MANAGED_RULE_GROUPS))}, "dev"),
    ("wafManagedRuleGroups", {"wafManagedRuleGroups": "AWSManagedRulesSQLiRuleSet"}, "dev"),
    ("wafRateLimit", {"wafRateLimit": "5"}, "dev"),
    ("wafRateWindowSeconds", {"wafRateWindowSeconds": "90"}, "dev"),
    ("wafRateLimitKey", {"wafRateLimitKey": "HEADER"}, "dev"),
    ("deletionProtection", {"deletionProtection": "maybe"}, "dev"),
    ("deletionProtection", {"deletionProtection": "false"}, "prod"),
    ("albAccessLogs", {"albAccessLogs": "sometimes"}, "dev"),
    ("albAccessLogs", {"albAccessLogs": "false"}, "prod"),
    ("logRetentionDays", {"logRetentionDays": "10"}, "dev"),
]


@pytest.mark.parametrize("key,overrides,stack", INVALID,
                         ids=[f"{k}={list(o.values())[-1]}" for k, o, _s in INVALID])
def test_each_invalid_setting_is_named(problems, key, overrides, stack):
    found = problems(stack, overrides)
    assert len(found) == 1, found
    assert found[0].startswith(f"{key}:"), found
    # Names what was given (the value, or that it is missing) and what is allowed.
    assert "got" in found[0] or "not set" in found[0] or "neither" in found[0], found


def test_token_and_arn_together_are_refused(problems):
    found = problems("dev", secrets={"wallarmToken": "x" * 20})
    assert found == [found[0]] and found[0].startswith("wallarmToken / wallarmTokenSecretArn: both")


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_stack_files_are_valid(problems, stack):
    assert problems(stack) == []


def test_wcu_budget_counts_the_rate_rule(problems):
    # Every known group except Bot Control: 1,475 WCU + 2 for the rate rule fits in 1,500.
    groups = [g for g in settings.WAF_MANAGED_RULE_GROUPS if "BotControl" not in g]
    assert problems("dev", {"wafManagedRuleGroups": json.dumps(groups)}) == []


def test_all_problems_reported_together_with_exit_2():
    bad = {"layerguard:wallarmMode": "blocking", "layerguard:nodeMemory": "9999",
           "layerguard:azCount": "7", "layerguard:wafRateWindowSeconds": "42",
           "layerguard:logRetentionDays": "11"}
    result = run("dev", "preview", config=bad)
    assert result.exit_code == 2 and result.resources == []
    lines = [line.strip() for line in result.error.splitlines() if line.strip().startswith("- ")]
    assert sorted(line[2:].split(":")[0] for line in lines) == sorted(k.split(":")[1] for k in bad)
    assert "SettingsError" in result.error and "'blocking'" in result.error


def test_invalid_settings_register_no_resource():
    """Validation runs before the first registration: the program's mocks see none."""
    config, secret_keys = stack_config("dev", {"wallarmMode": "blocking"})
    script = textwrap.dedent(f"""
        import json, runpy, sys
        import pulumi
        from pulumi.runtime import mocks
        registered = []
        class Mocks(mocks.Mocks):
            def new_resource(self, args):
                registered.append(args.typ)
                return "", {{}}
            def call(self, args):
                return {{}}, []
        mocks.set_mocks(Mocks(), project="layerguard", stack="dev", preview=True)
        pulumi.runtime.set_all_config(json.loads({json.dumps(json.dumps(config))}), {sorted(secret_keys)!r})
        sys.path.insert(0, {str(REPO)!r})
        try:
            runpy.run_path({str(REPO / "__main__.py")!r}, run_name="__main__")
        except Exception as exc:
            print(type(exc).__name__, len(registered))
        else:
            print("no error", len(registered))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert out.stdout.split() == ["SettingsError", "0"], out.stdout + out.stderr


def test_pulumi_yaml_declares_every_setting_with_the_code_defaults():
    declared = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]
    assert set(declared) == set(settings.DEFAULTS) | set(settings.REQUIRED)
    for key, decl in declared.items():
        assert decl.get("type") in ("string", "integer", "boolean", "array"), key
        assert len(decl.get("description", "")) > 20, key
        if key in settings.REQUIRED:
            assert "default" not in decl, key
        else:
            assert decl["default"] == settings.DEFAULTS[key], key
