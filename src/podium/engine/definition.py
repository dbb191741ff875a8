"""A workflow definition indexed for the decider: where each task sits and what comes after it.

Built once per definition snapshot and cached by the service; navigation is O(1) per step, so
deciding does not get slower as a definition or an execution grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from podium.engine.expressions import referenced_roots
from podium.model.definitions import WorkflowDef, WorkflowTask
from podium.model.records import Task, base_ref


@dataclass(frozen=True, slots=True)
class Place:
    siblings: tuple[WorkflowTask, ...]
    index: int
    container: WorkflowTask | None  # the task whose branch holds this one; None at top level


_SCRIPTED = frozenset({"INLINE", "LAMBDA", "JSON_JQ_TRANSFORM", "FORK_JOIN_DYNAMIC", "DYNAMIC"})


class Definition:
    def __init__(self, wdef: WorkflowDef, def_hash: str, text: str = "") -> None:
        self.wdef = wdef
        self.def_hash = def_hash
        self.text = text  # the canonical JSON the hash was taken of
        self._places: dict[str, Place] = {}
        self._scopes: dict[str, frozenset[str]] = {}
        self._in_loops: set[str] = set()
        self._wire: dict[str, dict[str, Any]] = {}
        self._index(tuple(wdef.tasks), None, in_loop=False)

    def _index(self, tasks: tuple[WorkflowTask, ...], container: WorkflowTask | None, *, in_loop: bool) -> set[str]:
        """Index `tasks`; returns every reference name in them and below them."""
        refs: set[str] = set()
        for i, wt in enumerate(tasks):
            self._places[wt.task_reference_name] = Place(tasks, i, container)
            refs.add(wt.task_reference_name)
            if in_loop:
                self._in_loops.add(wt.task_reference_name)
            inner: set[str] = set()
            for branch in wt.children():
                inner |= self._index(tuple(branch), wt, in_loop=in_loop or wt.type == "DO_WHILE")
            if inner:
                self._scopes[wt.task_reference_name] = frozenset(inner)
            refs |= inner
        return refs

    @property
    def name(self) -> str:
        return self.wdef.name

    @property
    def version(self) -> int:
        return self.wdef.version

    def first(self) -> WorkflowTask | None:
        return self.wdef.tasks[0] if self.wdef.tasks else None

    def get(self, ref_name: str) -> WorkflowTask | None:
        place = self._places.get(base_ref(ref_name))
        return place.siblings[place.index] if place else None

    def task_of(self, task: Task) -> WorkflowTask:
        """The WorkflowTask a task runs: its place in this definition, or (made at run time: a
        dynamically forked branch) the one it carries."""
        return self.get(task.ref_name) or WorkflowTask.model_validate(task.workflow_task)

    def place(self, ref_name: str) -> Place | None:
        return self._places.get(base_ref(ref_name))

    def next_sibling(self, ref_name: str) -> WorkflowTask | None:
        """The task after this one in the same list, or None at the end of its list."""
        place = self.place(ref_name)
        if place is None or place.index + 1 >= len(place.siblings):
            return None
        return place.siblings[place.index + 1]

    def previous_sibling(self, ref_name: str) -> WorkflowTask | None:
        place = self.place(ref_name)
        if place is None or place.index == 0:
            return None
        return place.siblings[place.index - 1]

    def scope(self, ref_name: str) -> frozenset[str]:
        """Every reference name inside this task's branches (or loop body), at any depth."""
        return self._scopes.get(base_ref(ref_name), frozenset())

    def refs(self) -> list[str]:
        """Every reference name in the definition, at any depth, in definition order."""
        return list(self._places)

    def container_of(self, ref_name: str) -> WorkflowTask | None:
        place = self.place(ref_name)
        return place.container if place else None

    def wire(self, wt: WorkflowTask) -> dict[str, Any]:
        """The task's definition as JSON (tasks embed it): computed once for this definition's own
        tasks, every time for tasks made at run time."""
        ref = wt.task_reference_name or ""
        if self.get(ref) is not wt:
            return wt.to_wire()
        if ref not in self._wire:
            self._wire[ref] = wt.to_wire()
        return self._wire[ref]

    @cached_property
    def has_waiters(self) -> bool:
        """Whether any task may wait on others (a JOIN, a loop, a dynamic fork checking its names)."""
        waiting = {"JOIN", "EXCLUSIVE_JOIN", "DO_WHILE", "FORK_JOIN_DYNAMIC"}
        return any(wt.type in waiting for wt in self.wdef.all_tasks())

    @cached_property
    def forks_dynamically(self) -> bool:
        """Whether any task is a dynamic fork (a unit may leave its open branches unread)."""
        return any(wt.type == "FORK_JOIN_DYNAMIC" for wt in self.wdef.all_tasks())

    @cached_property
    def may_run_scripts(self) -> bool:
        """Whether deciding may run JavaScript or jq (INLINE, LAMBDA, JSON_JQ_TRANSFORM, a JavaScript
        SWITCH or DECISION, a loop condition), or tasks whose type is only known at run time (a
        dynamic fork's branches, a DYNAMIC task): such a pass blocks on the script sandbox."""
        for wt in self.wdef.all_tasks():
            if wt.type in _SCRIPTED or (wt.type == "DO_WHILE" and wt.loop_condition):
                return True
            if wt.type == "SWITCH" and (wt.evaluator_type or "value-param") != "value-param":
                return True
            if wt.type == "DECISION" and not wt.case_value_param:
                return True
        return False

    def in_loop(self, ref_name: str) -> bool:
        """Whether the task runs inside a DO_WHILE (its reference names carry iterations)."""
        return base_ref(ref_name) in self._in_loops

    @cached_property
    def referenced_refs(self) -> frozenset[str]:
        """Every task reference name outside loops that an expression of this definition reads."""
        return frozenset(r for r in self._referenced if r not in self._in_loops)

    @cached_property
    def referenced_loop_refs(self) -> frozenset[str]:
        """Every task reference name inside a loop that an expression reads (its latest iteration)."""
        return frozenset(r for r in self._referenced if r in self._in_loops)

    @cached_property
    def _referenced(self) -> frozenset[str]:
        roots: set[str] = set(referenced_roots(self.wdef.output_parameters))
        for wt in self.wdef.all_tasks():
            roots |= referenced_roots(wt.input_parameters)
            if wt.items is not None:
                roots |= referenced_roots(wt.items)
        roots.discard("workflow")
        return frozenset(r for r in roots if r in self._places)
