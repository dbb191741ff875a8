"""SWITCH and DECISION: evaluate, then run the chosen branch; after its last task, the flow
continues after the switch (the default `branch_done`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium.engine.flow import schedule, schedule_after, terminate
from podium.engine.operators.scripted import Outcome, Scripted
from podium.engine.scripting import ScriptError, Scripts, as_case
from podium.model.definitions import EVALUATORS, EVALUATORS_RUN, WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task, ref_suffix

if TYPE_CHECKING:
    from podium.engine.turn import Turn


class Switch(Scripted):
    """`evaluatorType` value-param (the expression names an input key) or javascript/graaljs. Any
    other (Conductor's `python`, a custom one) ends the execution when the SWITCH is reached, as
    Conductor's `SwitchTaskMapper` does for an evaluator it has not registered."""

    output_key = "evaluationResult"

    def execute(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        evaluator = self.evaluator(wt)
        if evaluator not in EVALUATORS:
            terminate(turn, task, f"No evaluator registered for type: {evaluator}. This server runs {EVALUATORS_RUN}.")
            return
        super().execute(turn, task, wt)

    def evaluator(self, wt: WorkflowTask) -> str:
        return wt.evaluator_type or "value-param"

    def outcome(self, scripts: Scripts, task: Task, wt: WorkflowTask, *, quick: bool) -> Outcome:
        try:
            value = self.evaluate(scripts, task, wt, quick=quick)
        except ScriptError as exc:
            return Outcome(TaskStatus.FAILED, reason=f"Error evaluating the expression: {exc}")
        return Outcome(TaskStatus.COMPLETED, {self.output_key: [value], "selectedCase": as_case(value)})

    def evaluate(self, scripts: Scripts, task: Task, wt: WorkflowTask, *, quick: bool) -> Any:
        if (wt.evaluator_type or "value-param") == "value-param":
            return task.input.get(wt.expression or "")
        return scripts.javascript(wt.expression or "", task.input, quick=quick)

    def branch(self, wt: WorkflowTask, case: str) -> list[WorkflowTask]:
        """The chosen case; the default case only when the case is absent (an empty case is a no-op)."""
        return wt.decision_cases.get(case, wt.default_case)

    def follow(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        chosen = self.branch(wt, str(task.output.get("selectedCase")))
        if chosen:
            schedule(turn, chosen[0], suffix=ref_suffix(task.ref_name))
        else:
            schedule_after(turn, task.ref_name)


class Decision(Switch):
    """The deprecated form: `caseValueParam` (input key) or `caseExpression` (JavaScript); its
    default case also serves an empty case."""

    output_key = "caseOutput"

    def evaluator(self, wt: WorkflowTask) -> str:
        return "value-param" if wt.case_value_param else "javascript"

    def evaluate(self, scripts: Scripts, task: Task, wt: WorkflowTask, *, quick: bool) -> Any:
        if wt.case_value_param:
            return task.input.get(wt.case_value_param)
        return scripts.javascript(wt.case_expression or "", task.input, quick=quick)

    def branch(self, wt: WorkflowTask, case: str) -> list[WorkflowTask]:
        return wt.decision_cases.get(case) or wt.default_case
