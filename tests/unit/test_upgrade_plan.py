"""The upgrade plan (`engine.upgrade.plan`): pure, from two definitions and an execution's tasks."""

from __future__ import annotations

from typing import Any

from podium.engine.definition import Definition
from podium.engine.upgrade import plan
from podium.model.definitions import WorkflowDef
from podium.model.enums import TaskStatus
from podium.model.records import Task


def definition(*tasks: dict[str, Any], version: int = 1) -> Definition:
    return Definition(WorkflowDef.model_validate({"name": "wf", "version": version, "tasks": list(tasks)}), "")


def simple(ref: str, name: str | None = None) -> dict[str, Any]:
    return {"name": name or ref, "taskReferenceName": ref, "type": "SIMPLE"}


def task(seq: int, ref: str, status: TaskStatus, task_type: str = "SIMPLE") -> Task:
    return Task(task_id=f"t{seq}", workflow_id="w", workflow_type="wf", seq=seq, ref_name=ref, task_type=task_type,
                task_def_name=ref, status=status, scheduled_time=0, update_time=0)


DONE, RUNNING = TaskStatus.COMPLETED, TaskStatus.SCHEDULED


def test_tasks_map_by_reference_name() -> None:
    old = definition(simple("a"), simple("b"), simple("c"))
    new = definition(simple("pre"), simple("b"), simple("mid"), version=2)
    found = plan(old, new, [task(1, "a", DONE), task(2, "b", RUNNING)])
    assert (found.kept, found.dropped, found.skipped, found.added) == (("b",), ("a",), ("pre",), ("mid",))
    assert found.rerun == () and found.resume_at is None and found.problems == ()


def test_a_dropped_running_task_leaves_the_run_to_resume_at_the_next_new_task() -> None:
    old = definition(simple("a"), simple("b"))
    new = definition(simple("a"), simple("c"), version=2)
    found = plan(old, new, [task(1, "a", DONE), task(2, "b", RUNNING)])
    assert found.dropped == ("b",) and found.resume_at == "c"


def test_a_running_task_of_another_kind_is_rerun() -> None:
    found = plan(definition(simple("s", "old")), definition(simple("s", "new"), version=2),
                 [task(1, "s", RUNNING)])
    assert found.rerun == ("s",) and found.kept == ()


def test_loop_iterations_map_by_their_base_name() -> None:
    loop = {"name": "loop", "taskReferenceName": "loop", "type": "DO_WHILE", "loopCondition": "false",
            "loopOver": [simple("body")]}
    old = definition(loop)
    new = definition(loop, simple("after"), version=2)
    found = plan(old, new, [task(1, "loop", RUNNING, "DO_WHILE"), task(2, "body__1", DONE),
                            task(3, "body__2", RUNNING)])
    assert found.kept == ("loop", "body__1", "body__2") and found.added == ("after",)


def test_a_running_task_moved_into_a_fork_is_a_problem() -> None:
    fork = {"name": "fork", "taskReferenceName": "fork", "type": "FORK_JOIN", "forkTasks": [[simple("b")]]}
    join = {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["b"]}
    found = plan(definition(simple("b")), definition(fork, join, version=2), [task(1, "b", RUNNING)])
    assert found.problems and "inside fork" in found.problems[0]
