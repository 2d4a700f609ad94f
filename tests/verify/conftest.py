"""One moto server (server mode, loopback, random port) per test module, and one update-mode
preview of the dev stack (HTTP-only edge, so the probes can speak plain HTTP to local servers)
per session, exported in the `pulumi stack export` format."""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
           "AWS_DEFAULT_REGION": "eu-west-1", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
           "AWS_EC2_METADATA_DISABLED": "true",
           # moto reports this many running tasks for each service it creates (its documented knob;
           # an update of desiredCount sets the running count to it): one node task running.
           "MOTO_ECS_SERVICE_RUNNING": "1"}


@pytest.fixture(scope="session")
def dev_export():
    from layerguard.engine import preview
    from layerguard.verify import from_preview
    result = preview(REPO, "dev", "update", policy_pack=None,
                     config={"layerguard:certificateArn": "", "layerguard:allowHttpOnly": "true"})
    assert result.exit_code == 0, result.error
    return from_preview(result)


@pytest.fixture(scope="module")
def moto_url():
    from moto.server import ThreadedMotoServer
    saved = {k: os.environ.get(k) for k in AWS_ENV}
    os.environ.update(AWS_ENV)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def account(moto_url, dev_export, tmp_path):
    """A fresh moto account seeded from the dev stack; the state file rewritten to its ids."""
    from _seed import seed
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10).read()
    state, live = seed(dev_export, moto_url)
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state), encoding="utf-8")
    live.update(state=state, path=path, endpoint=moto_url)
    return live
