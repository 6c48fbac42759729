"""Timers and the outbox of the SQLite store: due work claimed by workers with leases."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from supportctl.store import _sqlite_rows as rows
from supportctl.store._sqlite_db import Database
from supportctl.store.ids import new_id, to_micros
from supportctl.store.interface import NotFound
from supportctl.store.records import JSON, OutboxItem, OutboxState, Timer, TimerKind

_OUTBOX_SELECT = ("SELECT o.*, m.conversation_id, m.channel FROM outbox o"
                  " JOIN messages m ON m.id = o.message_id")


class SQLiteQueues:
    """The timer and outbox half of `SQLiteStore`."""

    _db: Database

    # timers -------------------------------------------------------------------------------
    async def schedule_timer(self, conversation_id: str, kind: TimerKind, due_at: datetime,
                             payload: JSON | None = None) -> Timer:
        def work(c: sqlite3.Connection) -> Timer:
            rows.fetch_conversation(c, conversation_id)
            timer = Timer(new_id(), conversation_id, kind, due_at, payload or {})
            c.execute("INSERT INTO timers (id, conversation_id, kind, due_at, payload)"
                      " VALUES (?, ?, ?, ?, ?)", (timer.id, conversation_id, kind.value,
                                                  to_micros(due_at), rows.dumps(timer.payload)))
            return timer
        return await self._db.write(work)

    async def cancel_timers(self, conversation_id: str,
                            kinds: Sequence[TimerKind] | None = None) -> int:
        wanted = [k.value for k in (kinds if kinds is not None else TimerKind)]

        def work(c: sqlite3.Connection) -> int:
            marks = ", ".join("?" for _ in wanted)
            return c.execute(f"DELETE FROM timers WHERE conversation_id = ? AND kind IN ({marks})",
                             (conversation_id, *wanted)).rowcount
        return await self._db.write(work) if wanted else 0

    async def claim_due_timers(self, worker: str, now: datetime, until: datetime,
                               limit: int) -> list[Timer]:
        select = ("SELECT id FROM timers WHERE due_at <= ? AND (claimed_until IS NULL OR"
                  " claimed_until <= ?) ORDER BY due_at, id LIMIT ?")

        def work(c: sqlite3.Connection) -> list[Timer]:
            ids = rows.claim(c, select, "timers", worker, now, until, limit)
            return [rows.timer(c.execute("SELECT * FROM timers WHERE id = ?", (i,)).fetchone())
                    for i in ids]
        return await self._db.write(work)

    async def complete_timer(self, timer_id: str, worker: str) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            return c.execute("DELETE FROM timers WHERE id = ? AND claimed_by = ?",
                             (timer_id, worker)).rowcount == 1
        return await self._db.write(work)

    # outbox -------------------------------------------------------------------------------
    async def claim_outbox(self, worker: str, now: datetime, until: datetime,
                           limit: int) -> list[OutboxItem]:
        def work(c: sqlite3.Connection) -> list[OutboxItem]:
            ids = rows.claim_due(c, "outbox", worker, now, until, limit)
            return [_outbox(c, i) for i in ids]
        return await self._db.write(work)

    async def outbox_sent(self, item_id: str, worker: str, at: datetime,
                          external_id: str | None) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            item = _outbox(c, item_id)
            if item.claimed_by != worker or item.state is not OutboxState.PENDING:
                return False
            c.execute("UPDATE outbox SET state = 'sent', attempts = attempts + 1,"
                      " claimed_by = NULL, claimed_until = NULL WHERE id = ?", (item_id,))
            c.execute("UPDATE messages SET status = CASE WHEN status = 'queued' THEN 'sent'"
                      " ELSE status END, sent_at = COALESCE(sent_at, ?),"
                      " external_id = COALESCE(?, external_id) WHERE id = ?",
                      (to_micros(at), external_id, item.message_id))
            rows.add_event(c, item.conversation_id, "delivery",
                           {"message_id": item.message_id, "status": "sent",
                            "attempts": item.attempts + 1, "external_id": external_id}, at)
            return True
        return await self._db.write(work)

    async def outbox_failed(self, item_id: str, worker: str, at: datetime, error: str,
                            retry_at: datetime | None) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            item = _outbox(c, item_id)
            if item.claimed_by != worker or item.state is not OutboxState.PENDING:
                return False
            state = OutboxState.PENDING if retry_at is not None else OutboxState.FAILED
            c.execute("UPDATE outbox SET state = ?, attempts = attempts + 1, last_error = ?,"
                      " next_attempt_at = ?, claimed_by = NULL, claimed_until = NULL"
                      " WHERE id = ?", (state.value, error,
                                        to_micros(retry_at or item.next_attempt_at), item_id))
            if state is OutboxState.FAILED:
                c.execute("UPDATE messages SET status = 'failed', failed_at = ?, error = ?"
                          " WHERE id = ?", (to_micros(at), error, item.message_id))
                rows.add_event(c, item.conversation_id, "delivery",
                               {"message_id": item.message_id, "status": "failed",
                                "attempts": item.attempts + 1, "error": error}, at)
            return True
        return await self._db.write(work)

    async def claimed_outbox(self, worker: str) -> list[OutboxItem]:
        def work(c: sqlite3.Connection) -> list[OutboxItem]:
            return [rows.outbox(row) for row in c.execute(
                f"{_OUTBOX_SELECT} WHERE o.claimed_by = ? AND o.state = 'pending'"
                " ORDER BY m.created_at, o.id", (worker,))]
        return await self._db.read(work)

    async def outbox_release(self, item_id: str, worker: str, at: datetime) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            return c.execute("UPDATE outbox SET next_attempt_at = ?, claimed_by = NULL,"
                             " claimed_until = NULL WHERE id = ? AND claimed_by = ? AND"
                             " state = 'pending'", (to_micros(at), item_id, worker)).rowcount == 1
        return await self._db.write(work)

    async def get_outbox(self, item_id: str) -> OutboxItem:
        return await self._db.read(lambda c: _outbox(c, item_id))


def _outbox(c: sqlite3.Connection, item_id: str) -> OutboxItem:
    row = c.execute(f"{_OUTBOX_SELECT} WHERE o.id = ?", (item_id,)).fetchone()
    if row is None:
        raise NotFound(f"no outbox item {item_id}")
    return rows.outbox(row)
