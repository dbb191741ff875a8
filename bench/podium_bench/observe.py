"""What the benchmark reads from /proc: memory, CPU and I/O of the servers, PostgreSQL's processes,
the clients and the machine, over a window; and whether the machine is quiet enough to measure."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import time
from typing import Any, Protocol

from .util import log, now

CLK_TCK = os.sysconf("SC_CLK_TCK")


class Clients(Protocol):
    """The load processes, whose CPU a window counts (load.Load)."""

    def cpu(self) -> float: ...


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM of a process, in kB."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    return out


def proc_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process (and its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_seconds(pid: int) -> float:
    """`proc_cpu` of a process that must still run (a microbenchmark's server or backend)."""
    seconds = proc_cpu(pid)
    if seconds is None:
        raise RuntimeError(f"process {pid} is gone")
    return seconds


def proc_io(pid: int) -> dict[str, int]:
    """/proc/<pid>/io: wchar (bytes passed to write-type calls), write_bytes (to the disk), syscw."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/io") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("wchar", "write_bytes", "syscw", "rchar", "syscr"):
                out[key] = int(value)
    return out


# "postgres: 15/main: <user> <database> <host>(<port>) <state>": a client backend's title
PG_BACKEND = re.compile(rb"^postgres: (?:[^:]*: )?\S+ (\S+) (?:\[local\]|\S+\(\d+\))")


def postgres_procs(database: str) -> dict[int, tuple[str, float, int]]:
    """PostgreSQL's processes on this machine: pid -> (kind, CPU seconds, bytes written to disk).
    kind is "backend" for a backend of `database`, "shared" for the postmaster and its helpers
    (WAL writer, checkpointer, ...), "other" for other databases' backends (someone else's)."""
    out: dict[int, tuple[str, float, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                title = f.read().rstrip(b"\0")
        except OSError:
            continue
        m = PG_BACKEND.match(title)
        kind = "shared" if m is None else ("backend" if m[1] == database.encode() else "other")
        out[pid] = (kind, proc_cpu(pid) or 0.0, proc_io(pid).get("write_bytes", 0))
    return out


def postgres_delta(a: dict[int, tuple[str, float, int]], b: dict[int, tuple[str, float, int]]) -> dict[str, float]:
    """CPU seconds and disk bytes of PostgreSQL's processes between two snapshots, by kind (processes
    that started in between count from zero; those that ended in between are lost)."""
    out = {"backend": 0.0, "shared": 0.0, "other": 0.0, "write_bytes": 0.0}
    for pid, (kind, cpu, wrote) in b.items():
        _, cpu0, wrote0 = a.get(pid, (kind, 0.0, 0))
        out[kind] += cpu - cpu0
        if kind != "other":
            out["write_bytes"] += wrote - wrote0
    return out


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return total - idle, total


def machine_info() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


class Observer:
    """Samples the servers' VmRSS every 50 ms and remembers the peak of their sum per phase. With
    several server processes, memory, CPU and I/O are their sums; `per_server` gives one figure each.
    `database` names the PostgreSQL database whose backends are counted, if any."""

    def __init__(self, pids: list[int], database: str | None = None) -> None:
        self.pids = pids
        self.database = database
        self.phase = "startup"
        self.peak_kb: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.pids:
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.05)

    def sample(self) -> dict[str, int]:
        """VmRSS / VmHWM summed over the servers (kB); empty if one of them cannot be read."""
        each = [proc_status(pid) for pid in self.pids]
        st = {k: sum(e[k] for e in each) for k in ("VmRSS", "VmHWM") if each and all(k in e for e in each)}
        rss = st.get("VmRSS")
        if rss is not None:
            self.peak_kb[self.phase] = max(self.peak_kb.get(self.phase, 0), rss)
        return st

    def rss_mb(self) -> float | None:
        st = self.sample()
        return st["VmRSS"] / 1024 if "VmRSS" in st else None

    def hwm_mb(self) -> float | None:
        st = self.sample()
        return st["VmHWM"] / 1024 if "VmHWM" in st else None

    def per_server(self, key: str) -> list[float | None] | None:
        """VmRSS or VmHWM of each server in MB, with several servers (None with one)."""
        if len(self.pids) < 2:
            return None
        return [round(v / 1024, 1) if (v := proc_status(pid).get(key)) is not None else None for pid in self.pids]

    def cpus(self) -> list[float | None]:
        return [proc_cpu(pid) for pid in self.pids]

    def cpu(self) -> float | None:
        cpus = [c for c in self.cpus() if c is not None]
        return sum(cpus) if cpus and len(cpus) == len(self.pids) else None

    def io(self) -> dict[str, int]:
        each = [proc_io(pid) for pid in self.pids]
        return {k: sum(e[k] for e in each) for k in (each[0] if each else {}) if all(k in e for e in each)}

    def postgres(self) -> dict[int, tuple[str, float, int]] | None:
        return postgres_procs(self.database) if self.database else None

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class CpuWindow:
    """CPU used by the server(s), PostgreSQL, the load processes, this process and the machine over a
    window."""

    def __init__(self, obs: Observer, load: Clients) -> None:
        self.obs, self.load = obs, load

    def mark(self) -> dict[str, Any]:
        return {
            "t": now(),
            "server": self.obs.cpu(),
            "servers": self.obs.cpus() if len(self.obs.pids) > 1 else None,
            "postgres": self.obs.postgres(),
            "clients": self.load.cpu(),
            "main": time.process_time(),
            "machine": machine_cpu(),
            "io": self.obs.io(),
        }

    @staticmethod
    def report(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        dt = b["t"] - a["t"]
        busy = (b["machine"][0] - a["machine"][0]) / max(1, b["machine"][1] - a["machine"][1])
        clients = 100 * (b["clients"] - a["clients"]) / dt
        main = 100 * (b["main"] - a["main"]) / dt
        out = {
            "seconds": round(dt, 3),
            "clients_pct_of_core": round(clients, 1),
            "main_pct_of_core": round(main, 1),
            "machine_busy_pct": round(100 * busy, 1),
            "server_cpu_s": None,
            "clients_cpu_s": round(b["clients"] - a["clients"], 3),
        }
        ours = clients + main
        if a["postgres"] is not None and b["postgres"] is not None:
            out.update(CpuWindow.postgres_report(postgres_delta(a["postgres"], b["postgres"]), dt))
            ours += out["postgres_pct_of_core"]
        if a["server"] is not None and b["server"] is not None:
            server = 100 * (b["server"] - a["server"]) / dt
            out["server_pct_of_core"] = round(server, 1)
            out["server_cpu_s"] = round(b["server"] - a["server"], 3)
            if a["servers"] and b["servers"] and None not in a["servers"] + b["servers"]:
                out["server_pct_of_core_per_server"] = [
                    round(100 * (y - x) / dt, 1) for x, y in zip(a["servers"], b["servers"], strict=True)
                ]
            ours += server
            # whatever else ran on the machine meanwhile (other people's tests, ...), in % of one core
            out["other_pct_of_core"] = round(max(0.0, 100 * busy * (os.cpu_count() or 1) - ours), 1)
        if a["io"] and b["io"]:
            # bytes the server wrote (WAL frames, checkpoints) and write-type syscalls (incl. sends)
            out["server_io"] = {k: b["io"][k] - a["io"][k] for k in a["io"] if k in b["io"]}
        return out

    @staticmethod
    def postgres_report(d: dict[str, float], dt: float) -> dict[str, Any]:
        """PostgreSQL's share: our database's backends plus the shared processes (WAL writer, ...);
        other databases' backends are left to "other"."""
        return {
            "postgres_cpu_s": round(d["backend"] + d["shared"], 3),
            "postgres_pct_of_core": round(100 * (d["backend"] + d["shared"]) / dt, 1),
            "postgres_backends_pct_of_core": round(100 * d["backend"] / dt, 1),
            "postgres_shared_pct_of_core": round(100 * d["shared"] / dt, 1),
            "postgres_write_bytes": int(d["write_bytes"]),
        }


