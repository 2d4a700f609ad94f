"""Hostile files through the real command line (issue 20, item 5); `PulumiPolicy.yaml` of a
`--policy-pack` directory is one of them.

Each case of the corpus (tests/fixtures/hostile/, plus what cannot live in git: FIFOs, devices,
symlinks to devices, directories, huge and deep files, made here) is handed to every CLI option
that reads a file of its kind, in a subprocess of `python3 -m layerguard`. Each must end with
exit 2 (never 1, which CI reads as a violation), exactly one line on stderr naming the file, no
traceback, within a time bound and a memory bound. The CLI runs under a small wrapper that caps
its address space (so a regression cannot take the shared machine down) and reports the peak
RSS of the CLI and everything it waited for (`getrusage(RUSAGE_CHILDREN)`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "fixtures" / "hostile"
TIME_LIMIT = 20.0          # seconds per run (a clean failure takes well under 2 s)
RSS_LIMIT_MB = 400         # peak RSS of the CLI; the alias bomb used to grow past 5 GB
ADDRESS_SPACE = 3 << 30    # the wrapper's cap on the CLI's address space

WRAPPER = f"""
import json, resource, subprocess, sys, time
resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE}, {ADDRESS_SPACE}))
start = time.monotonic()
try:
    p = subprocess.run(sys.argv[1:], capture_output=True, timeout={TIME_LIMIT + 10}, stdin=subprocess.DEVNULL)
    rc, out, err = p.returncode, p.stdout, p.stderr
except subprocess.TimeoutExpired as exc:
    rc, out, err = "timeout", exc.stdout or b"", exc.stderr or b""
print(json.dumps({{"rc": rc, "stdout": out.decode("utf-8", "replace"), "stderr": err.decode("utf-8", "replace"),
                  "seconds": time.monotonic() - start,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}}))
