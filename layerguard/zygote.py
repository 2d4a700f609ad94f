"""A fork server for language hosts: import the Pulumi SDK once, fork a fresh host per preview.

Every offline preview runs its program in a language-host process of its own (`host.py`), as the
Pulumi CLI does, so programs never share module state. Most of that process's time is importing
the SDK (`pulumi`, `pulumi_aws` subpackages: about 2 s of CPU for our program, see
docs/BENCHMARKS.md). The zygote pays that import once: it imports the SDK, then forks one child per
preview; the child is a fresh process (its own memory, its own module state from the fork on) that
runs `host.main()` exactly as `python -m layerguard.host` would.

Protocol (a Unix socket, one connection per request, one JSON line each way):

    -> {"op": "host", "spec": SPEC, "out": OUT, "stdout": FILE, "stderr": FILE}
    <- {"pid": PID}              then, when the host exits: {"exit": CODE}
    -> {"op": "warm", "modules": [NAME, ...]}        (import more SDK modules for later forks)
    <- {"ok": true}

The zygote stays single-threaded (a fork of a threaded process may inherit a held lock); it learns
which SDK modules programs use from each child's report (`warm`), so later forks start warmer.
Only `pulumi*` SDK packages and `google.protobuf`/`grpc` are ever imported here, never a program's
own modules, so a child sees a program's modules for the first time, as a fresh host would.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ENV = "LAYERGUARD_ZYGOTE"
BASE_MODULES = (
    "google.protobuf.json_format", "google.protobuf.struct_pb2", "google.protobuf.empty_pb2",
    "pulumi", "pulumi.runtime.mocks", "pulumi.runtime.stack", "pulumi.runtime.sync_await",
    "pulumi.runtime.proto.resource_pb2", "pulumi.runtime.proto.engine_pb2",
)
START_TIMEOUT = 120


def warmable(name: str) -> bool:
    """What the zygote may import: SDK packages, never a program's own modules."""
    return name == "pulumi" or name.startswith(("pulumi.", "pulumi_", "google.protobuf", "grpc"))


def _load(name: str) -> None:
    """Import `name` fully: the SDK's subpackages are lazy modules that load on first attribute use."""
    try:
        module = importlib.import_module(name)
        getattr(module, "__file__", None)
        dir(module)
        for attr in ("__all__", "_utilities"):
            getattr(module, attr, None)
    except Exception:  # a module that does not import is simply not warmed
        pass


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    conn.sendall((json.dumps(message) + "\n").encode())


def _read_line(conn: socket.socket) -> dict[str, Any]:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return json.loads(data.decode() or "{}")


def _child(conn: socket.socket, server: socket.socket, request: dict[str, Any]) -> None:
    """In the forked child: become a language host for one program, report the exit code, exit."""
    code = 70
    try:
        server.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.setpgid(0, 0)
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        sys.argv = [sys.executable, "-m", "layerguard.host", request["spec"], request["out"]]
        from . import host
        code = host.main(request["spec"], request["out"])
        loaded = sorted({m.split(".")[0] if not m.startswith("pulumi_aws.") else ".".join(m.split(".")[:2])
                         for m in sys.modules if warmable(m)})
        Path(request["out"] + ".modules").write_text(json.dumps(loaded), encoding="utf-8")
    except BaseException:  # whatever happens, the engine gets an exit code
        import traceback
        traceback.print_exc()
        code = 70
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(Exception):
            _send(conn, {"exit": code})
        os._exit(code)


