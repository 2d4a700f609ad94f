"""Secrets and children when the CLI is stopped (issue 20, item 6).

A fixture program (tests/fixtures/lifecycle) reads a `--secret`, writes its pid to a marker, and
sleeps. The CLI is killed mid-preview with SIGTERM or SIGKILL, with and without the policy pack,
with a host started as a new interpreter or forked from a zygote. Afterwards no file under the
run's temporary directory holds the secret (none does while it runs either), and neither the
language host nor any other process the CLI started is alive after a short bounded wait.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROGRAM = REPO / "tests" / "fixtures" / "lifecycle"
GONE_WITHIN = 5.0


def _parents() -> dict[int, int]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            out[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def _descendants(pid: int) -> set[int]:
    parents, found, frontier = _parents(), set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _files_holding(root: Path, secret: bytes) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and secret in path.read_bytes():
                found.append(path)
        except OSError:
            continue
    return found


def _start(tmp_path: Path, secret: str, pack: bool, env: dict[str, str]) -> tuple[subprocess.Popen, Path, Path]:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    marker = tmp_path / "host.pid"
    argv = [sys.executable, "-m", "layerguard", "preview", "--program", str(PROGRAM), "--stack", "dev",
            "--secret", f"sleepy:token={secret}", "--config", f"sleepy:marker={marker}"]
    argv += ["--policy-pack", str(REPO / "policy")] if pack else ["--no-policy-pack"]
    proc = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE,
                            env={**env, "TMPDIR": str(scratch), "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 90
    while not (marker.exists() and marker.read_text().strip()):
        if proc.poll() is not None:
            pytest.fail(f"the CLI ended before the program started: {proc.stderr.read().decode()[-2000:]}")
        assert time.monotonic() < deadline, "the fixture program did not start"
        time.sleep(0.1)
    return proc, marker, scratch


CASES = [(s, pack, z) for s in (signal.SIGTERM, signal.SIGKILL) for pack, z in ((False, False), (True, False), (False, True))]


@pytest.mark.parametrize(("signum", "pack", "zygote"), CASES,
                         ids=[f"{signal.Signals(s).name}-{'pack' if p else 'nopack'}-{'zygote' if z else 'popen'}"
                              for s, p, z in CASES])
def test_killed_cli_leaves_no_secret_and_no_child(signum, pack, zygote, tmp_path):
    secret = f"tok-{uuid.uuid4().hex}"
    if zygote:
        from layerguard.zygote import Zygote
        with Zygote() as z:
            env = {**os.environ, "LAYERGUARD_ZYGOTE": z.socket_path}
            _kill_and_check(tmp_path, secret, pack, env, signum)
    else:
        env = {k: v for k, v in os.environ.items() if k != "LAYERGUARD_ZYGOTE"}
        _kill_and_check(tmp_path, secret, pack, env, signum)


def _kill_and_check(tmp_path: Path, secret: str, pack: bool, env: dict[str, str], signum: int) -> None:
    proc, marker, scratch = _start(tmp_path, secret, pack, env)
    try:
        host = int(marker.read_text())
        started = _descendants(proc.pid) | {host}
        if pack:
            assert len(started) >= 2, f"expected the host and the pack among {started}"
        # While it runs: the spec (config and secrets) and the output are not files.
        assert _files_holding(scratch, secret.encode()) == []
        os.kill(proc.pid, signum)
        code = proc.wait(timeout=30)
        if signum == signal.SIGTERM:
            assert code == 128 + signal.SIGTERM, code  # unwound by the handler, not killed by the signal
            assert b"Traceback" not in proc.stderr.read()
        deadline = time.monotonic() + GONE_WITHIN
        while any(_alive(p) for p in started) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [p for p in started if _alive(p)] == [], "children outlived the CLI"
        assert _files_holding(scratch, secret.encode()) == []
        assert _files_holding(tmp_path, secret.encode()) == []
        if signum == signal.SIGTERM:
            assert list(scratch.iterdir()) == [], "the scratch directory was not removed"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_secret_quoted_by_the_program_is_masked():
    """The fixture program's error quotes the secret it refused; the CLI prints [secret]."""
    secret = f"tok-{uuid.uuid4().hex}"
    p = subprocess.run([sys.executable, "-m", "layerguard", "preview", "--program", str(PROGRAM), "--stack", "dev",
                        "--no-policy-pack", "--secret", f"sleepy:token={secret}", "--config", "sleepy:fail=true",
                        "--config", "sleepy:marker=/dev/null"],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert secret not in p.stderr + p.stdout
    assert "token: got '[secret]'" in p.stderr


def test_a_secret_without_equals_sign_is_not_echoed():
    p = subprocess.run([sys.executable, "-m", "layerguard", "preview", "--stack", "dev", "--no-policy-pack",
                        "--secret", "tok-s3cr3t-value"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert "tok-s3cr3t-value" not in p.stderr and "--secret takes KEY=VALUE" in p.stderr


def test_previews_two_at_a_time_without_a_zygote_start_every_child(monkeypatch):
    """Hosts and packs started by `Popen(preexec_fn=...)` from two engine threads at once: with
    gRPC's fork support on, 2 of 16 such previews lost their pack ("failed to start (exit -6)",
    layerguard/__init__.py), or a forked child hung before its `exec`. Every one must run."""
    from concurrent.futures import ThreadPoolExecutor

    from layerguard.engine import preview
    assert os.environ.get("GRPC_ENABLE_FORK_SUPPORT") == "false"
    monkeypatch.delenv("LAYERGUARD_ZYGOTE", raising=False)
    program, pack = REPO / "tests" / "fixtures" / "engine" / "program", REPO / "tests" / "fixtures" / "engine" / "pack"
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _i: preview(program, "dev", "preview", policy_pack=pack), range(12)))
    failed = [r.error for r in results if r.error or not r.stack_analyzed]
    assert not failed, failed
