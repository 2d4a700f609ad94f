"""Shared offline previews for the policy tests: each (program, stack, case, mode, config) runs
once per pytest session, several at a time (each preview is two subprocesses)."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from layerguard.engine import PreviewResult, preview

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy"
PROGRAMS = Path(__file__).resolve().parent / "programs"
MODES = ("preview", "update")
WORKERS = 4

if str(PACK) not in sys.path:  # the pack's own package, as the pack process imports it
    sys.path.insert(0, str(PACK))

_CACHE: dict[tuple, PreviewResult] = {}


def key(program: str, stack: str, case: str, mode: str, policy_config: dict | None = None) -> tuple:
    return (program, stack, case, mode, json.dumps(policy_config, sort_keys=True))


def run_all(requests: list[tuple]) -> dict[tuple, PreviewResult]:
    """`requests` are `key(...)` tuples; returns {key: PreviewResult}, computing the missing ones."""
    missing = [k for k in dict.fromkeys(requests) if k not in _CACHE]

    def one(k: tuple) -> PreviewResult:
        program, stack, case, mode, config = k
        return preview(PROGRAMS / program, stack, mode, policy_pack=PACK,
                       policy_config=json.loads(config),
                       config={"policytests:case": case})

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for k, result in zip(missing, pool.map(one, missing), strict=False):
            _CACHE[k] = result
    return {k: _CACHE[k] for k in requests}


def urn_of(result: PreviewResult, name: str) -> str:
    matches = [r.urn for r in result.resources if r.name == name]
    assert len(matches) == 1, f"{result.stack}/{result.mode}: expected one resource named {name!r}, got {matches}"
    return matches[0]


def describe(result: PreviewResult) -> str:
    lines = [f"{result.stack}/{result.mode} exit={result.exit_code} error={result.error}"]
    lines += [f"  {v.enforcement} {v.policy} {v.urn}: {v.message.splitlines()[-1]}" for v in result.violations]
    return "\n".join(lines)
