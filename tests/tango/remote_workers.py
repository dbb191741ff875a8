"""Workers for test_remote_task.py: the SIMPLE tasks around a REMOTE task, run by conductor-python's
`TaskHandler` in spawned processes, which re-import this module by name to find the functions.

No `from __future__ import annotations` here: the SDK binds inputs by the parameters' real annotations.
"""

from typing import Any

PREPARE = "tango_prepare"
SUMMARIZE = "tango_summarize"


def prepare(project: str) -> dict[str, Any]:
    return {"project": f"p-{project}"}


def summarize(status: str) -> dict[str, Any]:
    return {"summary": f"the member said {status}"}
