"""SQL for member services and TANGO projects, over a session's primitives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from podium.store.rows import dumps, loads
from podium.store.session import Session

MAX_LOG = 200  # a project keeps its newest report lines
MAX_LOG_LINE = 1024  # characters of each (a line quotes what a member reported)


@dataclass(frozen=True, slots=True)
class Member:
    container_id: str
    url: str
    retries: int = 0
    resume: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {"container_id": self.container_id, "url": self.url, "retries": self.retries, "resume": self.resume}


@dataclass(slots=True)
class Project:
    user_id: str
    project_id: str
    project_type: str
    stages: list[str]
    target: str = ""
    workflow_id: str | None = None
    log: list[str] = field(default_factory=list)

    @property
    def auto(self) -> bool:
        return self.project_type == "auto"


async def get_member(s: Session, container_id: str) -> Member | None:
    row = await s.fetchone("SELECT container_id, url, retries, resume FROM remote_members WHERE container_id = ?",
                           (container_id,))
    return Member(row[0], row[1], row[2], bool(row[3])) if row else None


async def list_members(s: Session) -> list[Member]:
    rows = await s.fetchall("SELECT container_id, url, retries, resume FROM remote_members ORDER BY container_id", ())
    return [Member(r[0], r[1], r[2], bool(r[3])) for r in rows]


async def put_member(s: Session, member: Member) -> None:
    await s.execute("INSERT INTO remote_members (container_id, url, retries, resume) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (container_id) DO UPDATE SET url = excluded.url, retries = excluded.retries, "
                    "resume = excluded.resume", (member.container_id, member.url, member.retries, int(member.resume)))


async def delete_member(s: Session, container_id: str) -> bool:
    found = await get_member(s, container_id)
    await s.execute("DELETE FROM remote_members WHERE container_id = ?", (container_id,))
    return found is not None


_PROJECT_COLS = "user_id, project_id, project_type, stages, target, workflow_id, log"


def _project(row: Sequence[Any]) -> Project:
    return Project(row[0], row[1], row[2], loads(row[3]), row[4], row[5], loads(row[6]))


async def get_project(s: Session, user_id: str, project_id: str, *, lock: bool = False) -> Project | None:
    sql = f"SELECT {_PROJECT_COLS} FROM tango_projects WHERE user_id = ? AND project_id = ?"
    row = await s.fetchone(s.lock_clause(sql, lock), (user_id, project_id))
    return _project(row) if row else None


async def list_projects(s: Session, limit: int) -> list[Project]:
    rows = await s.fetchall(f"SELECT {_PROJECT_COLS} FROM tango_projects ORDER BY user_id, project_id LIMIT ?",
                            (limit,))
    return [_project(r) for r in rows]


async def put_project(s: Session, p: Project) -> None:
    await s.execute(
        "INSERT INTO tango_projects (user_id, project_id, project_type, stages, target, workflow_id, log) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, project_id) DO UPDATE SET "
        "project_type = excluded.project_type, stages = excluded.stages, target = excluded.target, "
        "workflow_id = excluded.workflow_id, log = excluded.log",
        (p.user_id, p.project_id, p.project_type, dumps(p.stages), p.target, p.workflow_id,
         dumps([line[:MAX_LOG_LINE] for line in p.log[-MAX_LOG:]])))
