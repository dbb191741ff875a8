"""The table of system tasks the runner serves, built from settings in one place."""

from __future__ import annotations

import httpx
import orjson

from podium.engine.operators.event import event_payload
from podium.events.address import parse_address
from podium.events.errors import BrokerError
from podium.events.hub import Brokers
from podium.model.enums import TaskStatus
from podium.model.records import Task
from podium.service.executions import Executions
from podium.service.remote import Remote
from podium.service.secrets import Secrets
from podium.settings import Settings
from podium.store.executions import get_execution
from podium.systasks import http
from podium.systasks.remote import RemoteTask
from podium.systasks.runner import Handler, Report
from podium.systasks.scripts import script_handlers
from podium.systasks.secrets import WithSecrets
from podium.systasks.workflows import WorkflowStarter


def handlers(settings: Settings, executions: Executions, client: httpx.AsyncClient,
             brokers: Brokers, remote: Remote, secrets: Secrets | None = None) -> dict[str, Handler]:
    """The system tasks served; those that call out (HTTP, REMOTE) get `${workflow.secrets.NAME}`
    put into their calls (see systasks.secrets)."""
    starter = WorkflowStarter(executions)
    calling: dict[str, Handler] = {"HTTP": HttpTask(client, settings.max_payload_bytes), "REMOTE": RemoteTask(remote)}
    if secrets is not None:
        calling = {name: WithSecrets(handler, secrets) for name, handler in calling.items()}
    table: dict[str, Handler] = {"SUB_WORKFLOW": starter.sub_workflow,
                                 "START_WORKFLOW": starter.start_workflow,
                                 "EVENT": EventTask(executions, brokers)}
    return calling | table | script_handlers(executions.context.sandbox)


class HttpTask:
    """HTTP: the call (through the shared client, which obeys the outbound policy), its response in
    `output.response`, its body at most `max_body_bytes`; with `asyncComplete` a successful call
    leaves the task IN_PROGRESS for an outside update to finish."""

    def __init__(self, client: httpx.AsyncClient, max_body_bytes: int) -> None:
        self.client = client
        self.max_body_bytes = max_body_bytes

    async def __call__(self, task: Task) -> Report:
        outcome = await http.call(task.input, self.client, self.max_body_bytes)
        if outcome.status == TaskStatus.COMPLETED and task.workflow_task.get("asyncComplete"):
            return Report(TaskStatus.IN_PROGRESS, output=outcome.output, hold=True)
        return Report(outcome.status, output=outcome.output, reason=outcome.reason)


class EventTask:
    """EVENT to NATS, AMQP or Redis: publish the payload; a broker that cannot be reached fails the
    task (retried as its task definition says)."""

    def __init__(self, executions: Executions, brokers: Brokers) -> None:
        self.x = executions
        self.brokers = brokers

    async def __call__(self, task: Task) -> Report:
        sink = str(task.input.get("sink") or "")
        async with self.x.store.reader() as s:
            ex = await get_execution(s, task.workflow_id)
        if ex is None:
            return Report(TaskStatus.CANCELED, reason="The workflow no longer exists")
        payload = event_payload(task, ex)
        try:
            await self.brokers.publish(parse_address(sink), orjson.dumps(payload))
        except (BrokerError, ValueError) as exc:
            return Report(TaskStatus.FAILED, reason=f"Could not publish to {sink}: {exc}")
        output = payload | {"event_produced": sink}
        if task.workflow_task.get("asyncComplete"):
            return Report(TaskStatus.IN_PROGRESS, output=output, hold=True)
        return Report(TaskStatus.COMPLETED, output=output)
