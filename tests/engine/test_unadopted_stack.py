"""A stack that has not adopted the layer contract (no `layerguard:layer` label anywhere): the pack
leads with one finding that says so and what to label, keeps every bypass it found, and fails."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from layerguard.engine import preview

REPO = Path(__file__).resolve().parents[2]
PROGRAM = REPO / "tests" / "fixtures" / "public" / "aws-py-wordpress-fargate-rds"
LEAD = "has no `layerguard:layer` labels"


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    copy = tmp_path_factory.mktemp("unadopted") / PROGRAM.name
    shutil.copytree(PROGRAM, copy)
    (copy / "venv").symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
    return copy


def _bypass(result):
    return [v for v in result.violations if v.policy == "disallow-node-bypass"]


@pytest.mark.parametrize("mode", ["preview", "update"])
def test_an_unlabelled_stack_leads_with_what_to_label_and_still_fails(program, mode):
    # resource policies advisory, so that an update is not stopped by one before AnalyzeStack
    levels = {"all": "advisory", "disallow-node-bypass": "mandatory"}
    result = preview(program, "dev", mode, policy_pack=REPO / "policy", policy_config=levels,
                     config={"aws:region": "us-west-2"})
    assert result.exit_code == 1 and result.stack_analyzed
    found = _bypass(result)
    lead = [v for v in found if LEAD in v.message]
    assert len(lead) == 1 and found[0] is lead[0]
    assert lead[0].enforcement == "mandatory"
    assert lead[0].urn in ("", f"urn:pulumi:dev::{result.project}::pulumi:pulumi:Stack::{result.project}-dev")
    assert "README.md#layer-identity" in lead[0].message and "`node`" in lead[0].message
    # the paths stay, each on the resource that opens it
    opened = {v.urn.rsplit("::", 1)[1] for v in found if v is not lead[0]}
    assert {"wp-example-fe-listener", "wp-example-net-fe-sg"} <= opened


def test_a_labelled_stack_gets_no_lead_finding(program):
    labels = json.dumps({"tags": {"layerguard:layer": "app"}})
    result = preview(program, "dev", policy_pack=REPO / "policy",
                     config={"aws:region": "us-west-2", "aws:defaultTags": labels})
    assert result.exit_code == 1  # an app open to the internet is still a bypass
    assert _bypass(result) and not any(LEAD in v.message for v in _bypass(result))
