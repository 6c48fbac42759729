"""The SQLite store: the embedded default, one file, one writer at a time."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from supportctl.store import _sqlite_rows as rows
from supportctl.store._sqlite_db import Database, current_version
from supportctl.store._sqlite_inbox import SQLiteInbox
from supportctl.store._sqlite_notifications import SQLiteNotifications
from supportctl.store._sqlite_queue import SQLiteQueues
from supportctl.store.ids import new_id, to_micros
from supportctl.store.interface import StoreError
from supportctl.store.records import (
    JSON,
    STATUS_RANK,
    AccessToken,
    AssignmentRecord,
    Contact,
    Conversation,
    ConversationStatus,
    CsatAnswer,
    Direction,
    Event,
    Identity,
    Message,
    MessageStatus,
    QueueDepths,
    TokenKind,
)


class SQLiteStore(SQLiteQueues, SQLiteInbox, SQLiteNotifications):
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
            outbox = c.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()
            timers = c.execute("SELECT COUNT(*) FROM timers").fetchone()
            inbox = c.execute("SELECT COUNT(*) FROM inbox WHERE state = 'pending'").fetchone()
            notifications = c.execute(
                "SELECT COUNT(*) FROM notifications WHERE state = 'pending'").fetchone()
            return QueueDepths(teams, outbox[0], timers[0], inbox[0], notifications[0])
        return await self._db.read(work)

    # inbound dedupe -----------------------------------------------------------------------
    async def record_inbound(self, channel: str, external_id: str, at: datetime) -> bool:
        return await self._db.write(lambda c: _remember_inbound(c, channel, external_id, at))

    async def seen_inbound(self, channel: str, external_id: str) -> bool:
        def work(c: sqlite3.Connection) -> bool:
            return c.execute("SELECT 1 FROM inbound_dedupe WHERE channel = ? AND external_id = ?",
                             (channel, external_id)).fetchone() is not None
        return await self._db.read(work)

    async def prune_dedupe(self, older_than: datetime) -> int:
        def work(c: sqlite3.Connection) -> int:
            return c.execute("DELETE FROM inbound_dedupe WHERE received_at < ?",
                             (to_micros(older_than),)).rowcount
        return await self._db.write(work)

    # contacts -----------------------------------------------------------------------------
    async def resolve_contact(self, channel: str, external_user_id: str, at: datetime, *,
                              name: str | None = None, language: str | None = None,
                              phone: str | None = None, email: str | None = None) -> Contact:
        email = email.strip().lower() if email else None

        def work(c: sqlite3.Connection) -> Contact:
            known = c.execute("SELECT contact_id FROM identities WHERE channel = ? AND"
                              " external_user_id = ?", (channel, external_user_id)).fetchone()
            if known is not None:
                contact_id = known["contact_id"]
                # a verification learnt later is kept, never cleared by a report without it
                c.execute("UPDATE identities SET phone = COALESCE(?, phone),"
                          " email = COALESCE(?, email) WHERE channel = ? AND external_user_id = ?",
                          (phone, email, channel, external_user_id))
                return rows.fetch_contact(c, contact_id)
            match = c.execute(
                "SELECT contact_id FROM identities WHERE (phone = ? AND ? IS NOT NULL)"
                " OR (email = ? AND ? IS NOT NULL) ORDER BY created_at, contact_id LIMIT 1",
                (phone, phone, email, email)).fetchone()
            if match is not None:
                contact_id = match["contact_id"]
            else:
                contact_id = new_id()
                c.execute("INSERT INTO contacts (id, name, language, attributes, created_at)"
                          " VALUES (?, ?, ?, '{}', ?)", (contact_id, name, language, to_micros(at)))
            c.execute("INSERT INTO identities (channel, external_user_id, contact_id, phone,"
                      " email, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                      (channel, external_user_id, contact_id, phone, email, to_micros(at)))
            return rows.fetch_contact(c, contact_id)
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
            moved = [r["id"] for r in c.execute("SELECT id FROM conversations WHERE"
                                                " contact_id = ? ORDER BY id", (drop_id,))]
            c.execute("UPDATE identities SET contact_id = ? WHERE contact_id = ?",
                      (keep_id, drop_id))
            c.execute("UPDATE conversations SET contact_id = ? WHERE contact_id = ?",
                      (keep_id, drop_id))
            c.execute("UPDATE contacts SET name = COALESCE(name, ?),"
                      " language = COALESCE(language, ?), attributes = ? WHERE id = ?",
                      (drop.name, drop.language,
                       rows.dumps({**drop.attributes, **keep.attributes}), keep_id))
            c.execute("DELETE FROM contacts WHERE id = ?", (drop_id,))
            for conversation_id in moved:
                rows.add_event(c, conversation_id, "contact_merged",
                               {"from": drop_id, "into": keep_id}, at)
            return rows.fetch_contact(c, keep_id)
        return await self._db.write(work)

    # conversations ------------------------------------------------------------------------
    async def open_conversation(self, contact_id: str, channel: str, at: datetime,
                                status: ConversationStatus = ConversationStatus.WAITING
                                ) -> Conversation:
        def work(c: sqlite3.Connection) -> Conversation:
            rows.fetch_contact(c, contact_id)
            conversation_id = new_id()
            c.execute("INSERT INTO conversations (id, contact_id, channel, status, opened_at,"
                      " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                      (conversation_id, contact_id, channel, status.value, to_micros(at),
                       to_micros(at)))
            rows.add_event(c, conversation_id, "opened",
                           {"channel": channel, "status": status.value}, at)
            return rows.fetch_conversation(c, conversation_id)
        return await self._db.write(work)

    async def get_conversation(self, conversation_id: str) -> Conversation:
        return await self._db.read(lambda c: rows.fetch_conversation(c, conversation_id))

    async def latest_conversation(self, contact_id: str) -> Conversation | None:
        def work(c: sqlite3.Connection) -> Conversation | None:
            row = c.execute("SELECT id FROM conversations WHERE contact_id = ?"
                            " ORDER BY opened_at DESC, id DESC LIMIT 1", (contact_id,)).fetchone()
            return None if row is None else rows.fetch_conversation(c, row["id"])
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
        sql = ("SELECT id FROM conversations" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY opened_at, id LIMIT ?")

        def work(c: sqlite3.Connection) -> list[Conversation]:
            found = c.execute(sql, (*params, limit)).fetchall()
            return [rows.fetch_conversation(c, row["id"]) for row in found]
        return await self._db.read(work)

    async def set_context(self, conversation_id: str, context: JSON,
                          at: datetime) -> Conversation:
        encoded = rows.dumps(context)

        def work(c: sqlite3.Connection) -> Conversation:
            rows.fetch_conversation(c, conversation_id)
            c.execute("UPDATE conversations SET context = ?, updated_at = MAX(updated_at, ?)"
                      " WHERE id = ?", (encoded, to_micros(at), conversation_id))
            return rows.fetch_conversation(c, conversation_id)
        return await self._db.write(work)

    async def set_status(self, conversation_id: str, status: ConversationStatus, at: datetime,
                         *, reason: str, data: JSON | None = None) -> Conversation:
        def work(c: sqlite3.Connection) -> Conversation:
            before = rows.fetch_conversation(c, conversation_id)
            if status is ConversationStatus.OPEN and before.agent is None:
                raise StoreError(f"conversation {conversation_id} has no agent: assign it")
            closed_at = (to_micros(at) if status is ConversationStatus.CLOSED else None)
            # queued means waiting for an agent: it no longer counts as anyone's
            agent = None if status is ConversationStatus.QUEUED else before.agent
            c.execute("UPDATE conversations SET status = ?, closed_at = ?, agent = ?,"
                      " updated_at = ? WHERE id = ?",
                      (status.value, closed_at, agent, to_micros(at), conversation_id))
            change: JSON = {"from": before.status.value, "to": status.value, "reason": reason}
            if agent != before.agent:
                change["from_agent"] = before.agent
            rows.add_event(c, conversation_id, "status", {**(data or {}), **change}, at)
            return rows.fetch_conversation(c, conversation_id)
        return await self._db.write(work)

    async def assign(self, conversation_id: str, at: datetime, *, team: str | None,
                     agent: str | None, rule: str | None, reason: str,
                     round_robin: bool = False) -> Conversation:
        if round_robin and (team is None or agent is None):
            raise StoreError("a round-robin assignment needs both a team and an agent")

        def work(c: sqlite3.Connection) -> Conversation:
            before = rows.fetch_conversation(c, conversation_id)
            if before.status is ConversationStatus.CLOSED:
                raise StoreError(f"conversation {conversation_id} is closed: reopen it first")
            status = ConversationStatus.OPEN if agent else ConversationStatus.QUEUED
            c.execute("UPDATE conversations SET team = ?, agent = ?, rule = ?, status = ?,"
                      " updated_at = ? WHERE id = ?",
                      (team, agent, rule, status.value, to_micros(at), conversation_id))
            c.execute("INSERT INTO assignments (id, conversation_id, team, agent, rule, reason, at)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?)",
                      (new_id(), conversation_id, team, agent, rule, reason, to_micros(at)))
            if round_robin:
                c.execute("INSERT INTO round_robin (team, agent, updated_at) VALUES (?, ?, ?)"
                          " ON CONFLICT (team) DO UPDATE SET agent = excluded.agent,"
                          " updated_at = excluded.updated_at", (team, agent, to_micros(at)))
            rows.add_event(c, conversation_id, "assigned",
                   {"team": team, "agent": agent, "rule": rule, "reason": reason,
                    "from_team": before.team, "from_agent": before.agent,
                    "status": status.value}, at)
            return rows.fetch_conversation(c, conversation_id)
        return await self._db.write(work)

    # messages -----------------------------------------------------------------------------
    async def add_message(self, conversation_id: str, direction: Direction, channel: str,
                          payload: JSON, at: datetime, *, external_id: str | None = None,
                          author: str | None = None, outbox: bool = False,
                          hold: tuple[str, datetime] | None = None) -> Message:
        if outbox and direction is not Direction.OUT:
            raise StoreError("only outbound messages go through the outbox")
        if hold is not None and not outbox:
            raise StoreError("only an outbox item can be held")
        return await self._db.write(lambda c: _insert_message(
            c, conversation_id, direction, channel, payload, at, external_id, author, outbox,
            hold))

    async def add_inbound(self, conversation_id: str, channel: str, external_id: str,
                          payload: JSON, at: datetime) -> Message | None:
        def work(c: sqlite3.Connection) -> Message | None:
            if not _remember_inbound(c, channel, external_id, at):
                return None
            return _insert_message(c, conversation_id, Direction.IN, channel, payload, at,
                                   external_id, None, False)
        return await self._db.write(work)

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
                rows.add_event(c, before.conversation_id, "delivery",
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
            found = c.execute("SELECT agent, COUNT(*) AS n FROM conversations WHERE"
                              " agent IS NOT NULL AND status IN ('open', 'waiting')"
                              " GROUP BY agent")
            return {row["agent"]: row["n"] for row in found}
        return await self._db.read(work)

    async def round_robin_positions(self) -> dict[str, str]:
        def work(c: sqlite3.Connection) -> dict[str, str]:
            return {row["team"]: row["agent"]
                    for row in c.execute("SELECT team, agent FROM round_robin")}
        return await self._db.read(work)

    async def record_csat(self, conversation_id: str, score: int, at: datetime,
                          comment: str | None = None) -> CsatAnswer:
        def work(c: sqlite3.Connection) -> CsatAnswer:
            rows.fetch_conversation(c, conversation_id)
            c.execute("INSERT INTO csat_answers (conversation_id, score, comment, at)"
                      " VALUES (?, ?, ?, ?) ON CONFLICT (conversation_id) DO UPDATE SET"
                      " score = excluded.score, comment = excluded.comment, at = excluded.at",
                      (conversation_id, score, comment, to_micros(at)))
            rows.add_event(c, conversation_id, "csat", {"score": score, "comment": comment}, at)
            return CsatAnswer(conversation_id, score, comment, at)
        return await self._db.write(work)

    async def get_csat(self, conversation_id: str) -> CsatAnswer | None:
        def work(c: sqlite3.Connection) -> CsatAnswer | None:
            row = c.execute("SELECT * FROM csat_answers WHERE conversation_id = ?",
                            (conversation_id,)).fetchone()
            return None if row is None else rows.csat(row)
        return await self._db.read(work)

    async def append_event(self, conversation_id: str | None, kind: str, data: JSON,
                           at: datetime) -> Event:
        return await self._db.write(lambda c: rows.add_event(c, conversation_id, kind, data, at))

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
        now = to_micros(at)

        def work(c: sqlite3.Connection) -> AccessToken | None:
            token = _token_row(c, token_hash)
            if token is None:
                return None
            if (token.kind is not wanted or token.revoked_at is not None
                    or (channel is not None and token.channel != channel)):
                return None
            if idle_ttl is not None:
                last = token.last_used_at or token.created_at
                if now - to_micros(last) > idle_ttl // timedelta(microseconds=1):
                    return None
            c.execute("UPDATE access_tokens SET last_used_at = ? WHERE token_hash = ?",
                      (now, token_hash))
            return _token_row(c, token_hash)
        return await self._db.write(work)

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


def _token_row(c: sqlite3.Connection, token_hash: str) -> AccessToken | None:
    row = c.execute("SELECT * FROM access_tokens WHERE token_hash = ?", (token_hash,)).fetchone()
    return None if row is None else rows.access_token(row)


def _remember_inbound(c: sqlite3.Connection, channel: str, external_id: str,
                      at: datetime) -> bool:
    cursor = c.execute("INSERT INTO inbound_dedupe (channel, external_id, received_at)"
                       " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                       (channel, external_id, to_micros(at)))
    return cursor.rowcount == 1


def _insert_message(c: sqlite3.Connection, conversation_id: str, direction: Direction,
                    channel: str, payload: JSON, at: datetime, external_id: str | None,
                    author: str | None, outbox: bool,
                    hold: tuple[str, datetime] | None = None) -> Message:
    inbound = direction is Direction.IN
    status = (MessageStatus.RECEIVED if inbound else
              MessageStatus.QUEUED if outbox else MessageStatus.SENT)
    rows.fetch_conversation(c, conversation_id)
    message_id = new_id()
    c.execute("INSERT INTO messages (id, conversation_id, direction, channel, external_id,"
              " payload, status, author, created_at, sent_at)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              (message_id, conversation_id, direction.value, channel, external_id,
               rows.dumps(payload), status.value, author, to_micros(at),
               to_micros(at) if status is MessageStatus.SENT else None))
    if inbound:
        c.execute("INSERT INTO conversation_windows (conversation_id, channel, last_customer_at)"
                  " VALUES (?, ?, ?) ON CONFLICT (conversation_id, channel) DO UPDATE SET"
                  " last_customer_at = MAX(last_customer_at, excluded.last_customer_at)",
                  (conversation_id, channel, to_micros(at)))
    if outbox:
        worker, until = hold or (None, None)
        c.execute("INSERT INTO outbox (id, message_id, state, next_attempt_at, claimed_by,"
                  " claimed_until) VALUES (?, ?, 'pending', ?, ?, ?)",
                  (new_id(), message_id, to_micros(at), worker,
                   to_micros(until) if until is not None else None))
    c.execute("UPDATE conversations SET updated_at = MAX(updated_at, ?) WHERE id = ?",
              (to_micros(at), conversation_id))
    rows.add_event(c, conversation_id, "message",
                   {"message_id": message_id, "direction": direction.value, "channel": channel,
                    "author": author}, at)
    return rows.fetch_message(c, message_id)
