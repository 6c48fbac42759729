"""Versioned schema migrations, applied in order on open; never edit one that has shipped.

Each migration is portable SQL (no rowid, no AUTOINCREMENT, BIGINT epoch microseconds for times,
TEXT ids) so the PostgreSQL backend can start from the same statements.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


_INITIAL = (
    """CREATE TABLE contacts (
        id TEXT PRIMARY KEY,
        name TEXT,
        language TEXT,
        attributes TEXT NOT NULL DEFAULT '{}',
        created_at BIGINT NOT NULL)""",
    """CREATE TABLE identities (
        channel TEXT NOT NULL,
        external_user_id TEXT NOT NULL,
        contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        phone TEXT,
        email TEXT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (channel, external_user_id))""",
    "CREATE INDEX identities_contact ON identities (contact_id)",
    "CREATE INDEX identities_phone ON identities (phone) WHERE phone IS NOT NULL",
    "CREATE INDEX identities_email ON identities (email) WHERE email IS NOT NULL",
    """CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        contact_id TEXT NOT NULL REFERENCES contacts(id),
        channel TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'queued', 'waiting', 'closed')),
        team TEXT,
        agent TEXT,
        rule TEXT,
        opened_at BIGINT NOT NULL,
        closed_at BIGINT,
        updated_at BIGINT NOT NULL)""",
    "CREATE INDEX conversations_contact ON conversations (contact_id, opened_at)",
    "CREATE INDEX conversations_status ON conversations (status, opened_at)",
    "CREATE INDEX conversations_agent ON conversations (agent, status)",
    """CREATE TABLE conversation_windows (
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        channel TEXT NOT NULL,
        last_customer_at BIGINT NOT NULL,
        PRIMARY KEY (conversation_id, channel))""",
    """CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        channel TEXT NOT NULL,
        external_id TEXT,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        author TEXT,
        created_at BIGINT NOT NULL,
        sent_at BIGINT,
        delivered_at BIGINT,
        read_at BIGINT,
        failed_at BIGINT,
        error TEXT)""",
    "CREATE INDEX messages_conversation ON messages (conversation_id, created_at, id)",
    "CREATE INDEX messages_external ON messages (channel, external_id)"
    " WHERE external_id IS NOT NULL",
    """CREATE TABLE assignments (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        team TEXT,
        agent TEXT,
        rule TEXT,
        reason TEXT NOT NULL,
        at BIGINT NOT NULL)""",
    "CREATE INDEX assignments_conversation ON assignments (conversation_id, at, id)",
    """CREATE TABLE timers (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('escalation', 'auto_close', 'csat_timeout')),
        due_at BIGINT NOT NULL,
        payload TEXT NOT NULL DEFAULT '{}',
        claimed_by TEXT,
        claimed_until BIGINT)""",
    "CREATE INDEX timers_due ON timers (due_at)",
    "CREATE INDEX timers_conversation ON timers (conversation_id)",
    """CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL UNIQUE REFERENCES messages(id) ON DELETE CASCADE,
        state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        last_error TEXT,
        claimed_by TEXT,
        claimed_until BIGINT)""",
    "CREATE INDEX outbox_due ON outbox (state, next_attempt_at)",
    """CREATE TABLE events (
        id TEXT PRIMARY KEY,
        conversation_id TEXT REFERENCES conversations(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        at BIGINT NOT NULL)""",
    "CREATE INDEX events_conversation ON events (conversation_id, id)",
    """CREATE TABLE round_robin (
        team TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        updated_at BIGINT NOT NULL)""",
    """CREATE TABLE csat_answers (
        conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
        score INTEGER NOT NULL,
        comment TEXT,
        at BIGINT NOT NULL)""",
    """CREATE TABLE inbound_dedupe (
        channel TEXT NOT NULL,
        external_id TEXT NOT NULL,
        received_at BIGINT NOT NULL,
        PRIMARY KEY (channel, external_id))""",
    "CREATE INDEX inbound_dedupe_received ON inbound_dedupe (received_at)",
)

_CONTEXT_AND_TOKENS = (
    # runtime bookkeeping of a conversation (menu position, CSAT asked), a JSON object
    "ALTER TABLE conversations ADD COLUMN context TEXT NOT NULL DEFAULT '{}'",
    # bearer tokens of API agents and web-chat customers, stored only as sha256 hex
    """CREATE TABLE access_tokens (
        token_hash TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('agent', 'contact')),
        subject TEXT NOT NULL,
        channel TEXT,
        label TEXT,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT,
        revoked_at BIGINT)""",
    "CREATE INDEX access_tokens_subject ON access_tokens (kind, subject)",
)

_INBOX = (
    # webhook deliveries stored before processing: (channel, key) deduplicates redeliveries
    """CREATE TABLE inbox (
        id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        key TEXT NOT NULL,
        event TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        received_at BIGINT NOT NULL,
        next_attempt_at BIGINT NOT NULL,
        processed_at BIGINT,
        last_error TEXT,
        claimed_by TEXT,
        claimed_until BIGINT,
        UNIQUE (channel, key))""",
    "CREATE INDEX inbox_due ON inbox (state, next_attempt_at)",
    "CREATE INDEX inbox_received ON inbox (received_at)",
)

_NOTIFICATIONS = (
    # alerts and lifecycle events queued for notify targets (Slack, webhooks), one row per
    # target; the row id is the idempotency key receivers see on every retry
    """CREATE TABLE notifications (
        id TEXT PRIMARY KEY,
        target TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        claimed_by TEXT,
        claimed_until BIGINT,
        last_error TEXT,
        created_at BIGINT NOT NULL,
        sent_at BIGINT)""",
    "CREATE INDEX notifications_due ON notifications (state, next_attempt_at)",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _INITIAL),
    Migration(2, "conversation context, access tokens", _CONTEXT_AND_TOKENS),
    Migration(3, "inbox of webhook deliveries", _INBOX),
    Migration(4, "notifications", _NOTIFICATIONS),
)
"""Every migration, by ascending version."""
