"""DO_WHILE: runs `loopOver` once, then again while `loopCondition` holds (and, with `items`,
once per item).

Iteration n runs the body with reference names suffixed `__n` (`step__2`; nested loops add one
suffix each: `step__2__1`), and every task of it has `iteration` n. At the end of an iteration the
condition is evaluated in JavaScript with `$` holding the loop's resolved input, the loop's output
under its reference name (`$.loop.iteration`), and each body task's output under its reference
name without the suffix (`$.step.result`); with `items`, the output also has `loopIndex` and
`loopItem`, which body tasks read as `${loop.output.loopItem}`.

The loop's output is `{"iteration": n, "1": {step: output, ...}, "2": {...}}`. While the loop runs
it holds only the current iteration, so an iteration costs the same whether it is the 2nd or the
10,000th; the whole output is assembled once, when the loop ends. `keepLastN` (an input) keeps
only the last N iterations, in the output and in the stored tasks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium.engine.flow import schedule
from podium.engine.inputs import evaluate
from podium.engine.operators.base import Operator
from podium.engine.scripting import ScriptError, Scripts
from podium.engine.state import PruneTasks
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task, base_ref, ref_suffix

if TYPE_CHECKING:
    from podium.engine.turn import Turn

ITEMS = "items"  # in the loop task's `extra`: the list `items` evaluated to
ENDING = "ending"  # in `extra`: the iteration whose end is being decided
SINCE = "since"  # in `extra`: the sequence number of the loop's first attempt (its tasks come after)


class DoWhile(Operator):
    mode = "sync"
    waits = True  # while an iteration's end waits for its tasks to be loaded

    def schedule(self, turn: Turn, wt: WorkflowTask, *, previous: Task | None = None,
                 delay_ms: int = 0, suffix: str = "") -> Task:
        task = turn.create_task(wt, task_type="DO_WHILE", status=TaskStatus.IN_PROGRESS, previous=previous,
                                suffix=suffix)
        task.start_time = turn.now
        if previous is not None:  # a retry resumes the iteration it stopped in (its failed task is retried too)
            task.output, task.extra = dict(previous.output), dict(previous.extra)
            return task
        task.iteration = 0
        task.extra[SINCE] = task.seq
        if wt.items is not None:
            items = evaluate(turn.state, wt.items, env=turn.ctx.env)
            if not isinstance(items, list):
                turn.end_task(task, TaskStatus.FAILED_WITH_TERMINAL_ERROR,
                              f"DO_WHILE items must evaluate to a list, got: {items!r}")
                return task
            task.extra[ITEMS] = items
            if not items:
                task.output = {"iteration": 0}
                turn.end_task(task, TaskStatus.COMPLETED)
                return task
        self._begin(turn, task, wt, 1)
        return task

    def branch_done(self, turn: Turn, container: WorkflowTask, last: Task) -> None:
        outer = ref_suffix(last.ref_name).rsplit("__", 1)[0]
        loop = turn.state.latest(container.task_reference_name + outer)
        if loop is None or loop.status.terminal:
            return
        loop.extra[ENDING] = loop.iteration
        turn.state.touch(loop)
        self._end_iteration(turn, loop, container)

    def check(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        if task.extra.get(ENDING) == task.iteration:
            self._end_iteration(turn, task, wt)

    # --- iterations --------------------------------------------------------------------------------

    def _begin(self, turn: Turn, loop: Task, wt: WorkflowTask, n: int) -> None:
        loop.iteration = n
        loop.extra.pop(ENDING, None)
        loop.output = {"iteration": n}
        items = loop.extra.get(ITEMS)
        if items is not None:
            loop.output |= {"loopIndex": n - 1, "loopItem": items[n - 1]}
        turn.state.touch(loop)
        self._prune(turn, loop, wt, n)
        schedule(turn, wt.loop_over[0], suffix=_iteration_suffix(loop, n))

    def _end_iteration(self, turn: Turn, loop: Task, wt: WorkflowTask) -> None:
        n = loop.iteration
        outputs = self._iteration_outputs(turn, loop, wt, n)
        if outputs is None:
            return  # its tasks are being loaded; `check` comes back
        loop.output = loop.output | {str(n): outputs}  # replaced, not changed in place (see model.payloads)
        try:
            again = self._again(turn.ctx.scripts, loop, wt, n, outputs)
        except ScriptError as exc:
            turn.end_task(loop, TaskStatus.FAILED_WITH_TERMINAL_ERROR, f"Error evaluating loopCondition: {exc}")
            return
        if again:
            self._begin(turn, loop, wt, n + 1)
        else:
            self._finish(turn, loop, wt, n)

    def _again(self, scripts: Scripts, loop: Task, wt: WorkflowTask, n: int, outputs: dict[str, Any]) -> bool:
        items = loop.extra.get(ITEMS)
        if items is not None and n >= len(items):
            return False
        if not wt.loop_condition:
            return items is not None
        bindings = dict(loop.input) | {wt.task_reference_name: loop.output, loop.ref_name: loop.output} | outputs
        return bool(scripts.javascript(wt.loop_condition, bindings))

    def _iteration_outputs(self, turn: Turn, loop: Task, wt: WorkflowTask, n: int) -> dict[str, Any] | None:
        """{step: output} of iteration n's tasks; None while some must still be loaded."""
        suffix = _iteration_suffix(loop, n)
        refs = [ref + suffix for ref in sorted(turn.state.definition.scope(wt.task_reference_name))]
        unknown = [ref for ref in refs if not turn.state.latest_known(ref)[0]]
        if unknown:
            turn.state.want(unknown)
            return None
        found = [t for t in (turn.state.latest(ref) for ref in refs) if t is not None]
        return {base_ref(t.ref_name): t.output for t in sorted(found, key=lambda t: t.seq)}

    def _finish(self, turn: Turn, loop: Task, wt: WorkflowTask, n: int) -> None:
        if not turn.state.want_since(_since(loop)):
            return  # every iteration's tasks are being loaded; `check` comes back
        keep = _keep_last(loop)
        first = max(1, n - keep + 1) if keep else 1
        output: dict[str, Any] = {"iteration": n}
        for i in range(first, n + 1):
            output[str(i)] = {}
        scope = turn.state.definition.scope(wt.task_reference_name)
        for task in sorted(turn.state.tasks.values(), key=lambda t: t.seq):
            at = _iteration_in(loop, task)
            if at is not None and at >= first and base_ref(task.ref_name) in scope:
                output[str(at)][base_ref(task.ref_name)] = task.output
        if ITEMS in loop.extra:
            output |= {"loopIndex": n - 1, "loopItem": loop.extra[ITEMS][n - 1]}
        loop.output = output
        loop.extra.pop(ENDING, None)
        turn.end_task(loop, TaskStatus.COMPLETED)

    def _prune(self, turn: Turn, loop: Task, wt: WorkflowTask, n: int) -> None:
        """With keepLastN, starting iteration n drops the tasks of iteration n - keepLastN."""
        keep = _keep_last(loop)
        gone = n - keep
        if not keep or gone < 1:
            return
        suffix = _iteration_suffix(loop, gone)
        refs = [ref + suffix for ref in turn.state.definition.scope(wt.task_reference_name)]
        for task in [t for ref in refs for t in turn.state.attempts(ref)]:
            turn.state.drop_task(task)
        turn.state.emit(PruneTasks(loop.workflow_id, tuple(sorted(refs))))


def _iteration_suffix(loop: Task, n: int) -> str:
    return f"{ref_suffix(loop.ref_name)}__{n}"


def _iteration_in(loop: Task, task: Task) -> int | None:
    """The iteration of `loop` that `task` belongs to directly (not through a nested loop)."""
    if task.seq <= _since(loop):
        return None
    own, outer = ref_suffix(task.ref_name), ref_suffix(loop.ref_name)
    if not own.startswith(outer + "__"):
        return None
    rest = own[len(outer) + 2:]
    return int(rest) if rest.isdigit() else None


def _since(loop: Task) -> int:
    return int(loop.extra.get(SINCE, loop.seq))


def _keep_last(loop: Task) -> int:
    try:
        return max(int(loop.input.get("keepLastN") or 0), 0)
    except (TypeError, ValueError):
        return 0
