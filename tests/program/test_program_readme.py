"""The README's settings table is generated from Pulumi.yaml and the stack files, and current."""

from __future__ import annotations

import importlib.util

import yaml
from _program import REPO

spec = importlib.util.spec_from_file_location("gen_settings", REPO / "docs" / "gen_settings.py")
gen_settings = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen_settings)


def test_readme_settings_table_is_current():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert gen_settings.section(readme) == gen_settings.render(), \
        "README.md settings table is stale: run .venv/bin/python docs/gen_settings.py"


def test_table_lists_every_declared_setting():
    table = gen_settings.render()
    declared = yaml.safe_load((REPO / "Pulumi.yaml").read_text())["config"]
    for key in ["aws:region", *declared]:
        assert f"| `{key}` |" in table, key
