"""The rows of the store as plain dataclasses: what every backend reads and writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

JSON = dict[str, Any]


class ConversationStatus(StrEnum):
    OPEN = "open"  # assigned to an agent
    QUEUED = "queued"  # routed to a team, waiting for an agent
    WAITING = "waiting"  # in the entry menu or waiting for the customer
    CLOSED = "closed"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class MessageStatus(StrEnum):
    """Delivery of a message; `received` for inbound, the rest for outbound."""

    RECEIVED = "received"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


# a status report never moves a message backwards (providers deliver reports out of order)
STATUS_RANK = {MessageStatus.RECEIVED: 0, MessageStatus.QUEUED: 0, MessageStatus.SENT: 1,
               MessageStatus.DELIVERED: 2, MessageStatus.READ: 3, MessageStatus.FAILED: 4}


class TimerKind(StrEnum):
    ESCALATION = "escalation"
    AUTO_CLOSE = "auto_close"
    CSAT_TIMEOUT = "csat_timeout"


class TokenKind(StrEnum):
    """Who an access token speaks for."""

    AGENT = "agent"  # an agent of the API; subject is the agent id of the stack
    CONTACT = "contact"  # a web-chat customer; subject is the external user id on its channel


class OutboxState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # failed for good: no more attempts


@dataclass(frozen=True, slots=True)
class Identity:
    """How one channel knows a contact."""

    channel: str
    external_user_id: str
    contact_id: str
    phone: str | None = None  # verified phone (E.164) for cross-channel matching
    email: str | None = None  # verified email, lower-cased
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    id: str
    name: str | None
    language: str | None
    attributes: JSON
    created_at: datetime
    identities: tuple[Identity, ...] = ()


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    contact_id: str
    channel: str  # the channel it was opened on
    status: ConversationStatus
    team: str | None
    agent: str | None
    rule: str | None
    opened_at: datetime
    closed_at: datetime | None
    updated_at: datetime
    # the last inbound message per channel: the start of each channel's messaging window
    last_customer_message: dict[str, datetime] = field(default_factory=dict)
    # runtime bookkeeping (menu position, whether CSAT was asked): replaced whole, no event
    context: JSON = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    conversation_id: str
    direction: Direction
    channel: str
    external_id: str | None
    payload: JSON  # {"text": ...} or {"template": ...} or {"menu": ...}, as the runtime builds it
    status: MessageStatus
    created_at: datetime
    author: str | None = None  # the agent for replies, None for the customer or the system
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    failed_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    id: str
    conversation_id: str
    team: str | None
    agent: str | None
    rule: str | None
    reason: str  # "routed", "transfer", "escalation", "handover", "reopen", ...
    at: datetime


@dataclass(frozen=True, slots=True)
class Timer:
    id: str
    conversation_id: str
    kind: TimerKind
    due_at: datetime
    payload: JSON
    claimed_by: str | None = None
    claimed_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: str
    message_id: str
    conversation_id: str
    channel: str
    state: OutboxState
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None


class InboxState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"  # processing failed for good: no more attempts


@dataclass(frozen=True, slots=True)
class InboxItem:
    """An inbound event stored before processing; `key` deduplicates it within its channel."""

    id: str
    channel: str
    key: str
    event: JSON
    state: InboxState
    attempts: int
    received_at: datetime
    next_attempt_at: datetime
    last_error: str | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None


class NotificationState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # failed for good: no more attempts


@dataclass(frozen=True, slots=True)
class NotificationItem:
    """A notification queued for one notify target; `id` is the receivers' idempotency key."""

    id: str
    target: str
    kind: str
    payload: JSON
    state: NotificationState
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_error: str | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    conversation_id: str | None
    kind: str
    data: JSON
    at: datetime


@dataclass(frozen=True, slots=True)
class CsatAnswer:
    conversation_id: str
    score: int
    comment: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A bearer token, known to the store only by its hash (see supportctl.store.tokens)."""

    token_hash: str  # sha256 hex of the token
    kind: TokenKind
    subject: str  # the agent id, or the contact's external user id on `channel`
    channel: str | None
    label: str | None
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class QueueDepths:
    """Work waiting in the store, for metrics."""

    queued_conversations: dict[str, int]  # per team; conversations without a team under ""
    outbox_pending: int
    timers_pending: int
    inbox_pending: int = 0  # inbound events stored, not yet processed
    notifications_pending: int = 0
