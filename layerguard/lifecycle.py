"""What the engine's children and scratch data do when the engine ends, however it ends.

* A signal to the CLI (SIGTERM, SIGHUP; SIGINT is KeyboardInterrupt already) becomes a
  `SystemExit`, so every `finally` and `with` of the run executes: the host and the pack are
  stopped and the scratch directory is removed (`stop_children_on_exit`).
* SIGKILL of the CLI runs no code, so the children must notice by themselves: a child started with
  `Popen(preexec_fn=die_with_parent)` gets SIGKILL from the kernel when the CLI dies
  (Linux `prctl(PR_SET_PDEATHSIG)`); a child forked by the zygote watches its connection to the
  engine and kills its own process group at EOF (zygote.py `_watch_engine`).
* The data that carries secrets (the host's spec, with the config and `--secret` values, and its
  output, with the inputs it captured) never touches the disk: it lives in anonymous memory files
  (`memfd_create`) that the engine hands to the host as descriptors (`MemFile`). The real CLI
  hands decrypted config to the language host in the program's environment (`PULUMI_CONFIG`,
  pulumi/pulumi sdk/python/cmd/pulumi-language-python/main.go `Run`); a descriptor is no more
  exposed than that (both are readable only by the same user through /proc) and, unlike a file,
  vanishes with the last process that holds it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
MASK = "[secret]"


def _exit_on_signal(signum: int, _frame) -> None:
    # Raised in the main thread wherever it is waiting: `finally` blocks run on the way out.
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def stop_children_on_exit() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into `SystemExit` for the duration of the block (main thread only)."""
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _exit_on_signal) for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


# Resolved here, in the parent: a child forked from a threaded process must not dlopen (another
# thread may have held the loader's lock at the fork).
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent() -> None:
    """`preexec_fn` for a child that must not outlive the process starting it (Linux only; a
    no-op elsewhere): one libc call, nothing loaded in the child."""
    if _prctl is None:
        return
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def mask(text: str, secrets: list[str] | tuple[str, ...] | set[str]) -> str:
    """`text` with every secret value replaced by [secret] (longest first, so that a secret that
    contains another is masked whole)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class MemFile:
    """Scratch data passed to a child by descriptor: an anonymous memory file where the platform
    has one (Linux `memfd_create`), else a 0600 file in a 0700 directory, removed at `close`.
    `path` (`/dev/fd/N`) opens the same data in a child that inherited the descriptor."""

    def __init__(self, name: str, data: bytes = b"") -> None:
        self._dir: str | None = None
        if hasattr(os, "memfd_create"):
            # Close-on-exec by default; a child gets it only through `pass_fds` or SCM_RIGHTS.
            self.fd = os.memfd_create(name, os.MFD_CLOEXEC)
        else:
            self._dir = tempfile.mkdtemp(prefix="layerguard-")
            self.fd = os.open(Path(self._dir, name), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        written = 0
        while written < len(data):
            written += os.write(self.fd, data[written:])

    @property
    def path(self) -> str:
        return f"/dev/fd/{self.fd}"

    def read(self) -> bytes:
        size = os.fstat(self.fd).st_size
        os.lseek(self.fd, 0, os.SEEK_SET)
        chunks, got = [], 0
        while got < size:
            chunk = os.read(self.fd, size - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)
        if self._dir is not None:
            import shutil
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
