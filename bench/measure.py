"""Timing and memory of whole process trees, and the statistics the tables show.

Peak memory of a process tree (the CLI plus the language host and the policy pack it starts):

* `getrusage(RUSAGE_CHILDREN).ru_maxrss` is the largest RSS of any *single* waited-for descendant,
  not the tree's; and it is a running maximum over the whole benchmark process. It is kept only as
  a cross-check ("largest process"), taken per run from `os.wait4()` of that run's root process
  (Linux folds the maxrss of the root's own waited-for children into it).
* The reported figure samples `/proc`: every `interval` seconds the sampler walks the tree from the
  root (`/proc/PID/task/*/children`) and sums `VmRSS` of every live process; the peak of that sum
  is the tree's peak RSS. Each process's own high-water mark (`VmHWM`, monotonic) is also kept;
  their sum is an upper bound (the processes need not peak at the same moment).
  A sample can miss a spike shorter than the interval; Python processes rarely give memory back,
  so their RSS is close to monotonic and the sampled peak is close to the true one.

CPU time (user + system of the root and every descendant it waited for) comes from `wait4()` and is
printed beside wall time: on a shared machine wall time moves with the load, CPU time much less.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class TreeRun:
    returncode: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float          # sampled peak of the sum of VmRSS over the live tree
    hwm_sum_mb: float           # sum of each process's VmHWM (upper bound)
    largest_process_mb: float   # wait4 ru_maxrss: the largest single process
    processes: int              # distinct processes seen in the tree
    samples: int
    cpu_by_role: dict = field(default_factory=dict)   # role -> CPU s (last sample before exit)
    rss_by_role: dict = field(default_factory=dict)   # role -> VmHWM MB
    stdout: bytes = b""
    stderr: bytes = b""


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
        except OSError:
            continue
        out.extend(int(c) for c in text.split())
    return out


def role(pid: int) -> str:
    """What a process of the preview is: the CLI, the language host, the policy pack."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(a.decode("utf-8", "replace") for a in argv)
    if "layerguard.host" in text:
        return "host"
    if "pulumi.policy" in text:
        return "pack"
    if "layerguard" in text:
        return "cli"
    return argv[0].decode("utf-8", "replace").rsplit("/", 1)[-1] or "?"


def _cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _status_kb(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in kB, or None when the process is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    rss = hwm = None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    if rss is None or hwm is None:
        return None
    return rss, hwm


class TreeSampler(threading.Thread):
    def __init__(self, root: int, interval: float = 0.01):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.stop_event = threading.Event()
        self.peak_kb = 0
        self.hwm_kb: dict[int, int] = {}
        self.cpu: dict[int, float] = {}
        self.roles: dict[int, str] = {}
        self.samples = 0

    def sample(self) -> None:
        total = 0
        stack = [self.root]
        seen: set[int] = set()
        while stack:
            pid = stack.pop()
            if pid in seen:
                continue
            seen.add(pid)
            status = _status_kb(pid)
            if status is not None:
                rss, hwm = status
                total += rss
                self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), hwm)
                # Re-read every time: right after fork a child still shows its parent's command line.
                name = role(pid)
                if name != "?":
                    self.roles[pid] = name
                cpu = _cpu_s(pid)
                if cpu is not None:
                    self.cpu[pid] = cpu
            stack.extend(_children(pid))
        self.peak_kb = max(self.peak_kb, total)
        self.samples += 1

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(self.interval)


def run_tree(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None,
             interval: float = 0.01, timeout: float = 600) -> TreeRun:
    """Run `argv` to completion, measuring the whole process tree it creates."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=str(cwd), env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = TreeSampler(proc.pid, interval)
    sampler.start()
    # Read the pipes on threads so a chatty child never blocks; reap with wait4 for its rusage.
    chunks: dict[str, bytes] = {}

    def drain(name: str, stream) -> None:
        chunks[name] = stream.read()

    readers = [threading.Thread(target=drain, args=(n, s), daemon=True)
               for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for t in readers:
        t.start()
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.002)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.stop_event.set()
    sampler.join()
    for t in readers:
        t.join()
    proc.stdout.close()
    proc.stderr.close()
    return TreeRun(returncode=proc.returncode, wall_s=wall, cpu_s=usage.ru_utime + usage.ru_stime,
                   peak_rss_mb=sampler.peak_kb / 1024, hwm_sum_mb=sum(sampler.hwm_kb.values()) / 1024,
                   largest_process_mb=usage.ru_maxrss / 1024, processes=len(sampler.hwm_kb),
                   samples=sampler.samples, cpu_by_role=_by_role(sampler.roles, sampler.cpu, 1.0),
                   rss_by_role=_by_role(sampler.roles, sampler.hwm_kb, 1 / 1024), stdout=chunks.get("out", b""), stderr=chunks.get("err", b""))


def _by_role(roles: dict[int, str], values: dict, scale: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for pid, value in values.items():
        name = roles.get(pid, "?")
        out[name] = out.get(name, 0.0) + value * scale
    return out


@dataclass
class Stat:
    """Median with min and max of a series of runs."""

    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def fmt(self, digits: int = 2, scale: float = 1.0) -> str:
        if not self.values:
            return "n/a"
        med, lo, hi = (x * scale for x in (self.median, min(self.values), max(self.values)))
        return f"{med:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"

    def as_dict(self) -> dict:
        return {"median": self.median, "min": min(self.values), "max": max(self.values),
                "runs": len(self.values), "values": self.values}


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"
