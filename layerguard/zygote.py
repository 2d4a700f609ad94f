"""A fork server for language hosts and policy packs: import the SDK once, fork a fresh process per use.

Every offline preview runs its program in a language-host process of its own (`host.py`), as the
Pulumi CLI does, so programs never share module state. Most of that process's time is importing
the SDK (`pulumi`, `pulumi_aws` subpackages: about 2 s of CPU for our program, see
docs/BENCHMARKS.md). The zygote pays that import once: it imports the SDK, then forks one child per
preview; the child is a fresh process (its own memory, its own module state from the fork on) that
runs `host.main()` exactly as `python -m layerguard.host` would.

A policy pack is started the same way: the CLI starts `python -u -m pulumi.policy ADDR .` in the
pack's directory (analyzer.py); a forked pack is that command run in a child of the zygote, which
has imported `pulumi`, `pulumi_policy` and `grpc` but never the pack's own modules. The child gets
the pack's directory as its working directory and first import path, the environment the engine
gives it, unbuffered standard streams on the descriptors the engine passes over the socket
(SCM_RIGHTS), and runs `pulumi.policy` as `-m` runs it.

Protocol (a Unix socket, one connection per request, one JSON line each way):

    -> {"op": "host", "stdout": FILE, "stderr": FILE, "modules": FILE}  + 2 descriptors: spec, out
    <- {"pid": PID}              then, when the host exits: {"exit": CODE}
    -> {"op": "pack", "cwd": DIR, "env": {...}, "args": [ADDR, ".", ...]}  + 2 descriptors: stdout, stderr
    <- {"pid": PID}              then, if the pack ends by itself: {"exit": CODE}
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
import io
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

from .lifecycle import die_with_parent

ENV = "LAYERGUARD_ZYGOTE"
BASE_MODULES = (
    "google.protobuf.json_format", "google.protobuf.struct_pb2", "google.protobuf.empty_pb2",
    "pulumi", "pulumi.runtime.mocks", "pulumi.runtime.stack", "pulumi.runtime.sync_await",
    "pulumi.runtime.proto.resource_pb2", "pulumi.runtime.proto.engine_pb2",
    "grpc", "pulumi_policy", "pulumi.runtime.proto.analyzer_pb2_grpc",
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


def _read_request(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """One request line, and the descriptors sent with it (a pack's standard streams)."""
    data, fds = b"", []
    while not data.endswith(b"\n"):
        chunk, more, _flags, _addr = socket.recv_fds(conn, 65536, 4)
        fds += more
        if not chunk:
            break
        data += chunk
    return json.loads(data.decode() or "{}"), fds


def _become_child(conn: socket.socket, server: socket.socket, out: int, err: int) -> None:
    """First steps of every forked child: leave the zygote's socket and signals, take a process
    group of its own, and `out` / `err` as standard output and error (stdin: /dev/null); files it
    creates are private (umask 077), and it ends with the engine (`_watch_engine`)."""
    server.close()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.setpgid(0, 0)
    os.umask(0o077)
    _watch_engine(conn)
    for fd, given in ((1, out), (2, err)):
        os.dup2(given, fd)
        os.close(given)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)


def _watch_engine(conn: socket.socket) -> None:
    """The engine never writes on a child's connection after its request: EOF means the engine
    closed it (it killed the child, or it is gone, even by SIGKILL). The child's parent is the
    zygote, so PR_SET_PDEATHSIG cannot tell it; a watcher thread ends the child's process group."""
    import threading
    watched = conn.dup()

    def watch() -> None:
        with contextlib.suppress(OSError):
            while watched.recv(1):
                pass
        os.killpg(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="layerguard-engine-watch", daemon=True).start()


