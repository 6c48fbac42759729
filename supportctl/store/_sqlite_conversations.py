"""Conversations of the SQLite store: snapshots read at one moment, and `apply`, the one way a
conversation changes.

`apply` runs inside a write transaction (`BEGIN IMMEDIATE`: SQLite's one writer holds the lock,
which is the row lock PostgreSQL takes with `SELECT ... FOR UPDATE`), so the version check, the
capacity and round-robin preconditions and every write see one state and happen together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from supportctl.store import _sqlite_jobs as jobs
from supportctl.store import _sqlite_rows as rows
from supportctl.store._sqlite_db import Database
from supportctl.store.ids import new_id, to_micros
from supportctl.store.interface import ClaimLost, Conflict, NotFound
from supportctl.store.records import (
    JSON,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Event,
    EventKind,
    Message,
    MessageStatus,
    Queue,
)
from supportctl.store.transition import (
    Applied,
    Assign,
    Lease,
    NewEvent,
    NewMessage,
    Snapshot,
    Transition,
)

HELD = "status IN ('open', 'waiting')"  # the statuses in which a conversation is its agent's
HELD_STATUSES = (ConversationStatus.OPEN, ConversationStatus.WAITING)
# the customer's texts a snapshot carries for routing rules (the latest, in order)
TEXTS_READ = 50


def fetch_conversations(c: sqlite3.Connection, where: str, params: Sequence[object],
                        tail: str = "") -> list[Conversation]:
    """Conversations matching `where`, with their windows, in two queries."""
    found = c.execute(f"SELECT * FROM conversations WHERE {where} {tail}", params).fetchall()
    if not found:
        return []
    windows: dict[str, list[sqlite3.Row]] = {}
    ids = [row["id"] for row in found]
    for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
        part = ids[start:start + 500]
        marks = ", ".join("?" for _ in part)
        for window in c.execute(f"SELECT * FROM conversation_windows WHERE conversation_id IN"
                                f" ({marks}) ORDER BY channel", part):
            windows.setdefault(window["conversation_id"], []).append(window)
    return [rows.conversation(row, windows.get(row["id"], [])) for row in found]


def load(c: sqlite3.Connection) -> tuple[dict[str, int], dict[str, str]]:
    """The agents' open conversations and the teams' round-robin positions."""
    counts = {row[0]: row[1] for row in c.execute(
        "SELECT agent, held FROM agent_load WHERE held > 0")}
    positions = {row[0]: row[1] for row in c.execute("SELECT team, agent FROM round_robin")}
    return counts, positions


def _texts(c: sqlite3.Connection, conversation_id: str) -> tuple[str, ...]:
    found = c.execute("SELECT payload FROM messages WHERE conversation_id = ? AND direction ="
                      " 'in' ORDER BY created_at DESC, id DESC LIMIT ?",
                      (conversation_id, TEXTS_READ)).fetchall()
    texts = (rows.loads(row[0]).get("text") for row in reversed(found))
    return tuple(text for text in texts if isinstance(text, str))


def snapshot_of(c: sqlite3.Connection, conversation: Conversation | None, contact: Contact,
                with_load: bool = True) -> Snapshot:
    counts, positions = load(c) if with_load else (None, None)
    texts = _texts(c, conversation.id) if conversation is not None else ()
    return Snapshot(conversation, contact, counts, positions, texts)


def latest_on(c: sqlite3.Connection, contact_id: str, channel: str) -> Conversation | None:
    found = fetch_conversations(c, "contact_id = ? AND channel = ?", (contact_id, channel),
                                "ORDER BY opened_at DESC, id DESC LIMIT 1")
    return found[0] if found else None


def new_message(conversation_id: str, entry: NewMessage, at: datetime) -> Message:
    status = MessageStatus.RECEIVED if entry.direction is Direction.IN else MessageStatus.QUEUED
    return Message(new_id(), conversation_id, entry.direction, entry.channel, entry.external_id,
                   entry.payload, status, at, entry.author)


def insert_messages(c: sqlite3.Connection, messages: Sequence[Message], at: datetime,
                    hold: Lease | None) -> None:
    """Store messages inside the caller's transaction; outbound ones join the outbox."""
    c.executemany("INSERT INTO messages (id, conversation_id, direction, channel, external_id,"
                  " payload, status, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  [(m.id, m.conversation_id, m.direction.value, m.channel, m.external_id,
                    rows.dumps(m.payload), m.status.value, m.author, to_micros(at))
                   for m in messages])
    for message in messages:
        if message.direction is Direction.OUT:
            jobs.insert_job(c, Queue.OUTBOX, message.id, message.channel, {}, at,
                            conversation_id=message.conversation_id, lease=hold)


