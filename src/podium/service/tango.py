"""TANGO projects: an ordered list of stages, each run by a member service. Starting a stage starts
a workflow of REMOTE tasks (that stage, and in an auto project the stages after it); the project
shows the stage and status of its latest run, read from that workflow's tasks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podium.engine import lifecycle
from podium.errors import BadRequest, Conflict, NotFound
from podium.model.definitions import WorkflowDef
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Task
from podium.service.executions import Executions
from podium.service.remote import NotRunning, Remote
from podium.service.starts import start_in_session
from podium.store import tango as store
from podium.store.executions import get_execution
from podium.store.pending import note_targets
from podium.store.session import Session
from podium.store.tango import Project
from podium.store.tasks import load_live_tasks, load_tasks

WORKFLOW_TYPE = "tango_project"
STOPPED = "stopped by the project manager"
CLOUD_TARGETS = ("cloud", "gcp", "aws", "kt_cloud")
REPORTED = {"started": "started", "running": "running", "completed": "completed", "success": "completed",
            "failed": "failed", "stopped": "stopped"}
_FAILED = (TaskStatus.FAILED, TaskStatus.FAILED_WITH_TERMINAL_ERROR, TaskStatus.TIMED_OUT,
           TaskStatus.COMPLETED_WITH_ERRORS)


@dataclass(frozen=True)
class Heartbeat:
    mode: str = "poll"
    period_ms: int = 2000
    misses: int = 3

    def to_input(self) -> dict[str, Any]:
        return {"mode": self.mode, "periodMs": self.period_ms, "misses": self.misses}


@dataclass(frozen=True)
class Status:
    container: str
    status: str


class Tango:
    def __init__(self, x: Executions, remote: Remote, heartbeat: Heartbeat) -> None:
        self.x = x
        self.remote = remote
        self.heartbeat = heartbeat

    # --- projects ------------------------------------------------------------------------------

    async def set_workflow(self, user_id: str, project_id: str, stages: list[str], project_type: str,
                           target: str) -> None:
        for stage in stages:
            await self._member(stage, target)
        async with self.x.store.unit() as s:
            found = await store.get_project(s, user_id, project_id, lock=True)
            project = found or Project(user_id, project_id, project_type, stages, target)
            project.stages, project.project_type, project.target = stages, project_type, target
            await store.put_project(s, project)

    async def project(self, user_id: str, project_id: str) -> Project:
        async with self.x.store.reader() as s:
            found = await store.get_project(s, user_id, project_id)
        if found is None:
            raise NotFound(f"No project {project_id} of user {user_id}")
        return found

    async def start(self, user_id: str, project_id: str, container_id: str) -> str:
        """Start a stage (and, in an auto project, the stages after it); the new run's workflow id."""
        project = await self.project(user_id, project_id)
        stages = project.stages
        first = stages.index(container_id) if container_id in stages else None
        run = ([container_id] if first is None or not project.auto else stages[first:])
        members = [await self._member(stage, project.target) for stage in run]
        definition = self._definition(project, run, members)
        async with self.x.store.unit() as s:
            locked = await store.get_project(s, user_id, project_id, lock=True)
            if locked is None:
                raise NotFound(f"No project {project_id} of user {user_id}")
            current = await get_execution(s, locked.workflow_id) if locked.workflow_id else None
            if current is not None and not current.status.terminal:
                state = await self._status_in(s, locked)
                raise Conflict(f"Project {project_id} is already running: {state.container} is {state.status}")
            workflow_id, outcome = await start_in_session(
                self.x, s, name=WORKFLOW_TYPE, version=1, embedded=definition, input={
                    "user_id": user_id, "project_id": project_id, "stages": run},
                correlation_id=f"tango:{user_id}:{project_id}")
            note_targets(workflow_id)
            locked.workflow_id = workflow_id
            locked.log.append(f"start {container_id}")
            await store.put_project(s, locked)
        self.x.after_commit(outcome)
        return workflow_id

    async def stop(self, user_id: str, project_id: str, container_id: str) -> None:
        project = await self.project(user_id, project_id)
        if container_id not in project.stages:
            await self._member(container_id, project.target)  # 404 for a container nobody knows
        status = await self.status(user_id, project_id)
        if project.workflow_id is None or status.status not in ("started", "running"):
            raise Conflict(f"Project {project_id} has no running stage to stop ({status.container} is "
                           f"{status.status})")
        if container_id != status.container:
            raise Conflict(f"{container_id} is not the running stage of project {project_id} ({status.container} is)")
        await self.x.mutate(project.workflow_id, lambda turn: lifecycle.terminate(turn, STOPPED))
        await self._log(user_id, project_id, f"stop {status.container}")

    async def status(self, user_id: str, project_id: str) -> Status:
        async with self.x.store.reader() as s:
            project = await store.get_project(s, user_id, project_id)
            if project is None:
                raise NotFound(f"No project {project_id} of user {user_id}")
            return await self._status_in(s, project)

    async def projects(self, limit: int) -> list[tuple[Project, Status]]:
        """Projects with their current stage and status (for the UI), at most `limit`."""
        async with self.x.store.reader() as s:
            return [(p, await self._status_in(s, p)) for p in await store.list_projects(s, limit)]

    async def _status_in(self, s: Session, project: Project) -> Status:
        idle = Status(project.stages[0] if project.stages else "", "ready")
        if project.workflow_id is None:
            return idle
        tasks = await load_tasks(s, project.workflow_id)
        if not tasks:
            return idle
        return Status(_container(tasks[-1]), _status(tasks[-1]))

    # --- reports -------------------------------------------------------------------------------

    async def report(self, user_id: str, project_id: str, container_id: str, status: str) -> None:
        word = REPORTED.get(status.lower())
        if word is None:
            raise BadRequest(f"Unknown status: {status}")
        project = await self.project(user_id, project_id)
        task = await self._running_task(project)
        try:
            if task is None or _container(task) != container_id:
                running = f"{_container(task)} is the running stage" if task is not None else "no stage is running"
                raise Conflict(f"{container_id} is not the running stage of project {project_id}: {running}")
            await self.remote.report(task.task_id, word)
        except (Conflict, NotRunning) as exc:
            await self._log(user_id, project_id, f"{container_id}: {status} (ignored: {exc})")
            raise Conflict(str(exc)) from exc
        if word != "running":  # heartbeats would crowd the log out
            await self._log(user_id, project_id, f"{container_id}: {status}")

    async def report_task(self, task_id: str, status: str) -> None:
        """A report that names its REMOTE task directly (any workflow, not only a project's)."""
        word = REPORTED.get(status.lower())
        if word is None:
            raise BadRequest(f"Unknown status: {status}")
        try:
            await self.remote.report(task_id, word)
        except NotRunning as exc:
            raise Conflict(str(exc)) from exc

    async def _running_task(self, project: Project) -> Task | None:
        if project.workflow_id is None:
            return None
        async with self.x.store.reader() as s:
            ex = await get_execution(s, project.workflow_id)
            if ex is None or ex.status != WorkflowStatus.RUNNING:
                return None
            live = [t for t in await load_live_tasks(s, project.workflow_id) if not t.status.terminal]
        return live[-1] if live else None

    async def _log(self, user_id: str, project_id: str, line: str) -> None:
        async with self.x.store.unit() as s:
            project = await store.get_project(s, user_id, project_id, lock=True)
            if project is not None:
                project.log.append(line)
                await store.put_project(s, project)

    # --- definitions ---------------------------------------------------------------------------

    async def _member(self, container_id: str, target: str) -> store.Member:
        name = _resolve(container_id, target)
        found = await self.remote.member(name)
        if found is None:
            raise NotFound(f"No such container: {name}")
        return found

    def _definition(self, project: Project, run: list[str], members: list[store.Member]) -> WorkflowDef:
        tasks = []
        for stage, member in zip(run, members, strict=True):
            inputs: dict[str, Any] = {
                "member": member.container_id, "container_id": stage,
                "params": {"user_id": project.user_id, "project_id": project.project_id},
                "heartbeat": self.heartbeat.to_input()}
            if member.resume:
                inputs["retryPath"] = "resume"
            tasks.append({"name": f"tango_{stage}", "taskReferenceName": stage, "type": "REMOTE",
                          "inputParameters": inputs,
                          "taskDefinition": {"name": f"tango_{stage}", "retryCount": member.retries,
                                             "retryDelaySeconds": 0, "responseTimeoutSeconds": 30,
                                             "timeoutSeconds": 0}})
        return WorkflowDef.model_validate({"name": WORKFLOW_TYPE, "version": 1, "schemaVersion": 2, "tasks": tasks,
                                           "description": f"TANGO project {project.project_id}"})


def _resolve(container_id: str, target: str) -> str:
    """TANGO's pseudo container `imagedeploy` is the deploy member for the project's target."""
    if container_id != "imagedeploy":
        return container_id
    if target.lower() in CLOUD_TARGETS:
        return "cloud_deploy"
    return "kube_deploy" if target.lower() == "k8s" else "ondevice_deploy"


def _container(task: Task) -> str:
    return str(task.input.get("container_id") or task.ref_name)


def _status(task: Task) -> str:
    if task.status == TaskStatus.SCHEDULED:
        return "started"
    if task.status == TaskStatus.IN_PROGRESS:
        reported = task.output.get("status")
        return reported if reported in ("started", "running") else "started"
    if task.status == TaskStatus.COMPLETED:
        return "completed"
    if task.status == TaskStatus.CANCELED:
        return "stopped"
    return "failed" if task.status in _FAILED else task.status.value.lower()
