"""Production means one thing to the program and the pack (issue 20, docs/CONTRACTS.md
"Production"), and the node, WAF and Wallarm Cloud settings the issue found missing reach the
resources: failing closed with what the 7.1.0 image reads, the release and digest in the image,
Bot Control's inspection level, the ME cloud."""

from __future__ import annotations

import json

from _program import REPO, TASK, of_type, run

from layerguard.engine import preview

MODE = "enforce-wallarm-mode"
RELEASE = "require-supported-node-release"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"


def node(result) -> dict:
    (task,) = [r for r in of_type(result, TASK) if r.name == "node-task"]
    (container,) = [c for c in json.loads(task.inputs["containerDefinitions"]) if c["name"] == "wallarm-node"]
    return container


def test_a_copy_of_prod_named_live_in_monitoring_mode_is_refused_by_the_pack():
    """The pack used to read production from the stack name only: `live` passed in monitoring mode.
    The program declares environment prod on its providers, so the pack judges `live` as prod."""
    result = preview(REPO, "live", "preview", config_file=REPO / "Pulumi.prod.yaml",
                     policy_pack=REPO / "policy", config={"layerguard:wallarmMode": "monitoring"})
    assert result.error is None, result.error
    mode = [v for v in result.mandatory if v.policy == MODE]
    # WALLARM_MODE and the vhost's wallarm_mode, both on the node task.
    assert {v.urn.rsplit("::", 1)[-1] for v in mode} == {"node-task"}, [v.message for v in result.violations]
    assert all("'live' (production: it declares layerguard:environment=prod)" in v.message for v in mode)
    # The same copy in block mode passes: nothing but the declaration changed the verdict.
    clean = preview(REPO, "live", "preview", config_file=REPO / "Pulumi.prod.yaml",
                    policy_pack=REPO / "policy")
    assert clean.exit_code == 0, [v.message for v in clean.mandatory]


def test_fail_closed_nodes_set_what_the_image_reads():
    env = {e["name"]: e["value"] for e in node(run("prod", "update"))["environment"]}
    assert env["WALLARM_FALLBACK"] == "false"
    assert env["WALLARM_IGNORE_REGISTER_ERROR"] == "false"


def test_the_pack_refuses_a_prod_node_that_ignores_start_up_errors(tmp_path):
    """A user's edit that drops the switch the 7.x image gates NGINX on is caught by the pack."""
    program = tmp_path / "program"
    program.mkdir()
    for item in REPO.iterdir():
        if item.name in ("components", "Pulumi.yaml", "Pulumi.prod.yaml", "requirements.txt", ".venv"):
            (program / item.name).symlink_to(item)
    main = (REPO / "__main__.py").read_text()
    (program / "__main__.py").write_text(
        "from components import node_fleet as _nf\n"
        "_orig = _nf.fail_closed_environment\n"
        "_nf.fail_closed_environment = lambda fc: [e for e in _orig(fc)"
        " if e['name'] != 'WALLARM_IGNORE_REGISTER_ERROR']\n" + main)
    result = preview(program, "prod", "update", policy_pack=REPO / "policy")
    mode = [v for v in result.mandatory if v.policy == MODE]
    assert [v.urn.rsplit("::", 1)[-1] for v in mode] == ["node-task"], result.error
    assert "WALLARM_IGNORE_REGISTER_ERROR None" in mode[0].message


def test_the_release_and_digest_reach_the_image():
    digest = "sha256:" + "ab" * 32
    result = run("dev", "update", config={"layerguard:nodeImageDigest": digest})
    assert result.exit_code == 0, result.error
    assert node(result)["image"].endswith(f"/wallarm/node:7.1.0@{digest}")


def test_the_pack_passes_a_digest_pinned_release_in_prod():
    digest = "sha256:" + "ab" * 32
    result = preview(REPO, "prod", "update", policy_pack=REPO / "policy",
                     config={"layerguard:nodeImageDigest": digest})
    assert result.exit_code == 0, [v.message for v in result.mandatory]
    assert not [v for v in result.violations if v.policy == RELEASE]


def test_bot_control_carries_its_inspection_level():
    groups = json.dumps(["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                         "AWSManagedRulesBotControlRuleSet"])
    for level in ("COMMON", "TARGETED"):
        result = run("dev", "preview", config={"layerguard:wafManagedRuleGroups": groups,
                                               "layerguard:wafBotControlInspectionLevel": level})
        assert result.exit_code == 0, result.error
        (acl,) = of_type(result, WEB_ACL)
        bot = next(r for r in acl.inputs["rules"] if r["name"] == "AWSManagedRulesBotControlRuleSet")
        configs = bot["statement"]["managedRuleGroupStatement"]["managedRuleGroupConfigs"]
        assert configs == [{"awsManagedRulesBotControlRuleSet": {"inspectionLevel": level}}], acl.urn
        common = next(r for r in acl.inputs["rules"] if r["name"] == "AWSManagedRulesCommonRuleSet")
        assert not common["statement"]["managedRuleGroupStatement"].get("managedRuleGroupConfigs")


def test_the_me_cloud_is_offered():
    result = run("dev", "update", config={"layerguard:wallarmCloud": "me"})
    assert result.exit_code == 0, result.error
    env = {e["name"]: e["value"] for e in node(result)["environment"]}
    assert env["WALLARM_API_HOST"] == "me1.api.wallarm.com"
