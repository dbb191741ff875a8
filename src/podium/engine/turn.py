"""One engine step over an execution: the state, the outside world and the time, plus the small
moves every operator makes (create a task, queue it, arm its timer, end it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podium.engine import limits, timeouts
from podium.engine.inputs import task_input
from podium.engine.notices import task_notice
from podium.engine.state import ClearTimer, Dequeue, EngineContext, Enqueue, ExecutionState, SetTimer
from podium.model.definitions import TaskDef, WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import FORK_TAG, STOP_CHILD, Execution, Task, iteration_of, queue_name

if TYPE_CHECKING:
    from podium.engine.operators.base import Operator

DEFAULT_RESPONSE_TIMEOUT = 3600
ACTIVE_WORKER_WINDOW_MS = 10_000


@dataclass
class Turn:
    state: ExecutionState
    ctx: EngineContext
    now: int
    #: How each task type is scheduled and run (`podium.engine.operators.operator_for`), given to
    #: the turn so that the moves every operator builds on need none of them.
    operator_for: Callable[[str], Operator]

    @property
    def execution(self) -> Execution:
        return self.state.execution

    def task_def(self, wt: WorkflowTask | None, name: str | None = None) -> TaskDef | None:
        if wt is not None and wt.task_definition is not None:
            return wt.task_definition
        return self.ctx.task_def(name or (wt.name if wt else ""))

    def task_def_of(self, task: Task) -> TaskDef | None:
        return self.task_def(self.state.definition.get(task.ref_name), task.task_def_name)

    # --- creating tasks ------------------------------------------------------------------------

    def create_task(
        self, wt: WorkflowTask, *, task_type: str, status: TaskStatus = TaskStatus.SCHEDULED,
        ref_name: str | None = None, previous: Task | None = None, suffix: str = "",
        input_override: dict[str, Any] | None = None,
    ) -> Task:
        """A new task for `wt`; `suffix` names the loop iterations it runs in (`__2`), which its
        reference name carries; a retry (`previous`) keeps the reference name and tags it had."""
        ex, now = self.execution, self.now
        tdef = self.task_def(wt)
        task_id = self.ctx.new_id()
        task = Task(
            task_id=task_id, workflow_id=ex.workflow_id, workflow_type=ex.workflow_type, seq=ex.next_seq(),
            ref_name=previous.ref_name if previous else (ref_name or wt.task_reference_name) + suffix,
            task_type=task_type, task_def_name=wt.name,
            status=status, scheduled_time=now, update_time=now,
            retry_count=previous.retry_count + 1 if previous else 0,
            first_scheduled_time=previous.first_scheduled_time if previous else now,
            response_timeout_seconds=tdef.response_timeout_seconds if tdef else DEFAULT_RESPONSE_TIMEOUT,
            correlation_id=ex.correlation_id, workflow_priority=ex.priority,
            iteration=previous.iteration if previous else iteration_of(suffix),
            retried_task_id=previous.task_id if previous else None,
            workflow_task=self.state.definition.wire(wt),
        )
        if previous is not None and FORK_TAG in previous.extra:
            task.extra[FORK_TAG] = previous.extra[FORK_TAG]
        if input_override is not None:
            task.input = input_override
        else:
            task.input = task_input(self.state, wt.input_parameters, tdef, task_id=task_id, env=self.ctx.env)
        self.state.add_task(task)
        self.state.touch_execution()
        task_notice(self, task)
        return task

    def resolve_domain(self, task_type: str) -> str | None:
        mapping = self.execution.task_to_domain
        spec = mapping.get(task_type) or mapping.get("*")
        if not spec:
            return None
        domains = [d.strip() for d in spec.split(",") if d.strip()]
        for domain in domains:
            if domain.upper() == "NO_DOMAIN":
                continue
            last = self.ctx.last_poll_time(queue_name(task_type, domain))
            if last is not None and self.now - last <= ACTIVE_WORKER_WINDOW_MS:
                return domain
        last_choice = domains[-1] if domains else "NO_DOMAIN"
        return None if last_choice.upper() == "NO_DOMAIN" else last_choice

    # --- queues and timers ---------------------------------------------------------------------

    def enqueue(self, task: Task, delay_ms: int = 0) -> None:
        self.state.emit(Enqueue(task.task_id, task.queue_name, self.execution.priority, self.now + delay_ms))

    def arm_timer(self, task: Task) -> None:
        due = timeouts.next_deadline(task, self.task_def_of(task), self.now)
        if due is not None:
            self.state.emit(SetTimer(timeouts.TASK_TIMER, task.task_id, due))
        elif task.task_id not in self.state.new_task_ids:  # a new task has no timer to clear
            self.state.emit(ClearTimer(timeouts.TASK_TIMER, task.task_id))

    # --- ending tasks --------------------------------------------------------------------------

    def end_task(self, task: Task, status: TaskStatus, reason: str | None = None, *,
                 stop_child: bool = True) -> None:
        """Move a task to a terminal status: no more queue entry or timer for it; a child workflow
        it runs is terminated (unless the child's own end is what ends it). A task holding a payload
        over the size limit fails instead (canceled stays canceled), without that payload."""
        refused = limits.drop_oversized(task, self.ctx.max_payload_bytes)
        if refused is not None:
            status = status if status == TaskStatus.CANCELED else TaskStatus.FAILED_WITH_TERMINAL_ERROR
            reason = refused
        if task.status == TaskStatus.SCHEDULED:  # only a waiting task has a queue entry
            self.state.emit(Dequeue(task.task_id))
        if stop_child and task.sub_workflow_id and not task.status.terminal and task.task_type == "SUB_WORKFLOW":
            self.state.emit(SetTimer(STOP_CHILD, task.sub_workflow_id, self.now, workflow_id=task.sub_workflow_id))
        was = task.status
        task.status = status
        if status == TaskStatus.CANCELED and not was.terminal:
            self.operator_for(task.task_type).cancelled(self, task, was)
        if reason is not None:
            task.reason = reason
        task.end_time = task.end_time or self.now
        task.update_time = self.now
        self.state.touch(task)
        task_notice(self, task)
        self.state.emit(ClearTimer(timeouts.TASK_TIMER, task.task_id))
