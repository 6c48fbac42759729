"""The work queue of the SQLite store: jobs claimed with leases, retried, parked; and the
processes whose claims they are.

SQLite has one writer at a time, so a claim (select the due jobs, mark them) cannot race another;
PostgreSQL does the same with `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from supportctl.store import _sqlite_rows as rows
from supportctl.store._sqlite_db import Database
from supportctl.store.ids import from_micros, new_id, to_micros
from supportctl.store.interface import NotFound, StoreError
from supportctl.store.records import JSON, Instance, Job, JobState, Queue, TimerKind
from supportctl.store.transition import Lease

_CLEAR_CLAIM = "claimed_by = NULL, claimed_until = NULL, instance = NULL"
_HELD = "id = ? AND claimed_by = ? AND state = 'pending'"


def insert_job(c: sqlite3.Connection, queue: Queue, key: str, kind: str, payload: JSON,
               at: datetime, *, conversation_id: str | None = None,
               lease: Lease | None = None) -> Job | None:
    """Add a job inside the caller's transaction; None when the key is already in the queue."""
    job_id = new_id()
    cursor = c.execute(
        "INSERT INTO jobs (id, queue, key, kind, conversation_id, payload, state, due_at,"
        " created_at, claimed_by, claimed_until, instance)"
        " VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?) ON CONFLICT (queue, key) DO NOTHING",
        (job_id, queue.value, key, kind, conversation_id, rows.dumps(payload), to_micros(at),
         to_micros(at), lease.holder if lease else None,
         to_micros(lease.until) if lease else None, lease.instance if lease else None))
    if cursor.rowcount != 1:
        return None
    return Job(job_id, queue, key, kind, conversation_id, payload, JobState.PENDING, 0, at, at,
               claimed_by=lease.holder if lease else None,
               claimed_until=lease.until if lease else None)


def arm_timer(c: sqlite3.Connection, conversation_id: str, kind: TimerKind, slot: int,
              due_at: datetime, payload: JSON, at: datetime) -> None:
    """(Re)arm a conversation's timer: one row per (conversation, kind, slot), so arming again
    moves it, and a claim on the old one is lost (its firing is not applied)."""
    c.execute(
        "INSERT INTO jobs (id, queue, key, kind, conversation_id, payload, state, due_at,"
        " created_at) VALUES (?, 'timers', ?, ?, ?, ?, 'pending', ?, ?)"
        " ON CONFLICT (queue, key) DO UPDATE SET payload = excluded.payload, state = 'pending',"
        " attempts = 0, due_at = excluded.due_at, created_at = excluded.created_at,"
        f" finished_at = NULL, last_error = NULL, {_CLEAR_CLAIM}",
        (new_id(), f"{conversation_id}:{kind.value}:{slot}", kind.value, conversation_id,
         rows.dumps(payload), to_micros(due_at), to_micros(at)))


def cancel_timers(c: sqlite3.Connection, conversation_id: str,
                  kinds: Sequence[TimerKind]) -> None:
    marks = ", ".join("?" for _ in kinds)
    c.execute(f"DELETE FROM jobs WHERE queue = 'timers' AND conversation_id = ? AND state ="
              f" 'pending' AND kind IN ({marks})", (conversation_id, *(k.value for k in kinds)))


def finish_job(c: sqlite3.Connection, job_id: str, holder: str, at: datetime) -> bool:
    return c.execute(f"UPDATE jobs SET state = 'done', attempts = attempts + 1, finished_at = ?,"
                     f" last_error = NULL, {_CLEAR_CLAIM} WHERE {_HELD}",
                     (to_micros(at), job_id, holder)).rowcount == 1


def retry_job(c: sqlite3.Connection, job_id: str, holder: str, error: str,
              retry_at: datetime) -> bool:
    return c.execute(f"UPDATE jobs SET attempts = attempts + 1, last_error = ?, due_at = ?,"
                     f" {_CLEAR_CLAIM} WHERE {_HELD}",
                     (error, to_micros(retry_at), job_id, holder)).rowcount == 1


def park_job(c: sqlite3.Connection, job_id: str, holder: str, at: datetime, error: str) -> bool:
    return c.execute(f"UPDATE jobs SET state = 'parked', attempts = attempts + 1, last_error = ?,"
                     f" finished_at = ?, {_CLEAR_CLAIM} WHERE {_HELD}",
                     (error, to_micros(at), job_id, holder)).rowcount == 1


def fetch_job(c: sqlite3.Connection, job_id: str) -> Job:
    row = c.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise NotFound(f"no job {job_id}")
    return rows.job(row)


def _instance(row: sqlite3.Row) -> Instance:
    return Instance(row["id"], row["host"], row["pid"], row["started"],
                    from_micros(row["started_at"]), from_micros(row["heartbeat_at"]))


