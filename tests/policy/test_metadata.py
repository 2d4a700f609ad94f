"""Metadata of every registered policy, the pinned ID list, and the generated RULES.md."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from _previews import PACK, key, run_all

from guard.registry import MODULES

RULES = [m.RULE for m in MODULES]
VERBS = ("disallow", "enforce", "configure", "missing", "require", "report", "restrict", "deny")
DOC_HOSTS = ("docs.aws.amazon.com", "docs.wallarm.com", "www.pulumi.com")

# The pack's policy IDs, in registration order. Changing an ID breaks users' suppressions and
# pack configs: update this list only on purpose.
PINNED_IDS = [
    "LG-ALB-001", "LG-ALB-002", "LG-ALB-003", "LG-ALB-004", "LG-ALB-005",
    "LG-WAF-001", "LG-WAF-002", "LG-ECS-001", "LG-WLM-001", "LG-WLM-002", "LG-WLM-003", "LG-APIGW-002",
    "LG-PATH-001", "LG-EDGE-001", "LG-EDGE-002", "LG-PATH-002", "LG-APIGW-001",
    "LG-META-003", "LG-META-004", "LG-META-001", "LG-META-002",
]


def test_ids_are_pinned():
    assert [r.id for r in RULES] == PINNED_IDS


def test_ids_and_names_are_unique():
    assert len({r.id for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)


def test_suppression_policies_run_last():
    assert [r.name for r in RULES][-2:] == ["require-suppression-reason", "report-suppressions"]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_metadata(rule):
    assert re.fullmatch(r"LG-[A-Z]{2,6}-\d{3}", rule.id)
    assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", rule.name) and rule.name.split("-")[0] in VERBS, rule.name
    for text in (rule.description, rule.remediation):
        assert text[0].isupper() and text.endswith("."), text
        assert len(text.split()) >= 6, text
    # one sentence: no sentence break inside the description
    assert not re.search(r"[.!?]\s+[A-Z]", rule.description[:-1]), rule.description
    assert rule.severity in ("low", "medium", "high", "critical")
    assert rule.level in ("advisory", "mandatory", "disabled")
    if rule.level == "disabled":  # only a report a tool asks for may be off by default
        assert rule.name.startswith("report-"), rule.name
    link = urlparse(rule.link)
    assert link.scheme == "https" and link.netloc in DOC_HOSTS, rule.link
    assert "enforcementLevel" not in rule.config


def test_rules_md_is_not_stale():
    import gen_rules  # policy/ is on sys.path once _previews is imported

    assert (PACK / "RULES.md").read_text(encoding="utf-8") == gen_rules.render(), \
        "policy/RULES.md is stale: run python policy/gen_rules.py"


def test_pack_serves_the_registered_metadata():
    """What the CLI sees over GetAnalyzerInfo matches the registry (one baseline preview)."""
    # Configuring report-layers keeps the engine from consuming it (engine._ask_for_layers), so the
    # result lists every policy the pack served.
    k = key("hygiene", "dev", "baseline", "preview", {"report-layers": "disabled"})
    result = run_all([k])[k]
    assert result.pack is not None and result.pack.version == "0.1.0", result.error
    served = {p["name"]: p for p in result.pack.policies}
    assert list(served) == [r.name for r in RULES]
    for rule in RULES:
        assert served[rule.name]["description"].startswith(f"{rule.id}: ")
        assert served[rule.name]["enforcementLevel"] == rule.level
        assert "suppressions" in served[rule.name]["configSchema"]
