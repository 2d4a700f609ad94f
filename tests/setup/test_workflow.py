"""The GitHub Actions workflow: it parses, runs the README's preview command with the outputs,
uploads the SARIF it writes with the permission that needs, and keeps ONE pull-request comment,
found by its hidden marker and updated in place (the comment script run in Node against a fake
GitHub API)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "layerguard.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    doc = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    doc["on"] = doc.pop(True, doc.get("on"))   # YAML 1.1 reads the key `on` as true
    return doc


def _steps(workflow) -> list[dict]:
    return workflow["jobs"]["preview"]["steps"]


def test_triggers_and_permissions(workflow):
    assert set(workflow["on"]) == {"pull_request", "push"}
    assert workflow["permissions"] == {"contents": "read"}
    job = workflow["jobs"]["preview"]["permissions"]
    assert job["security-events"] == "write" and job["pull-requests"] == "write"


def test_the_preview_writes_the_sarif_the_upload_sends(workflow):
    steps = _steps(workflow)
    run = next(s for s in steps if s.get("id") == "preview")
    command = run["run"]
    assert command.startswith(".venv/bin/python -m layerguard preview")
    assert run["continue-on-error"] is True
    sarif_file = command.split("--sarif ", 1)[1].split()[0]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["sarif_file"] == sarif_file and "always()" in upload["if"]
    assert any("make setup" in str(s.get("run", "")) for s in steps)
    last = steps[-1]
    assert last["if"] == "steps.preview.outcome == 'failure'" and last["run"] == "exit 1"


def _comment_step(workflow) -> dict:
    return next(s for s in _steps(workflow) if str(s.get("uses", "")).startswith("actions/github-script@"))


def test_the_comment_is_found_by_a_hidden_marker(workflow):
    step = _comment_step(workflow)
    marker = step["env"]["MARKER"]
    assert marker.startswith("<!--") and marker.endswith("-->")
    script = step["with"]["script"]
    assert "updateComment" in script and "createComment" in script and "listComments" in script


NODE = shutil.which("node")


def _run_script(workflow, tmp_path, existing: list[dict], summary: str) -> list[dict]:
    step = _comment_step(workflow)
    (tmp_path / "summary.md").write_text(summary, encoding="utf-8")
    harness = """
const calls = [];
const existing = EXISTING;
const github = {
  paginate: async (fn, args) => { calls.push({op: 'list', args}); return existing; },
  rest: { issues: {
    listComments: 'listComments',
    updateComment: async (args) => calls.push({op: 'update', args}),
    createComment: async (args) => calls.push({op: 'create', args}),
  } },
};
const context = { repo: { owner: 'o', repo: 'r' }, issue: { number: 7 } };
(async () => {
SCRIPT
})().then(() => console.log(JSON.stringify(calls)), (e) => { console.error(e); process.exit(1); });
""".replace("EXISTING", json.dumps(existing)).replace("SCRIPT", step["with"]["script"])
    (tmp_path / "h.js").write_text(harness, encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "MARKER": step["env"]["MARKER"], "SUMMARY": str(tmp_path / "summary.md")}
    out = subprocess.run([NODE, str(tmp_path / "h.js")], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.skipif(NODE is None, reason="needs node to run the github-script step")
def test_first_run_adds_the_comment_later_runs_update_it(workflow, tmp_path):
    marker = _comment_step(workflow)["env"]["MARKER"]
    calls = _run_script(workflow, tmp_path, [], "## layerguard PASSED")
    [create] = [c for c in calls if c["op"] == "create"]
    assert create["args"]["issue_number"] == 7 and create["args"]["body"].startswith(marker)
    assert "## layerguard PASSED" in create["args"]["body"]

    existing = [{"id": 1, "user": {"type": "User"}, "body": f"quoting {marker}"},   # a person's: left alone
                {"id": 2, "user": {"type": "Bot"}, "body": "another bot"},
                {"id": 3, "user": {"type": "Bot"}, "body": f"{marker}\nold summary"}]
    calls = _run_script(workflow, tmp_path, existing, "## layerguard FAILED")
    assert [c["op"] for c in calls] == ["list", "update"]
    assert calls[1]["args"]["comment_id"] == 3 and "FAILED" in calls[1]["args"]["body"]


@pytest.mark.skipif(NODE is None, reason="needs node to run the github-script step")
def test_a_summary_too_long_for_a_comment_is_cut(workflow, tmp_path):
    calls = _run_script(workflow, tmp_path, [], "x" * 70000)
    body = calls[-1]["args"]["body"]
    assert len(body) < 65536 and "artifact" in body
