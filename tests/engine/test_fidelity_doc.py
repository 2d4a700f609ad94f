"""docs/ENGINE-FIDELITY.md stays true: each row that says the engine fails closed names a fixture,
and that fixture exits 2 with no verdict and nothing registered, naming what it cannot run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from layerguard.engine import preview

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "ENGINE-FIDELITY.md"


def _fails_closed_rows() -> list[tuple[str, Path, bool]]:
    """(what, fixture, planned at preview): a row that says "preview: planned" is planned at a
    preview as the CLI does, and only its update fails closed."""
    rows = []
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## The table", 1)[1].split("\n## ", 1)[0]  # the public programs have their own test
    for line in table.splitlines():
        if line.startswith("|") and "**fails closed**" in line:
            fixture = re.search(r"fixture `([^`]+)`", line)
            assert fixture, f"a fails-closed row names no fixture: {line}"
            rows.append((line.split("|")[1].strip(), REPO / fixture.group(1), "preview: planned" in line))
    return rows


def test_the_table_has_fails_closed_rows():
    assert len(_fails_closed_rows()) >= 5


@pytest.mark.parametrize("mode", ["preview", "update"])
@pytest.mark.parametrize("what, fixture, planned", _fails_closed_rows(), ids=lambda v: str(v)[-40:])
def test_each_fails_closed_row_fails_closed(what, fixture, planned, mode):
    assert (fixture / "Pulumi.yaml").is_file(), f"{what}: {fixture} is not a program"
    result = preview(fixture, "dev", mode, policy_pack=REPO / "policy")
    if planned and mode == "preview":
        # planned as the CLI plans it; the pack, which cannot see past it, must still fail
        assert result.exit_code == 1 and result.mandatory, f"{what}: exit {result.exit_code}, {result.error}"
        return
    assert result.exit_code == 2, f"{what}: exit {result.exit_code}, violations {result.violations}"
    assert result.violations == [] and result.resources == []
    assert "cannot plan" in result.error or "runtime.options" in result.error, result.error


def test_the_public_programs_table_lists_every_vendored_program():
    text = DOC.read_text(encoding="utf-8")
    for program in (REPO / "tests" / "fixtures" / "public").iterdir():
        if program.is_dir():
            assert f"| {program.name} |" in text or f"`{program.name}`" in text, program.name
