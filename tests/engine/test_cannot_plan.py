"""What the engine cannot plan fails closed: exit 2, every such registration named, no verdict.
Also how the program's interpreter and stack config are found (runtime.options, the stack file)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from layerguard.engine import preview

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FAILCLOSED = FIXTURES / "failclosed"
PACK = FIXTURES.parent.parent / "policy"

# fixture -> (URN tails that must be named, what they are)
CASES = {
    "awsx": (["awsx:ec2:Vpc::vpc", "awsx:lb:ApplicationLoadBalancer::lb", "awsx:ecs:FargateService::svc"],
             "remote component"),
    "remote": (["acme:network:Firewall::edge-fw"], "remote component"),
    "dynamic": (["pulumi-python:dynamic:Resource::world-22"], "dynamic provider"),
    "unknown-type": (["acme:index:Widget::widget"], "no installed provider SDK"),
}


@pytest.mark.parametrize("mode", ["preview", "update"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_what_the_engine_cannot_plan_exits_2_naming_each_registration(name, mode):
    if name == "dynamic" and mode == "preview":
        pytest.skip("planned at preview as the CLI does: test_a_dynamic_resource_is_planned_at_preview_and_fails_the_pack")
    tails, what = CASES[name]
    result = preview(FAILCLOSED / name, "dev", mode, policy_pack=PACK if name == "awsx" else None)
    assert result.exit_code == 2, f"{name} ({mode}) gave a verdict: {result.violations}"
    assert result.violations == [] and result.resources == []
    if name == "awsx" and mode == "update":
        # the awsx load balancer's outputs are the plugin's: without it, the program's
        # `lb.default_target_group` is None at update and the program stops before the service
        tails = tails[:2]
        assert "The program then stopped" in result.error
    for tail in tails:
        assert tail in result.error, result.error
    assert what in result.error
    assert f"cannot plan {len(tails)} registration(s)" in result.error


def test_a_dynamic_resource_is_planned_at_preview_and_fails_the_pack():
    """The dynamic provider answers no `supportsPreview`, so at a preview the CLI takes its inputs
    as its state without running `create` (pulumi/pulumi pkg/resource/plugin/provider_plugin.go
    `Create`; sdk/python/lib/pulumi/dynamic/__main__.py `Configure`): the engine plans it the same
    way, and the pack, which cannot see what `create` will do, fails closed on it."""
    bare = preview(FAILCLOSED / "dynamic", "dev", "preview")
    assert bare.exit_code == 0, bare.error
    [res] = [r for r in bare.resources if r.type == "pulumi-python:dynamic:Resource"]
    assert res.outputs["port"] == 22 and res.outputs["cidr"] == "0.0.0.0/0"
    judged = preview(FAILCLOSED / "dynamic", "dev", "preview", policy_pack=PACK)
    assert judged.exit_code == 1, judged.error
    assert any(v.enforcement == "mandatory" and v.urn.endswith("::world-22") and "dynamic provider" in v.message
               for v in judged.violations), [(v.policy, v.urn) for v in judged.violations]


def test_awsx_is_the_real_package():
    import pulumi_awsx
    assert pulumi_awsx.ec2.Vpc.__mro__[1].__name__ == "ComponentResource"


def test_the_cli_reports_the_resource_and_exits_2():
    proc = subprocess.run([sys.executable, "-m", "layerguard", "preview", "--stack", "dev",
                           "--program", str(FAILCLOSED / "remote"), "--policy-pack", str(PACK)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "acme:network:Firewall::edge-fw" in proc.stderr and "PASSED" not in proc.stdout


# --- the stack file and the program's interpreter -------------------------------------------------


def _program(tmp_path: Path, pulumi_yaml: str, stack_file: str | None = "config:\n  aws:region: eu-west-1\n") -> Path:
    program = tmp_path / "prog"
    program.mkdir()
    (program / "Pulumi.yaml").write_text(pulumi_yaml)
    if stack_file is not None:
        (program / "Pulumi.dev.yaml").write_text(stack_file)
    (program / "__main__.py").write_text(
        "import sys\nimport pulumi\nimport pulumi_aws as aws\n"
        "aws.s3.Bucket('b')\n"
        "pulumi.export('prefix', sys.prefix)\npulumi.export('region', pulumi.Config('aws').get('region'))\n")
    return program


def test_no_stack_file_reads_as_an_empty_stack_config_when_the_command_line_gives_values(tmp_path):
    program = _program(tmp_path, "name: p\nruntime: python\n", stack_file=None)
    result = preview(program, "dev", config={"aws:region": "eu-central-1"})
    assert result.exit_code == 0, result.error
    assert result.outputs["region"] == "eu-central-1"
    bare = preview(program, "dev")
    assert bare.exit_code == 2 and "no config file" in bare.error and "--config" in bare.error


def test_a_declared_virtualenv_that_does_not_exist_is_refused_naming_the_option(tmp_path):
    program = _program(tmp_path, "name: p\nruntime:\n  name: python\n  options:\n    virtualenv: venv\n")
    result = preview(program, "dev")
    assert result.exit_code == 2
    assert "'virtualenv' option" in result.error and "runtime.options.virtualenv" in result.error
    assert "doesn't exist" in result.error and str(program / "venv") in result.error
    (program / "venv").mkdir()
    result = preview(program, "dev")
    assert result.exit_code == 2 and "doesn't appear to be a virtual environment" in result.error


@pytest.mark.parametrize("toolchain", ["poetry", "uv"])
def test_toolchains_the_offline_preview_does_not_run_are_refused_by_name(tmp_path, toolchain):
    program = _program(tmp_path, f"name: p\nruntime:\n  name: python\n  options:\n    toolchain: {toolchain}\n")
    result = preview(program, "dev")
    assert result.exit_code == 2 and f"runtime.options.toolchain is '{toolchain}'" in result.error


def test_the_engines_own_environment_as_the_virtualenv_runs_the_program(tmp_path):
    program = _program(tmp_path, "name: p\nruntime:\n  name: python\n  options:\n    virtualenv: venv\n")
    (program / "venv").symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
    result = preview(program, "dev")
    assert result.exit_code == 0, result.error
    assert Path(result.outputs["prefix"]).resolve() == Path(sys.prefix).resolve()


def test_another_virtualenv_runs_the_program_with_its_own_interpreter(tmp_path):
    program = _program(tmp_path, "name: p\nruntime:\n  name: python\n  options:\n    virtualenv: env/other\n")
    venv = program / "env" / "other"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    # what `pip install -r requirements.txt` would put there: here, this environment's packages
    site = next(venv.glob("lib/python*/site-packages"))
    (site / "engine-env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    result = preview(program, "dev")
    assert result.exit_code == 0, result.error
    assert Path(result.outputs["prefix"]).resolve() == venv.resolve()
    shutil.rmtree(venv)
