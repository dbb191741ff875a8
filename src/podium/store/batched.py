"""Writes sent together: on PostgreSQL a unit's plain writes wait, and go in one round trip.

A unit of work on PostgreSQL pays a round trip per statement; most of a worker's update is plain
writes (the finished task, the next task and its queue entry, the execution's counter) that read
nothing back. `PgSession` holds such a write instead of sending it, and sends what it holds as one
statement (each write a data-modifying `WITH` part) before the next statement that is not held,
and before the commit.

Which writes may wait together is narrow on purpose, because the parts of one statement share one
snapshot and run in no set order:
- an `INSERT ... VALUES` or an `UPDATE ... SET ... WHERE` with no subquery and no `RETURNING`, into
  a table of the hot paths (`TABLES`): no part reads what another writes;
- at most one write per table in a batch (a second write to a table sends the batch first), or,
  for writes that name their one row by its key (an `UPDATE ... WHERE task_id = ?`, an `INSERT`
  whose key comes first), one per row and one `INSERT` per table (generated ids, like
  `executions.row_id`, follow the order the rows were written in): two parts never touch one
  row, so none depends on another's effect (an `UPDATE` could not see a row another part
  inserts: it never names one);
- at most one part that may wait for a row lock another transaction holds (an `UPDATE` or an
  upsert; an `INSERT` of a new row waits only for a transaction inserting the same unique key, and
  an `UPDATE` of an execution the unit holds locked for no one): with a single part that can wait
  on another's rows, no order of the parts makes a lock cycle that the order they were written in
  would not.

A held write that fails raises when its batch is sent: still inside its unit, which rolls back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

#: The tables whose plain writes may wait (see the module's docstring for why these).
TABLES = frozenset({"tasks", "queue", "executions", "audit_log", "audit_targets", "bbs_tasks", "bbs_events"})
_WRITE = re.compile(r"\s*(INSERT\s+INTO|UPDATE)\s+(\w+)[\s(]", re.IGNORECASE)
_READS = re.compile(r"\b(?:SELECT|RETURNING)\b", re.IGNORECASE)
_UPSERT = re.compile(r"\bON\s+CONFLICT\b[^;]*\bDO\s+UPDATE\b", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\?")


@dataclass(frozen=True)
class Write:
    """What a held write is: its table, and whether it may wait for a row another transaction
    holds (an UPDATE, an upsert; see the module's docstring for INSERTs)."""

    table: str
    may_wait: bool
    insert: bool = False


@lru_cache(maxsize=512)
def holdable(sql: str) -> Write | None:
    """What a write is, if it may be held; None if it must be sent at once."""
    found = _WRITE.match(sql)
    if found is None or found.group(2).lower() not in TABLES or _READS.search(sql):
        return None
    insert = found.group(1).upper() != "UPDATE"
    return Write(found.group(2).lower(), not insert or _UPSERT.search(sql) is not None, insert)


@lru_cache(maxsize=512)
def combined(statements: tuple[str, ...]) -> str:
    """Statements with `?` placeholders as one statement with PostgreSQL's `$n`: each a `WITH` part."""
    counter = iter(range(1, 100_000))
    parts = [f"w{n} AS ({_PLACEHOLDER.sub(lambda _: f'${next(counter)}', sql)})" for n, sql in enumerate(statements)]
    return f"WITH {', '.join(parts)} SELECT 1"


@dataclass
class Batch:
    """The writes a session holds, in the order they were made."""

    statements: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    tables: set[str] = field(default_factory=set)  # written by a part that names no one row
    rows: dict[str, set[Any]] = field(default_factory=dict)  # by table: the keys of the rows named
    inserted: set[str] = field(default_factory=set)  # tables a part inserts a row into, by its key
    waits: bool = False  # holds a part that may wait for another transaction's row

    def __bool__(self) -> bool:
        return bool(self.statements)

    def takes(self, write: Write, may_wait: bool, key: Any = None) -> bool:
        """Whether the write can join: one part per table, or per row for a write naming its one
        row by its `key`; at most one part that may wait (so the parts' order, which PostgreSQL does not
        set, cannot make a lock cycle that the written order would not)."""
        if (may_wait and self.waits) or write.table in self.tables:
            return False
        if key is None:
            return write.table not in self.rows
        if write.insert and write.table in self.inserted:  # generated ids follow the written order
            return False
        return key not in self.rows.get(write.table, ())

    def add(self, write: Write, may_wait: bool, sql: str, params: Sequence[Any], key: Any = None) -> None:
        self.statements.append(sql)
        self.params.extend(params)
        if key is None:
            self.tables.add(write.table)
        else:
            self.rows.setdefault(write.table, set()).add(key)
            if write.insert:
                self.inserted.add(write.table)
        self.waits = self.waits or may_wait

    def take(self) -> tuple[tuple[str, ...], list[Any]]:
        """The held statements and their parameters, in order; the batch is empty after."""
        taken = (tuple(self.statements), self.params)
        self.statements, self.params, self.tables, self.rows, self.inserted = [], [], set(), {}, set()
        self.waits = False
        return taken


# --- writes that go only if the execution is as it was read (an optimistic unit) ----------------

_EXECUTION_UPDATE = "UPDATE executions SET "
#: A unit that holds an execution locked and changes it, or its tasks, counts a revision: its own
#: update of the execution's row says so, else this write does.
BUMP = "UPDATE executions SET revision = revision + 1 WHERE workflow_id = ?"
_CHECKED = " AND revision = ? RETURNING 1 AS fresh, workflow_id AS checked_id"
_INSERT = re.compile(r"(INSERT INTO \w+ \([^()]*\)) VALUES \(([^()]*)\)((?! *,).*)", re.DOTALL)


def revised(sql: str) -> str | None:
    """An update of an execution's row that also counts a revision; None for another write."""
    if not sql.startswith(_EXECUTION_UPDATE):
        return None
    return sql.replace(_EXECUTION_UPDATE, "UPDATE executions SET revision = revision + 1, ", 1)


def _after_check(sql: str) -> str | None:
    """A held write made to wait for the check (`v`) and to write nothing if it failed: it reads
    the check's row. None for a write of another shape."""
    if sql.startswith("UPDATE "):
        return sql.replace(" WHERE ", " FROM v WHERE ", 1) if " WHERE " in sql else None
    found = _INSERT.fullmatch(sql)
    if found is None:
        return None
    # `WHERE true`: without it, an ON CONFLICT after `FROM v` would read as a join's ON
    return f"{found.group(1)} SELECT {found.group(2)} FROM v WHERE true{found.group(3)}"


@lru_cache(maxsize=512)
def checked(statements: tuple[str, ...], update: int | None) -> str | None:
    """The held writes as one statement that writes only if the execution is still at the
    revision read: its first part (`v`) is the execution's update (`statements[update]`, already
    `revised`) or a `BUMP`, made to match only that revision, and every other part reads `v`'s row,
    so it writes only after `v` took the execution's row lock (the lock order of a locked unit),
    and nothing when `v` matched no row. It answers the number of rows `v` matched (0: stale).
    Parameters: `v`'s (then the revision read), then the others' in order. None when a write
    cannot be made to wait for `v`."""
    parts = checked_parts(statements, update)
    return None if parts is None else f"WITH {parts} SELECT count(*) FROM v"


@lru_cache(maxsize=512)
def checked_parts(statements: tuple[str, ...], update: int | None) -> str | None:
    """The `WITH` parts of `checked` (for a statement that reads after them)."""
    first = statements[update] if update is not None else BUMP
    rest = [_after_check(sql) for n, sql in enumerate(statements) if n != update]
    if any(part is None for part in rest):
        return None
    counter = iter(range(1, 100_000))
    parts = [f"v AS ({first}{_CHECKED})", *(f"w{n} AS ({part})" for n, part in enumerate(rest))]
    return ", ".join(_PLACEHOLDER.sub(lambda _: f"${next(counter)}", part) for part in parts)


def checked_params(statements: tuple[str, ...], params: Sequence[Any], update: int | None, workflow_id: str,
                   revision: int) -> list[Any]:
    """The parameters of `checked(statements, update)`, from the batch's (in written order)."""
    split: list[Sequence[Any]] = []
    at = 0
    for sql in statements:
        n = sql.count("?")
        split.append(params[at:at + n])
        at += n
    first = [*split[update]] if update is not None else [workflow_id]
    return [*first, revision, *(p for n, part in enumerate(split) if n != update for p in part)]