def serve(socket_path: str, modules: list[str]) -> int:
    for name in BASE_MODULES + tuple(modules):
        _load(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(64)
    print("ready", flush=True)
    parent = os.getppid()
    server.settimeout(1.0)
    while True:
        if os.getppid() != parent:  # whoever started us is gone: stop by ourselves
            return 0
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        conn.settimeout(None)
        try:
            request = _read_line(conn)
        except (OSError, ValueError):
            conn.close()
            continue
        if request.get("op") == "warm":
            for name in request.get("modules", []):
                if warmable(name) and name not in sys.modules:
                    _load(name)
            with contextlib.suppress(OSError):
                _send(conn, {"ok": True})
            conn.close()
        elif request.get("op") == "stop":
            conn.close()
            return 0
        elif request.get("op") == "host":
            pid = os.fork()
            if pid == 0:
                _child(conn, server, request)
            with contextlib.suppress(OSError):
                _send(conn, {"pid": pid})
            conn.close()
        else:
            conn.close()


class ForkedHost:
    """A language host forked by the zygote, with the part of `subprocess.Popen`'s interface the
    engine uses (`communicate`, `poll`, `kill`, `wait`, `returncode`)."""

    def __init__(self, socket_path: str, spec_path: Path, out_path: Path) -> None:
        self._out_path = out_path
        self._stdout = str(out_path) + ".stdout"
        self._stderr = str(out_path) + ".stderr"
        self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._conn.connect(socket_path)
        self._socket_path = socket_path
        _send(self._conn, {"op": "host", "spec": str(spec_path), "out": str(out_path),
                           "stdout": self._stdout, "stderr": self._stderr})
        self._buffer = b""
        self.pid = int(self._next()["pid"])
        self.returncode: int | None = None

    def _next(self, timeout: float | None = None) -> dict[str, Any]:
        self._conn.settimeout(timeout)
        while b"\n" not in self._buffer:
            chunk = self._conn.recv(4096)
            if not chunk:  # the child died without reporting (killed, or a crash in C)
                return {"exit": -9}
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def communicate(self, timeout: float | None = None) -> tuple[bytes, bytes]:
        if self.returncode is None:
            try:
                self.returncode = int(self._next(timeout)["exit"])
            except TimeoutError:
                raise subprocess.TimeoutExpired("layerguard.host", timeout) from None
            self._conn.close()
            self._learn()
        return _read(self._stdout), _read(self._stderr)

    def _learn(self) -> None:
        """Tell the zygote which SDK modules this program used, so later forks start with them."""
        modules_file = Path(str(self._out_path) + ".modules")
        try:
            modules = [m for m in json.loads(modules_file.read_text(encoding="utf-8")) if m not in _WARMED]
        except (OSError, ValueError):
            return
        if not modules:
            return
        _WARMED.update(modules)
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self._socket_path)
            _send(conn, {"op": "warm", "modules": modules})

    def poll(self) -> int | None:
        return self.returncode

    def kill(self) -> None:
        for kill in (os.killpg, os.kill):  # its own process group once it has set one up
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(self.pid, signal.SIGKILL)
        self.returncode = self.returncode if self.returncode is not None else -9
        with contextlib.suppress(OSError):
            self._conn.close()

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.communicate(timeout)
        return self.returncode  # type: ignore[return-value]


_WARMED: set[str] = set()


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


class Zygote:
    """Start a zygote for the duration of a `with` block; previews in this process (and in child
    processes that inherit the environment) fork their hosts from it."""

    def __init__(self, modules: list[str] | tuple[str, ...] = ()) -> None:
        self.modules = list(modules)
        self._dir: tempfile.TemporaryDirectory | None = None
        self._proc: subprocess.Popen | None = None
        self.socket_path = ""
        self._previous: str | None = None

    def __enter__(self) -> Zygote:
        self._dir = tempfile.TemporaryDirectory(prefix="layerguard-zygote-")
        self.socket_path = str(Path(self._dir.name, "zygote.sock"))
        here = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": here + os.pathsep + os.environ.get("PYTHONPATH", "")}
        env.pop(ENV, None)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "layerguard.zygote", self.socket_path, *self.modules],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env)
        ready, _, _ = select.select([self._proc.stdout], [], [], START_TIMEOUT)
        line = self._proc.stdout.readline() if ready and self._proc.stdout else b""
        if line.strip() != b"ready":
            self.__exit__(None, None, None)
            raise RuntimeError("the layerguard zygote did not start")
        self._previous = os.environ.get(ENV)
        os.environ[ENV] = self.socket_path
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._previous is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = self._previous
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._dir is not None:
            self._dir.cleanup()


def sdk_modules(program_dir: Path) -> list[str]:
    """The SDK subpackages a program's sources name (`aws.ec2.X`, `pulumi_aws.lb`, `pulumi_random`):
    what the zygote imports up front, before it has learnt from a first run."""
    import re
    found: set[str] = set()
    pattern = re.compile(r"\b(?:aws|pulumi_aws)\.([a-z0-9]+)\.[A-Za-z_]")
    for path in program_dir.rglob("*.py"):
        if any(part.startswith(".") or part in ("tests", "bench", "venv") for part in path.relative_to(program_dir).parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        found.update(f"pulumi_aws.{m}" for m in pattern.findall(text))
        found.update(re.findall(r"\bimport (pulumi_[a-z0-9_]+)", text))
    return sorted(found)


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], sys.argv[2:]))
