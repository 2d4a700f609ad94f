"""The pictures and reports say what the stack does: the WAF on an API Gateway stage, an NLB's WAF
exemption, the nodes' mode and fail state, CloudFront's secret origin header, an existing backend
by its address; the SVG and --json are the same bytes run after run (the program registers in a
varying order); SARIF points at the stack-file line that set the offending value; the command line
says which files it wrote and, on long runs, each phase."""

from __future__ import annotations

import json

import pytest
from _cli_runs import CAN_DRAW, PACK, REPO

from layerguard import cli, report
from layerguard.engine import preview
from layerguard.outputs import markdown, model, sarif

EXAMPLES = REPO / "examples"
_cache: dict[str, object] = {}


def _preview(name: str, pack: bool = False):
    key = f"{name}:{pack}"
    if key not in _cache:
        config_file = EXAMPLES / name if name.endswith(".yaml") else None
        stack = "dev" if config_file else name
        _cache[key] = preview(REPO, stack, policy_pack=PACK if pack else None, config_file=config_file)
        assert _cache[key].exit_code in (0, 1), _cache[key].error
    return _cache[key]


def _node(picture: model.Traffic, name: str) -> model.Node:
    found = [n for n in picture.nodes.values() if n.name == name]
    assert len(found) == 1, (name, [n.name for n in picture.nodes.values()])
    return found[0]


def _text(node: model.Node) -> str:
    return " | ".join((node.detail, *node.notes))


def test_the_waf_on_an_api_gateway_stage_is_drawn_on_its_api():
    result = _preview("apigateway.yaml")
    picture = model.traffic(result)
    api, acl = _node(picture, "edge-api"), _node(picture, "edge-web-acl")
    assert (acl.key, api.key) in picture.protections
    assert picture.protection_label(acl.key, api.key) == "protects stage edge-stage"
    assert "NO AWS WAF" not in _text(api)
    assert "protects stage edge-stage" in markdown.mermaid(result)


def test_an_nlb_exempt_from_waf_says_so_with_its_reason():
    result = _preview("nlb-waf-exempt.yaml")
    nlb = _node(model.traffic(result), "edge-nlb")
    assert nlb.detail == "NLB, internet-facing"
    assert "NO AWS WAF, exempt: partner clients pin our static IPs" in _text(nlb)
    assert "exempt: partner clients" in markdown.mermaid(result)


def test_a_protected_entry_carries_no_waf_warning():
    nlb = _node(model.traffic(_preview("nlb-cloudfront.yaml")), "edge-distribution")
    assert "NO AWS WAF" not in _text(nlb)


def test_the_node_mode_and_fail_state_of_each_stack():
    dev, prod = model.traffic(_preview("dev")), model.traffic(_preview("prod"))
    assert dev.fleet == ["mode monitoring (Cloud may only tighten)",
                         "FAIL-OPEN: serves unfiltered if its rules fail to load"]   # nodeFailClosed false
    assert prod.fleet == ["mode block (Cloud may only tighten)", "fail-closed"]
    assert "FAIL-OPEN" in _text(_node(dev, "node-service"))
    assert "mode block" in markdown.mermaid(_preview("prod"))


def test_cloudfronts_secret_origin_header_is_named_never_its_value():
    result = _preview("cloudfront-public-alb.yaml")
    dist = _node(model.traffic(result), "edge-distribution")
    assert "origin header X-Origin-Verify (secret)" in dist.notes
    # the vpcOrigin style sends none
    assert not [n for n in _node(model.traffic(_preview("cloudfront-vpc-origin.yaml")), "edge-distribution").notes
                if n.startswith("origin header")]


def test_an_existing_backend_is_drawn_by_its_address():
    backend = _node(model.traffic(_preview("existing-vpc-kong.yaml")), "app")
    assert "internal-kong-proxy-0123456789.elb.eu-west-1.amazonaws.com:8443" in backend.detail
    assert "https://internal-kong-proxy" in markdown.mermaid(_preview("existing-vpc-kong.yaml"))


