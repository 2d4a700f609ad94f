"""The node token: stored only as a secret, never in plaintext in any captured input or output."""

from __future__ import annotations

import json

import pytest
from _program import run, walk_plain, walk_secret

# Distinctive, so any leak is found by a plain substring search.
TOKEN = "lg-test-token-7f3c9a1e5b2d4c68"
TOKEN_MODE = {"secrets": {"layerguard:wallarmToken": TOKEN},
              "config": {"layerguard:wallarmTokenSecretArn": ""}}


@pytest.fixture(scope="module", params=["preview", "update"])
def token_run(request):
    result = run("dev", request.param, **TOKEN_MODE)
    assert result.exit_code == 0, result.error
    return request.param, result


def test_token_never_in_plaintext(token_run):
    _mode, result = token_run
    for res in result.resources:
        for where, value in [("inputs", res.inputs), ("outputs", res.outputs)]:
            for path, text in walk_plain(value):
                assert TOKEN not in text, f"{res.urn}: token in plaintext at {where}{path[1:]}"
    assert TOKEN not in json.dumps(result.outputs)
    assert TOKEN not in json.dumps(result.program_log)


def test_token_is_stored_as_a_secret(token_run):
    """The search above can see the token: it is there, but only inside a secret wrapper."""
    mode, result = token_run
    by_name = {r.name: r for r in result.resources}
    version = by_name["node-token-value"]
    assert TOKEN in list(walk_secret(version.inputs["secretString"]))
    secret = by_name["node-token"]
    assert secret.inputs["tags"]["layerguard:layer"] == "node"
    if mode == "update":
        containers = json.loads(by_name["node-task"].inputs["containerDefinitions"])
        (ref,) = containers[-1]["secrets"]
        assert ref == {"name": "WALLARM_API_TOKEN", "valueFrom": secret.outputs["arn"]}
        policy = json.loads(by_name["node-execution-policy"].inputs["policy"])
        assert secret.outputs["arn"] in [s["Resource"] for s in policy["Statement"]]


def test_plaintext_token_is_refused_without_echoing_it():
    result = run("dev", "preview", config={"layerguard:wallarmToken": TOKEN,
                                           "layerguard:wallarmTokenSecretArn": ""})
    assert result.exit_code == 2
    assert "wallarmToken" in result.error and "plaintext" in result.error
    assert TOKEN not in result.error