def per_op_cpu(cpu: dict[str, Any], ops: int) -> dict[str, Any]:
    """CPU milliseconds per operation, server and clients: a figure that other load on the machine
    disturbs much less than a rate does."""
    if not ops:
        return {}
    out = {"client_cpu_ms_per_op": round(1000 * cpu["clients_cpu_s"] / ops, 3)}
    if cpu.get("server_cpu_s"):
        out["server_cpu_ms_per_op"] = round(1000 * cpu["server_cpu_s"] / ops, 3)
        # what one fully busy core would do at this cost per operation (the server is one process;
        # with several, this is per core of their summed CPU)
        out["one_core_ceiling_per_s"] = round(ops / cpu["server_cpu_s"], 1)
    if cpu.get("postgres_cpu_s") is not None:
        out["postgres_cpu_ms_per_op"] = round(1000 * cpu["postgres_cpu_s"] / ops, 3)
        out["postgres_disk_kb_per_op"] = round(cpu["postgres_write_bytes"] / 1024 / ops, 1)
    io = cpu.get("server_io") or {}
    if "write_bytes" in io:
        out["server_disk_kb_per_op"] = round(io["write_bytes"] / 1024 / ops, 1)
    if "syscw" in io:
        out["server_write_syscalls_per_op"] = round(io["syscw"] / ops, 1)
    return out


async def background_load(seconds: float = 1.0) -> float:
    """CPU used by the whole machine over `seconds`, in % of one core."""
    a = machine_cpu()
    await asyncio.sleep(seconds)
    b = machine_cpu()
    return round(100 * (os.cpu_count() or 1) * (b[0] - a[0]) / max(1, b[1] - a[1]), 1)


async def wait_quiet(args: argparse.Namespace) -> float:
    load = await background_load()
    deadline = now() + args.wait_quiet
    while load > args.quiet_pct and now() < deadline:
        log(f"machine busy with other work ({load:.0f}% of a core), waiting")
        load = await background_load(2.0)
    if load > args.quiet_pct:
        log(f"warning: other processes use {load:.0f}% of a core; results will be lower than on a quiet machine")
    return load
