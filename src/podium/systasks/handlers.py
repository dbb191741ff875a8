"""The table of system tasks the runner serves, built from settings in one place."""

from __future__ import annotations

import httpx

from podium.model.enums import TaskStatus
from podium.model.records import Task
from podium.service.executions import Executions
from podium.settings import Settings
from podium.systasks import http
from podium.systasks.runner import Handler, Report
from podium.systasks.workflows import WorkflowStarter


def handlers(settings: Settings, executions: Executions, client: httpx.AsyncClient) -> dict[str, Handler]:
    starter = WorkflowStarter(executions)
    return {"HTTP": HttpTask(client, http.HostPolicy.from_settings(settings)),
            "SUB_WORKFLOW": starter.sub_workflow,
            "START_WORKFLOW": starter.start_workflow}


class HttpTask:
    """HTTP: the call, its response in `output.response`; with `asyncComplete` a successful call
    leaves the task IN_PROGRESS for an outside update to finish."""

    def __init__(self, client: httpx.AsyncClient, policy: http.HostPolicy) -> None:
        self.client = client
        self.policy = policy

    async def __call__(self, task: Task) -> Report:
        outcome = await http.call(task.input, self.client, self.policy)
        if outcome.status == TaskStatus.COMPLETED and task.workflow_task.get("asyncComplete"):
            return Report(TaskStatus.IN_PROGRESS, output=outcome.output, hold=True)
        return Report(outcome.status, output=outcome.output, reason=outcome.reason)
