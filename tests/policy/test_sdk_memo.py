"""The pack's AnalyzeStack memo (policy/guard/sdk_memo.py) changes speed, never verdicts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from layerguard.engine import preview

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def _verdicts(result):
    return sorted((v.policy, v.enforcement, v.urn, v.message) for v in result.violations)


@pytest.mark.parametrize("case", ["baseline", "app-sg-open-world"])
def test_same_diagnostics_with_and_without_the_memo(case, monkeypatch):
    kwargs = {"policy_pack": REPO / "policy", "config": {"scenarios:case": case}}
    with_memo = preview(SCENARIOS, "test", **kwargs)
    monkeypatch.setenv("LAYERGUARD_NO_SDK_MEMO", "1")
    without = preview(SCENARIOS, "test", **kwargs)
    assert with_memo.error is None and without.error is None, (with_memo.error, without.error)
    assert _verdicts(with_memo) == _verdicts(without)
    assert (with_memo.exit_code, case) in ((0, "baseline"), (1, "app-sg-open-world"))


def test_the_memo_is_installed_in_the_pack_process():
    # The pack's entry point installs it; the switch turns it off (read at install time).
    import sys
    sys.path.insert(0, str(REPO / "policy"))
    try:
        from guard import sdk_memo
        os.environ["LAYERGUARD_NO_SDK_MEMO"] = "1"
        assert sdk_memo.install() is False
    finally:
        os.environ.pop("LAYERGUARD_NO_SDK_MEMO", None)
        sys.path.remove(str(REPO / "policy"))
    assert "sdk_memo.install()" in (REPO / "policy" / "__main__.py").read_text()
