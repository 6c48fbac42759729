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

_WORK_QUEUE = (
    # the one work queue: webhook receipts, the outbox, notifications and timers as rows claimed
    # with leases; `key` is the idempotency key within a queue (a receipt's is its channel and
    # the provider's id, so done receipts are the inbound dedupe keys until pruned)
    """CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        queue TEXT NOT NULL CHECK (queue IN ('receipts', 'outbox', 'notifications', 'timers')),
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        conversation_id TEXT,
        payload TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'parked')),
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        finished_at BIGINT,
        last_error TEXT,
        claimed_by TEXT,
        claimed_until BIGINT,
        instance TEXT,
        UNIQUE (queue, key))""",
    "CREATE INDEX jobs_due ON jobs (queue, due_at) WHERE state = 'pending'",
    "CREATE INDEX jobs_conversation ON jobs (conversation_id, queue)"
    " WHERE conversation_id IS NOT NULL",
    "CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state = 'done'",
    "CREATE INDEX jobs_instance ON jobs (instance) WHERE instance IS NOT NULL",
    "CREATE INDEX jobs_claimed ON jobs (claimed_by) WHERE claimed_by IS NOT NULL",
    # running processes: claims of one found dead are released at once
    """CREATE TABLE instances (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        heartbeat_at BIGINT NOT NULL)""",
    # what the four queues held moves over; claims are dropped (their processes are gone)
    """INSERT INTO jobs (id, queue, key, kind, payload, state, attempts, due_at, created_at,
        finished_at, last_error)
        SELECT id, 'receipts', channel || ':' || key, channel, event,
            CASE state WHEN 'failed' THEN 'parked' ELSE state END, attempts, next_attempt_at,
            received_at, processed_at, last_error FROM inbox""",
    """INSERT INTO jobs (id, queue, key, kind, state, due_at, created_at, finished_at)
        SELECT 'dedupe:' || channel || ':' || external_id, 'receipts',
            channel || ':' || external_id, channel, 'done', received_at, received_at,
            received_at FROM inbound_dedupe WHERE true ON CONFLICT DO NOTHING""",
    """INSERT INTO jobs (id, queue, key, kind, conversation_id, state, attempts, due_at,
        created_at, finished_at, last_error)
        SELECT o.id, 'outbox', o.message_id, m.channel, m.conversation_id,
            CASE o.state WHEN 'pending' THEN 'pending' WHEN 'sent' THEN 'done' ELSE 'parked' END,
            o.attempts, o.next_attempt_at, m.created_at,
            CASE o.state WHEN 'pending' THEN NULL ELSE COALESCE(m.sent_at, m.failed_at,
                o.next_attempt_at) END, o.last_error
        FROM outbox o JOIN messages m ON m.id = o.message_id""",
    """INSERT INTO jobs (id, queue, key, kind, payload, state, attempts, due_at, created_at,
        finished_at, last_error)
        SELECT id, 'notifications', id, target, payload,
            CASE state WHEN 'pending' THEN 'pending' WHEN 'sent' THEN 'done' ELSE 'parked' END,
            attempts, next_attempt_at, created_at,
            CASE state WHEN 'pending' THEN NULL ELSE COALESCE(sent_at, next_attempt_at) END,
            last_error FROM notifications""",
    """INSERT INTO jobs (id, queue, key, kind, conversation_id, payload, state, due_at,
        created_at)
        SELECT id, 'timers', conversation_id || ':' || kind || ':' || id, kind,
            conversation_id, payload, 'pending', due_at, due_at FROM timers""",
    "DROP TABLE inbox",
    "DROP TABLE inbound_dedupe",
    "DROP TABLE outbox",
    "DROP TABLE notifications",
    "DROP TABLE timers",
    # optimistic concurrency: every change of a conversation names the version it was made from
    "ALTER TABLE conversations ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE conversations ADD COLUMN queued_at BIGINT",
    "UPDATE conversations SET queued_at = updated_at WHERE status = 'queued'",
    # one open conversation per contact and channel: before the index, close the extra ones
    # that simultaneous first messages could open (the newest stays)
    """UPDATE conversations SET status = 'closed', closed_at = updated_at
        WHERE status <> 'closed' AND EXISTS (SELECT 1 FROM conversations newer
            WHERE newer.contact_id = conversations.contact_id
            AND newer.channel = conversations.channel AND newer.status <> 'closed'
            AND (newer.opened_at > conversations.opened_at OR (newer.opened_at =
                conversations.opened_at AND newer.id > conversations.id)))""",
    "CREATE UNIQUE INDEX conversations_one_open ON conversations (contact_id, channel)"
    " WHERE status <> 'closed'",
    # what an agent holds (max_open): counted in the transaction of every change, so routing
    # reads one row per agent, not every conversation agents hold
    """CREATE TABLE agent_load (
        agent TEXT PRIMARY KEY,
        held INTEGER NOT NULL CHECK (held >= 0))""",
    """INSERT INTO agent_load (agent, held) SELECT agent, COUNT(*) FROM conversations
        WHERE agent IS NOT NULL AND status IN ('open', 'waiting') GROUP BY agent""",
    "CREATE INDEX conversations_held ON conversations (agent)"
    " WHERE agent IS NOT NULL AND status IN ('open', 'waiting')",
    # the queues in order
    "CREATE INDEX conversations_queued ON conversations (queued_at, id) WHERE status = 'queued'",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _INITIAL),
    Migration(2, "conversation context, access tokens", _CONTEXT_AND_TOKENS),
    Migration(3, "inbox of webhook deliveries", _INBOX),
    Migration(4, "notifications", _NOTIFICATIONS),
    Migration(5, "one work queue, conversation versions", _WORK_QUEUE),
)
"""Every migration, by ascending version."""
