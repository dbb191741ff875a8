"""Database faults on a PostgreSQL cluster of the test's own (initdb into a temporary directory, its
own port): stopped while the server is under load, and with its backends terminated. The server
answers 503 in Conductor's error shape while the database is gone, reconnects by itself, and every
workflow completes exactly once (counted in the database, not sampled)."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import asyncpg
import httpx
import pytest

from tests.conftest import ServerProcess, free_port, start_server

pytestmark = pytest.mark.slow

WORKFLOWS = 200
STEPS = ("one", "two", "three")
TASK = "dbfault"
FLOW = "dbfault_flow"
DATABASE = "podium_faults"
TERMINATIONS = 6


# --- a PostgreSQL cluster of the test's own ------------------------------------------------------

def _unavailable(message: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _bindir() -> Path:
    """The directory of initdb and pg_ctl: `pg_config --bindir`, else the newest /usr/lib/postgresql."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(found.stdout.strip()))
    candidates += sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    _unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found")


def _as_cluster_owner() -> tuple[list[str], pwd.struct_passwd | None]:
    """initdb refuses to run as root: as root, run the cluster as the `postgres` OS user."""
    if os.geteuid() != 0:
        return [], None
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        _unavailable("running as root, and there is no `postgres` OS user to own the test cluster")
    if not shutil.which("runuser"):
        _unavailable("running as root, and runuser is missing")
    return ["runuser", "-u", "postgres", "--"], owner


@dataclass
class Cluster:
    bindir: Path
    root: Path
    port: int
    prefix: list[str]  # runuser ... when the tests run as root

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.prefix, *args], capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{args} failed ({done.returncode}): {done.stdout}{done.stderr}\n{log}")

    def initdb(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "--encoding=UTF8", "--no-locale")

    def start(self) -> None:
        # fsync=off: the OS keeps what was written (only the server processes die here); commits stay
        # synchronous, so an immediate stop loses no acknowledged transaction.
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "30", "start")

    def stop(self, mode: str) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def postmaster(self) -> int | None:
        pid_file = self.data / "postmaster.pid"
        return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    bindir = _bindir()
    prefix, owner = _as_cluster_owner()
    root = Path(tempfile.mkdtemp(prefix="podium-pg-"))
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    pg = Cluster(bindir, root, free_port(), prefix)
    try:
        pg.initdb()
        pg.start()
        await _create_database(pg)
        yield pg
    finally:
        if (pid := pg.postmaster()) is not None:
            try:
                pg.stop("immediate")
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                print(f"pg_ctl stop failed ({exc}); SIGKILL to the postmaster {pid}")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


