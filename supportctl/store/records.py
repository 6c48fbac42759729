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


class EventKind(StrEnum):
    """What a conversation's audit log records, and what the live feed carries."""

    OPENED = "opened"
    MESSAGE = "message"  # a message stored, either direction
    STATUS = "status"  # the status changed (closed, reopened, requeued at handover, ...)
    ASSIGNED = "assigned"  # given to a team and agent, or queued for a team
    ROUTED = "routed"  # the routing decision behind an assignment
    MENU = "menu"  # the entry menu handed the conversation to a person
    NOT_SENT = "not_sent"  # an automatic message that could not go (closed window)
    NOTIFY = "notify"  # an alert for notify targets
    ESCALATED = "escalated"
    CSAT = "csat"  # the customer's rating
    NOTE = "note"  # an agent's internal note
    TRANSFER = "transfer"
    WINDOW_CLOSED = "window_closed"  # the provider refused a message: its window is closed
    DELIVERY = "delivery"  # an outbound message was sent, delivered, read or failed
    CONTACT_MERGED = "contact_merged"
    PARKED = "parked"  # work on the conversation failed too often and waits for a person


class Queue(StrEnum):
    """The queues of the one work queue: rows claimed with leases, retried, parked."""

    RECEIPTS = "receipts"  # webhook deliveries stored before processing
    OUTBOX = "outbox"  # outbound messages to send
    NOTIFICATIONS = "notifications"  # alerts for notify targets
    TIMERS = "timers"  # escalation, auto-close and CSAT timers


class JobState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    PARKED = "parked"  # failed too often (or can never succeed): kept, visible, not retried


class TokenKind(StrEnum):
    """Who an access token speaks for."""

    AGENT = "agent"  # an agent of the API; subject is the agent id of the stack
    CONTACT = "contact"  # a web-chat customer; subject is the external user id on its channel


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
    # bumped by every change: a change computed from an older version is refused (Conflict)
    version: int = 0
    queued_at: datetime | None = None  # when it last joined its team's queue: its place there


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
class Job:
    """One row of the work queue. `key` is its idempotency key within the queue; `kind` what it
    is for there: the channel (receipts, outbox), the notify target (notifications), the timer
    kind (timers)."""

    id: str
    queue: Queue
    key: str
    kind: str
    conversation_id: str | None
    payload: JSON
    state: JobState
    attempts: int
    due_at: datetime  # when it may be claimed (next attempt)
    created_at: datetime
    last_error: str | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Instance:
    """A running `serve` process: its claims die with it. `started` tells a process from a later
    one that got the same pid (the kernel's start time of the process, where known)."""

    id: str
    host: str
    pid: int
    started: str
    started_at: datetime
    heartbeat_at: datetime


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    conversation_id: str | None
    kind: EventKind
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
    pending: dict[Queue, int] = field(default_factory=dict)  # jobs not done, per queue
    parked: dict[Queue, int] = field(default_factory=dict)  # jobs given up on, per queue
