"""What one change of a conversation writes: the data `Store.apply` takes, and what it gives back.

The runtime computes a `Transition` from a `Snapshot` without touching storage (pure functions,
supportctl/runtime/lifecycle/); `Store.apply` writes all of it in one transaction with the
conversation row locked, or nothing: the new state, the audit log with the messages in it
(outbound ones queued in the outbox), assignments with their preconditions, timers,
notifications and a CSAT answer, and the work-queue job whose processing it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from supportctl.store.records import (
    JSON,
    Contact,
    Conversation,
    Direction,
    Event,
    EventKind,
    Message,
    TimerKind,
)


@dataclass(frozen=True, slots=True)
class Lease:
    """A claim on work-queue jobs: held by `holder` (a worker of process `instance`) until
    `until`, unless the process is found dead first."""

    holder: str
    instance: str
    until: datetime


@dataclass(frozen=True, slots=True)
class NewEvent:
    kind: EventKind
    data: JSON


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to store: an inbound one moves its channel's window, an outbound one is queued
    in the outbox. Its `message` event is logged where it stands in the transition's log."""

    direction: Direction
    channel: str
    payload: JSON
    author: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class Assign:
    """An assignment (or a queueing, with no agent) and the preconditions the decision rested on,
    checked inside the transaction: the agent is still under `max_open` and holds no more than
    `open_seen` other conversations; for round robin, the team's position is still `last_seen`.
    Logged as the `assigned` event with `data`."""

    team: str | None
    agent: str | None
    rule: str | None
    reason: str
    data: JSON
    max_open: int | None = None
    open_seen: int | None = None
    round_robin: bool = False
    last_seen: str | None = None


@dataclass(frozen=True, slots=True)
class SetTimer:
    """A timer to (re)arm; `slot` tells several timers of one kind apart (escalation steps)."""

    kind: TimerKind
    due_at: datetime
    payload: JSON = field(default_factory=dict)
    slot: int = 0


@dataclass(frozen=True, slots=True)
class NewNotification:
    target: str
    payload: JSON


@dataclass(frozen=True, slots=True)
class CsatScore:
    score: int
    comment: str | None


LogEntry = NewEvent | NewMessage | Assign


@dataclass(frozen=True, slots=True)
class Transition:
    """A conversation's change at `at`. `after` is its new state; `version` the version it was
    computed from (0: a new conversation, inserted with `after.id`)."""

    after: Conversation
    version: int
    at: datetime
    log: tuple[LogEntry, ...] = ()
    cancel_timers: frozenset[TimerKind] = frozenset()
    timers: tuple[SetTimer, ...] = ()
    notifications: tuple[NewNotification, ...] = ()
    csat: CsatScore | None = None

    @property
    def new(self) -> bool:
        return self.version == 0

    @property
    def outbound(self) -> int:
        """How many messages it queues for sending."""
        return sum(1 for e in self.log
                   if isinstance(e, NewMessage) and e.direction is Direction.OUT)


@dataclass(frozen=True, slots=True)
class Applied:
    """What `apply` wrote, as stored: the conversation at its new version, the events and the
    messages in log order."""

    conversation: Conversation
    events: tuple[Event, ...]
    messages: tuple[Message, ...]
    notifications: int = 0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a transition reads: the conversation (None when the input starts one), its contact,
    the agents' load (open conversations per agent, each team's round-robin position; None when
    read without it) and the texts the customer wrote in it (routing rules match on them)."""

    conversation: Conversation | None
    contact: Contact
    open_counts: dict[str, int] | None
    last_assigned: dict[str, str] | None
    inbound_texts: tuple[str, ...] = ()
