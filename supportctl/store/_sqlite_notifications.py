"""Notifications of the SQLite store: alerts queued for notify targets, delivered by a worker.

Queued in the same transaction as the `notify` event the desk records, claimed with a lease
like the outbox, retried until delivered or failed for good.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from supportctl.store import _sqlite_rows as rows
from supportctl.store._sqlite_db import Database
from supportctl.store.ids import from_micros, new_id, to_micros
from supportctl.store.interface import NotFound
from supportctl.store.records import JSON, NotificationItem, NotificationState


class SQLiteNotifications:
    """The notification half of `SQLiteStore`."""

    _db: Database

    async def add_notifications(self, conversation_id: str | None, targets: Sequence[str],
                                kind: str, payload: JSON, at: datetime, *,
                                event: JSON | None = None) -> list[NotificationItem]:
        encoded = rows.dumps(payload)

        def work(c: sqlite3.Connection) -> list[NotificationItem]:
            if event is not None:
                rows.add_event(c, conversation_id, "notify", event, at)
            ids = [new_id() for _ in targets]
            c.executemany("INSERT INTO notifications (id, target, kind, payload, state,"
                          " next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                          [(i, target, kind, encoded, to_micros(at), to_micros(at))
                           for i, target in zip(ids, targets, strict=True)])
            return [_notification(c, i) for i in ids]
        return await self._db.write(work)

    async def claim_notifications(self, worker: str, now: datetime, until: datetime,
                                  limit: int) -> list[NotificationItem]:
        def work(c: sqlite3.Connection) -> list[NotificationItem]:
            ids = rows.claim_due(c, "notifications", worker, now, until, limit)
            return [_notification(c, i) for i in ids]
        return await self._db.write(work)

    async def notification_sent(self, item_id: str, worker: str, at: datetime) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            return c.execute("UPDATE notifications SET state = 'sent', attempts = attempts + 1,"
                             " sent_at = ?, last_error = NULL, claimed_by = NULL,"
                             " claimed_until = NULL WHERE id = ? AND claimed_by = ? AND"
                             " state = 'pending'", (to_micros(at), item_id, worker)).rowcount == 1
        return await self._db.write(work)

    async def notification_failed(self, item_id: str, worker: str, at: datetime, error: str,
                                  retry_at: datetime | None) -> bool:
        state = NotificationState.PENDING if retry_at is not None else NotificationState.FAILED

        def work(c: sqlite3.Connection) -> bool:
            return c.execute("UPDATE notifications SET state = ?, attempts = attempts + 1,"
                             " last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at),"
                             " claimed_by = NULL, claimed_until = NULL WHERE id = ? AND"
                             " claimed_by = ? AND state = 'pending'",
                             (state.value, error,
                              to_micros(retry_at) if retry_at is not None else None,
                              item_id, worker)).rowcount == 1
        return await self._db.write(work)

    async def get_notification(self, item_id: str) -> NotificationItem:
        return await self._db.read(lambda c: _notification(c, item_id))

    async def list_notifications(self, *, target: str | None = None,
                                 state: NotificationState | None = None,
                                 limit: int = 100) -> list[NotificationItem]:
        wanted = state.value if state is not None else None

        def work(c: sqlite3.Connection) -> list[NotificationItem]:
            found = c.execute("SELECT * FROM notifications WHERE (? IS NULL OR target = ?) AND"
                              " (? IS NULL OR state = ?) ORDER BY created_at, id LIMIT ?",
                              (target, target, wanted, wanted, limit)).fetchall()
            return [_row(row) for row in found]
        return await self._db.read(work)


def _row(row: sqlite3.Row) -> NotificationItem:
    return NotificationItem(
        row["id"], row["target"], row["kind"], rows.loads(row["payload"]),
        NotificationState(row["state"]), row["attempts"], from_micros(row["next_attempt_at"]),
        from_micros(row["created_at"]), row["last_error"], row["claimed_by"],
        rows.time_or_none(row["claimed_until"]), rows.time_or_none(row["sent_at"]))


def _notification(c: sqlite3.Connection, item_id: str) -> NotificationItem:
    row = c.execute("SELECT * FROM notifications WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        raise NotFound(f"no notification {item_id}")
    return _row(row)
