"""The task and workflow definitions the benchmark registers, under per-run names."""

from __future__ import annotations

from typing import Any

import httpx


class Names:
    """Per-run names, so that runs against a long-lived server never see each other's queues."""

    def __init__(self, suffix: str) -> None:
        self.simple_task = f"bench_simple_{suffix}"
        self.simple_wf = f"bench_simple_wf_{suffix}"
        self.steps = [f"bench_step{i}_{suffix}" for i in (1, 2, 3)]
        self.chain_wf = f"bench_chain_wf_{suffix}"
        self.probe_task = f"bench_probe_{suffix}"
        self.probe_wf = f"bench_probe_wf_{suffix}"


def task_def(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "retryCount": 0,
        "timeoutSeconds": 0,
        "responseTimeoutSeconds": 3600,
        "timeoutPolicy": "TIME_OUT_WF",
        "ownerEmail": "bench@example.com",
    }


def workflow_defs(n: Names) -> list[dict[str, Any]]:
    def one(wf: str, task: str) -> dict[str, Any]:
        return {
            "name": wf,
            "version": 1,
            "schemaVersion": 2,
            "ownerEmail": "bench@example.com",
            "tasks": [
                {
                    "name": task,
                    "taskReferenceName": "t",
                    "type": "SIMPLE",
                    "inputParameters": {"n": "${workflow.input.n}"},
                }
            ],
        }

    chain = {
        "name": n.chain_wf,
        "version": 1,
        "schemaVersion": 2,
        "ownerEmail": "bench@example.com",
        "tasks": [
            {
                "name": n.steps[0],
                "taskReferenceName": "s1",
                "type": "SIMPLE",
                "inputParameters": {"n": "${workflow.input.n}"},
            },
            {
                "name": n.steps[1],
                "taskReferenceName": "s2",
                "type": "SIMPLE",
                "inputParameters": {"v": "${s1.output.v}"},
            },
            {
                "name": n.steps[2],
                "taskReferenceName": "s3",
                "type": "SIMPLE",
                "inputParameters": {"v": "${s2.output.v}"},
            },
        ],
        "outputParameters": {"v": "${s3.output.v}"},
    }
    return [one(n.simple_wf, n.simple_task), one(n.probe_wf, n.probe_task), chain]


async def register(base_url: str, n: Names, headers: dict[str, str] | None = None) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30, headers=headers) as c:
        names = [n.simple_task, n.probe_task, *n.steps]
        r = await c.post("/api/metadata/taskdefs", json=[task_def(x) for x in names])
        r.raise_for_status()
        for wf in workflow_defs(n):
            r = await c.post("/api/metadata/workflow", params={"overwrite": "true"}, json=wf)
            r.raise_for_status()
