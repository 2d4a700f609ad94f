"""Test-suite setup: the repo on sys.path, and one zygote for the whole session.

Every offline preview forks its language host from the zygote (layerguard/zygote.py), which has
imported the SDK once, instead of starting a new interpreter that imports it again: each preview
stays a process of its own, the suite stops paying the SDK import per preview.
`LAYERGUARD_NO_ZYGOTE=1` runs every host the cold way (what a single CLI preview does).
"""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

_ZYGOTE = None


def pytest_sessionstart(session):
    global _ZYGOTE
    if os.environ.get("LAYERGUARD_NO_ZYGOTE"):
        return
    from layerguard.zygote import Zygote, sdk_modules
    _ZYGOTE = Zygote(sdk_modules(REPO)).__enter__()


def pytest_sessionfinish(session, exitstatus):
    if _ZYGOTE is not None:
        _ZYGOTE.__exit__(None, None, None)
