"""The BBS cell against a real `podium server` process, through the routes in docs/bbs.md."""

from __future__ import annotations

import asyncio
from pathlib import Path

from podium.agent.bbs import ORPHAN_REASON
from podium.agent.bbs_task import SHUTDOWN_REASON
from tests.agent.conftest import Bbs, CellFactory, sh, unique
from tests.agent.helpers import ensure_dead, eventually, gone


async def wait_file(path: Path, what: str) -> str:
    return str(await eventually(lambda: path.exists() and path.read_text().strip(), what, timeout=60))


async def test_a_task_runs_and_completes_with_its_result_and_logs(bbs: Bbs, cells: CellFactory,
                                                                  tmp_path: Path) -> None:
    cell = cells()
    action = sh("echo hello; echo oops >&2; printf 42 > result", dir=str(tmp_path))
    guid = await bbs.desire(action, result_file="result")
    task = await bbs.until(guid, "Completed")
    assert (task["failed"], task["failure_reason"], task["result"]) == (False, "", "42")
    assert task["cell_id"] == ""
    log = await bbs.log(guid)
    assert {"hello", "oops", "Exit status 0"} <= set(log)
    assert cell.config.cell_id


async def test_the_task_env_reaches_the_command(bbs: Bbs, cells: CellFactory, tmp_path: Path) -> None:
    cells()
    guid = await bbs.desire(sh("printf '%s %s' \"$A\" \"$B\" > out", dir=str(tmp_path),
                               env=[{"name": "B", "value": "action"}]),
                            env=[{"name": "A", "value": "task"}, {"name": "B", "value": "task"}], result_file="out")
    assert (await bbs.until(guid, "Completed"))["result"] == "task action"


async def test_a_failing_command_fails_the_task(bbs: Bbs, cells: CellFactory) -> None:
    cells()
    guid = await bbs.desire(sh("echo bad; exit 3"))
    task = await bbs.until(guid, "Completed")
    assert (task["failed"], task["failure_reason"]) == (True, "Exited with status 3")
    assert "Exit status 3" in await bbs.log(guid)


async def test_a_missing_result_file_fails_the_task(bbs: Bbs, cells: CellFactory, tmp_path: Path) -> None:
    cells()
    guid = await bbs.desire(sh("true", dir=str(tmp_path)), result_file="nothing-here")
    task = await bbs.until(guid, "Completed")
    assert (task["failed"], task["failure_reason"]) == (True, "failed to fetch result")


async def test_a_timeout_fails_the_task(bbs: Bbs, cells: CellFactory) -> None:
    cells()
    guid = await bbs.desire({"timeout": {"action": sh("sleep 100"), "timeout_ms": 200}})
    task = await bbs.until(guid, "Completed")
    assert (task["failed"], task["failure_reason"]) == (True, "timed out after 200ms")


async def test_an_unsupported_action_is_rejected_until_the_task_fails(bbs: Bbs, cells: CellFactory) -> None:
    cells()
    guid = await bbs.desire({"download": {"from": "http://example.invalid/x.tgz", "to": "/tmp"}})
    task = await bbs.until(guid, "Completed")
    assert (task["failed"], task["failure_reason"]) == (True, "unsupported action: download")
    assert task["rejection_count"] >= 1
    assert task["rejection_reason"] == "unsupported action: download"


async def test_a_missing_executable_is_rejected(bbs: Bbs, cells: CellFactory) -> None:
    cells()
    guid = await bbs.desire({"run": {"path": "no-such-program-podium"}})
    task = await bbs.until(guid, "Completed")
    assert task["failed"] and task["rejection_count"] >= 1
    assert task["failure_reason"].startswith("cannot run 'no-such-program-podium'")
    assert any(line.startswith("cannot run 'no-such-program-podium'") for line in await bbs.log(guid))


async def test_a_malformed_action_fails_the_task(bbs: Bbs, cells: CellFactory) -> None:
    cells()
    guid = await bbs.desire({"timeout": {"action": sh("true"), "timeout_ms": -5}})
    task = await bbs.until(guid, "Completed")
    assert task["failed"] and task["failure_reason"].startswith("invalid action")
    assert task["rejection_count"] == 0


async def test_cancelling_a_running_task_kills_its_process_group(bbs: Bbs, cells: CellFactory,
                                                                 tmp_path: Path) -> None:
    cells()
    pids = tmp_path / "pids"
    guid = await bbs.desire(sh(f"sleep 100 & echo $$ $! > {pids}; wait"))
    await bbs.until(guid, "Running")
    leader, grandchild = map(int, (await wait_file(pids, "the task's pids")).split())
    try:
        assert "error" not in await bbs.call("/v1/tasks/cancel", {"task_guid": guid})
        await eventually(lambda: gone(leader, grandchild), "the task's processes to be killed", timeout=60)
        task = await bbs.task(guid)
        assert (task["state"], task["failure_reason"]) == ("Completed", "task was cancelled")
    finally:
        ensure_dead(leader, grandchild)


