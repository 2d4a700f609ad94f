"""`preview --diagram`: a real picture from Graphviz, the bypass drawn in red and its opener named;
and a clear exit 2, before any preview, when the file type or the drawing tools are wrong."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import struct
import xml.etree.ElementTree as ET

import pytest
from _cli_runs import BYPASS_OPENER, CAN_DRAW, REPO

from layerguard import cli
from layerguard.outputs import diagram

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
needs_dot = pytest.mark.skipif(not CAN_DRAW, reason="diagrams or Graphviz is not installed (make setup)")


@needs_dot
def test_png_is_a_picture(dev_run):
    data = dev_run.diagram.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])   # IHDR
    assert width > 600 and height > 200, (width, height)


@needs_dot
def test_svg_draws_the_bypass_in_red_and_names_its_opener(bypass_run):
    root = ET.parse(bypass_run.diagram).getroot()
    assert root.tag == f"{SVG}svg"
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert any(BYPASS_OPENER in t for t in texts), texts
    assert f"bypass: {BYPASS_OPENER}" in texts
    # Graphviz writes one <g class="edge"> per edge; the bypass edges are stroked red.
    red = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"
           and any(p.get("stroke") == diagram.BYPASS for p in g.iter(f"{SVG}path"))]
    blue = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"
            and any(p.get("stroke") == diagram.INTENDED for p in g.iter(f"{SVG}path"))]
    assert len(red) == 2 and len(blue) >= 4, (len(red), len(blue))
    # Layers are clusters; the icons travel inside the file, not as paths on this machine.
    clusters = [g.find(f"{SVG}text").text for g in root.iter(f"{SVG}g") if g.get("class") == "cluster"]
    assert {"node layer: Wallarm filtering nodes", "app layer: internal application"} <= set(clusters), clusters
    hrefs = [i.get(f"{XLINK}href") for i in root.iter(f"{SVG}image")]
    assert hrefs and all(h.startswith("data:image/png;base64,") for h in hrefs)


def _cli(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["preview", "--stack", "dev", "--program", str(REPO), *args])
    return code, err.getvalue()


def test_unsupported_suffix_exits_2_before_the_preview(tmp_path):
    code, err = _cli("--diagram", str(tmp_path / "d.jpg"), "--sarif", str(tmp_path / "r.sarif"))
    assert code == 2
    assert "--diagram" in err and ".svg or .png" in err and "'.jpg'" in err
    assert not (tmp_path / "r.sarif").exists()


def test_missing_graphviz_exits_2_naming_what_to_install(tmp_path, monkeypatch):
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "dot" else real(name, *a, **k))
    code, err = _cli("--diagram", str(tmp_path / "d.svg"))
    assert code == 2
    assert re.search(r"Graphviz.*apt-get install graphviz", err), err
    assert not (tmp_path / "d.svg").exists()
