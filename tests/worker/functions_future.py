"""Task functions in a module WITH `from __future__ import annotations` (annotations are strings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import podium.worker
from podium.worker import Task


@dataclass
class Size:
    width: int
    height: int


def with_task(task: Task, name: str) -> dict[str, str]:
    return {"task_id": task.task_id, "name": name}


def with_dataclass(size: Size) -> int:
    return size.width * size.height


def with_dotted_task(task: podium.worker.Task) -> str:
    return task.task_id


def unresolvable() -> Callable[..., Any]:
    """A function whose annotations name a class local to another function: get_type_hints fails."""
    class Local:
        pass

    def inner(task: Task, thing: Local, count: int = 2) -> Local:
        return thing

    return inner
