"""The fresh-machine set-up: the Makefile makes and uses .venv, Pulumi.yaml and the pack name it
as Pulumi documents, every command the README shows runs as written (no bare `python`, which
Debian does not have), and the pack's requirements stand on their own."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def _commands(text: str) -> list[str]:
    """Command lines of a Markdown file: indented code blocks, fenced blocks and inline code."""
    found = []
    fenced = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.startswith("    "):
            found.append(line.strip())
    found += re.findall(r"`([^`\n]+)`", text)
    return found


def test_no_readme_command_runs_a_bare_python():
    bare = re.compile(r"(?:^|[\s;&|(])python (?:-|\S+\.py)")   # python3 is fine: Debian has it
    offenders = [c for c in _commands((REPO / "README.md").read_text(encoding="utf-8"))
                 if bare.search(c) and "python -u -m pulumi.policy" not in c]
    assert offenders == []


def test_readme_layerguard_commands_use_the_project_virtualenv():
    commands = [c for c in _commands((REPO / "README.md").read_text(encoding="utf-8")) if "-m layerguard" in c]
    assert commands, "the README shows no layerguard command"
    assert all(".venv/bin/python -m layerguard" in c for c in commands), \
        [c for c in commands if ".venv/bin/python -m layerguard" not in c]


def test_example_files_show_runnable_commands():
    for path in (REPO / "examples").glob("*.yaml"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "-m layerguard" in line:
                assert ".venv/bin/python -m layerguard" in line, f"{path.name}: {line}"


def test_program_and_pack_name_the_project_virtualenv():
    program = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["runtime"]
    pack = yaml.safe_load((REPO / "policy" / "PulumiPolicy.yaml").read_text())["runtime"]
    assert program == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert pack["name"] == "python" and pack["options"]["toolchain"] == "pip"
    # the CLI resolves a relative virtualenv against the PulumiPolicy.yaml directory
    resolved = os.path.normpath(REPO / "policy" / pack["options"]["virtualenv"])
    assert resolved == str(REPO / ".venv")


def _make_dry_run(*targets: str, **variables: str) -> str:
    args = ["make", "-n", "-B", "-C", str(REPO), *[f"{k}={v}" for k, v in variables.items()], *targets]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def test_every_make_target_runs_the_virtualenvs_python():
    out = _make_dry_run("preview", "preview-all", "test", "bench", "rules", PYTHON="/opt/other/python3")
    python_lines = [line for line in out.splitlines() if re.search(r"\bpython3?\b", line)]
    assert python_lines
    for line in python_lines:
        if "tools/make-venv" in line:
            assert "/opt/other/python3 .venv" in line       # the given PYTHON only makes the venv
        else:
            assert ".venv/bin/python" in line and "/opt/other" not in line, line


def test_make_venv_refuses_a_python_that_is_not_there(tmp_path):
    out = subprocess.run([str(REPO / "tools" / "make-venv"), str(tmp_path / "nope"), str(tmp_path / "v")],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "PYTHON=" in out.stderr and not (tmp_path / "v").exists()


def test_make_venv_makes_a_virtualenv_with_pip(tmp_path):
    venv = tmp_path / "v"
    out = subprocess.run([str(REPO / "tools" / "make-venv"), sys.executable, str(venv)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    prefix = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys, pip; print(sys.prefix)"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert prefix == str(venv)


# --- the pack on its own (a published pack installs policy/requirements.txt only) -----------------
def _third_party_imports(root: Path) -> set[str]:
    local = {p.stem for p in root.glob("*.py")} | {p.name for p in root.iterdir() if p.is_dir()}
    found = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in local}


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()] = version
    return pins


def test_pack_requirements_list_every_third_party_module_the_pack_imports():
    from importlib.metadata import packages_distributions
    dists = packages_distributions()
    pins = _pins(REPO / "policy" / "requirements.txt")
    for module in sorted(_third_party_imports(REPO / "policy")):
        names = {re.sub(r"[-_.]+", "-", d).lower() for d in dists.get(module, [])}
        assert names & set(pins), f"policy/ imports {module} (from {names or 'no installed distribution'}), " \
                                  "which policy/requirements.txt does not list"


def test_pack_imports_nothing_of_the_program_or_the_engine():
    assert not _third_party_imports(REPO / "policy") & {"components", "layerguard", "tests"}


def test_program_and_pack_pins_agree():
    """Both requirement files go into the one .venv (`pulumi install` installs each)."""
    program, pack = _pins(REPO / "requirements.txt"), _pins(REPO / "policy" / "requirements.txt")
    assert {k: (program[k], pack[k]) for k in program.keys() & pack.keys() if program[k] != pack[k]} == {}


@pytest.mark.skipif(not (REPO / ".venv" / "bin" / "python").exists(), reason="no .venv (make setup)")
def test_the_pack_runs_in_the_virtualenv_it_names():
    """The engine starts the pack with <virtualenv>/bin/python, not the base interpreter that
    symlink points at (whose site-packages lack the pack's requirements on Debian)."""
    from layerguard.analyzer import PolicyPackProcess
    pack = PolicyPackProcess(REPO / "policy", project="p", stack="s", organization="o", dry_run=True,
                             config={}, secret_keys=set())
    python = pack._python()
    assert Path(python).parent.parent in (REPO / ".venv", Path(sys.prefix))
    prefix = subprocess.run([python, "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert prefix == str(REPO / ".venv")