async def _create_database(pg: Cluster) -> None:
    admin = await asyncpg.connect(pg.url("postgres"), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()


# --- load: workers that poll and complete, tolerating errors ---------------------------------------

@dataclass
class Load:
    """What the workers saw: every answer's status, each task id handed out, each acknowledged
    completion, and the bodies of unexpected answers."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    statuses: Counter[Any] = field(default_factory=Counter)
    polled: Counter[str] = field(default_factory=Counter)
    done: Counter[str] = field(default_factory=Counter)
    odd: list[str] = field(default_factory=list)

    def saw(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1
        if response.status_code not in (200, 503):
            self.odd.append(f"{response.request.method} {response.request.url.path} -> "
                            f"{response.status_code} {response.text[:300]}")


async def _worker(api: str, load: Load) -> None:
    async with httpx.AsyncClient(base_url=api, timeout=5) as http:
        while not load.stop.is_set():
            try:
                polled = await http.get(f"/tasks/poll/batch/{TASK}", params={"workerid": "w", "count": 5,
                                                                             "timeout": 200})
                load.saw(polled)
                tasks = polled.json() if polled.status_code == 200 else []
                if polled.status_code != 200:
                    await asyncio.sleep(0.05)
                for task in tasks:
                    load.polled[task["taskId"]] += 1
                    await asyncio.sleep(0.002)
                    result = {"workflowInstanceId": task["workflowInstanceId"], "taskId": task["taskId"],
                              "status": "COMPLETED", "outputData": {"step": task["referenceTaskName"]}}
                    updated = await http.post("/tasks", json=result)
                    load.saw(updated)
                    if updated.status_code == 200:
                        load.done[task["taskId"]] += 1
            except httpx.TimeoutException:
                load.statuses["timeout"] += 1
            except (httpx.HTTPError, ValueError) as exc:  # a dropped connection, or an answer not JSON
                load.statuses[type(exc).__name__] += 1
                load.odd.append(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.05)


async def _register_and_start(api: str) -> list[str]:
    async with httpx.AsyncClient(base_url=api, timeout=10) as http:
        defined = await http.post("/metadata/taskdefs", json=[{
            "name": TASK, "retryCount": 5, "retryLogic": "FIXED", "retryDelaySeconds": 0,
            "responseTimeoutSeconds": 3, "timeoutSeconds": 0}])
        assert defined.status_code == 200, defined.text
        flow = await http.post("/metadata/workflow", json={"name": FLOW, "version": 1, "tasks": [
            {"name": TASK, "taskReferenceName": ref, "type": "SIMPLE"} for ref in STEPS],
            "outputParameters": {"step": "${three.output.step}"}})
        assert flow.status_code == 200, flow.text
        ids = []
        for i in range(WORKFLOWS):
            started = await http.post("/workflow", json={"name": FLOW, "version": 1, "input": {"i": i}})
            assert started.status_code == 200, started.text
            ids.append(started.text)
        return ids


async def _until_a_third_done(load: Load) -> None:
    deadline = time.monotonic() + 30
    while sum(load.done.values()) < WORKFLOWS * len(STEPS) // 3:
        assert time.monotonic() < deadline, f"no progress before the fault: {load.statuses}"
        await asyncio.sleep(0.01)


# --- the database's own account --------------------------------------------------------------------

@dataclass
class Tally:
    executions: dict[str, int]
    completed_per_ref: Counter[tuple[str, str]]
    task_statuses: dict[str, int]
    queued: int
    armed_timers: int
    task_status_of: dict[str, str]

    def summary(self) -> str:
        return (f"executions {self.executions}, tasks {self.task_statuses}, queued {self.queued}, "
                f"armed timers {self.armed_timers}")


async def _tally(url: str) -> Tally:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        executions = await conn.fetch("SELECT status, COUNT(*) FROM executions GROUP BY status")
        tasks = await conn.fetch("SELECT task_id, workflow_id, ref_name, status FROM tasks")
        queued = await conn.fetchval("SELECT COUNT(*) FROM queue")
        timers = await conn.fetchval("SELECT (SELECT COUNT(*) FROM timers WHERE workflow_id <> '') + "  # executions'"
                                     "(SELECT COUNT(*) FROM tasks WHERE due_at IS NOT NULL)")
    finally:
        await conn.close()
    completed = Counter((r["workflow_id"], r["ref_name"]) for r in tasks if r["status"] == "COMPLETED")
    return Tally(executions={r["status"]: r["count"] for r in executions}, completed_per_ref=completed,
                 task_statuses=dict(Counter(r["status"] for r in tasks)), queued=queued, armed_timers=timers,
                 task_status_of={r["task_id"]: r["status"] for r in tasks})


async def _wait_all_completed(url: str, timeout: float) -> Tally | None:
    """The database's account once every workflow is COMPLETED; None if that takes over `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            tally = await _tally(url)
        except (OSError, asyncpg.PostgresError):
            tally = None
        if tally is not None and tally.executions.get("COMPLETED") == WORKFLOWS:
            return tally
        await asyncio.sleep(0.5)
    return None


async def _stuck(url: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        rows = await conn.fetch(
            "SELECT t.workflow_id, t.ref_name, t.retry_count, t.status, t.due_at, "
            "EXISTS (SELECT 1 FROM queue q WHERE q.task_id = t.task_id) AS queued FROM tasks t "
            "JOIN executions e ON e.workflow_id = t.workflow_id "
            "WHERE e.status <> 'COMPLETED' AND t.status NOT IN ('COMPLETED', 'TIMED_OUT') LIMIT 10")
    finally:
        await conn.close()
    return [tuple(r) for r in rows]


class WorkflowsStuck(AssertionError):
    """Some workflows never completed after the fault."""


class AnsweredWith500(AssertionError):
    """A lost database was answered with something else than a 503 (a 500, mostly)."""


async def _assert_exactly_once(pg: Cluster, server: ServerProcess, ids: list[str], load: Load) -> None:
    url = pg.url(DATABASE)
    tally = await _wait_all_completed(url, timeout=30)
    assert [task_id for task_id, n in load.polled.items() if n > 1] == [], "a task attempt was handed out twice"
    if tally is None:
        last = await _tally(url)
        raise WorkflowsStuck(f"not every workflow completed within 30 s: {last.summary()}\n"
                             f"worker answers: {dict(load.statuses)}; unexpected: {load.odd[:3]}\n"
                             f"unfinished tasks (sample): {await _stuck(url)}")
    # In the database: every workflow COMPLETED, each step completed once, nothing left behind.
    assert tally.executions == {"COMPLETED": WORKFLOWS}
    expected = {(wid, ref): 1 for wid in ids for ref in STEPS}
    assert dict(tally.completed_per_ref) == expected
    assert set(tally.task_statuses) <= {"COMPLETED", "TIMED_OUT"}, tally.task_statuses
    assert tally.queued == 0
    assert tally.armed_timers == 0
    # Every acknowledged completion is on record (a late one, for an attempt that had timed out
    # meanwhile, is acknowledged and ignored).
    assert all(tally.task_status_of[task_id] in ("COMPLETED", "TIMED_OUT") for task_id in load.done)
    # Through the API: the server reads what the database holds.
    async with httpx.AsyncClient(base_url=server.api, timeout=10) as http:
        for wid in ids:
            workflow = (await http.get(f"/workflow/{wid}")).json()
            assert workflow["status"] == "COMPLETED", wid
            completed = Counter(t["referenceTaskName"] for t in workflow["tasks"] if t["status"] == "COMPLETED")
            assert completed == dict.fromkeys(STEPS, 1), wid
            assert workflow["output"] == {"step": "three"}, wid
    # Unavailability is answered promptly with a 503: never a hang, a 500 or a dropped connection.
    assert "timeout" not in load.statuses, dict(load.statuses)
    if load.odd:
        raise AnsweredWith500(f"{len(load.odd)} unexpected answers ({dict(load.statuses)}), "
                              f"the first: {load.odd[:3]}")


_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ")
_BOILERPLATE = ("Traceback", "The above exception", "During handling", "^", "~", "  ")


def _log_summary(log: Path) -> Counter[str]:
    """The server's log (level warning) without the frames of its tracebacks, each line counted."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return Counter(_TIMESTAMP.sub("", line)[:200] for line in lines
                   if line.strip() and not line.startswith(_BOILERPLATE))


def _print_log_summary(log: Path) -> None:
    for line, n in _log_summary(log).most_common(25):
        print(f"  server log {n:4d}x {line}")


async def _assert_unavailable(api: str, workflow_id: str) -> None:
    """While the database is gone, API calls answer 503 in Conductor's error shape, promptly."""
    async with httpx.AsyncClient(base_url=api, timeout=5) as http:
        calls: list[tuple[str, Callable[[], Awaitable[httpx.Response]]]] = [
            ("GET /workflow/{id}", lambda: http.get(f"/workflow/{workflow_id}")),
            ("POST /workflow", lambda: http.post("/workflow", json={"name": FLOW, "version": 1,
                                                                    "input": {"late": True}})),
            ("GET /tasks/poll/batch", lambda: http.get(f"/tasks/poll/batch/{TASK}",
                                                       params={"count": 1, "timeout": 100})),
            ("POST /tasks", lambda: http.post("/tasks", json={"workflowInstanceId": workflow_id,
                                                              "taskId": "no-such-task", "status": "COMPLETED"})),
        ]
        for what, call in calls:
            began = time.monotonic()
            response = await call()
            elapsed = time.monotonic() - began
            assert elapsed < 5, f"{what} took {elapsed:.1f}s"
            assert response.status_code == 503, f"{what}: {response.status_code} {response.text[:500]}"
            assert response.headers["content-type"].startswith("application/json"), what
            body = response.json()
            assert body["status"] == 503, (what, body)
            assert isinstance(body["message"], str) and body["message"], (what, body)
            assert body.get("retryable") is True, (what, body)
            assert "Traceback" not in response.text, (what, body)


# --- the tests ---------------------------------------------------------------------------------------

async def test_postgres_restarted_under_load(cluster: Cluster, tmp_path: Path) -> None:
    began = time.monotonic()
    server = start_server(tmp_path / "unused.db", tmp_path / "server.log", database_url=cluster.url(DATABASE))
    load = Load()
    workers: list[asyncio.Task[None]] = []
    try:
        ids = await _register_and_start(server.api)
        workers = [asyncio.create_task(_worker(server.api, load)) for _ in range(6)]
        await _until_a_third_done(load)

        await asyncio.to_thread(cluster.stop, "immediate")  # the workers keep calling meanwhile
        done_before = sum(load.done.values())
        await asyncio.sleep(1.5)
        await _assert_unavailable(server.api, ids[0])
        assert server.process.poll() is None, "the server exited when its database went away"
        assert load.statuses[503] > 0, "the workers never saw a 503 while the database was down"
        assert done_before < WORKFLOWS * len(STEPS)
        await asyncio.to_thread(cluster.start)

        await _assert_exactly_once(cluster, server, ids, load)
    finally:
        load.stop.set()
        await asyncio.gather(*workers)
        server.stop()
        print(f"\nrestart under load: {time.monotonic() - began:.1f}s, worker answers {dict(load.statuses)}")
        _print_log_summary(server.log_path)


async def test_backends_terminated_under_load(cluster: Cluster, tmp_path: Path) -> None:
    began = time.monotonic()
    server = start_server(tmp_path / "unused.db", tmp_path / "server.log", database_url=cluster.url(DATABASE))
    load = Load()
    workers: list[asyncio.Task[None]] = []
    terminated = []
    try:
        ids = await _register_and_start(server.api)
        workers = [asyncio.create_task(_worker(server.api, load)) for _ in range(6)]
        await _until_a_third_done(load)

        admin = await asyncpg.connect(cluster.url("postgres"), timeout=10)
        try:
            for _ in range(TERMINATIONS):
                killed = await admin.fetchval(
                    "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()", DATABASE)
                terminated.append(killed)
                await asyncio.sleep(0.7)
        finally:
            await admin.close()
        assert server.process.poll() is None, "the server exited when its connections were terminated"

        await _assert_exactly_once(cluster, server, ids, load)
        assert all(n > 0 for n in terminated), terminated
    finally:
        load.stop.set()
        await asyncio.gather(*workers)
        server.stop()
        print(f"\nbackends terminated {terminated}: {time.monotonic() - began:.1f}s, "
              f"worker answers {dict(load.statuses)}")
        _print_log_summary(server.log_path)
