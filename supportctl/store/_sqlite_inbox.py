"""The inbox of the SQLite store: webhook deliveries kept durably before they are processed.

A delivery's events are stored (deduplicated by channel and key) before the webhook answers;
processing them is work claimed with a lease like the outbox's, so events whose processing was
cut short by a crash are processed after the restart.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from supportctl.store import _sqlite_rows as rows
from supportctl.store._sqlite_db import Database
from supportctl.store.ids import from_micros, new_id, to_micros
from supportctl.store.interface import NotFound
from supportctl.store.records import JSON, InboxItem, InboxState


class SQLiteInbox:
    """The inbox half of `SQLiteStore`."""

    _db: Database

    async def enqueue_inbound(self, channel: str, events: Sequence[tuple[str, JSON]],
                              at: datetime, hold: tuple[str, datetime] | None = None
                              ) -> list[InboxItem | None]:
        worker, until = hold or (None, None)

        def work(c: sqlite3.Connection) -> list[InboxItem | None]:
            added: list[InboxItem | None] = []
            for key, event in events:
                item_id = new_id()
                cursor = c.execute(
                    "INSERT INTO inbox (id, channel, key, event, state, received_at,"
                    " next_attempt_at, claimed_by, claimed_until)"
                    " VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (item_id, channel, key, rows.dumps(event), to_micros(at), to_micros(at),
                     worker, to_micros(until) if until is not None else None))
                added.append(_item(c, item_id) if cursor.rowcount == 1 else None)
            return added
        return await self._db.write(work)

    async def claim_inbox(self, worker: str, now: datetime, until: datetime,
                          limit: int) -> list[InboxItem]:
        def work(c: sqlite3.Connection) -> list[InboxItem]:
            return [_item(c, i) for i in rows.claim_due(c, "inbox", worker, now, until, limit,
                                                        order="received_at, id")]
        return await self._db.write(work)

    async def inbox_done(self, item_id: str, worker: str, at: datetime) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            return c.execute("UPDATE inbox SET state = 'done', attempts = attempts + 1,"
                             " processed_at = ?, claimed_by = NULL, claimed_until = NULL"
                             " WHERE id = ? AND claimed_by = ? AND state = 'pending'",
                             (to_micros(at), item_id, worker)).rowcount == 1
        return await self._db.write(work)

    async def inbox_failed(self, item_id: str, worker: str, at: datetime, error: str,
                           retry_at: datetime | None) -> bool:
        state = InboxState.PENDING if retry_at is not None else InboxState.FAILED

        def work(c: sqlite3.Connection) -> bool:
            return c.execute("UPDATE inbox SET state = ?, attempts = attempts + 1,"
                             " last_error = ?, next_attempt_at = ?, processed_at = ?,"
                             " claimed_by = NULL, claimed_until = NULL"
                             " WHERE id = ? AND claimed_by = ? AND state = 'pending'",
                             (state.value, error, to_micros(retry_at or at),
                              None if retry_at is not None else to_micros(at),
                              item_id, worker)).rowcount == 1
        return await self._db.write(work)

    async def inbox_release(self, item_id: str, worker: str) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            return c.execute("UPDATE inbox SET claimed_by = NULL, claimed_until = NULL"
                             " WHERE id = ? AND claimed_by = ? AND state = 'pending'",
                             (item_id, worker)).rowcount == 1
        return await self._db.write(work)

    async def get_inbox(self, item_id: str) -> InboxItem:
        return await self._db.read(lambda c: _item(c, item_id))

    async def prune_inbox(self, older_than: datetime) -> int:
        def work(c: sqlite3.Connection) -> int:
            return c.execute("DELETE FROM inbox WHERE state <> 'pending' AND received_at < ?",
                             (to_micros(older_than),)).rowcount
        return await self._db.write(work)


def _item(c: sqlite3.Connection, item_id: str) -> InboxItem:
    row = c.execute("SELECT * FROM inbox WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        raise NotFound(f"no inbox item {item_id}")
    return InboxItem(
        id=row["id"], channel=row["channel"], key=row["key"], event=rows.loads(row["event"]),
        state=InboxState(row["state"]), attempts=row["attempts"],
        received_at=from_micros(row["received_at"]),
        next_attempt_at=from_micros(row["next_attempt_at"]), last_error=row["last_error"],
        claimed_by=row["claimed_by"], claimed_until=rows.time_or_none(row["claimed_until"]))
