"""The dispatch-latency probe: a worker parked in a long poll, a 1-task workflow started, timed."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from .definitions import Names
from .load import start_call
from .util import now, percentile


async def probe(
    connect: Any,
    n: Names,
    samples: int,
    gap: float,
    keep_going: Any,
    period: float = 0.0,
    by_name: bool = False,
) -> dict[str, Any]:
    """One worker parked in a long poll; start a 1-task workflow; time until the worker holds it.
    A sample starts at most every `period` seconds (so that the probe adds little load).

    `ret` is measured from the start call returning (the task is scheduled and committed by then),
    `send` from the start call being sent (an upper bound that includes the start itself)."""
    ret: list[float] = []
    send: list[float] = []
    misses = 0
    t_iter = now()
    poll_url = f"/api/tasks/poll/batch/{n.probe_task}?workerid=probe&count=1&timeout=5000"
    start_url, start_body = start_call(n.probe_wf, by_name)
    worker, boss = connect(), connect()

    async def timed_poll() -> tuple[list[dict[str, Any]], float]:
        status, payload = await worker.request("GET", poll_url)
        t = now()
        return (orjson.loads(payload) if status == 200 else []), t

    try:
        for i in range(samples + 1):  # the first round only opens the connections
            if not keep_going():
                break
            if period > 0 and i > 0:
                await asyncio.sleep(max(0.0, t_iter + period - now()))
            t_iter = now()
            polling = asyncio.create_task(timed_poll())
            await asyncio.sleep(gap)  # let the poll reach the server and park
            t_send = now()
            status, _ = await boss.request("POST", start_url, start_body)
            t_ret = now()
            got, t_got = await polling
            if status != 200 or not got:
                misses += 1
                continue
            if i > 0:
                ret.append((t_got - t_ret) * 1000)
                send.append((t_got - t_send) * 1000)
            task = got[0]
            await worker.request(
                "POST",
                "/api/tasks",
                orjson.dumps(
                    {
                        "workflowInstanceId": task["workflowInstanceId"],
                        "taskId": task["taskId"],
                        "status": "COMPLETED",
                        "workerId": "probe",
                        "outputData": {},
                    }
                ),
            )
    finally:
        await worker.aclose()
        await boss.aclose()
    return summarize_latency(ret, send, misses)


def summarize_latency(ret: list[float], send: list[float], misses: int) -> dict[str, Any]:
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 3)

    return {
        "samples": len(ret),
        "misses": misses,
        "p50_ms": r(percentile(ret, 50)),
        "p90_ms": r(percentile(ret, 90)),
        "p99_ms": r(percentile(ret, 99)),
        "max_ms": r(max(ret) if ret else None),
        "min_ms": r(min(ret) if ret else None),
        "from_send_p50_ms": r(percentile(send, 50)),
        "from_send_p99_ms": r(percentile(send, 99)),
    }
