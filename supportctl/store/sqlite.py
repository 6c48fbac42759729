"""The SQLite store: the embedded default, one file, one writer at a time."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from supportctl.store import _sqlite_rows as rows
from supportctl.store._sqlite_conversations import (
    SQLiteConversations,
    count_load,
    fetch_conversations,
    holds,
    latest_on,
    load,
    snapshot_of,
    status_change,
)
from supportctl.store._sqlite_db import Database, current_version
from supportctl.store._sqlite_jobs import SQLiteJobs
from supportctl.store.ids import new_id, to_micros
from supportctl.store.interface import StoreError
from supportctl.store.records import (
    STATUS_RANK,
    AccessToken,
    AssignmentRecord,
    Contact,
    Conversation,
    ConversationStatus,
    CsatAnswer,
    Event,
    EventKind,
    Identity,
    JobState,
    Message,
    MessageStatus,
    Queue,
    QueueDepths,
    TokenKind,
)
from supportctl.store.transition import Snapshot


class SQLiteStore(SQLiteConversations, SQLiteJobs):
    """`Store` on one SQLite file; several stores (processes) may share the file."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout: float = 5.0) -> SQLiteStore:
        """Open (creating if needed) and migrate the database at `path`."""
        db = Database(Path(path), busy_timeout)
        await db.connect()
        return cls(db)

    @property
    def migrated_from(self) -> int:
        """The schema version the file had when this store opened it (0: new)."""
        return self._db.migrated_from

    async def close(self) -> None:
        await self._db.close()

    async def schema_version(self) -> int:
        return await self._db.read(current_version)

    async def ping(self) -> None:
        await self._db.read(lambda c: c.execute("SELECT 1").fetchone())

    async def queue_depths(self) -> QueueDepths:
        def work(c: sqlite3.Connection) -> QueueDepths:
            teams = {row["team"] or "": row["n"] for row in c.execute(
                "SELECT team, COUNT(*) AS n FROM conversations WHERE status = 'queued'"
                " GROUP BY team")}
            pending = {queue: 0 for queue in Queue}
            parked = {queue: 0 for queue in Queue}
            for row in c.execute("SELECT queue, state, COUNT(*) AS n FROM jobs WHERE state <>"
                                 " 'done' GROUP BY queue, state"):
                counts = pending if row["state"] == JobState.PENDING.value else parked
                counts[Queue(row["queue"])] = row["n"]
            return QueueDepths(teams, pending, parked)
        return await self._db.read(work)

    # contacts -----------------------------------------------------------------------------
    async def resolve_contact(self, channel: str, external_user_id: str, at: datetime, *,
                              name: str | None = None, language: str | None = None,
                              phone: str | None = None, email: str | None = None) -> Contact:
        return await self._db.write(lambda c: _resolve(c, channel, external_user_id, at, name,
                                                       language, phone, email))

    async def inbound_snapshot(self, channel: str, external_user_id: str, at: datetime, *,
                               name: str | None = None, language: str | None = None,
                               phone: str | None = None, email: str | None = None,
                               load: bool = True) -> Snapshot:
        def work(c: sqlite3.Connection) -> Snapshot:
            contact = _resolve(c, channel, external_user_id, at, name, language, phone, email)
            return snapshot_of(c, latest_on(c, contact.id, channel), contact, load)
        return await self._db.write(work)

    async def find_identity(self, channel: str, external_user_id: str) -> Identity | None:
        def work(c: sqlite3.Connection) -> Identity | None:
            row = c.execute("SELECT * FROM identities WHERE channel = ? AND external_user_id = ?",
                            (channel, external_user_id)).fetchone()
            return None if row is None else rows.identity(row)
        return await self._db.read(work)

    async def get_contact(self, contact_id: str) -> Contact:
        return await self._db.read(lambda c: rows.fetch_contact(c, contact_id))

    async def update_contact(self, contact_id: str, *, name: str | None = None,
                             language: str | None = None,
                             attributes: Mapping[str, object] | None = None) -> Contact:
        def work(c: sqlite3.Connection) -> Contact:
            current = rows.fetch_contact(c, contact_id)
            merged = {**current.attributes, **(attributes or {})}
            c.execute("UPDATE contacts SET name = COALESCE(?, name),"
                      " language = COALESCE(?, language), attributes = ? WHERE id = ?",
                      (name, language, rows.dumps(merged), contact_id))
            return rows.fetch_contact(c, contact_id)
        return await self._db.write(work)

    async def merge_contacts(self, keep_id: str, drop_id: str, at: datetime) -> Contact:
        if keep_id == drop_id:
            raise StoreError(f"cannot merge contact {keep_id} into itself")

        def work(c: sqlite3.Connection) -> Contact:
            keep, drop = rows.fetch_contact(c, keep_id), rows.fetch_contact(c, drop_id)
            moved = fetch_conversations(c, "contact_id = ?", (drop_id,), "ORDER BY id")
            kept_open = {row[0] for row in c.execute(
                "SELECT channel FROM conversations WHERE contact_id = ? AND status <> 'closed'",
                (keep_id,))}
            for conversation in moved:
                # one open conversation per contact and channel: the kept contact's stays open
                if (conversation.status is not ConversationStatus.CLOSED
                        and conversation.channel in kept_open):
                    c.execute("UPDATE conversations SET status = 'closed', closed_at = ?,"
                              " updated_at = ?, version = version + 1 WHERE id = ?",
                              (to_micros(at), to_micros(at), conversation.id))
                    count_load(c, holds(conversation.status, conversation.agent), None)
                    rows.add_event(c, conversation.id, EventKind.STATUS, status_change(
                        conversation, ConversationStatus.CLOSED, "merged",
                        {"into": keep_id}), at)
            c.execute("UPDATE identities SET contact_id = ? WHERE contact_id = ?",
                      (keep_id, drop_id))
            c.execute("UPDATE conversations SET contact_id = ? WHERE contact_id = ?",
                      (keep_id, drop_id))
            c.execute("UPDATE contacts SET name = COALESCE(name, ?),"
                      " language = COALESCE(language, ?), attributes = ? WHERE id = ?",
                      (drop.name, drop.language,
                       rows.dumps({**drop.attributes, **keep.attributes}), keep_id))
            c.execute("DELETE FROM contacts WHERE id = ?", (drop_id,))
            for conversation in moved:
                rows.add_event(c, conversation.id, EventKind.CONTACT_MERGED,
                               {"from": drop_id, "into": keep_id}, at)
            return rows.fetch_contact(c, keep_id)
        return await self._db.write(work)

    # conversations ------------------------------------------------------------------------
    async def get_conversation(self, conversation_id: str) -> Conversation:
        return await self._db.read(lambda c: rows.fetch_conversation(c, conversation_id))

    async def latest_conversation(self, contact_id: str) -> Conversation | None:
        def work(c: sqlite3.Connection) -> Conversation | None:
            found = fetch_conversations(c, "contact_id = ?", (contact_id,),
                                        "ORDER BY opened_at DESC, id DESC LIMIT 1")
            return found[0] if found else None
        return await self._db.read(work)

    async def list_conversations(self, *, status: ConversationStatus | None = None,
                                 team: str | None = None, agent: str | None = None,
                                 limit: int = 100, teams: Sequence[str] | None = None,
                                 contact_id: str | None = None, channel: str | None = None,
                                 statuses: Sequence[ConversationStatus] | None = None
                                 ) -> list[Conversation]:
        where: list[str] = []
        params: list[object] = []
        for column, value in (("status", status), ("team", team), ("agent", agent),
                              ("contact_id", contact_id), ("channel", channel)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value.value if isinstance(value, ConversationStatus) else value)
        for column, values in (("team", teams), ("status", statuses)):
            if values is not None:
                if not values:
                    return []  # IN () matches nothing, and is not valid SQL everywhere
                where.append(f"{column} IN ({', '.join('?' for _ in values)})")
                params.extend(str(v) for v in values)
        condition = " AND ".join(where) if where else "1 = 1"
        return await self._db.read(lambda c: fetch_conversations(
            c, condition, (*params, limit), "ORDER BY opened_at, id LIMIT ?"))

    # messages -----------------------------------------------------------------------------
    async def get_message(self, message_id: str) -> Message:
        return await self._db.read(lambda c: rows.fetch_message(c, message_id))

    async def list_messages(self, conversation_id: str) -> list[Message]:
        def work(c: sqlite3.Connection) -> list[Message]:
            found = c.execute("SELECT * FROM messages WHERE conversation_id = ?"
                              " ORDER BY created_at, id", (conversation_id,)).fetchall()
            return [rows.message(row) for row in found]
        return await self._db.read(work)

    async def messages_of_identity(self, channel: str, external_user_id: str,
                                   after: str | None = None, limit: int = 500
                                   ) -> list[Message]:
        def work(c: sqlite3.Connection) -> list[Message]:
            found = c.execute(
                "SELECT m.* FROM identities i JOIN conversations v ON v.contact_id = i.contact_id"
                " JOIN messages m ON m.conversation_id = v.id"
                " WHERE i.channel = ? AND i.external_user_id = ? AND m.channel = ?"
                " AND (? IS NULL OR m.id > ?) ORDER BY m.id LIMIT ?",
                (channel, external_user_id, channel, after, after, limit)).fetchall()
            return [rows.message(row) for row in found]
        return await self._db.read(work)

    async def update_message_status(self, channel: str, external_id: str,
                                    status: MessageStatus, at: datetime,
                                    error: str | None = None) -> Message | None:
        column = {MessageStatus.SENT: "sent_at", MessageStatus.DELIVERED: "delivered_at",
                  MessageStatus.READ: "read_at", MessageStatus.FAILED: "failed_at"}.get(status)
        if column is None:
            raise StoreError(f"{status.value!r} is not a delivery status")

        def work(c: sqlite3.Connection) -> Message | None:
            row = c.execute("SELECT * FROM messages WHERE channel = ? AND external_id = ?"
                            " ORDER BY created_at DESC, id DESC LIMIT 1",
                            (channel, external_id)).fetchone()
            if row is None:
                return None
            before = rows.message(row)
            later = STATUS_RANK[status] > STATUS_RANK[before.status]
            # each status keeps its own time whatever order reports arrive in
            c.execute(f"UPDATE messages SET {column} = COALESCE({column}, ?), status = ?,"
                      " error = COALESCE(?, error) WHERE id = ?",
                      (to_micros(at), (status if later else before.status).value, error,
                       before.id))
            if later:
                rows.add_event(c, before.conversation_id, EventKind.DELIVERY,
                       {"message_id": before.id, "status": status.value, "error": error}, at)
            return rows.fetch_message(c, before.id)
        return await self._db.write(work)

    # assignments, routing state, csat, events ---------------------------------------------
    async def assignment_history(self, conversation_id: str) -> list[AssignmentRecord]:
        def work(c: sqlite3.Connection) -> list[AssignmentRecord]:
            found = c.execute("SELECT * FROM assignments WHERE conversation_id = ?"
                              " ORDER BY at, id", (conversation_id,)).fetchall()
            return [rows.assignment(row) for row in found]
        return await self._db.read(work)

    async def open_counts(self) -> dict[str, int]:
        def work(c: sqlite3.Connection) -> dict[str, int]:
            return load(c)[0]
        return await self._db.read(work)

    async def round_robin_positions(self) -> dict[str, str]:
        def work(c: sqlite3.Connection) -> dict[str, str]:
            return {row["team"]: row["agent"]
                    for row in c.execute("SELECT team, agent FROM round_robin")}
        return await self._db.read(work)

    async def get_csat(self, conversation_id: str) -> CsatAnswer | None:
        def work(c: sqlite3.Connection) -> CsatAnswer | None:
            row = c.execute("SELECT * FROM csat_answers WHERE conversation_id = ?",
                            (conversation_id,)).fetchone()
            return None if row is None else rows.csat(row)
        return await self._db.read(work)

    async def list_events(self, conversation_id: str) -> list[Event]:
        def work(c: sqlite3.Connection) -> list[Event]:
            found = c.execute("SELECT * FROM events WHERE conversation_id = ? ORDER BY id",
                              (conversation_id,)).fetchall()
            return [rows.event(row) for row in found]
        return await self._db.read(work)


    # access tokens ------------------------------------------------------------------------
    async def add_token(self, kind: str, subject: str, token_hash: str, at: datetime, *,
                        channel: str | None = None, label: str | None = None) -> AccessToken:
        wanted = _token_kind(kind)
        created = to_micros(at)

        def work(c: sqlite3.Connection) -> AccessToken:
            if _token_row(c, token_hash) is not None:
                raise StoreError("a token with this hash is already stored")
            c.execute("INSERT INTO access_tokens (token_hash, kind, subject, channel, label,"
                      " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                      (token_hash, wanted.value, subject, channel, label, created))
            added = _token_row(c, token_hash)
            assert added is not None
            return added
        return await self._db.write(work)

    async def use_token(self, kind: str, token_hash: str, at: datetime, *,
                        channel: str | None = None,
                        idle_ttl: timedelta | None = None) -> AccessToken | None:
        wanted = _token_kind(kind)

        def work(c: sqlite3.Connection) -> AccessToken | None:
            if _usable_token(c, wanted, token_hash, at, channel, idle_ttl) is None:
                return None
            c.execute("UPDATE access_tokens SET last_used_at = ? WHERE token_hash = ?",
                      (to_micros(at), token_hash))
            return _token_row(c, token_hash)
        return await self._db.write(work)

    async def token_valid(self, kind: str, token_hash: str, at: datetime, *,
                          channel: str | None = None,
                          idle_ttl: timedelta | None = None) -> bool:
        wanted = _token_kind(kind)
        return await self._db.read(lambda c: _usable_token(
            c, wanted, token_hash, at, channel, idle_ttl) is not None)

    async def revoke_tokens(self, kind: str, subject: str, at: datetime) -> int:
        wanted = _token_kind(kind)

        def work(c: sqlite3.Connection) -> int:
            return c.execute("UPDATE access_tokens SET revoked_at = ? WHERE kind = ? AND"
                             " subject = ? AND revoked_at IS NULL",
                             (to_micros(at), wanted.value, subject)).rowcount
        return await self._db.write(work)

    async def list_tokens(self, kind: str, subject: str | None = None) -> list[AccessToken]:
        wanted = _token_kind(kind)

        def work(c: sqlite3.Connection) -> list[AccessToken]:
            found = c.execute("SELECT * FROM access_tokens WHERE kind = ? AND"
                              " (? IS NULL OR subject = ?) ORDER BY created_at, token_hash",
                              (wanted.value, subject, subject)).fetchall()
            return [rows.access_token(row) for row in found]
        return await self._db.read(work)


def _token_kind(kind: str) -> TokenKind:
    try:
        return TokenKind(kind)
    except ValueError:
        raise StoreError(f"unknown token kind {kind!r}: 'agent' or 'contact'") from None


def _usable_token(c: sqlite3.Connection, wanted: TokenKind, token_hash: str, at: datetime,
                  channel: str | None, idle_ttl: timedelta | None) -> AccessToken | None:
    """The token, when `use_token` may accept it at `at`."""
    token = _token_row(c, token_hash)
    if (token is None or token.kind is not wanted or token.revoked_at is not None
            or (channel is not None and token.channel != channel)):
        return None
    if idle_ttl is not None and at - (token.last_used_at or token.created_at) > idle_ttl:
        return None
    return token


def _token_row(c: sqlite3.Connection, token_hash: str) -> AccessToken | None:
    row = c.execute("SELECT * FROM access_tokens WHERE token_hash = ?", (token_hash,)).fetchone()
    return None if row is None else rows.access_token(row)


def _resolve(c: sqlite3.Connection, channel: str, external_user_id: str, at: datetime,
             name: str | None, language: str | None, phone: str | None,
             email: str | None) -> Contact:
    """`resolve_contact` inside the caller's write transaction."""
    email = email.strip().lower() if email else None
    known = c.execute("SELECT contact_id FROM identities WHERE channel = ? AND"
                      " external_user_id = ?", (channel, external_user_id)).fetchone()
    if known is not None:
        contact_id = known["contact_id"]
        if phone is not None or email is not None:
            # a verification learnt later is kept, never cleared by a report without it
            c.execute("UPDATE identities SET phone = COALESCE(?, phone),"
                      " email = COALESCE(?, email) WHERE channel = ? AND external_user_id = ?",
                      (phone, email, channel, external_user_id))
        return rows.fetch_contact(c, contact_id)
    match = None
    if phone is not None or email is not None:
        match = c.execute(
            "SELECT contact_id FROM identities WHERE (phone = ? AND ? IS NOT NULL)"
            " OR (email = ? AND ? IS NOT NULL) ORDER BY created_at, contact_id LIMIT 1",
            (phone, phone, email, email)).fetchone()
    contact_id = match["contact_id"] if match is not None else new_id()
    if match is None:
        c.execute("INSERT INTO contacts (id, name, language, attributes, created_at)"
                  " VALUES (?, ?, ?, '{}', ?)", (contact_id, name, language, to_micros(at)))
    c.execute("INSERT INTO identities (channel, external_user_id, contact_id, phone,"
              " email, created_at) VALUES (?, ?, ?, ?, ?, ?)",
              (channel, external_user_id, contact_id, phone, email, to_micros(at)))
    if match is not None:
        return rows.fetch_contact(c, contact_id)
    # a new contact is what was just written: no need to read it back (the busiest path)
    return Contact(contact_id, name, language, {}, at,
                   (Identity(channel, external_user_id, contact_id, phone, email, at),))
