#!/usr/bin/env python
"""Tracing's cost per task, measured alone (no server, no database): what a server with
`otel_endpoint` set does for one finished task of the simple phase of `bench/run.py`: the unit's
span records (`podium.tracing.spans.collect`: the task's span and, for its one-task workflow, the
root span), their export (queued, then encoded as OTLP protobuf and POSTed in batches by the export
loop, to an OTLP sink in another process), and the `traceparent` its worker receives. The
process's CPU time is counted, per task.

    .venv/bin/python bench/otlp_sink.py --port 4318 &
    .venv/bin/python bench/tracing_cost.py --endpoint http://127.0.0.1:4318 [--n 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from podium.ids import new_id
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Execution, Task
from podium.tracing import export as export_module
from podium.tracing.export import SpanExport
from podium.tracing.ids import task_traceparent
from podium.tracing.spans import collect


def finished_pairs(n: int) -> list[tuple[Execution, Task]]:
    now = int(time.time() * 1000)
    pairs = []
    for _ in range(n):
        wid = new_id()
        ex = Execution(workflow_id=wid, workflow_type="bench_simple", version=1, status=WorkflowStatus.COMPLETED,
                       def_hash="h", create_time=now - 20, update_time=now, end_time=now)
        task = Task(task_id=new_id(), workflow_id=wid, workflow_type="bench_simple", seq=1, ref_name="s",
                    task_type="bench_task", task_def_name="bench_task", status=TaskStatus.COMPLETED,
                    scheduled_time=now - 15, start_time=now - 10, end_time=now, update_time=now,
                    worker_id="bench-worker")
        pairs.append((ex, task))
    return pairs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", default="http://127.0.0.1:4318")
    p.add_argument("--n", type=int, default=20000, help="tasks per repeat")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    export_module.MAX_QUEUE = 4 * args.n  # every span is sent (and counted): none is dropped here
    results = []
    for _ in range(args.repeat):
        pairs = finished_pairs(args.n)
        total_cpu, wall, dropped = asyncio.run(one_round(args.endpoint, pairs))
        results.append(total_cpu)
        print(f"{args.n} tasks: {total_cpu / args.n * 1e6:.1f} µs of process CPU per task "
              f"(wall {wall:.2f} s, {dropped} spans dropped)", flush=True)
    median = sorted(results)[len(results) // 2]
    print(f"median: {median / args.n * 1e6:.1f} µs of process CPU per task (2 spans)")


async def one_round(endpoint: str, pairs: list[tuple[Execution, Task]]) -> tuple[float, float, int]:
    """Emit as the server does (a task's records per unit of work), with the export loop running."""
    export = SpanExport(endpoint)
    running = asyncio.create_task(export.run())
    began_cpu, began = time.process_time(), time.perf_counter()
    for i, (ex, task) in enumerate(pairs):
        task_traceparent(task.task_id, ex.workflow_id, task.extra)
        export.emit(collect(ex, [task], ended=True))
        if i % 64 == 0:
            await asyncio.sleep(0)  # the loop's other work: here, the export's
    running.cancel()
    await export.close()
    return time.process_time() - began_cpu, time.perf_counter() - began, export.dropped


if __name__ == "__main__":
    main()
