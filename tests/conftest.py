"""Test-suite setup: the repo on sys.path, and one zygote for the whole session.

Every offline preview forks its language host from the zygote (layerguard/zygote.py), which has
imported the SDK once, instead of starting a new interpreter that imports it again: each preview
stays a process of its own, the suite stops paying the SDK import per preview.
`LAYERGUARD_NO_ZYGOTE=1` runs every host the cold way (what a single CLI preview does).
"""

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

_ZYGOTE = None


def pytest_sessionstart(session):
    global _ZYGOTE
    if os.environ.get("LAYERGUARD_NO_ZYGOTE"):
        return
    if getattr(session.config.option, "numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # pytest-xdist's controller runs no test: each worker starts its own zygote
    from layerguard.zygote import Zygote, sdk_modules
    _ZYGOTE = Zygote(sdk_modules(REPO)).__enter__()


def pytest_sessionfinish(session, exitstatus):
    if _ZYGOTE is not None:
        _ZYGOTE.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _session_zygote_kept():
    """A test that changes LAYERGUARD_ZYGOTE must put it back (monkeypatch does): otherwise every
    later preview of the session starts a cold host, and the suite silently takes three times as
    long (it did, once)."""
    yield
    if _ZYGOTE is not None:
        assert os.environ.get("LAYERGUARD_ZYGOTE") == _ZYGOTE.socket_path, \
            "this test left LAYERGUARD_ZYGOTE changed: later previews would not use the session's zygote"
