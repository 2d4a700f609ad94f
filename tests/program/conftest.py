"""Fixtures over the shared previews in _program.py."""

from __future__ import annotations

import pytest
from _program import MODES, STACKS, ok


@pytest.fixture(params=[(s, m) for s in STACKS for m in MODES], ids=lambda p: f"{p[0]}-{p[1]}")
def stack_run(request):
    """Every stack in both modes: (stack, mode, result)."""
    stack, mode = request.param
    return stack, mode, ok(stack, mode)


@pytest.fixture(params=STACKS)
def update_run(request):
    """Every stack in update mode, where computed values (ARNs, DNS names) are known."""
    return request.param, ok(request.param, "update")
