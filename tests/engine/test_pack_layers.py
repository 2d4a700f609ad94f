"""The report's layers are the pack's own (its `report-layers` policy), not a second implementation."""

from __future__ import annotations

import json
from pathlib import Path

from layerguard.engine import LAYERS_POLICY, LAYERS_PREFIX, preview

REPO = Path(__file__).resolve().parents[2]
FIXTURE_PACK = REPO / "tests" / "fixtures" / "engine" / "pack"
HYGIENE = REPO / "tests" / "policy" / "programs" / "hygiene"


def _layers_reported(result) -> dict[str, str]:
    [diagnostic] = [v for v in result.violations if v.policy == LAYERS_POLICY]
    line = next(x for x in diagnostic.message.splitlines() if x.startswith(LAYERS_PREFIX))
    return json.loads(line[len(LAYERS_PREFIX):])


def test_the_report_labels_resources_with_the_pack_layers():
    labelled = preview(HYGIENE, "dev", policy_pack=REPO / "policy")
    asked = preview(HYGIENE, "dev", policy_pack=REPO / "policy", policy_config={LAYERS_POLICY: "advisory"})
    assert labelled.error is None and asked.error is None, (labelled.error, asked.error)
    # Consumed when the engine asked for it; shown as the user asked for it otherwise.
    assert not [v for v in labelled.violations if v.policy == LAYERS_POLICY]
    pack_layers = _layers_reported(asked)
    assert {r.urn: r.layer for r in labelled.resources if r.urn in pack_layers} == pack_layers
    # The case the two implementations disagreed on: an untagged service attached to a node group
    # is not trusted as a node by the pack, and the report now says the same.
    [svc] = [r for r in labelled.resources if r.name == "app-svc"]
    assert svc.layer == pack_layers[svc.urn] != "node"


def test_a_pack_without_the_policy_keeps_the_engine_labels():
    result = preview(REPO / "tests" / "fixtures" / "engine" / "program", "dev", policy_pack=FIXTURE_PACK)
    assert {r.layer for r in result.resources} >= {"edge", "app"}
    assert not [v for v in result.violations if v.policy == LAYERS_POLICY]