def test_json_and_picture_are_stable_across_runs():
    """Two previews of one stack: the registration order differs, the outputs do not."""
    first = _preview("dev")
    second = preview(REPO, "dev", policy_pack=None)
    assert first.to_json() == second.to_json()
    assert markdown.mermaid(first) == markdown.mermaid(second)
    urns = [r["urn"] for r in first.to_json()["resources"]]
    assert urns[1:] == sorted(urns[1:]) and first.to_json()["resources"][0]["type"] == "pulumi:pulumi:Stack"


@pytest.mark.skipif(not CAN_DRAW, reason="needs diagrams and Graphviz (make setup)")
def test_svg_is_byte_for_byte_deterministic(tmp_path):
    from layerguard.outputs import diagram
    first, second = _preview("dev"), preview(REPO, "dev", policy_pack=None)
    diagram.render(first, tmp_path / "a.svg")
    diagram.render(second, tmp_path / "b.svg")
    diagram.render(first, tmp_path / "c.svg")
    a = (tmp_path / "a.svg").read_bytes()
    assert a == (tmp_path / "b.svg").read_bytes() == (tmp_path / "c.svg").read_bytes()
    assert b"FAIL&#45;OPEN" in a   # Graphviz writes - as &#45;


def test_sarif_points_at_the_stack_file_line_that_set_the_value(tmp_path):
    exempt = EXAMPLES / "nlb-waf-exempt.yaml"
    result = _preview("nlb-waf-exempt.yaml", pack=True)
    [found] = [r for r in sarif.run(result, REPO / "__main__.py", stack_file=exempt)["results"]
               if r["ruleId"] == "LG-PATH-002"]
    location = found["locations"][0]["physicalLocation"]
    line = next(i for i, text in enumerate(exempt.read_text().splitlines(), 1) if "nlbWafExemptionReason:" in text)
    assert location["region"]["startLine"] == line and location["artifactLocation"]["uri"].endswith("nlb-waf-exempt.yaml")

    stack = tmp_path / "Pulumi.off.yaml"
    stack.write_text((REPO / "Pulumi.dev.yaml").read_text().replace("wallarmMode: monitoring", "wallarmMode: 'off'"))
    off = preview(REPO, "dev", policy_pack=PACK, config_file=stack)
    lines = {r["locations"][0]["physicalLocation"]["region"]["startLine"]
             for r in sarif.run(off, REPO / "__main__.py", stack_file=stack)["results"] if r["ruleId"] == "LG-WLM-002"}
    mode_line = next(i for i, text in enumerate(stack.read_text().splitlines(), 1) if "wallarmMode:" in text)
    assert mode_line in lines


def test_a_finding_no_stack_value_explains_stays_on_the_program(bypass_run):
    doc = json.loads(bypass_run.sarif.read_text())
    bypass = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "LG-PATH-001"]
    assert bypass and all(r["locations"][0]["physicalLocation"]["region"]["startLine"] == 1 for r in bypass)
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("__main__.py") for r in bypass)


def test_the_command_line_names_the_files_it_wrote_and_each_phase(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(report.Progress, "LONG", 0.0)
    code = cli.main(["preview", "--stack", "dev", "--program", str(REPO), "--no-policy-pack",
                     "--json", str(tmp_path / "r.json"), "--markdown", str(tmp_path / "r.md")])
    err = capsys.readouterr().err
    assert code == 0
    assert f"wrote {tmp_path / 'r.json'}" in err and f"wrote {tmp_path / 'r.md'}" in err
    assert "program ran:" in err


def test_a_quick_run_prints_no_progress(capsys):
    report.Progress()("phase")
    assert capsys.readouterr().err == ""


def test_progress_lines_go_to_stderr_only(capsys, monkeypatch):
    monkeypatch.setattr(report.Progress, "LONG", 0.0)
    report.Progress("stack dev")("program ran: 3 registrations")
    out = capsys.readouterr()
    assert out.out == "" and "stack dev: program ran: 3 registrations" in out.err
