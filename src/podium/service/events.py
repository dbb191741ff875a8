"""Event handlers: their definitions (`/api/event`) and what a message on an event queue causes.

A message is offered to every active handler listening on its queue. A handler's `condition`
(JavaScript over the message as `$`) may skip it; otherwise each action runs, its parameters first
resolved against the message (`${workflowInstanceId}` reads the message's field). Each action's run
is recorded as an event execution whose id is derived from the message, so a message delivered
twice (a crash between acting and acknowledging) does not act twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from podium.engine import lifecycle
from podium.engine.expressions import resolve
from podium.engine.scripting import ScriptError
from podium.errors import Conflict, NotFound, PodiumError
from podium.events.support import not_listening
from podium.model.definitions import StartWorkflowRequest, TaskResult
from podium.model.enums import TaskStatus
from podium.model.events import Action, ActionType, EventHandler, check_event_handler
from podium.service import starts
from podium.service.executions import Executions
from podium.service.tasks import Tasks
from podium.service.workflows import Workflows
from podium.store import events as store
from podium.store.executions import get_execution
from podium.store.tasks import find_pending_by_ref

log = logging.getLogger(__name__)


class EventHandlers:
    def __init__(self, executions: Executions, workflows: Workflows, tasks: Tasks) -> None:
        self.x = executions
        self.workflows = workflows
        self.tasks = tasks
        #: Called after every change of the handlers (the processor re-reads its subscriptions).
        self.on_change: list[Callable[[], None]] = []

    # --- definitions ---------------------------------------------------------------------------

    async def add(self, handler: EventHandler) -> None:
        check_event_handler(handler)
        async with self.x.store.unit() as s:
            if await store.get_handler(s, handler.name) is not None:
                raise Conflict(f"EventHandler with name {handler.name} already exists!")
            await store.put_handler(s, handler.name, handler.event, handler.active, handler.to_wire())
        self._changed()

    async def update(self, handler: EventHandler) -> None:
        check_event_handler(handler)
        async with self.x.store.unit() as s:
            if await store.get_handler(s, handler.name) is None:
                raise NotFound(f"EventHandler with name {handler.name} not found!")
            await store.put_handler(s, handler.name, handler.event, handler.active, handler.to_wire())
        self._changed()

    async def remove(self, name: str) -> None:
        async with self.x.store.unit() as s:
            if await store.get_handler(s, name) is None:
                raise NotFound(f"EventHandler with name {name} not found!")
            await store.delete_handler(s, name)
        self._changed()

    async def find(self, event: str | None = None, active_only: bool = False) -> list[dict[str, Any]]:
        """Conductor's handler JSON; a handler on a queue Podium does not listen to (`sqs:`, `kafka:`) also
        carries `"listening": false` and `notListeningReason`."""
        async with self.x.store.reader() as s:
            found = await store.list_handlers(s, event, active_only)
        return [body | self._not_listening(str(body.get("event") or "")) for body in found]

    async def active(self) -> list[EventHandler]:
        async with self.x.store.reader() as s:
            found = await store.list_handlers(s, None, True)
        return [EventHandler.model_validate(body) for body in found]

    def not_listening(self, event: str) -> str | None:
        """Why Podium does not listen on `event`, or None when it does."""
        return not_listening(event, self.x.context.kafka_unavailable)

    def _not_listening(self, event: str) -> dict[str, Any]:
        reason = self.not_listening(event)
        return {} if reason is None else {"listening": False, "notListeningReason": reason}

    async def executions(self, *, handler: str | None, event: str | None, status: str | None,
                         limit: int) -> list[dict[str, Any]]:
        async with self.x.store.reader() as s:
            found = await store.list_executions(s, handler=handler, event=event, status=status, limit=limit)
        return [e.to_wire() for e in found]

    def _changed(self) -> None:
        for callback in self.on_change:
            callback()

    # --- handling a message --------------------------------------------------------------------

    async def handle(self, handlers: list[EventHandler], event: str, message_id: str, payload: Any) -> None:
        for handler in handlers:
            try:
                await self._run_handler(handler, event, message_id, payload)
            except Exception:  # one handler's failure must not keep the message from the others
                log.exception("event handler failed", extra={"action": "event_handler_error",
                                                             "handler": handler.name, "event": event})

    async def _run_handler(self, handler: EventHandler, event: str, message_id: str, payload: Any) -> None:
        background = self.x.context.sandbox.background()
        if handler.condition and not await background.off_loop(self._condition_holds, handler, payload):
            await self._record(handler, event, message_id, 0, "SKIPPED", "condition", {"condition": False})
            return
        for i, action in enumerate(handler.actions):
            execution_id = f"{message_id}_{handler.name}_{i}"
            async with self.x.store.reader() as s:
                if await store.execution_status(s, execution_id) == "COMPLETED":
                    continue  # delivered again: done before
            try:
                output = await self._act(action, _expand(payload) if action.expand_inline_json else payload)
                status = "COMPLETED"
            except PodiumError as exc:
                output, status = {"error": exc.message}, "FAILED"
            except (ValidationError, ValueError) as exc:  # parameters that resolved to nonsense
                output, status = {"error": str(exc)}, "FAILED"
            await self._record(handler, event, message_id, i, status, action.action.value, output)

    def _condition_holds(self, handler: EventHandler, payload: Any) -> bool:
        """Evaluated in the sandbox, a blocking call: on a worker thread."""
        try:
            return bool(self.x.context.sandbox.background().javascript(handler.condition or "", payload))
        except ScriptError as exc:
            log.warning("event handler condition failed", extra={"action": "event_condition_error",
                                                                  "handler": handler.name, "error": str(exc)})
            return False

    async def _record(self, handler: EventHandler, event: str, message_id: str, index: int, status: str,
                      action: str, output: dict[str, Any]) -> None:
        async with self.x.store.unit() as s:
            await store.record_execution(s, store.EventExecution(
                f"{message_id}_{handler.name}_{index}", handler.name, event, message_id, self.x.clock.now(),
                status, action, output))

    async def _act(self, action: Action, payload: Any) -> dict[str, Any]:
        document = payload if isinstance(payload, dict) else {"payload": payload}
        params = resolve((action.params() or action).to_wire(), document)
        if action.action == ActionType.START_WORKFLOW:
            req = StartWorkflowRequest.model_validate(params)
            if req.version in ("", 0):
                req.version = None
            req.input = req.input if req.input is not None else {}
            return {"workflowId": await starts.start(self.x, req)}
        if action.action in (ActionType.COMPLETE_TASK, ActionType.FAIL_TASK):
            return await self._update_task(action.action, params)
        workflow_id = str(params.get("workflowId") or "")
        if action.action == ActionType.TERMINATE_WORKFLOW:
            await self.workflows.terminate(workflow_id, params.get("terminationReason"))
            return {"workflowId": workflow_id}
        variables, append = dict(params.get("variables") or {}), bool(params.get("appendArray"))
        await self.x.mutate(workflow_id, lambda turn: lifecycle.update_variables(turn, variables, append))
        return {"workflowId": workflow_id, "variables": variables}

    async def _update_task(self, kind: ActionType, params: dict[str, Any]) -> dict[str, Any]:
        workflow_id = str(params.get("workflowId") or "")
        status = TaskStatus.COMPLETED if kind == ActionType.COMPLETE_TASK else TaskStatus.FAILED
        task_id = params.get("taskId")
        if not task_id:
            async with self.x.store.reader() as s:
                if await get_execution(s, workflow_id) is None:
                    raise NotFound(f"No such workflow found by id: {workflow_id}")
                found = await find_pending_by_ref(s, workflow_id, str(params.get("taskRefName") or ""))
            if found is None:
                raise NotFound(f"No pending task {params.get('taskRefName')} in workflow {workflow_id}")
            task_id = found.task_id
        current = await self.tasks.get(str(task_id))
        output = dict(current.get("outputData") or {}) | dict(params.get("output") or {})
        await self.tasks.update(TaskResult(workflow_instance_id=workflow_id, task_id=str(task_id), status=status,
                                           output_data=output,
                                           reason_for_incompletion=params.get("reasonForIncompletion")))
        return {"workflowId": workflow_id, "taskId": task_id}


def _expand(payload: Any) -> Any:
    """`expandInlineJSON`: string values holding JSON objects or lists become those values."""
    if isinstance(payload, dict):
        return {k: _expand(v) for k, v in payload.items()}
    if isinstance(payload, list):
        return [_expand(v) for v in payload]
    if isinstance(payload, str) and payload[:1] in ("{", "["):
        try:
            return _expand(json.loads(payload))
        except ValueError:
            return payload
    return payload
