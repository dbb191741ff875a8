"""Task functions in a module WITHOUT `from __future__ import annotations` (annotations are objects)."""

from dataclasses import dataclass

from podium.worker import Task


@dataclass
class Size:
    width: int
    height: int


def with_task(task: Task, name: str) -> dict[str, str]:
    return {"task_id": task.task_id, "name": name}


def with_dataclass(size: Size) -> int:
    return size.width * size.height
