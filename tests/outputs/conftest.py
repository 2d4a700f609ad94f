"""Previews for the CI-output tests, each run once per session: the dev stack (compliant) and one
node bypass from the reachability scenarios (a security group rule opening the app tasks to
0.0.0.0/0)."""

from __future__ import annotations

import pytest
from _cli_runs import BYPASS_CASE, PACK, REPO, SCENARIOS, Run, run_cli

from layerguard.engine import PreviewResult, preview


@pytest.fixture(scope="session")
def dev_run(tmp_path_factory) -> Run:
    return run_cli(tmp_path_factory.mktemp("outputs") / "dev", "png", "--stack", "dev", "--program", str(REPO))


@pytest.fixture(scope="session")
def bypass_run(tmp_path_factory) -> Run:
    return run_cli(tmp_path_factory.mktemp("outputs") / "bypass", "svg", "--stack", "test",
                   "--program", str(SCENARIOS), "--config", f"scenarios:case={BYPASS_CASE}")


@pytest.fixture(scope="session")
def cdn_result() -> PreviewResult:
    """A CloudFront distribution in front of the internal app ALB: an entry that is the bypass."""
    return preview(SCENARIOS, "test", policy_pack=PACK, config={"scenarios:case": "cloudfront-origin-app-lb"})
