"""The suppression ledger: per-policy, per-resource exceptions with a reason.

Every policy's config accepts
``"suppressions": [{"resource": "<logical name or URN glob>", "reason": "<why, >= 10 chars>"}]``.
A valid suppression drops the matching findings and is recorded; an invalid one (no pattern, reason
missing or shorter than 10 characters) is ignored (the finding stays, its message says why) and
reported by the mandatory `require-suppression-reason` policy. The advisory `report-suppressions`
policy lists every suppression applied. Both read this process-wide ledger, which each policy fills
as it runs; they must stay the LAST policies of the pack (the CLI calls `Analyze` per resource
first and `AnalyzeStack` once at the end, running stack policies in registration order).
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Mapping
from typing import Any

MIN_REASON = 10

SUPPRESSION_SCHEMA = {
    "type": "array",
    "description": "Per-resource exceptions: {resource: logical name or URN glob, reason: >= 10 chars}.",
    "items": {
        "type": "object",
        "properties": {"resource": {"type": "string"}, "reason": {"type": "string"}},
    },
}


class Ledger:
    """Process-wide record of the suppression configs seen and the suppressions applied."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.configs: dict[str, tuple[Any, list]] = {}
        self.applied: dict[tuple, tuple[Any, str, str, str]] = {}

    def record_config(self, rule, entries: list) -> None:
        with self.lock:
            self.configs[rule.name] = (rule, entries)

    def record_applied(self, rule, urn: str, pattern: str, reason: str) -> None:
        with self.lock:
            self.applied[(rule.id, urn, pattern)] = (rule, urn, pattern, reason)

    def clear(self) -> None:
        with self.lock:
            self.configs.clear()
            self.applied.clear()


LEDGER = Ledger()


def suppression_problem(entry: Any) -> str | None:
    """Why a suppression entry is invalid, or None when it is valid."""
    if not isinstance(entry, Mapping):
        return "a suppression must be an object {resource, reason}"
    pattern, reason = entry.get("resource"), entry.get("reason")
    if not isinstance(pattern, str) or not pattern.strip():
        return "a suppression needs a 'resource' (logical name or URN glob)"
    if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON:
        return (f"suppression of {pattern!r} has no reason of at least {MIN_REASON} characters "
                f"(given: {reason!r})")
    return None


def matches(pattern: str, urn: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(urn, pattern)


def suppress(rule, urn: str, name: str, entries: list) -> tuple[bool, str]:
    """(suppressed, note): apply the first valid entry matching the resource and record it; an
    invalid matching entry leaves a note for the finding's message."""
    note = ""
    for entry in entries:
        pattern = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(pattern, str) or not matches(pattern, urn, name):
            continue
        problem = suppression_problem(entry)
        if problem:
            note = f" (suppression ignored: {problem})"
            continue
        LEDGER.record_applied(rule, urn, pattern, entry["reason"].strip())
        return True, ""
    return False, note
