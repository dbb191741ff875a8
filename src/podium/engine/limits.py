"""The limit on every payload the store keeps (`max_payload_bytes`), where the engine applies it.

A task that ends holding an input or output over the limit ends FAILED_WITH_TERMINAL_ERROR instead,
the payload dropped, as Conductor fails a task whose payload passes its maximum (retrying would
only produce it again); an execution whose output is over the limit fails the same way. Whoever
produced the payload (a worker, a script, an HTTP call, a child workflow), the check is the same,
made where the task or execution ends (`Turn.end_task`, `decider.end_workflow`) before anything
follows from it. The unit of work applies the limit to whatever else it is about to write
(`podium.service.executions`).

Each payload is encoded once to be measured, and the store writes that encoding (see
`podium.model.payloads`), so measuring costs no second serialization.
"""

from __future__ import annotations

import logging

from podium.model.payloads import encoded, over_limit
from podium.model.records import Execution, Task

log = logging.getLogger(__name__)

TASK_PAYLOADS = ("output", "input")
EXECUTION_PAYLOADS = ("input", "output", "variables")


def task_fits(task: Task, limit: int) -> bool:
    return all(encoded(task, name).size <= limit for name in TASK_PAYLOADS)


def drop_oversized(task: Task, limit: int) -> str | None:
    """Drop each payload of the task that is over the limit; the reason (None when all fit)."""
    reason = None
    for name in TASK_PAYLOADS:
        size = encoded(task, name).size
        if size > limit:
            setattr(task, name, {})
            reason = reason or over_limit(name, size, f"task: {task.task_id} in workflow: {task.workflow_id}",
                                          limit)
    if reason is not None:
        log.warning("task payload over the limit", extra={"action": "payload_refused", "task_id": task.task_id,
                                                            "workflow_id": task.workflow_id, "reason": reason})
    return reason


def drop_oversized_output(ex: Execution, limit: int) -> str | None:
    """Drop the execution's output if it is over the limit; the reason (None when it fits)."""
    size = encoded(ex, "output").size
    if size <= limit:
        return None
    ex.output = {}
    reason = over_limit("output", size, f"workflow: {ex.workflow_id}", limit)
    log.warning("workflow output over the limit", extra={"action": "payload_refused",
                                                         "workflow_id": ex.workflow_id, "reason": reason})
    return reason


def execution_refusal(ex: Execution, limit: int, names: tuple[str, ...] = EXECUTION_PAYLOADS) -> str | None:
    """Why the execution cannot be written as it is (a payload over the limit), or None."""
    for name in names:
        size = encoded(ex, name).size
        if size > limit:
            return over_limit(name, size, f"workflow: {ex.workflow_id}", limit)
    return None
