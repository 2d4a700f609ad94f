"""The zygote (layerguard/zygote.py): forked language hosts behave like cold ones and stay isolated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from layerguard.engine import preview
from layerguard.zygote import ENV, Zygote

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PROGRAM, PACK, PROBE = FIXTURES / "engine" / "program", FIXTURES / "engine" / "pack", FIXTURES / "zygote"
REPO = FIXTURES.parent.parent


def _shape(result):
    """What a preview captured and concluded. Registration order is left out: the SDK registers
    resources from concurrent asyncio tasks, so it varies between any two runs, cold or forked."""
    return (sorted((r.urn, r.type, r.parent or "", json.dumps(r.inputs, sort_keys=True),
                    json.dumps({k: sorted(v) for k, v in r.property_dependencies.items()}, sort_keys=True), r.layer)
                   for r in result.resources),
            sorted((v.policy, v.enforcement, v.urn, v.message) for v in result.violations), result.outputs)


def _cold(*args, **kwargs):
    saved = os.environ.pop(ENV, None)
    try:
        return preview(*args, **kwargs)
    finally:
        if saved is not None:
            os.environ[ENV] = saved


def test_a_forked_host_captures_what_a_cold_host_captures():
    for mode in ("preview", "update"):
        cold = _cold(PROGRAM, "dev", mode, policy_pack=PACK)
        with Zygote():
            forked = preview(PROGRAM, "dev", mode, policy_pack=PACK)
        assert cold.exit_code == forked.exit_code == 1, (cold.error, forked.error)
        if mode == "update":
            # An update stops at the first resource a mandatory Analyze rejects, and which one comes
            # first follows the registration order: compare what was captured, not where it stopped.
            assert _shape(forked)[0] == _shape(cold)[0] and cold.stopped and forked.stopped, mode
            continue
        assert _shape(forked) == _shape(cold), mode


def test_forked_hosts_share_no_module_state():
    with Zygote(["pulumi_aws.ec2"]):
        first, second = preview(PROBE, "dev"), preview(PROBE, "dev")
    assert first.exit_code == second.exit_code == 0, (first.error, second.error)
    assert first.outputs["marksFound"] == second.outputs["marksFound"] == 0
    assert first.outputs["pid"] != second.outputs["pid"]  # a process per preview


def test_a_program_failure_is_reported_as_from_a_cold_host():
    cold = _cold(PROGRAM, "dev", config={"failWith": "boom"})
    with Zygote():
        forked = preview(PROGRAM, "dev", config={"failWith": "boom"})
    assert cold.exit_code == forked.exit_code == 2
    assert forked.error == cold.error and "boom" in forked.error


def test_a_vanished_zygote_falls_back_to_a_cold_host(tmp_path, monkeypatch):
    # monkeypatch puts the session's zygote back afterwards (popping the variable instead left every
    # later preview of the session on cold hosts)
    monkeypatch.setenv(ENV, str(tmp_path / "gone.sock"))
    result = preview(PROBE, "dev")
    assert result.exit_code == 0 and result.outputs["marksFound"] == 0


def test_the_zygote_stops_with_its_block():
    with Zygote() as zygote:
        pid = zygote._proc.pid
        assert Path(zygote.socket_path).exists()
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


def test_preview_all_runs_every_stack_and_exits_with_the_worst(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("config:\n  layerguard:environment: nowhere\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "layerguard", "preview", "--all", "--config-file", str(broken)],
                         cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    for stack in ("dev", "staging", "prod"):
        assert any(line.startswith(f"stack {stack} ") and " passed " in line for line in lines), run.stdout
    assert any(line.startswith(f"{broken} (dev)") and " ERROR " in line for line in lines), run.stdout
    assert "environment" in run.stdout and "nowhere" in run.stdout  # the key and the value given


def test_a_forked_pack_judges_as_a_started_pack_does():
    """The pack forked from the zygote (zygote.ForkedPack) gives the verdicts, messages and exit
    code of `python -m pulumi.policy` started the CLI's way, in both modes and on a broken pack.
    Both runs fork their host from the same zygote: only the pack's start differs."""
    from layerguard import analyzer
    original, forked = analyzer.PolicyPackProcess._forked, []

    def run(fork: bool, *args, **kwargs):
        analyzer.PolicyPackProcess._forked = (lambda self, argv: forked.append(1) or original(self, argv)) if fork \
            else (lambda self, argv: None)
        try:
            return preview(*args, **kwargs)
        finally:
            analyzer.PolicyPackProcess._forked = original

    with Zygote():
        for mode in ("preview", "update"):
            started, warm = run(False, PROGRAM, "dev", mode, policy_pack=PACK), run(True, PROGRAM, "dev", mode, policy_pack=PACK)
            assert forked, "the pack was not forked"
            assert started.exit_code == warm.exit_code == 1, (started.error, warm.error)
            if mode == "update":  # stops at the first mandatory Analyze: which one follows registration order
                assert started.stopped and warm.stopped
                continue
            assert sorted((v.policy, v.enforcement, v.urn, v.message) for v in warm.violations) == \
                sorted((v.policy, v.enforcement, v.urn, v.message) for v in started.violations)
        broken = FIXTURES / "engine" / "broken"
        started, warm = run(False, PROGRAM, "dev", policy_pack=broken), run(True, PROGRAM, "dev", policy_pack=broken)
    assert started.exit_code == warm.exit_code == 2
    assert "broken on purpose" in started.error and "broken on purpose" in warm.error


def test_a_forked_pack_runs_where_a_started_pack_runs():
    """A forked pack's working directory and import path are those of `python -m pulumi.policy`
    started in the pack's directory: the engine's own package is importable in it exactly when it
    is in a started pack (the zygote's own imports and path do not leak into it)."""
    from layerguard import analyzer
    probe = FIXTURES / "zygote" / "pack"
    original = analyzer.PolicyPackProcess._forked
    with Zygote():
        analyzer.PolicyPackProcess._forked = lambda self, argv: None
        try:
            started = preview(PROGRAM, "dev", policy_pack=probe)
        finally:
            analyzer.PolicyPackProcess._forked = original
        warm = preview(PROGRAM, "dev", policy_pack=probe)
    said = [[v.message for v in r.violations if v.policy == "where-am-i"] for r in (started, warm)]
    assert said[0] and said[0] == said[1], said
    assert f"cwd={probe}" in said[1][0]