"""

# --- the corpus: name -> how to make it in a directory --------------------------------------------


def _copy(name: str):
    return lambda d: _write(d / name, (CORPUS / name).read_bytes())


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _fifo(d: Path) -> Path:
    os.mkfifo(d / "fifo.yaml")
    return d / "fifo.yaml"


def _symlink_to_zero(d: Path) -> Path:
    (d / "zero.yaml").symlink_to("/dev/zero")
    return d / "zero.yaml"


def _directory(d: Path) -> Path:
    (d / "dir.yaml").mkdir()
    return d / "dir.yaml"


def _sparse_huge(d: Path) -> Path:
    path = d / "huge.json"
    with path.open("wb") as f:
        f.truncate(2 << 30)  # 2 GiB of zero bytes, sparse: nothing on disk
    return path


GENERIC = {  # any file option
    "fifo": _fifo,
    "dev-zero": lambda d: Path("/dev/zero"),
    "symlink-to-dev-zero": _symlink_to_zero,
    "directory": _directory,
    "sparse-2GiB": _sparse_huge,
    "10MB-single-line": lambda d: _write(d / "line.yaml", b"config: {aws:region: " + b"x" * (10 << 20) + b"}\n"),
    "deep-brackets": lambda d: _write(d / "deep.json", b"[" * 200_000),
    "deep-but-closed": lambda d: _write(d / "deep2.json", b"[" * 5000 + b"]" * 5000),
    "invalid-utf8": _copy("invalid-utf8.yaml"),
    "nul-bytes": lambda d: _write(d / "nul.yaml", b"config:\x00\x00\x00\n"),
}
YAML_ONLY = {  # Pulumi.yaml, stack files, --config-file, --existing
    name: _copy(name) for name in ("billion-laughs.yaml", "merge-key-bomb.yaml", "python-tag.yaml",
                                   "duplicate-keys.yaml", "tab-indent.yaml")
}
YAML_ONLY["deep-block-mapping"] = lambda d: _write(
    d / "deep-map.yaml", "".join(f"{' ' * i}k{i}:\n" for i in range(3000)).encode() + b" " * 3000 + b"v\n")
JSON_ONLY = {  # --policy-pack-config, --state (and --existing, which reads JSON as YAML)
    name: _copy(name) for name in ("number-overflow.json", "nan.json", "long-int.json", "invalid-utf8.json")
}
STATE_ONLY = {name: _copy(name) for name in sorted(p.name for p in CORPUS.glob("state-*.json"))}


# --- the options: name -> argv for a file, given a scratch directory ------------------------------


def _program(d: Path, project: Path | None = None, stack: Path | None = None) -> Path:
    """A program directory whose Pulumi.yaml or Pulumi.hostile.yaml is the hostile file (a symlink)."""
    prog = d / "program"
    prog.mkdir()
    (prog / "__main__.py").write_text("")
    if project is None:
        (prog / "Pulumi.yaml").write_text("name: hostile\nruntime: python\n")
    else:
        (prog / "Pulumi.yaml").symlink_to(project)
    if stack is None:
        (prog / "Pulumi.hostile.yaml").write_text("config: {}\n")
    else:
        (prog / "Pulumi.hostile.yaml").symlink_to(stack)
    return prog


def _pack(d: Path, project: Path) -> Path:
    """A policy pack directory whose PulumiPolicy.yaml is the hostile file (a symlink)."""
    pack = d / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").symlink_to(project)
    return pack


PREVIEW = ["preview", "--stack", "dev", "--no-policy-pack"]
OPTIONS = {
    "config-file": lambda f, d: [*PREVIEW, "--config-file", str(f)],
    "stack-file": lambda f, d: ["preview", "--stack", "hostile", "--no-policy-pack",
                                "--program", str(_program(d, stack=f))],
    "project-file": lambda f, d: ["preview", "--stack", "hostile", "--no-policy-pack",
                                  "--program", str(_program(d, project=f))],
    "existing": lambda f, d: [*PREVIEW, "--existing", str(f)],
    "policy-pack-config": lambda f, d: ["preview", "--stack", "dev", "--policy-pack-config", str(f)],
    "pack-project": lambda f, d: ["preview", "--stack", "dev", "--policy-pack", str(_pack(d, f))],
    "state": lambda f, d: ["verify", "--state", str(f), "--no-policy-pack", "--region", "eu-west-1"],
}
YAML_OPTIONS = ("config-file", "stack-file", "project-file", "existing", "pack-project")
JSON_OPTIONS = ("policy-pack-config", "state", "existing")


def _cases():
    for option in OPTIONS:
        for name in GENERIC:
            yield option, name, GENERIC[name]
    for option in YAML_OPTIONS:
        for name, make in YAML_ONLY.items():
            yield option, name, make
    for option in JSON_OPTIONS:
        for name, make in JSON_ONLY.items():
            yield option, name, make
    for name, make in STATE_ONLY.items():
        yield "state", name, make


CASES = list(_cases())


def _names_the_file(stderr: str, path: Path, tmp_path: Path) -> bool:
    """The message names the file: the path given, or the program's own file it was linked as
    (`Pulumi.yaml` of a directory with none says so with the directory)."""
    prog, pack = tmp_path / "program", tmp_path / "pack"
    return any(str(name) in stderr for name in (
        path, prog / "Pulumi.hostile.yaml", prog / "Pulumi.yaml", f"{prog}: no Pulumi.yaml",
        pack / "PulumiPolicy.yaml", f"{pack}: no PulumiPolicy.yaml"))


@pytest.mark.parametrize(("option", "case", "make"), CASES, ids=[f"{o}-{c}" for o, c, _m in CASES])
def test_hostile_file_is_refused_cleanly(option, case, make, tmp_path):
    (tmp_path / "files").mkdir()
    hostile = make(tmp_path / "files")
    argv = OPTIONS[option](hostile, tmp_path)
    wrapped = subprocess.run([sys.executable, "-c", WRAPPER, sys.executable, "-m", "layerguard", *argv],
                             cwd=REPO, capture_output=True, text=True, timeout=TIME_LIMIT + 30,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    run = json.loads(wrapped.stdout)
    stderr = run["stderr"]
    assert run["rc"] == 2, f"{option} {case}: exit {run['rc']}\n{stderr[-2000:]}"
    assert "Traceback" not in stderr, stderr[-2000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr[-2000:]
    assert _names_the_file(stderr, hostile, tmp_path), stderr
    assert run["seconds"] < TIME_LIMIT, f"{option} {case}: {run['seconds']:.1f} s"
    assert run["maxrss_mb"] < RSS_LIMIT_MB, f"{option} {case}: peak RSS {run['maxrss_mb']:.0f} MB"


def test_python_tag_runs_nothing(tmp_path):
    """A `!!python/object/apply` tag is refused by the safe loader, never constructed."""
    marker = Path("/tmp/layerguard-pwned")
    marker.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "layerguard", *PREVIEW, "--config-file", str(CORPUS / "python-tag.yaml")],
                   cwd=REPO, capture_output=True, timeout=60)
    assert not marker.exists()


def test_fifo_does_not_block_even_with_a_writer_waiting(tmp_path):
    """The type is checked on a non-blocking open: a FIFO is refused at once, whoever holds it."""
    fifo = tmp_path / "state.json"
    os.mkfifo(fifo)
    start = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "layerguard", "verify", "--state", str(fifo), "--no-policy-pack",
                        "--region", "eu-west-1"], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "FIFO" in p.stderr and str(fifo) in p.stderr
    assert time.monotonic() - start < 10


def test_a_valid_config_file_still_reads(tmp_path):
    """The bounds refuse hostile files only: anchors within budget and JSON are still read."""
    from layerguard import files
    path = tmp_path / "ok.yaml"
    path.write_text("config:\n  tags: &t {team: a}\n  other: *t\n")
    assert files.load_yaml(path) == {"config": {"tags": {"team": "a"}, "other": {"team": "a"}}}
    path.write_text('{"all": "advisory", "n": 1.5}')
    assert files.load_json(path) == {"all": "advisory", "n": 1.5}