def holds(status: ConversationStatus, agent: str | None) -> str | None:
    """The agent a conversation in this state counts against (max_open), if any."""
    return agent if agent is not None and status in HELD_STATUSES else None


def count_load(c: sqlite3.Connection, before: str | None, after: str | None) -> None:
    """Move a conversation's weight in `agent_load` from the agent it counted against to the
    one it counts against now, inside the transaction that changes it."""
    if before == after:
        return
    if before is not None:
        c.execute("UPDATE agent_load SET held = held - 1 WHERE agent = ?", (before,))
    if after is not None:
        c.execute("INSERT INTO agent_load (agent, held) VALUES (?, 1) ON CONFLICT (agent)"
                  " DO UPDATE SET held = held + 1", (after,))


def _check(c: sqlite3.Connection, conversation_id: str, entry: Assign) -> None:
    """The preconditions the assignment decision rested on, as the database has them now."""
    if entry.agent is not None and entry.max_open is not None:
        (held,) = c.execute(f"SELECT COUNT(*) FROM conversations WHERE agent = ? AND {HELD}"
                            " AND id <> ?", (entry.agent, conversation_id)).fetchone()
        if held >= entry.max_open:
            raise Conflict(f"agent {entry.agent} is at max_open ({held} of {entry.max_open})")
        if entry.open_seen is not None and held > entry.open_seen:
            raise Conflict(f"agent {entry.agent} took more conversations meanwhile")
    if entry.round_robin:
        row = c.execute("SELECT agent FROM round_robin WHERE team = ?", (entry.team,)).fetchone()
        if (row[0] if row is not None else None) != entry.last_seen:
            raise Conflict(f"team {entry.team} assigned by round robin meanwhile")


def _assign(c: sqlite3.Connection, conversation_id: str, entry: Assign, at: datetime) -> None:
    """Record an assignment (its event is logged by the caller), its preconditions checked."""
    _check(c, conversation_id, entry)
    c.execute("INSERT INTO assignments (id, conversation_id, team, agent, rule, reason, at)"
              " VALUES (?, ?, ?, ?, ?, ?, ?)", (new_id(), conversation_id, entry.team,
                                                entry.agent, entry.rule, entry.reason,
                                                to_micros(at)))
    if entry.round_robin and entry.agent is not None:
        c.execute("INSERT INTO round_robin (team, agent, updated_at) VALUES (?, ?, ?)"
                  " ON CONFLICT (team) DO UPDATE SET agent = excluded.agent,"
                  " updated_at = excluded.updated_at", (entry.team, entry.agent, to_micros(at)))


