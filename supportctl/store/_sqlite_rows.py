"""Rows of the SQLite tables to records, and back: the one place that knows the column encoding."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from supportctl.store.ids import from_micros, new_id, to_micros
from supportctl.store.interface import NotFound
from supportctl.store.records import (
    JSON,
    AccessToken,
    AssignmentRecord,
    Contact,
    Conversation,
    ConversationStatus,
    CsatAnswer,
    Direction,
    Event,
    EventKind,
    Identity,
    Job,
    JobState,
    Message,
    MessageStatus,
    Queue,
    TokenKind,
)

# one encoder: json.dumps with options builds a new one per call, a third of its time
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def dumps(data: JSON) -> str:
    return _ENCODER.encode(data)


def loads(text: str) -> JSON:
    value: Any = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object in the store, found {type(value).__name__}")
    return value


def time_or_none(value: int | None) -> datetime | None:
    return None if value is None else from_micros(value)


def time_or_none_micros(value: datetime | None) -> int | None:
    return None if value is None else to_micros(value)


def identity(row: sqlite3.Row) -> Identity:
    return Identity(row["channel"], row["external_user_id"], row["contact_id"], row["phone"],
                    row["email"], from_micros(row["created_at"]))


def contact(row: sqlite3.Row, identities: Sequence[sqlite3.Row]) -> Contact:
    return Contact(row["id"], row["name"], row["language"], loads(row["attributes"]),
                   from_micros(row["created_at"]), tuple(identity(i) for i in identities))


def conversation(row: sqlite3.Row, windows: Sequence[sqlite3.Row]) -> Conversation:
    return Conversation(
        id=row["id"], contact_id=row["contact_id"], channel=row["channel"],
        status=ConversationStatus(row["status"]), team=row["team"], agent=row["agent"],
        rule=row["rule"], opened_at=from_micros(row["opened_at"]),
        closed_at=time_or_none(row["closed_at"]), updated_at=from_micros(row["updated_at"]),
        last_customer_message={w["channel"]: from_micros(w["last_customer_at"]) for w in windows},
        context=loads(row["context"]), version=row["version"],
        queued_at=time_or_none(row["queued_at"]))


def message(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"], conversation_id=row["conversation_id"],
        direction=Direction(row["direction"]), channel=row["channel"],
        external_id=row["external_id"], payload=loads(row["payload"]),
        status=MessageStatus(row["status"]), created_at=from_micros(row["created_at"]),
        author=row["author"], sent_at=time_or_none(row["sent_at"]),
        delivered_at=time_or_none(row["delivered_at"]), read_at=time_or_none(row["read_at"]),
        failed_at=time_or_none(row["failed_at"]), error=row["error"])


def assignment(row: sqlite3.Row) -> AssignmentRecord:
    return AssignmentRecord(row["id"], row["conversation_id"], row["team"], row["agent"],
                            row["rule"], row["reason"], from_micros(row["at"]))


def job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"], queue=Queue(row["queue"]), key=row["key"], kind=row["kind"],
        conversation_id=row["conversation_id"], payload=loads(row["payload"]),
        state=JobState(row["state"]), attempts=row["attempts"], due_at=from_micros(row["due_at"]),
        created_at=from_micros(row["created_at"]), last_error=row["last_error"],
        claimed_by=row["claimed_by"], claimed_until=time_or_none(row["claimed_until"]),
        finished_at=time_or_none(row["finished_at"]))


def event(row: sqlite3.Row) -> Event:
    return Event(row["id"], row["conversation_id"], EventKind(row["kind"]), loads(row["data"]),
                 from_micros(row["at"]))


def csat(row: sqlite3.Row) -> CsatAnswer:
    return CsatAnswer(row["conversation_id"], row["score"], row["comment"],
                      from_micros(row["at"]))


def access_token(row: sqlite3.Row) -> AccessToken:
    return AccessToken(
        token_hash=row["token_hash"], kind=TokenKind(row["kind"]), subject=row["subject"],
        channel=row["channel"], label=row["label"], created_at=from_micros(row["created_at"]),
        last_used_at=time_or_none(row["last_used_at"]),
        revoked_at=time_or_none(row["revoked_at"]))


def fetch_contact(c: sqlite3.Connection, contact_id: str) -> Contact:
    row = c.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    if row is None:
        raise NotFound(f"no contact {contact_id}")
    found = c.execute("SELECT * FROM identities WHERE contact_id = ?"
                      " ORDER BY created_at, channel, external_user_id", (contact_id,)).fetchall()
    return contact(row, found)


def fetch_conversation(c: sqlite3.Connection, conversation_id: str) -> Conversation:
    row = c.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
    if row is None:
        raise NotFound(f"no conversation {conversation_id}")
    windows = c.execute("SELECT * FROM conversation_windows WHERE conversation_id = ?"
                        " ORDER BY channel", (conversation_id,)).fetchall()
    return conversation(row, windows)


def fetch_message(c: sqlite3.Connection, message_id: str) -> Message:
    row = c.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        raise NotFound(f"no message {message_id}")
    return message(row)


def add_events(c: sqlite3.Connection, events: Sequence[Event]) -> None:
    """Append events (made with their ids, in order) inside the caller's transaction."""
    c.executemany("INSERT INTO events (id, conversation_id, kind, data, at) VALUES"
                  " (?, ?, ?, ?, ?)", [(e.id, e.conversation_id, e.kind.value, dumps(e.data),
                                        to_micros(e.at)) for e in events])


def add_event(c: sqlite3.Connection, conversation_id: str | None, kind: EventKind, data: JSON,
              at: datetime) -> Event:
    """Append to the audit log inside the caller's transaction."""
    added = Event(new_id(), conversation_id, kind, data, at)
    c.execute("INSERT INTO events (id, conversation_id, kind, data, at) VALUES (?, ?, ?, ?, ?)",
              (added.id, conversation_id, kind.value, dumps(data), to_micros(at)))
    return added
