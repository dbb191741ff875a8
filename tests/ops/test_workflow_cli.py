"""`podium workflow` against a real server process: tables, --json, the tree of `show`, actions on
several ids, and the exit codes (0 ok, 1 failed, 2 usage, 3 unreachable)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess, free_port
from tests.ops.support import flow, inline, podium, podium_json, register

pytestmark = pytest.mark.slow
HELD = "ops_cli_held"  # a SIMPLE task nothing polls: its workflows stay RUNNING


@pytest.fixture(scope="module")
def srv(module_server: ServerProcess) -> Iterator[ServerProcess]:
    register(module_server.api,
             flow("ops_quick", inline("only", "({done: true})")),
             flow("ops_fails", {"name": "stop", "taskReferenceName": "stop", "type": "TERMINATE",
                                "inputParameters": {"terminationStatus": "FAILED"}}),
             flow("ops_held", {"name": HELD, "taskReferenceName": "held", "type": "SIMPLE"}),
             flow("ops_parent",
                  {"name": "child", "taskReferenceName": "child", "type": "SUB_WORKFLOW",
                   "subWorkflowParam": {"name": "ops_quick", "version": 1}},
                  {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN",
                   "forkTasks": [[inline("left")], [inline("right")]]},
                  {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["left", "right"]}),
             task_defs=({"name": HELD, "retryCount": 0, "responseTimeoutSeconds": 600},))
    yield module_server


def test_start_prints_the_id_and_wait_gives_the_outcome_as_exit_code(srv: ServerProcess) -> None:
    done = podium("workflow", "start", "ops_held", "--input", '{"n": 1}', server=srv.url)
    assert done.returncode == 0, done.stderr
    workflow_id = done.stdout.strip()
    assert httpx.get(f"{srv.api}/workflow/{workflow_id}", timeout=10).json()["input"] == {"n": 1}

    finished = podium_json("workflow", "start", "ops_quick", "--version", "1", "--wait", server=srv.url)
    assert finished["status"] == "COMPLETED" and finished["output"]

    failed = podium("workflow", "start", "ops_fails", "--wait", server=srv.url)
    assert failed.returncode == 1 and " FAILED" in failed.stdout


def test_input_from_a_file(srv: ServerProcess, tmp_path: Path) -> None:
    given = tmp_path / "input.json"
    given.write_text(json.dumps({"order": {"id": 7}}))
    started = podium_json("workflow", "start", "ops_held", "--input", f"@{given}", server=srv.url)
    found = httpx.get(f"{srv.api}/workflow/{started['workflowId']}", timeout=10).json()
    assert found["input"] == {"order": {"id": 7}}


def test_show_lists_the_tasks_and_unfolds_sub_workflows_and_forks(srv: ServerProcess) -> None:
    workflow_id = podium_json("workflow", "start", "ops_parent", "--wait", server=srv.url)["workflowId"]
    shown = podium("workflow", "show", workflow_id, server=srv.url)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "ops_parent v1" in lines[0] and "COMPLETED" in lines[0]
    for ref in ("child", "fork", "left", "right", "join"):
        assert any(f" {ref} " in line for line in lines), ref
    tree = lines[next(i for i, line in enumerate(lines) if line.startswith("ops_parent COMPLETED")):]
    assert any("ops_quick" in line and "COMPLETED" in line for line in tree)  # the child, unfolded
    fork = next(i for i, line in enumerate(tree) if "fork [FORK]" in line)
    left = next(i for i, line in enumerate(tree) if "left [INLINE]" in line)
    assert left > fork and tree[left].index("left") > tree[fork].index("fork")  # a branch, under its fork

    as_json = podium_json("workflow", "show", workflow_id, server=srv.url)
    child = next(t for t in as_json["tasks"] if t["referenceTaskName"] == "child")
    assert child["subWorkflow"]["workflowName"] == "ops_quick"
    assert child["subWorkflow"]["status"] == "COMPLETED"


def test_list_filters_by_status_and_query(srv: ServerProcess) -> None:
    done = podium("workflow", "start", "ops_fails", "--wait", "--json", server=srv.url)
    assert done.returncode == 1  # the workflow failed
    failed = json.loads(done.stdout)["workflowId"]

    def listed() -> dict:
        return podium_json("workflow", "list", "--status", "failed", "--query", "workflowType = ops_fails",
                           server=srv.url)

    found = listed()
    for _ in range(50):  # the search index follows within moments
        if failed in {r["workflowId"] for r in found["results"]}:
            break
        found = listed()
    assert failed in {r["workflowId"] for r in found["results"]}
    assert {r["status"] for r in found["results"]} == {"FAILED"}
    table = podium("workflow", "list", "--status", "FAILED", server=srv.url)
    assert table.returncode == 0 and failed in table.stdout and "Workflow id" in table.stdout


def test_actions_on_several_ids_report_each_and_exit_1_when_one_fails(srv: ServerProcess) -> None:
    ids = [podium_json("workflow", "start", "ops_held", server=srv.url)["workflowId"] for _ in range(3)]
    paused = podium_json("workflow", "pause", *ids, server=srv.url)
    assert paused == [{"workflowId": i, "ok": True, "result": "paused"} for i in ids]
    assert {httpx.get(f"{srv.api}/workflow/{i}/status", timeout=10).json()["status"] for i in ids} == {"PAUSED"}

    resumed = podium("workflow", "resume", ids[0], "no-such-id", server=srv.url)
    assert resumed.returncode == 1
    assert "resumed" in resumed.stdout and "no-such-id" in resumed.stdout and "404" in resumed.stdout

    terminated = podium_json("workflow", "terminate", *ids, "--reason", "ops test", server=srv.url)
    assert all(r["ok"] for r in terminated)
    found = httpx.get(f"{srv.api}/workflow/{ids[0]}", timeout=10).json()
    assert found["status"] == "TERMINATED" and "ops test" in found.get("reasonForIncompletion", "")
    restarted = podium("workflow", "restart", ids[0], server=srv.url)
    assert restarted.returncode == 0, restarted.stdout
    assert httpx.get(f"{srv.api}/workflow/{ids[0]}/status", timeout=10).json()["status"] == "RUNNING"
    assert podium_json("workflow", "retry", ids[1], server=srv.url) == [
        {"workflowId": ids[1], "ok": True, "result": "retried"}]
    assert httpx.get(f"{srv.api}/workflow/{ids[1]}/status", timeout=10).json()["status"] == "RUNNING"


def test_usage_errors_exit_2(srv: ServerProcess) -> None:
    for args in (("workflow",), ("workflow", "start"), ("workflow", "start", "ops_quick", "--input", "{oops"),
                 ("workflow", "start", "ops_quick", "--input", "[1]"), ("workflow", "frobnicate", "x")):
        done = podium(*args, server=srv.url)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr


def test_unknown_workflow_exits_1_with_the_servers_message(srv: ServerProcess) -> None:
    done = podium("workflow", "start", "no_such_flow", server=srv.url)
    assert done.returncode == 1
    assert "404" in done.stderr and "no_such_flow" in done.stderr


def test_an_unreachable_server_exits_3() -> None:
    for args in (("workflow", "list"), ("queues",), ("defs", "export", "/tmp/never")):
        done = podium(*args, server=f"http://127.0.0.1:{free_port()}")
        assert done.returncode == 3, (args, done.stderr)
        assert "ConnectError" in done.stderr


def test_the_server_comes_from_podium_server_when_not_given(srv: ServerProcess) -> None:
    done = podium("workflow", "list", "--json", env={"PODIUM_SERVER": srv.url})
    assert done.returncode == 0, done.stderr
    assert "results" in json.loads(done.stdout)
