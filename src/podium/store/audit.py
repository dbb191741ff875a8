"""The audit trail's rows (`audit_log`, and `audit_targets` for the ids each entry is about)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from podium.model.audit import AuditEntry, Outcome
from podium.store.rows import dumps, loads
from podium.store.session import Session

_COLUMNS = "id, at, key_id, who, action, path, targets, status, outcome, address"
#: A search condition on `target` (see `podium.store.query.Field.within`): the entries (by their key)
#: one of whose targets meets it.
TARGET_MATCH = "(at, id) IN (SELECT t.at, t.audit_id FROM audit_targets t WHERE {})"


def _entry(r: Sequence[Any]) -> AuditEntry:
    return AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5], tuple(loads(r[6])), r[7], Outcome(r[8]), r[9])


async def insert_entry(s: Session, entry: AuditEntry) -> None:
    await s.execute(f"INSERT INTO audit_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (entry.id, entry.at, entry.key_id, entry.who, entry.action, entry.path,
                     dumps(list(entry.targets)), entry.status, entry.outcome.value, entry.address))
    targets = dict.fromkeys(t for t in entry.targets if t)  # once each, in order
    await s.executemany("INSERT INTO audit_targets (target, at, audit_id) VALUES (?, ?, ?)",
                        [(t, entry.at, entry.id) for t in targets])


async def settle_entry(s: Session, entry: AuditEntry, status: int, outcome: Outcome) -> None:
    """The call's final status, when it differs from the one written with its change."""
    await s.execute("UPDATE audit_log SET status = ?, outcome = ? WHERE at = ? AND id = ?",
                    (status, outcome.value, entry.at, entry.id))


async def search_entries(s: Session, where: str, params: Sequence[Any], offset: int,
                         limit: int) -> tuple[int, list[AuditEntry]]:
    """Entries matching `where` (trusted SQL with `?` marks for `params`), newest first."""
    clause = f" WHERE {where}" if where else ""
    total = await s.fetchone(f"SELECT COUNT(*) FROM audit_log{clause}", params)
    rows = await s.fetchall(f"SELECT {_COLUMNS} FROM audit_log{clause} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
                            (*params, limit, offset))
    return (total[0] if total else 0), [_entry(r) for r in rows]


async def entries_about(s: Session, target: str, limit: int) -> list[AuditEntry]:
    """The newest entries whose targets include `target` (an execution's id, say)."""
    rows = await s.fetchall(f"SELECT {_COLUMNS} FROM audit_log WHERE {TARGET_MATCH.format('t.target = ?')} "
                            "ORDER BY at DESC, id DESC LIMIT ?", (target, limit))
    return [_entry(r) for r in rows]


async def delete_entries_before(s: Session, cutoff: int, limit: int) -> int:
    """Delete up to `limit` of the oldest entries made before `cutoff` (epoch ms); how many went."""
    rows = await s.fetchall("SELECT at, id, targets FROM audit_log WHERE at < ? ORDER BY at, id LIMIT ?",
                            (cutoff, limit))
    if rows:
        await s.executemany("DELETE FROM audit_targets WHERE target = ? AND at = ? AND audit_id = ?",
                            [(target, at, entry_id) for at, entry_id, targets in rows for target in loads(targets)])
        last = rows[-1]  # the batch is the oldest entries, up to this one
        await s.execute("DELETE FROM audit_log WHERE at < ? OR (at = ? AND id <= ?)", (last[0], last[0], last[1]))
    return len(rows)
