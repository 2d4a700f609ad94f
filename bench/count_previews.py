"""A pytest plugin for bench/suite.py: counts the offline previews a test run makes in-process.

Loaded with `-p count_previews` (bench/ on PYTHONPATH). It wraps `layerguard.engine._preview`, which
every `preview()` call goes through, and writes the count to $LAYERGUARD_COUNT_FILE at the end.
Previews that tests start as separate `python -m layerguard` processes are not counted, so the
figure is a lower bound. Under pytest-xdist every worker (and the controller, with 0) appends its
own count as a line; bench/suite.py adds them up.
"""

from __future__ import annotations

import os
import threading

_count = 0
_lock = threading.Lock()


def pytest_configure(config):
    from layerguard import engine
    original = engine._preview

    def counted(*args, **kwargs):
        global _count
        with _lock:
            _count += 1
        return original(*args, **kwargs)

    engine._preview = counted


def pytest_unconfigure(config):
    path = os.environ.get("LAYERGUARD_COUNT_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{_count}\n")
