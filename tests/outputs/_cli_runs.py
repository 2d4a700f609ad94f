"""The CI-output tests' previews: run through the command line with every output flag, `--json`
giving the tests the verdict the engine reached, to compare every output against."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from layerguard import cli

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy"
SCENARIOS = REPO / "tests" / "policy" / "scenarios"
BYPASS_CASE = "app-sg-open-world"      # tests/policy/test_reachability.py: {(disallow-node-bypass, bypass-rule)}
BYPASS_OPENER = "bypass-rule"
# --diagram needs the diagrams package and Graphviz (make setup installs both); without them the
# diagram tests skip and the other outputs are still tested.
CAN_DRAW = shutil.which("dot") is not None and importlib.util.find_spec("diagrams") is not None


@dataclass
class Run:
    exit_code: int
    stdout: str
    dir: Path
    sarif: Path
    junit: Path
    markdown: Path
    diagram: Path
    result: dict          # the engine's --json: resources and violations

    def urn(self, name: str) -> str:
        matches = [r["urn"] for r in self.result["resources"] if r["name"] == name]
        assert len(matches) == 1, f"expected one resource named {name!r}, got {matches}"
        return matches[0]

    @property
    def mandatory(self) -> set[tuple[str, str]]:
        return {(v["policy"], v["urn"]) for v in self.result["violations"]
                if v["enforcement"] in ("mandatory", "remediate")}


def run_cli(out: Path, diagram_suffix: str, *args: str) -> Run:
    out.mkdir(parents=True)
    files = {name: out / f"report.{suffix}" for name, suffix in
             (("sarif", "sarif"), ("junit", "xml"), ("markdown", "md"), ("diagram", diagram_suffix))}
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = cli.main(["preview", *args, "--policy-pack", str(PACK), "--json", str(out / "result.json"),
                         "--sarif", str(files["sarif"]), "--junit", str(files["junit"]),
                         "--markdown", str(files["markdown"]),
                         *(["--diagram", str(files["diagram"])] if CAN_DRAW else [])])
    assert code in (0, 1), f"preview failed with exit {code}:\n{stdout.getvalue()}"
    return Run(code, stdout.getvalue(), out, **files,
               result=json.loads((out / "result.json").read_text(encoding="utf-8")))