def _end_child(conn: socket.socket, code: int) -> None:
    """Last steps of every forked child: flush, report the exit code to the engine, exit."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    with contextlib.suppress(Exception):
        _send(conn, {"exit": code})
    os._exit(code)


def _child(conn: socket.socket, server: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: become a language host for one program, report the exit code, exit.
    The spec and the output are the descriptors the engine sent (memory files, lifecycle.py)."""
    code = 70
    try:
        _become_child(conn, server, *(os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                                      for name in ("stdout", "stderr")))
        spec, out = (f"/dev/fd/{fd}" for fd in fds)
        sys.argv = [sys.executable, "-m", "layerguard.host", spec, out]
        from . import host
        code = host.main(spec, out)
        loaded = sorted({m.split(".")[0] if not m.startswith("pulumi_aws.") else ".".join(m.split(".")[:2])
                         for m in sys.modules if warmable(m)})
        Path(request["modules"]).write_text(json.dumps(loaded), encoding="utf-8")
    except BaseException:  # whatever happens, the engine gets an exit code
        import traceback
        traceback.print_exc()
        code = 70
    finally:
        _end_child(conn, code)


def _pack_child(conn: socket.socket, server: socket.socket, request: dict[str, Any], fds: list[int],
                base_path: list[str]) -> None:
    """In the forked child: become `python -u -m pulumi.policy ARGS` in the pack's directory."""
    import runpy
    code = 70
    try:
        _become_child(conn, server, *fds)
        # `-u`: unbuffered binary streams, text layers that write through.
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True,
                                      errors="backslashreplace")
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # The import path of `python -m` started there: the working directory, the caller's
        # PYTHONPATH, then the interpreter's own (never the zygote's PYTHONPATH).
        given_path = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [os.getcwd(), *given_path, *base_path]
        for name in [m for m in sys.modules if m == "layerguard" or m.startswith("layerguard.")]:
            del sys.modules[name]  # the engine's own modules: a started pack has not imported them
        sys.argv = [sys.executable, *request["args"]]
        try:
            runpy.run_module("pulumi.policy", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 70
    finally:
        _end_child(conn, code)


def serve(socket_path: str, modules: list[str]) -> int:
    zygote_path = {p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p}
    base_path = [p for p in sys.path[1:] if p not in zygote_path]  # the interpreter's own entries
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
        fds: list[int] = []
        try:
            request, fds = _read_request(conn)
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
        elif request.get("op") == "host" and len(fds) == 2:
            pid = os.fork()
            if pid == 0:
                _child(conn, server, request, fds)
            with contextlib.suppress(OSError):
                _send(conn, {"pid": pid})
            conn.close()
        elif request.get("op") == "pack" and len(fds) == 2:
            pid = os.fork()
            if pid == 0:
                _pack_child(conn, server, request, fds, base_path)
            with contextlib.suppress(OSError):
                _send(conn, {"pid": pid})
            conn.close()
        else:
            conn.close()
        for fd in fds:  # the child has its own copies
            with contextlib.suppress(OSError):
                os.close(fd)


class _Forked:
    """What the engine holds of a child the zygote forked: the connection the child reports on
    (one JSON line per report) and its process group."""

    pid: int
    _conn: socket.socket
    _buffer: bytes

    def _next(self, timeout: float | None) -> dict[str, Any]:
        """The child's next report; {} when it ended without one."""
        self._conn.settimeout(timeout)
        while b"\n" not in self._buffer:
            chunk = self._conn.recv(4096)
            if not chunk:
                return {}
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _reaped(self, timeout: float = 2.0) -> None:
        """Wait until the child is gone, as `Popen.wait` returns only then: its connection reaches
        EOF when the dying child closes its descriptors, a moment before the kernel reaps it (the
        zygote ignores SIGCHLD, so nothing else waits for it)."""
        import time
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return
            except PermissionError:  # the pid was reused by another user's process
                return
            time.sleep(0.005)

    def _send_signal(self, signum: int) -> None:
        for kill in (os.killpg, os.kill):  # its own process group once it has set one up
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(self.pid, signum)


class ForkedHost(_Forked):
    """A language host forked by the zygote, with the part of `subprocess.Popen`'s interface the
    engine uses (`communicate`, `poll`, `kill`, `wait`, `returncode`)."""

    def __init__(self, socket_path: str, spec, out, scratch: Path) -> None:
        """`spec`, `out`: the engine's memory files (lifecycle.MemFile), sent as descriptors;
        `scratch`: a private directory for the child's standard streams and module list."""
        self._modules = str(scratch / "host.modules")
        self._stdout = str(scratch / "host.stdout")
        self._stderr = str(scratch / "host.stderr")
        self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._conn.connect(socket_path)
        self._socket_path = socket_path
        message = (json.dumps({"op": "host", "stdout": self._stdout, "stderr": self._stderr,
                               "modules": self._modules}) + "\n").encode()
        socket.send_fds(self._conn, [message], [spec.fd, out.fd])
        self._buffer = b""
        self.pid = int(self._next(None)["pid"])
        self.returncode: int | None = None

    def communicate(self, timeout: float | None = None) -> tuple[bytes, bytes]:
        if self.returncode is None:
            try:
                # no report: the child died without one (killed, or a crash in C)
                self.returncode = int(self._next(timeout).get("exit", -9))
            except TimeoutError:
                raise subprocess.TimeoutExpired("layerguard.host", timeout) from None
            self._conn.close()
            self._learn()
        return _read(self._stdout), _read(self._stderr)

    def _learn(self) -> None:
        """Tell the zygote which SDK modules this program used, so later forks start with them."""
        modules_file = Path(self._modules)
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
        self._send_signal(signal.SIGKILL)
        self.returncode = self.returncode if self.returncode is not None else -9
        with contextlib.suppress(OSError):
            self._conn.close()

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.communicate(timeout)
        return self.returncode  # type: ignore[return-value]


_WARMED: set[str] = set()


class ForkedPack(_Forked):
    """A policy pack forked by the zygote, with the part of `subprocess.Popen`'s interface the
    analyzer uses (`stdout`, `pid`, `returncode`, `poll`, `terminate`, `kill`, `wait`)."""

    def __init__(self, socket_path: str, cwd: Path, env: dict[str, str], args: list[str], stderr: Any) -> None:
        read_end, write_end = os.pipe()
        try:
            self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._conn.connect(socket_path)
            message = (json.dumps({"op": "pack", "cwd": str(cwd), "env": env, "args": args}) + "\n").encode()
            socket.send_fds(self._conn, [message], [write_end, stderr.fileno()])
        except OSError:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        self.stdout = os.fdopen(read_end, "rb", buffering=0)
        self._buffer = b""
        reply = self._next(START_TIMEOUT)
        if "pid" not in reply:
            self.stdout.close()
            raise OSError("the zygote did not fork the policy pack")
        self.pid = int(reply["pid"])
        self.returncode: int | None = None
        self._signal = 0

    def _ended(self, reply: dict[str, Any]) -> int:
        # no report: a signal ended it (ours, or a kill from outside)
        self.returncode = int(reply["exit"]) if "exit" in reply else -(self._signal or signal.SIGKILL)
        with contextlib.suppress(OSError):
            self._conn.close()
        self._reaped()
        return self.returncode

    def poll(self) -> int | None:
        if self.returncode is None:
            ready, _, _ = select.select([self._conn], [], [], 0)
            if ready:
                return self._ended(self._next(None))
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                return self._ended(self._next(timeout))
            except TimeoutError:
                raise subprocess.TimeoutExpired("pulumi.policy", timeout) from None
        return self.returncode

    def _signal_group(self, signum: int) -> None:
        if self.returncode is not None:
            return
        self._signal = signum
        self._send_signal(signum)

    def terminate(self) -> None:
        self._signal_group(signal.SIGTERM)

    def kill(self) -> None:
        self._signal_group(signal.SIGKILL)


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
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=env, preexec_fn=die_with_parent)
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