async def test_a_deleted_task_is_killed_too(bbs: Bbs, cells: CellFactory, tmp_path: Path) -> None:
    cells()
    pids = tmp_path / "pids"
    guid = await bbs.desire(sh(f"echo $$ > {pids}; sleep 100"))
    await bbs.until(guid, "Running")
    leader = int(await wait_file(pids, "the task's pid"))
    try:
        for route in ("cancel", "resolving", "delete"):
            answer = await bbs.call(f"/v1/tasks/{route}", {"task_guid": guid})
            assert "error" not in answer, (route, answer)
        await eventually(lambda: gone(leader), "the task's process to be killed", timeout=60)
    finally:
        ensure_dead(leader)


async def test_no_more_tasks_run_at_once_than_the_concurrency(bbs: Bbs, cells: CellFactory, tmp_path: Path) -> None:
    cell = cells(concurrency=2)
    go = tmp_path / "go"
    guids = [await bbs.desire(sh(f"while [ ! -f {go} ]; do sleep 0.02; done")) for _ in range(4)]

    async def two_running() -> bool:
        running = await bbs.on_cell(cell.config.cell_id)
        assert len([t for t in running if t["state"] == "Running"]) <= 2
        return len(running) == 2

    await eventually(two_running, "two tasks running", timeout=60)
    for _ in range(10):  # a few more looks: never a third
        await two_running()
        await asyncio.sleep(0.05)
    states = sorted([(await bbs.task(g))["state"] for g in guids])
    assert states == ["Pending", "Pending", "Running", "Running"]
    go.touch()
    for guid in guids:
        assert not (await bbs.until(guid, "Completed"))["failed"]


async def test_stop_lets_running_tasks_finish_and_takes_no_more(bbs: Bbs, cells: CellFactory, tmp_path: Path) -> None:
    cell = cells(concurrency=2)
    go = tmp_path / "go"
    first = await bbs.desire(sh(f"while [ ! -f {go} ]; do sleep 0.02; done; printf done > {tmp_path}/r",
                                dir=str(tmp_path)), result_file="r")
    await bbs.until(first, "Running")
    cell.stop()
    second = await bbs.desire(sh("true"))
    go.touch()
    assert (await bbs.until(first, "Completed"))["result"] == "done"
    await eventually(lambda: not cell.running, "the cell to drain", timeout=60)
    assert (await bbs.task(second))["state"] == "Pending"


async def test_past_the_shutdown_grace_running_tasks_are_killed_and_failed(bbs: Bbs, cells: CellFactory,
                                                                          tmp_path: Path) -> None:
    cell = cells(shutdown_grace=0.5)
    pids = tmp_path / "pids"
    guid = await bbs.desire(sh(f"echo $$ > {pids}; sleep 100"))
    leader = int(await wait_file(pids, "the task's pid"))
    try:
        cell.stop()
        task = await bbs.until(guid, "Completed")
        assert (task["failed"], task["failure_reason"]) == (True, SHUTDOWN_REASON)
        await eventually(lambda: gone(leader), "the task's process to be killed")
    finally:
        ensure_dead(leader)


async def test_a_second_stop_does_not_wait_for_the_grace(bbs: Bbs, cells: CellFactory, tmp_path: Path) -> None:
    cell = cells(shutdown_grace=3600)
    pids = tmp_path / "pids"
    guid = await bbs.desire(sh(f"echo $$ > {pids}; sleep 100"))
    leader = int(await wait_file(pids, "the task's pid"))
    try:
        cell.stop()
        cell.stop()
        task = await bbs.until(guid, "Completed")
        assert task["failure_reason"] == SHUTDOWN_REASON
    finally:
        ensure_dead(leader)


async def test_the_heartbeat_keeps_the_cell_present(bbs: Bbs, cells: CellFactory) -> None:
    cell = cells()

    async def listed() -> bool:
        found = (await bbs.call("/v1/cells/list.r1", {}))["cells"]
        return any(c["cell_id"] == cell.config.cell_id for c in found)

    await eventually(listed, "the cell in /v1/cells/list.r1")


async def test_tasks_left_running_by_a_previous_run_of_the_cell_are_failed(bbs: Bbs, cells: CellFactory) -> None:
    cell_id = unique("cell")
    guid = await bbs.desire(sh("true"))
    assert (await bbs.call("/v1/tasks/start", {"task_guid": guid, "cell_id": cell_id}))["should_start"] is True
    cells(cell_id=cell_id)
    task = await bbs.until(guid, "Completed")
    assert (task["failed"], task["failure_reason"]) == (True, ORPHAN_REASON)


async def test_fast_output_is_shipped_in_batches(bbs: Bbs, cells: CellFactory) -> None:
    cells()
    guid = await bbs.desire(sh("i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done"))
    await bbs.until(guid, "Completed")
    log = await bbs.log(guid)
    assert [line for line in log if line.startswith("line-")] == [f"line-{i}" for i in range(3000)]
    assert await bbs.log_entries(guid) < 300