def _write_row(c: sqlite3.Connection, t: Transition) -> str:
    """Insert or update the conversation row, checking the version, and keep `agent_load`;
    its id."""
    after = t.after
    values = (after.status.value, after.team, after.agent, after.rule,
              rows.time_or_none_micros(after.closed_at), to_micros(after.updated_at),
              rows.dumps(after.context), rows.time_or_none_micros(after.queued_at))
    now_holds = holds(after.status, after.agent)
    try:
        if t.new:
            conversation_id = after.id or new_id()
            c.execute("INSERT INTO conversations (status, team, agent, rule, closed_at,"
                      " updated_at, context, queued_at, id, contact_id, channel, opened_at,"
                      " version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                      (*values, conversation_id, after.contact_id, after.channel,
                       to_micros(after.opened_at)))
            count_load(c, None, now_holds)
            return conversation_id
        old = c.execute("SELECT status, agent, version FROM conversations WHERE id = ?",
                        (after.id,)).fetchone()
        if old is None:
            raise NotFound(f"no conversation {after.id}")
        if old["version"] != t.version:
            raise Conflict(f"conversation {after.id} changed since version {t.version}")
        c.execute("UPDATE conversations SET status = ?, team = ?, agent = ?, rule = ?,"
                  " closed_at = ?, updated_at = ?, context = ?, queued_at = ?,"
                  " version = version + 1 WHERE id = ?", (*values, after.id))
    except sqlite3.IntegrityError as exc:  # the unique index: one open conversation
        raise Conflict(f"contact {after.contact_id} already has an open conversation on "
                       f"channel {after.channel}") from exc
    count_load(c, holds(ConversationStatus(old["status"]), old["agent"]), now_holds)
    return after.id


def apply_transition(c: sqlite3.Connection, t: Transition, finish: tuple[str, str] | None,
                     hold: Lease | None) -> Applied:
    """`Store.apply` inside the caller's write transaction."""
    at = t.at
    conversation_id = _write_row(c, t)
    # first: the transition's own cancellations must not take its job away
    if finish is not None and not jobs.finish_job(c, finish[0], finish[1], at):
        raise ClaimLost(f"job {finish[0]} is no longer held by {finish[1]}")
    for channel, last in t.after.last_customer_message.items():
        c.execute("INSERT INTO conversation_windows (conversation_id, channel, last_customer_at)"
                  " VALUES (?, ?, ?) ON CONFLICT (conversation_id, channel) DO UPDATE SET"
                  " last_customer_at = MAX(last_customer_at, excluded.last_customer_at)",
                  (conversation_id, channel, to_micros(last)))
    events: list[Event] = []
    messages: list[Message] = []
    for entry in t.log:
        if isinstance(entry, NewEvent):
            events.append(Event(new_id(), conversation_id, entry.kind, entry.data, at))
        elif isinstance(entry, NewMessage):
            message = new_message(conversation_id, entry, at)
            messages.append(message)
            events.append(Event(new_id(), conversation_id, EventKind.MESSAGE, {
                "message_id": message.id, "direction": entry.direction.value,
                "channel": entry.channel, "author": entry.author}, at))
        else:
            _assign(c, conversation_id, entry, at)
            events.append(Event(new_id(), conversation_id, EventKind.ASSIGNED, entry.data, at))
    if messages:
        insert_messages(c, messages, at, hold)
    rows.add_events(c, events)
    if t.cancel_timers:
        jobs.cancel_timers(c, conversation_id, sorted(t.cancel_timers))
    for timer in t.timers:
        jobs.arm_timer(c, conversation_id, timer.kind, timer.slot, timer.due_at, timer.payload,
                       at)
    for notification in t.notifications:
        jobs.insert_job(c, Queue.NOTIFICATIONS, new_id(), notification.target,
                        notification.payload, at, conversation_id=conversation_id)
    if t.csat is not None:
        c.execute("INSERT INTO csat_answers (conversation_id, score, comment, at)"
                  " VALUES (?, ?, ?, ?) ON CONFLICT (conversation_id) DO UPDATE SET"
                  " score = excluded.score, comment = excluded.comment, at = excluded.at",
                  (conversation_id, t.csat.score, t.csat.comment, to_micros(at)))
    stored = replace(t.after, id=conversation_id, version=t.version + 1)
    return Applied(stored, tuple(events), tuple(messages), len(t.notifications))


