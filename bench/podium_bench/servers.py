"""The server processes under test: started on free loopback ports, or one already running; with
`--auth keys`, their key and the token the benchmark's requests carry (`headers`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from . import auth
from .util import free_port, log, now


def server_env(args: argparse.Namespace) -> dict[str, str]:
    """The started server's environment: --src puts another copy of the package first on the path;
    --auth says whether it authenticates."""
    env = dict(os.environ)
    if getattr(args, "src", None):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (args.src, env.get("PYTHONPATH")) if p)
    return auth.server_env(args, env)


def database_url_of(args: argparse.Namespace, workdir: Path) -> str:
    """The started server's database: --database-url, or a new SQLite file in the run's temp dir."""
    return args.database_url or f"sqlite:///{workdir}/podium.db"


def bench_key(args: argparse.Namespace, workdir: Path) -> dict[str, str] | None:
    """With --auth keys, the key of the run: an external server's from the environment, or a new one
    in the started servers' database, made before they start (None with auth off)."""
    if not auth.enabled(args):
        return None
    if not args.server_url:
        return auth.make_key(database_url_of(args, workdir), server_env(args), workdir)
    key = auth.key_from_env()
    if key is None:
        raise RuntimeError(f"--auth keys with --server-url needs {' and '.join(auth.KEY_ENV)}")
    return key


class Server:
    """One server process (or the --server-url one). With --servers N, `index` tells them apart: own
    port, log file and profile files."""

    def __init__(
        self, args: argparse.Namespace, workdir: Path, run_index: int = 0, index: int = 0, taken: tuple[int, ...] = ()
    ) -> None:
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid: int | None = args.server_pid
        self.profiler: subprocess.Popen[bytes] | None = None
        self.perf: subprocess.Popen[bytes] | None = None
        self.run_index = run_index
        self.suffix = f"-server{index + 1}" if args.servers > 1 else ""
        if args.server_url:
            self.url = args.server_url.rstrip("/")
            self.database_url = args.database_url or "(external server)"
            return
        self.port = free_port()
        while self.port in taken:
            self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url_of(args, workdir)
        self.log_path = workdir / f"server{self.suffix}.log"
        cmd = [
            sys.executable,
            "-m",
            "podium.cli",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--database-url",
            self.database_url,
            "--log-level",
            args.server_log_level,
            *auth.server_options(args),
        ]
        self.cmd = cmd
        env = server_env(args)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, env=env)
        self.pid = self.proc.pid

    async def wait_healthy(self, timeout: float = 60) -> None:
        deadline = now() + timeout
        async with httpx.AsyncClient(timeout=2) as c:
            while now() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {self.proc.returncode}; see {self.log_path}:\n"
                        + self.log_path.read_text()[-3000:]
                    )
                with contextlib.suppress(httpx.HTTPError):
                    r = await c.get(f"{self.url}/health")
                    if r.status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server at {self.url} did not become healthy in {timeout:.0f} s")

    def start_profile(self, name: str) -> None:
        """py-spy on the server while a phase runs, if --profile was given; `perf record`, if --perf was."""
        if self.pid is None:
            return
        if self.args.perf:
            self._start_perf(name)
        if not self.args.profile:
            return
        out = Path(self.args.profile) / f"run{self.run_index}-{name}{self.suffix}.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.profiler = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(self.pid),
                "--rate",
                str(self.args.profile_rate),
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _start_perf(self, name: str) -> None:
        perf = shutil.which("perf")
        if perf is None:
            log("perf is not installed: --perf records nothing")
            return
        out = Path(self.args.perf) / f"run{self.run_index}-{name}{self.suffix}.perf.data"
        out.parent.mkdir(parents=True, exist_ok=True)
        self.perf = subprocess.Popen([perf, "record", "-F", "999", "-p", str(self.pid), "-o", str(out)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop_profile(self) -> None:
        for recorder in (self.profiler, self.perf):
            if recorder is not None:
                recorder.send_signal(signal.SIGINT)
                try:
                    recorder.wait(30)
                except subprocess.TimeoutExpired:
                    recorder.kill()
        self.profiler = self.perf = None

    def stop(self) -> None:
        self.stop_profile()
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class Servers:
    """The server processes of a run: one, or --servers N sharing one PostgreSQL database. The load
    spreads over `urls`; registration, verification and the idle readings use the first. Every
    request to them sends `headers`: with --auth keys, the token (one for all: they share the
    signing key), fetched once they are healthy, for a key made before they start."""

    def __init__(self, args: argparse.Namespace, workdir: Path, run_index: int) -> None:
        self.key = bench_key(args, workdir)
        self.auth = auth.describe(args, self.key)
        self.headers: dict[str, str] = {}
        self.members: list[Server] = []
        for i in range(args.servers):
            taken = tuple(m.port for m in self.members)
            self.members.append(Server(args, workdir, run_index, i, taken))
        self.url = self.members[0].url
        self.urls = [m.url for m in self.members]
        self.database_url = self.members[0].database_url
        self.pids = [m.pid for m in self.members if m.pid is not None]

    async def wait_healthy(self) -> None:
        """Every server answers /health; with --auth keys, the token is in `headers` then."""
        await asyncio.gather(*(m.wait_healthy() for m in self.members))
        if self.key is not None:
            self.headers = auth.token_headers(await auth.fetch_token(self.url, self.key))

    def start_profile(self, name: str) -> None:
        for m in self.members:
            m.start_profile(name)

    def stop_profile(self) -> None:
        for m in self.members:
            m.stop_profile()

    def stop(self) -> None:
        for m in self.members:
            m.stop()
