"""Smoke test of the benchmark harness (`make bench`): it runs end to end on the smallest sizes
with one repetition and reports what it should. No timing is asserted: performance claims come
from `make bench` on a known machine (docs/BENCHMARKS.md), never from timed unit tests."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
sys.path[:0] = [str(BENCH)]

STAT = r"\d+(?:\.\d+)? \(\d+(?:\.\d+)?–\d+(?:\.\d+)?\)"  # median (min–max)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--runs", "1", "--warmup", "0", "--sizes", "1000",
         "--b3-size", "100", "--output", str(out / "BENCHMARKS.md"), "--json", str(out / "results.json")],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, (out / "BENCHMARKS.md").read_text(encoding="utf-8"), \
        json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_machine_and_method_are_described(smoke):
    _stdout, doc, results = smoke
    machine = results["machine"]
    assert machine["cores"] >= 1 and machine["memory_gib"] > 0 and machine["python"].count(".") == 2
    assert set(machine["packages"]) >= {"pulumi", "pulumi-aws", "pulumi-policy", "grpcio", "protobuf"}
    assert "cores" in doc and "GiB RAM" in doc and f"CPython {machine['python']}" in doc
    assert "median (min–max)" in doc and "warm-up" in doc
    assert doc.startswith("# Benchmarks")


def test_b1_reports_the_whole_process_tree(smoke):
    stdout, _doc, results = smoke
    (dev,) = results["b1"]
    assert dev["stack"] == "dev" and dev["resources"] > 0 and dev["exit_codes"] in ([0], [1], [0, 1])
    assert dev["processes"] >= 3, "the CLI, the language host and the pack are one tree"
    assert {"cli", "host", "pack"} <= set(dev["cpu_by_role"])
    assert dev["peak_rss_mb"]["median"] >= dev["largest_process_mb"]["median"] > 0
    row = next(line for line in stdout.splitlines() if line.startswith("| dev |"))
    assert len(re.findall(STAT, row)) == 5, row


def test_b2_measures_a_pack_that_finds_every_bypass(smoke):
    stdout, _doc, results = smoke
    (b2,) = results["b2"]
    assert b2["target"] == 1000 and 900 <= b2["resources"] <= 1100
    assert b2["bypass_units"] >= 4 and b2["detected"] == b2["bypass_units"] and b2["false_positive_units"] == 0
    assert b2["violations"] >= b2["bypass_units"] and b2["by_policy"]
    for key in ("analyze_stack_s", "analyze_median_ms", "analyze_p95_ms", "startup"):
        assert b2[key]["runs"] == 1 and b2[key]["min"] <= b2[key]["median"] <= b2[key]["max"]
    row = next(line for line in stdout.splitlines() if line.startswith("| 1,000 |"))
    assert f"{b2['detected']}/{b2['bypass_units']}" in row and len(re.findall(STAT, row)) == 5, row
    assert "| target | measured (median) | verdict |" in stdout


def test_b3_shows_the_pack_share(smoke):
    stdout, _doc, results = smoke
    b3 = results["b3"]
    assert b3["resources"] > 0 and b3["units"] >= 1
    assert b3["without_pack_s"]["runs"] == b3["with_pack_s"]["runs"] == 1
    assert "| without the pack |" in stdout and "| with the pack |" in stdout and "the pack's share" in stdout


def test_synthetic_units_are_captured_like_a_real_preview(tmp_path):
    import synth

    templates = synth.capture_templates(tmp_path)
    stack, plan = synth.replicate(templates, 6)
    units = {synth.unit_of(r.urn) for r in stack.resources} - {None}
    assert units == set(range(6)) and len(plan) == 6
    sg_rule = next(r for r in stack.resources if r.name == "u0003-node-out-upstream")
    # ids are the engine's unknown sentinel and links are property dependencies to renamed URNs
    assert sg_rule.inputs["securityGroupId"] == "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    assert all("u0003-" in u for u in sg_rule.property_dependencies["securityGroupId"])
    assert sg_rule.inputs["tags"]["layerguard:layer"] == "node" and "ipProtocol" in sg_rule.inputs
    assert any(r.type == "layerguard:edge:AlbPerimeter" for r in stack.resources)


def test_tree_peak_rss_is_a_sum_not_the_largest_process(tmp_path):
    """Two processes hold memory at the same time: the tree's peak must count both, while
    ru_maxrss (what getrusage offers) only sees the larger one."""
    from measure import run_tree

    script = tmp_path / "tree.py"
    script.write_text(textwrap.dedent("""
        import subprocess, sys, time
        if len(sys.argv) > 1:
            block = bytearray(120 * 1024 * 1024)
            time.sleep(1.0)
            sys.exit(0)
        child = subprocess.Popen([sys.executable, __file__, "child"])
        block = bytearray(80 * 1024 * 1024)
        child.wait()
    """))
    run = run_tree([sys.executable, str(script)], cwd=tmp_path)
    assert run.returncode == 0 and run.processes == 2
    assert run.largest_process_mb >= 120
    assert run.peak_rss_mb >= 190, (run.peak_rss_mb, run.largest_process_mb)
    assert run.hwm_sum_mb >= run.peak_rss_mb