def mark_sent(c: sqlite3.Connection, job_id: str, holder: str, at: datetime,
              external_id: str | None) -> Message | None:
    job = jobs.fetch_job(c, job_id)
    if not jobs.finish_job(c, job_id, holder, at):
        return None
    c.execute("UPDATE messages SET status = CASE WHEN status = 'queued' THEN 'sent'"
              " ELSE status END, sent_at = COALESCE(sent_at, ?),"
              " external_id = COALESCE(?, external_id) WHERE id = ?",
              (to_micros(at), external_id, job.key))
    rows.add_event(c, job.conversation_id, EventKind.DELIVERY,
                   {"message_id": job.key, "status": "sent", "attempts": job.attempts + 1,
                    "external_id": external_id}, at)
    return rows.fetch_message(c, job.key)


def mark_failed(c: sqlite3.Connection, job_id: str, holder: str, at: datetime, error: str,
                retry_at: datetime | None) -> bool:
    job = jobs.fetch_job(c, job_id)
    if retry_at is not None:
        return jobs.retry_job(c, job_id, holder, error, retry_at)
    if not jobs.park_job(c, job_id, holder, at, error):
        return False
    c.execute("UPDATE messages SET status = 'failed', failed_at = ?, error = ? WHERE id = ?",
              (to_micros(at), error, job.key))
    rows.add_event(c, job.conversation_id, EventKind.DELIVERY,
                   {"message_id": job.key, "status": "failed", "attempts": job.attempts + 1,
                    "error": error}, at)
    return True


class SQLiteConversations:
    """The conversation half of `SQLiteStore`."""

    _db: Database

    async def snapshot(self, conversation_id: str, *, load: bool = True) -> Snapshot:
        def work(c: sqlite3.Connection) -> Snapshot:
            conversation = rows.fetch_conversation(c, conversation_id)
            return snapshot_of(c, conversation, rows.fetch_contact(c, conversation.contact_id),
                               load)
        return await self._db.read(work)

    async def apply(self, transition: Transition, *, finish: tuple[str, str] | None = None,
                    hold: Lease | None = None) -> Applied:
        return await self._db.write(lambda c: apply_transition(c, transition, finish, hold))

    async def queue_snapshot(self) -> tuple[list[tuple[Conversation, str | None]],
                                            dict[str, int], dict[str, str]]:
        def work(c: sqlite3.Connection) -> tuple[list[tuple[Conversation, str | None]],
                                                 dict[str, int], dict[str, str]]:
            queued = fetch_conversations(c, "status = 'queued' AND team IS NOT NULL", (),
                                         "ORDER BY queued_at, id")
            languages: dict[str, str | None] = {}
            for conversation in queued:
                if conversation.contact_id not in languages:
                    row = c.execute("SELECT language FROM contacts WHERE id = ?",
                                    (conversation.contact_id,)).fetchone()
                    languages[conversation.contact_id] = row[0] if row is not None else None
            counts, positions = load(c)
            return ([(q, languages[q.contact_id]) for q in queued], counts, positions)
        return await self._db.read(work)

    async def outbox_sent(self, job_id: str, holder: str, at: datetime,
                          external_id: str | None) -> Message | None:
        return await self._db.write(lambda c: mark_sent(c, job_id, holder, at, external_id))

    async def outbox_failed(self, job_id: str, holder: str, at: datetime, error: str,
                            retry_at: datetime | None) -> bool:
        return await self._db.write(lambda c: mark_failed(c, job_id, holder, at, error,
                                                          retry_at))

    async def outbound(self, message_id: str) -> tuple[Message, Conversation, Contact]:
        def work(c: sqlite3.Connection) -> tuple[Message, Conversation, Contact]:
            message = rows.fetch_message(c, message_id)
            conversation = rows.fetch_conversation(c, message.conversation_id)
            return message, conversation, rows.fetch_contact(c, conversation.contact_id)
        return await self._db.read(work)


def status_change(before: Conversation, status: ConversationStatus, reason: str,
                  data: JSON | None = None) -> JSON:
    """The data of a `status` event (shared by merge, which closes without a transition)."""
    return {**(data or {}), "from": before.status.value, "to": status.value, "reason": reason}
