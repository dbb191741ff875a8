"""TNC-O lifecycle processes: every execution is a process; an intent starts one.

An intent (`createAssembly`, `healAssembly`, ...) starts the workflow registered for its intent type
(by default the definition named like it, e.g. `CreateAssembly`) with the intent body as input, and
sets the assembly fields as the execution's search attributes (`assemblyId`, `assemblyName`,
`assemblyType`, `intentType`), so that the process search reads indexes, not JSON. A process's
status, times and plan are read from its execution (`docs/lifecycle.md`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podium.engine.definition import Definition
from podium.errors import BadRequest, NotFound
from podium.ids import new_id
from podium.model.enums import WorkflowStatus
from podium.model.records import Execution, Task
from podium.service.clock import iso
from podium.service.executions import Executions
from podium.service.starts import DefinitionNotFound, start_in_session
from podium.store import tnco as store
from podium.store.executions import get_execution
from podium.store.pending import note_targets
from podium.store.search import search_attrs_of
from podium.store.session import Session
from podium.store.tasks import load_tasks
from podium.store.tnco import Filters

#: The intent endpoints (`POST /api/intent/{name}`) and the intent type each one starts.
INTENTS: dict[str, str] = {
    "createAssembly": "CreateAssembly",
    "changeAssemblyState": "ChangeAssemblyState",
    "deleteAssembly": "DeleteAssembly",
    "healAssembly": "HealAssembly",
    "scaleOutAssembly": "ScaleOutAssembly",
    "scaleInAssembly": "ScaleInAssembly",
    "upgradeAssembly": "UpgradeAssembly",
}
INTENT_TYPES = frozenset(INTENTS.values())
STATUSES = tuple(store.STATUSES)
_ACTIONS = {"CreateAssembly": "Create", "ChangeAssemblyState": "ChangeState", "DeleteAssembly": "Delete",
            "HealAssembly": "Heal", "ScaleOutAssembly": "ScaleOut", "ScaleInAssembly": "ScaleIn",
            "UpgradeAssembly": "Upgrade"}
_ASSEMBLY = ("assemblyId", "assemblyName", "assemblyType")


@dataclass(frozen=True)
class Process:
    execution: Execution
    attributes: dict[str, str]
    plan: list[dict[str, Any]] | None = None  # None: shallow


class Lifecycle:
    def __init__(self, x: Executions, workflows: dict[str, str] | None = None) -> None:
        self.x = x
        self.workflows = dict(workflows or {})  # intent type -> workflow name, where not the same

    async def intent(self, name: str, body: dict[str, Any]) -> str:
        """Start the process of an intent; its id (an execution id)."""
        intent_type = INTENTS.get(name)
        if intent_type is None:
            raise NotFound(f"No intent named {name!r}; intents are {', '.join(INTENTS)}")
        workflow = self.workflows.get(intent_type, intent_type)
        async with self.x.store.unit() as s:
            attrs = await self._assembly(s, intent_type, body)
            try:
                workflow_id, outcome = await start_in_session(
                    self.x, s, name=workflow, version=None, input=body, created_by=f"intent:{intent_type}",
                    search_attributes=attrs | {"intentType": intent_type})
            except DefinitionNotFound as exc:
                raise BadRequest(f"No workflow is registered for intent type {intent_type} "
                                 f"(looked for the workflow definition {workflow!r})") from exc
            note_targets(workflow_id)
        self.x.after_commit(outcome)
        return workflow_id

    async def _assembly(self, s: Session, intent_type: str, body: dict[str, Any]) -> dict[str, str]:
        """The assembly the intent works on: as given, else as the assembly's latest process knew it.
        A new assembly gets its id here."""
        given = {"assemblyId": body.get("assemblyId"), "assemblyName": body.get("assemblyName"),
                 "assemblyType": body.get("descriptorName")}
        for key, value in given.items():
            if value is not None and (not isinstance(value, str) or not value):
                raise BadRequest(f"{'descriptorName' if key == 'assemblyType' else key} must be a non-empty string")
        if intent_type == "CreateAssembly":
            if not given["assemblyName"] or not given["assemblyType"]:
                raise BadRequest("createAssembly needs assemblyName and descriptorName")
            return {k: v for k, v in (given | {"assemblyId": given["assemblyId"] or new_id()}).items() if v}
        if not given["assemblyId"] and not given["assemblyName"]:
            raise BadRequest(f"{intent_type} needs assemblyId or assemblyName")
        key = "assemblyId" if given["assemblyId"] else "assemblyName"
        known: dict[str, str] = {}
        latest = await store.latest_with(s, key, str(given[key]))
        if latest is not None:
            known = {k: v for k, v in (await search_attrs_of(s, [latest])).get(latest, {}).items() if k in _ASSEMBLY}
        return known | {k: v for k, v in given.items() if v}

    async def get(self, process_id: str, *, shallow: bool) -> dict[str, Any]:
        async with self.x.store.reader() as s:
            ex = await get_execution(s, process_id)
            if ex is None:
                raise NotFound(f"Process {process_id} could not be found")
            attrs = (await search_attrs_of(s, [process_id])).get(process_id, {})
            plan = None if shallow else _plan(await self.x.metadata.snapshots.definition(s, ex.def_hash),
                                              await load_tasks(s, process_id))
        return process_json(Process(ex, attrs, plan))

    async def search(self, filters: Filters) -> list[dict[str, Any]]:
        async with self.x.store.searcher() as s:
            found = await store.search(s, filters)
            attrs = await search_attrs_of(s, [ex.workflow_id for ex in found])
        return [process_json(Process(ex, attrs.get(ex.workflow_id, {}))) for ex in found]


def status_of(ex: Execution) -> str:
    match ex.status:
        case WorkflowStatus.COMPLETED:
            return "Completed"
        case WorkflowStatus.FAILED | WorkflowStatus.TIMED_OUT:
            return "Failed"
        case WorkflowStatus.TERMINATED:
            return "Cancelled"
    if ex.started_time:
        return "In Progress"
    return "Pending" if ex.task_seq else "Planned"


def process_json(p: Process) -> dict[str, Any]:
    ex, intent = p.execution, p.execution.input
    body: dict[str, Any] = {"id": ex.workflow_id}
    body |= {k: p.attributes[k] for k in _ASSEMBLY if k in p.attributes}
    intent_type = p.attributes.get("intentType")
    if intent_type is not None:
        body |= {"lifecycleAction": _ACTIONS.get(intent_type, intent_type), "intentType": intent_type}
    body |= {"intent": intent, "status": status_of(ex)}
    if ex.reason and ex.status not in (WorkflowStatus.RUNNING, WorkflowStatus.PAUSED, WorkflowStatus.COMPLETED):
        body["statusReason"] = ex.reason
    if ex.started_time:
        body["startTime"] = iso(ex.started_time)
    if ex.end_time and ex.status not in (WorkflowStatus.RUNNING, WorkflowStatus.PAUSED):
        body["endTime"] = iso(ex.end_time)
    body |= {"assemblyProperties": _object(intent.get("properties")), "context": _object(intent.get("context")),
             "previousInstance": _object(intent.get("previousInstance")),
             "desiredInstance": _object(intent.get("desiredInstance"))}
    if p.plan is not None:
        body["executionPlan"] = p.plan
    return body


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _plan(definition: Definition, tasks: list[Task]) -> list[dict[str, Any]]:
    """The definition's tasks in order, each with the state of its latest attempt (or of its
    iterations and branches: every task the execution scheduled under that reference)."""
    latest = {t.ref_name: t for t in tasks}  # in order: the newest attempt wins
    plan = []
    for step in definition.wdef.all_tasks():
        entry: dict[str, Any] = {"name": step.task_reference_name, "taskName": step.name, "type": step.type}
        found = latest.pop(step.task_reference_name, None)
        entry["status"] = found.status.value if found is not None else "NOT_STARTED"
        if found is not None:
            entry |= {"attempts": found.retry_count + 1, "taskId": found.task_id}
            if found.start_time:
                entry["startTime"] = iso(found.start_time)
            if found.end_time:
                entry["endTime"] = iso(found.end_time)
        plan.append(entry)
    plan += [{"name": t.ref_name, "taskName": t.task_def_name, "type": t.task_type, "status": t.status.value,
              "attempts": t.retry_count + 1, "taskId": t.task_id} for t in latest.values()]  # loops, dynamic forks
    return plan