class SQLiteJobs:
    """The work-queue half of `SQLiteStore`."""

    _db: Database

    # processes ----------------------------------------------------------------------------
    async def register_instance(self, instance: Instance) -> None:
        def work(c: sqlite3.Connection) -> None:
            c.execute("INSERT INTO instances (id, host, pid, started, started_at, heartbeat_at)"
                      " VALUES (?, ?, ?, ?, ?, ?)",
                      (instance.id, instance.host, instance.pid, instance.started,
                       to_micros(instance.started_at), to_micros(instance.heartbeat_at)))
        await self._db.write(work)

    async def heartbeat(self, instance: str, at: datetime) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            return c.execute("UPDATE instances SET heartbeat_at = ? WHERE id = ?",
                             (to_micros(at), instance)).rowcount == 1
        return await self._db.write(work)

    async def instances(self) -> list[Instance]:
        def work(c: sqlite3.Connection) -> list[Instance]:
            return [_instance(row) for row in
                    c.execute("SELECT * FROM instances ORDER BY started_at, id")]
        return await self._db.read(work)

    async def retire_instance(self, instance: str) -> int:
        def work(c: sqlite3.Connection) -> int:
            c.execute("DELETE FROM instances WHERE id = ?", (instance,))
            return c.execute(f"UPDATE jobs SET {_CLEAR_CLAIM} WHERE instance = ?",
                             (instance,)).rowcount
        return await self._db.write(work)

    # jobs ---------------------------------------------------------------------------------
    async def enqueue(self, queue: Queue, jobs: Sequence[tuple[str, str, JSON]], at: datetime,
                      *, lease: Lease | None = None) -> list[Job | None]:
        def work(c: sqlite3.Connection) -> list[Job | None]:
            return [insert_job(c, queue, key, kind, payload, at, lease=lease)
                    for key, kind, payload in jobs]
        return await self._db.write(work)

    async def claim(self, queue: Queue, lease: Lease, now: datetime, limit: int) -> list[Job]:
        if limit < 1:
            return []
        if lease.until <= now:
            raise StoreError("a claim must last past now")
        moment = to_micros(now)

        def work(c: sqlite3.Connection) -> list[Job]:
            found = c.execute(
                "UPDATE jobs SET claimed_by = ?, claimed_until = ?, instance = ? WHERE id IN"
                " (SELECT id FROM jobs WHERE queue = ? AND state = 'pending' AND due_at <= ? AND"
                " (claimed_until IS NULL OR claimed_until <= ?) ORDER BY due_at, id LIMIT ?)"
                " RETURNING *",
                (lease.holder, to_micros(lease.until), lease.instance, queue.value, moment,
                 moment, limit)).fetchall()
            return sorted((rows.job(row) for row in found), key=lambda j: (j.due_at, j.id))
        return await self._db.write(work)

    async def finish(self, job_id: str, holder: str, at: datetime) -> bool:
        return await self._db.write(lambda c: finish_job(c, job_id, holder, at))

    async def retry(self, job_id: str, holder: str, at: datetime, error: str,
                    retry_at: datetime) -> bool:
        return await self._db.write(lambda c: retry_job(c, job_id, holder, error, retry_at))

    async def park(self, job_id: str, holder: str, at: datetime, error: str) -> bool:
        return await self._db.write(lambda c: park_job(c, job_id, holder, at, error))

    async def release(self, job_id: str, holder: str, at: datetime) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            return c.execute(f"UPDATE jobs SET due_at = MIN(due_at, ?), {_CLEAR_CLAIM}"
                             f" WHERE {_HELD}", (to_micros(at), job_id, holder)).rowcount == 1
        return await self._db.write(work)

    async def get_job(self, job_id: str) -> Job:
        return await self._db.read(lambda c: fetch_job(c, job_id))

    async def list_jobs(self, queue: Queue, *, state: JobState | None = None,
                        kind: str | None = None, conversation_id: str | None = None,
                        limit: int = 100) -> list[Job]:
        wanted = state.value if state is not None else None

        def work(c: sqlite3.Connection) -> list[Job]:
            found = c.execute(
                "SELECT * FROM jobs WHERE queue = ? AND (? IS NULL OR state = ?) AND"
                " (? IS NULL OR kind = ?) AND (? IS NULL OR conversation_id = ?)"
                " ORDER BY created_at, id LIMIT ?",
                (queue.value, wanted, wanted, kind, kind, conversation_id, conversation_id,
                 limit)).fetchall()
            return [rows.job(row) for row in found]
        return await self._db.read(work)

    async def claimed_jobs(self, queue: Queue, holder: str) -> list[Job]:
        def work(c: sqlite3.Connection) -> list[Job]:
            found = c.execute("SELECT * FROM jobs WHERE queue = ? AND claimed_by = ? AND"
                              " state = 'pending' ORDER BY created_at, id",
                              (queue.value, holder)).fetchall()
            return [rows.job(row) for row in found]
        return await self._db.read(work)

    async def prune_jobs(self, older_than: datetime) -> int:
        def work(c: sqlite3.Connection) -> int:
            return c.execute("DELETE FROM jobs WHERE state = 'done' AND finished_at < ?",
                             (to_micros(older_than),)).rowcount
        return await self._db.write(work)
