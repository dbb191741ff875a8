"""How a unit of work's statements reach PostgreSQL: its transaction, begun with its first round
trip; its plain writes, held to go together (`store.batched`); and, for an optimistic unit, its
writes made to check that the execution it read without a lock is still as read.

An optimistic unit (`PgUnit.read_first`, a worker's update) reads its execution and live tasks
without BEGIN and without the row lock, and records the execution's revision (migration 21; every
unit that changes an execution or its tasks holding the execution's lock counts one, see
`revise`). If the unit's writes all wait to go at its end, they go as one statement, without BEGIN
or COMMIT, whose first part updates the execution only at that revision and whose other parts
write only after it and only if it matched (`batched.checked`): two round trips where a locked
unit takes five. If it did not match, nothing was written and `StaleRead` says so: the caller
does the unit again, locked. If the unit needs anything else first (a statement that is not a
held write, writes that cannot go in one), it begins its transaction then and takes the lock
where the revision is still the one read (`_begin`), and goes on as a locked unit; if the
revision moved, `StaleRead` again.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any

import asyncpg
from asyncpg.transaction import Transaction

from podium.errors import OUT_OF_RANGE, UNSTORABLE_TEXT, BadRequest, StoreError, StoreUnavailable
from podium.store.batched import BUMP, Batch, checked, checked_params, checked_parts, combined, holdable, revised
from podium.store.pending import awaiting
from podium.store.session import StaleRead

_PLACEHOLDER = re.compile(r"\?")
#: The key column of the tables whose rows a held write may name (`Batch`: writes of different
#: rows of one table may go together): an UPDATE ends `WHERE <key> = ?`, an INSERT lists it first.
_KEYS = {"executions": "workflow_id", "tasks": "task_id", "queue": "task_id"}
_QUEUE_ENTRY = "INSERT INTO queue (task_id, queue_name,"  # its second parameter names the queue
#: An optimistic unit that must go on locked: the lock, where the execution is still as read.
_PIN = "SELECT 1 FROM executions WHERE workflow_id = $1 AND revision = $2 FOR UPDATE"

UNAVAILABLE = (OSError, asyncpg.exceptions.InterfaceError, asyncpg.exceptions.ConnectionDoesNotExistError,
               asyncpg.exceptions.CannotConnectNowError, asyncpg.exceptions.AdminShutdownError,
               asyncpg.exceptions.TooManyConnectionsError, asyncpg.exceptions.ConnectionFailureError,
               asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError,
               asyncpg.exceptions.InternalClientError,  # a connection the server just closed
               asyncio.TimeoutError)


def _key(table: str, sql: str, params: Sequence[Any]) -> Any:
    """The key of the one row a held write names, if it names one that way (None otherwise)."""
    column = _KEYS.get(table)
    if column is None:
        return None
    if sql.endswith(f"WHERE {column} = ?"):
        return params[-1]
    if sql.startswith(f"INSERT INTO {table} ({column},"):
        return params[0]
    return None


@lru_cache(maxsize=2048)
def numbered(sql: str) -> str:
    """`?` placeholders (the shared SQL's) as PostgreSQL's `$1, $2 ...`."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


def store_error(exc: BaseException) -> Exception:
    """A driver error as Podium's: a lost or refusing database is retryable (503); a value the
    request carried that no column can hold (an integer beyond the column's range, text with a NUL
    character or a lone surrogate) is the client's, a 400 that does not quote the driver; else a 500."""
    if isinstance(exc, (asyncpg.exceptions.CharacterNotInRepertoireError,
                        asyncpg.exceptions.UntranslatableCharacterError)):
        return BadRequest(UNSTORABLE_TEXT)
    if isinstance(exc, asyncpg.exceptions.NumericValueOutOfRangeError):
        return BadRequest(OUT_OF_RANGE)
    if isinstance(exc, (asyncpg.exceptions.DataError, ValueError)):
        # SQLSTATE 22 (data exception), also raised by asyncpg itself for an argument it cannot encode
        text = str(exc)
        if "out of int64 range" in text or "out of int32 range" in text:
            return BadRequest(OUT_OF_RANGE)
        if "surrogates not allowed" in text:
            return BadRequest(UNSTORABLE_TEXT)
        return StoreError(f"database error: {exc}")  # bad data, not an outage
    if isinstance(exc, UNAVAILABLE):
        return StoreUnavailable(f"database unavailable: {type(exc).__name__}: {exc}")
    return StoreError(f"database error: {exc}")


class PgUnit:
    """A session's transaction and held writes (readers and searchers have neither)."""

    def __init__(self, conn: asyncpg.Connection, transaction: Transaction | None = None) -> None:
        self.conn = conn
        self.transaction = transaction
        self.begun = False
        self.batch = Batch() if transaction is not None else None
        self.locked: set[str] = set()  # executions this unit holds locked (or, optimistic, will)
        self.claimed: set[str] = set()  # tasks whose queue entries this unit took (`claim_rows`)
        self.unqueued: dict[str, str] = {}  # tasks read that no claim can take (`tasks_read`): their executions
        self.queued: set[str] = set()  # the queues of the entries held
        self.may_read_first = False  # every server on the database counts revisions (`Broadcaster`)
        self.optimistic = False  # asked to read its execution without the lock (`read_first`)
        self.expected: tuple[str, int] | None = None  # (execution, revision) read so, not yet checked
        self.revised: set[str] = set()  # locked executions whose revision this unit's writes count
        self.wrote = False
        self.checked_sent = False  # the optimistic writes went, checked: the unit's work is done

    def read_first(self) -> None:
        """Read the execution without the lock, and check at the end that it did not move."""
        self.optimistic = self.batch is not None and self.may_read_first

    def reads_unlocked(self) -> bool:
        """Whether the execution about to be read is read without the lock (see the module)."""
        return self.optimistic and not self.begun and not self.batch and self.expected is None

    def read_at(self, workflow_id: str, revision: int) -> None:
        self.expected = (workflow_id, revision)

    async def _held(self, sql: str, params: Sequence[Any]) -> bool:
        """Whether the write is held, to go with the unit's next ones (`store.batched`)."""
        if self.batch is None:
            return False
        write = holdable(sql)
        if write is None:
            return False
        key = _key(write.table, sql, params)
        if write.table == "executions" and key in self.locked:
            sql = self._revise(sql, key)
        may_wait = write.may_wait and not self._held_by_this_unit(write.table, key)
        if not self.batch.takes(write, may_wait, key):
            await self.send()
        self.batch.add(write, may_wait, sql, params, key)
        if sql.startswith(_QUEUE_ENTRY):
            self.queued.add(params[1])
        return True

    def _revise(self, sql: str, workflow_id: str) -> str:
        """A locked execution's update counts a revision (once a unit)."""
        if workflow_id in self.revised or sql == BUMP:
            self.revised.add(workflow_id)
            return sql
        counted = revised(sql)
        if counted is None:
            return sql
        self.revised.add(workflow_id)
        return counted

    def _held_by_this_unit(self, table: str, key: Any) -> bool:
        """Whether a row is one no other transaction can hold, so that writing it waits for no one:
        an execution this unit holds locked; a task whose queue entry it took (whoever changes a
        queued task takes its queue entry first, and waits for this unit there); a task read
        unqueued (no claim can take it) of an execution it holds locked."""
        if table == "executions":
            return key in self.locked
        if table == "tasks":
            return key in self.claimed or self.unqueued.get(key) in self.locked
        return False

    async def send(self) -> None:
        """Send the writes held so far, as one statement."""
        if self.batch:
            self.queued.clear()
            statements, params = self.batch.take()
            sql = numbered(statements[0]) if len(statements) == 1 else combined(statements)
            await self._call(self.conn.execute, sql, *params)

    async def send_last(self) -> None:
        """Send what is held when nothing the unit writes comes after: an optimistic unit's writes,
        checked, end its work there (what comes after is a unit of its own: a claim)."""
        if self.sends_checked() and await self._send_checked() is not None:
            return
        await self.send()

    def sends_checked(self) -> bool:
        """Whether the held writes would go checked now (an optimistic unit that sent nothing, and
        whose request's audit entry, if any, is written already)."""
        return self.expected is not None and not self.begun and bool(self.batch) and not awaiting()

    async def _send_checked(self, then: Callable[[str, int], str] | None = None,
                            then_params: Sequence[Any] = ()) -> list[Any] | None:
        """The optimistic unit's held writes as one checked statement (`batched.checked`), with
        `then(parts, n)` after them if given (a read in the same statement, after the `WITH`
        parts of the writes and their `n` parameters, with `then_params`); its rows (the first
        column of the first: the rows the check matched). None, with nothing sent, when the
        writes cannot go so; `StaleRead` when the execution moved since it was read."""
        assert self.expected is not None and self.batch is not None
        workflow_id, revision = self.expected
        statements = tuple(self.batch.statements)
        update = next((n for n, sql in enumerate(statements)
                       if sql.startswith("UPDATE executions SET revision = revision + 1, ")
                       and sql.endswith("WHERE workflow_id = ?")), None)
        parts = checked_parts(statements, update)
        if parts is None:
            return None
        values = checked_params(statements, self.batch.params, update, workflow_id, revision)
        if update is not None and values[update_key(statements, update)] != workflow_id:
            return None  # another execution's update (a parent's): go on locked
        sql = then(parts, len(values)) if then is not None else checked(statements, update)
        self.batch.take()
        self.queued.clear()
        self.expected = None
        rows = await self._call(self.conn.fetch, sql, *values, *then_params, begin=False)
        if not rows or not rows[0][0]:
            raise StaleRead(workflow_id)
        self.checked_sent = True
        # what follows is a unit of its own (a claim): it holds no execution
        self.locked, self.revised, self.unqueued, self.wrote = set(), set(), {}, False
        self.transaction = self.conn.transaction()  # for what follows, if it must be one
        return list(rows)

    async def call(self, method: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """One round trip, after the held writes' (which the statement may need to see)."""
        await self.send()
        return await self._call(method, *args)

    async def _call(self, method: Callable[..., Awaitable[Any]], *args: Any, begin: bool = True) -> Any:
        """One round trip; the first of a unit begins its transaction, unless `begin` is False
        (an optimistic unit's read, and its writes, checked)."""
        try:
            if begin and self.transaction is not None and not self.begun:
                await self._begin()
            return await method(*args)
        except (asyncpg.PostgresError, *UNAVAILABLE) as exc:
            raise store_error(exc) from exc

    async def _begin(self) -> None:
        """BEGIN; an optimistic unit takes its execution's lock now, if it is still as read."""
        assert self.transaction is not None
        await self.transaction.start()
        self.begun = True
        if self.expected is not None:
            workflow_id, revision = self.expected
            self.expected = None
            if await self.conn.fetchval(_PIN, workflow_id, revision) is None:
                raise StaleRead(workflow_id)

    async def finish(self) -> bool:
        """Send what is held and commit; whether anything was written. A unit that has sent nothing
        yet sends its held writes alone, without BEGIN and COMMIT, since one statement is a
        transaction of its own: a start is one round trip, not three; an optimistic unit's go
        checked (or, if they cannot, it begins and takes the lock first)."""
        if not self.begun:
            if not self.batch:
                self.transaction = None
                return self.checked_sent
            if self.expected is None:
                self.transaction = None
                await self.send()
                return True
            if await self._send_checked() is not None:
                self.transaction = None
                return True
        await self._count_revisions()
        await self.send()  # (begins, if an optimistic unit could not go checked)
        self.begun = False  # over, whatever COMMIT answers: PostgreSQL rolls back a commit that fails
        assert self.transaction is not None
        await self.transaction.commit()
        return True

    async def _count_revisions(self) -> None:
        """Every execution this unit holds locked counts a revision if the unit wrote anything."""
        if self.wrote:
            for workflow_id in sorted(self.locked - self.revised):
                await self._held(BUMP, (workflow_id,))

    async def abandon(self) -> None:
        """Roll back what was begun (a unit that failed or was cancelled)."""
        if self.begun:
            self.begun = False
            assert self.transaction is not None
            await self.transaction.rollback()


def update_key(statements: Sequence[str], update: int) -> int:
    """Where, in `checked_params`' list, the execution's update names its row (its last `?`)."""
    return statements[update].count("?") - 1
