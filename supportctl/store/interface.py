"""The one storage interface of the runtime; SQLite implements it now, PostgreSQL later.

Rules every backend keeps, so that the runtime never sees which one it talks to:
- ids are text ULIDs made by `supportctl.store.ids.new_id`, never row ids or sequences;
- times go in and come out as timezone-aware UTC datetimes (stored as UTC epoch microseconds);
- every method is one transaction: it either happens whole or not at all;
- claims ("up to N due items for this worker until T") never hand one item to two workers whose
  claims overlap: `FOR UPDATE SKIP LOCKED` in PostgreSQL, one writer at a time in SQLite; a claim
  that expires unfinished is claimable again;
- every change of a conversation's state appends an event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

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
    Identity,
    InboxItem,
    Message,
    MessageStatus,
    NotificationItem,
    NotificationState,
    OutboxItem,
    QueueDepths,
    Timer,
    TimerKind,
)


class StoreError(Exception):
    """A store operation that cannot be done (unknown id, invalid transition, bad URL)."""


class NotFound(StoreError):
    """The record named does not exist."""


class Unavailable(StoreError):
    """The database cannot do the work now (locked past the busy timeout, unreachable, disk
    full): nothing was changed; retry later, and answer a webhook with a 5xx meanwhile."""


class Store(Protocol):
    """What the runtime needs from a database."""

    async def close(self) -> None:
        """Finish pending work and release the database."""

    async def schema_version(self) -> int:
        """The migration the database is at."""

    async def ping(self) -> None:
        """Raise Unavailable unless the database answers now (for /readyz)."""

    async def queue_depths(self) -> QueueDepths:
        """How much work waits: queued conversations per team, pending sends, pending timers."""

    # inbound dedupe -----------------------------------------------------------------------
    async def record_inbound(self, channel: str, external_id: str, at: datetime) -> bool:
        """Remember an inbound event that stores no message (a status report, a button press the
        runtime handles itself); False when (channel, external_id) was seen before."""

    async def seen_inbound(self, channel: str, external_id: str) -> bool:
        """Whether (channel, external_id) was remembered: a cheap early skip of redeliveries.
        Not a guard by itself: `add_inbound` and `record_inbound` are the atomic checks."""

    async def prune_dedupe(self, older_than: datetime) -> int:
        """Forget dedupe keys received before `older_than`; how many were removed."""

    # inbox --------------------------------------------------------------------------------
    async def enqueue_inbound(self, channel: str, events: Sequence[tuple[str, JSON]],
                              at: datetime, hold: tuple[str, datetime] | None = None
                              ) -> list[InboxItem | None]:
        """Store a delivery's events, each under its dedupe `key`, in one transaction: the new
        item for each, None for a key already stored. `hold` = (worker, until): the items start
        claimed by `worker` (the webhook that processes them before answering)."""

    async def claim_inbox(self, worker: str, now: datetime, until: datetime,
                          limit: int) -> list[InboxItem]:
        """Claim up to `limit` pending items due by `now`, oldest first, as `claim_outbox`."""

    async def inbox_done(self, item_id: str, worker: str, at: datetime) -> bool:
        """The item was processed. False when the claim was lost."""

    async def inbox_failed(self, item_id: str, worker: str, at: datetime, error: str,
                           retry_at: datetime | None) -> bool:
        """Processing failed: try again at `retry_at`, or never with None."""

    async def inbox_release(self, item_id: str, worker: str) -> bool:
        """Give up a claim without an attempt (any worker may take the item now)."""

    async def get_inbox(self, item_id: str) -> InboxItem:
        """One inbox item; NotFound if there is none."""

    async def prune_inbox(self, older_than: datetime) -> int:
        """Forget processed and failed items received before `older_than`."""

    # contacts -----------------------------------------------------------------------------
    async def resolve_contact(self, channel: str, external_user_id: str, at: datetime, *,
                              name: str | None = None, language: str | None = None,
                              phone: str | None = None, email: str | None = None) -> Contact:
        """The contact behind a channel identity: known identity, else a contact with the same
        verified phone or email on another channel (the identity is added to it), else new."""

    async def find_identity(self, channel: str, external_user_id: str) -> Identity | None:
        """How `channel` knows `external_user_id`, or None; never creates anything."""

    async def get_contact(self, contact_id: str) -> Contact:
        """A contact with its identities; NotFound if there is none."""

    async def update_contact(self, contact_id: str, *, name: str | None = None,
                             language: str | None = None,
                             attributes: Mapping[str, object] | None = None) -> Contact:
        """Change the given fields (attributes are merged in)."""

    async def merge_contacts(self, keep_id: str, drop_id: str, at: datetime) -> Contact:
        """Move the identities and conversations of `drop_id` to `keep_id` and delete it; its
        attributes fill gaps only (event `contact_merged` on every conversation moved)."""

    # conversations ------------------------------------------------------------------------
    async def open_conversation(self, contact_id: str, channel: str, at: datetime,
                                status: ConversationStatus = ConversationStatus.WAITING
                                ) -> Conversation:
        """Start a conversation (event `opened`)."""

    async def get_conversation(self, conversation_id: str) -> Conversation:
        """One conversation; NotFound if there is none."""

    async def latest_conversation(self, contact_id: str) -> Conversation | None:
        """The contact's most recently opened conversation, closed or not."""

    async def list_conversations(self, *, status: ConversationStatus | None = None,
                                 team: str | None = None, agent: str | None = None,
                                 limit: int = 100, teams: Sequence[str] | None = None,
                                 contact_id: str | None = None, channel: str | None = None,
                                 statuses: Sequence[ConversationStatus] | None = None
                                 ) -> list[Conversation]:
        """Conversations matching every filter given, oldest opened first (the order queues
        drain in). `teams` and `statuses` match any of their values (an empty one matches
        nothing; conversations without a team never match `teams`); `channel` is the channel a
        conversation was opened on."""

    async def set_context(self, conversation_id: str, context: JSON,
                          at: datetime) -> Conversation:
        """Replace the conversation's runtime bookkeeping (menu position, CSAT asked) whole;
        no event (it is not a change of state), `updated_at` moves forward to `at`."""

    async def set_status(self, conversation_id: str, status: ConversationStatus, at: datetime,
                         *, reason: str, data: JSON | None = None) -> Conversation:
        """Change the status (event `status`); closing sets closed_at, reopening clears it;
        `queued` drops the agent; `open` needs an agent (use `assign`)."""

    async def assign(self, conversation_id: str, at: datetime, *, team: str | None,
                     agent: str | None, rule: str | None, reason: str,
                     round_robin: bool = False) -> Conversation:
        """Give a conversation to a team and agent (or queue it with agent None): history row,
        event `assigned`, status open or queued; `round_robin` records the team's position."""

    # messages -----------------------------------------------------------------------------
    async def add_message(self, conversation_id: str, direction: Direction, channel: str,
                          payload: JSON, at: datetime, *, external_id: str | None = None,
                          author: str | None = None, outbox: bool = False,
                          hold: tuple[str, datetime] | None = None) -> Message:
        """Store a message; an inbound one moves the channel's window start, an outbound one
        with `outbox` is queued for sending in the same transaction. `hold` = (worker, until):
        the outbox item starts claimed by `worker` (a webhook that may answer with it)."""

    async def add_inbound(self, conversation_id: str, channel: str, external_id: str,
                          payload: JSON, at: datetime) -> Message | None:
        """Remember the dedupe key and store the customer's message in one transaction, so a
        crash leaves neither and the channel's redelivery is processed; None for a duplicate."""

    async def get_message(self, message_id: str) -> Message:
        """One message; NotFound if there is none."""

    async def list_messages(self, conversation_id: str) -> list[Message]:
        """A conversation's messages in the order they were stored."""

    async def messages_of_identity(self, channel: str, external_user_id: str,
                                   after: str | None = None, limit: int = 500
                                   ) -> list[Message]:
        """The messages on `channel`, both directions, of every conversation of the contact
        behind that identity, by id (the order they were made), only those with an id after
        `after` when given (a client's cursor); empty for an unknown identity."""

    async def update_message_status(self, channel: str, external_id: str,
                                    status: MessageStatus, at: datetime,
                                    error: str | None = None) -> Message | None:
        """Apply a provider's status report; a later status is never overwritten by an earlier
        one. None when no message has that external id."""

    # assignments, routing state, csat, events ---------------------------------------------
    async def assignment_history(self, conversation_id: str) -> list[AssignmentRecord]:
        """Every assignment of a conversation, oldest first."""

    async def open_counts(self) -> dict[str, int]:
        """Conversations an agent holds (status open or waiting) per agent."""

    async def round_robin_positions(self) -> dict[str, str]:
        """The agent each team assigned last by round robin."""

    async def record_csat(self, conversation_id: str, score: int, at: datetime,
                          comment: str | None = None) -> CsatAnswer:
        """The customer's answer (event `csat`); a second answer replaces the first."""

    async def get_csat(self, conversation_id: str) -> CsatAnswer | None:
        """The recorded CSAT answer, if any."""

    async def append_event(self, conversation_id: str | None, kind: str, data: JSON,
                           at: datetime) -> Event:
        """Add to the audit log (for changes the store does not record by itself)."""

    async def list_events(self, conversation_id: str) -> list[Event]:
        """A conversation's audit log, oldest first."""

    # timers -------------------------------------------------------------------------------
    async def schedule_timer(self, conversation_id: str, kind: TimerKind, due_at: datetime,
                             payload: JSON | None = None) -> Timer:
        """A timer that fires at `due_at`, surviving restarts."""

    async def cancel_timers(self, conversation_id: str,
                            kinds: Sequence[TimerKind] | None = None) -> int:
        """Drop a conversation's pending timers (of the given kinds); how many."""

    async def claim_due_timers(self, worker: str, now: datetime, until: datetime,
                               limit: int) -> list[Timer]:
        """Claim up to `limit` timers due by `now` and not claimed by anyone until after `now`,
        for `worker` until `until`; earliest due first."""

    async def complete_timer(self, timer_id: str, worker: str) -> bool:
        """Remove a fired timer; False when `worker` no longer holds its claim."""

    # outbox -------------------------------------------------------------------------------
    async def claim_outbox(self, worker: str, now: datetime, until: datetime,
                           limit: int) -> list[OutboxItem]:
        """Claim up to `limit` pending sends whose next attempt is due, as `claim_due_timers`."""

    async def outbox_sent(self, item_id: str, worker: str, at: datetime,
                          external_id: str | None) -> bool:
        """A send succeeded: the message is `sent`. False when the claim was lost."""

    async def outbox_failed(self, item_id: str, worker: str, at: datetime, error: str,
                            retry_at: datetime | None) -> bool:
        """A send failed: try again at `retry_at`, or with None mark it and its message failed
        for good. False when the claim was lost."""

    async def claimed_outbox(self, worker: str) -> list[OutboxItem]:
        """Pending items claimed by `worker`, oldest first."""

    async def outbox_release(self, item_id: str, worker: str, at: datetime) -> bool:
        """Give up a claim without an attempt: the item is due at `at` for any worker.
        False when the claim was lost."""

    async def get_outbox(self, item_id: str) -> OutboxItem:
        """One outbox row; NotFound if there is none."""

    # notifications ------------------------------------------------------------------------
    async def add_notifications(self, conversation_id: str | None, targets: Sequence[str],
                                kind: str, payload: JSON, at: datetime, *,
                                event: JSON | None = None) -> list[NotificationItem]:
        """Queue one notification of `kind` per target, all with `payload`, due at `at`; with
        `event`, append it as the conversation's `notify` event in the same transaction."""

    async def claim_notifications(self, worker: str, now: datetime, until: datetime,
                                  limit: int) -> list[NotificationItem]:
        """Claim up to `limit` pending notifications whose next attempt is due, as
        `claim_outbox`."""

    async def notification_sent(self, item_id: str, worker: str, at: datetime) -> bool:
        """Delivered. False when the claim was lost."""

    async def notification_failed(self, item_id: str, worker: str, at: datetime, error: str,
                                  retry_at: datetime | None) -> bool:
        """A delivery failed: try again at `retry_at`, or never with None. False when the
        claim was lost."""

    async def get_notification(self, item_id: str) -> NotificationItem:
        """One notification; NotFound if there is none."""

    async def list_notifications(self, *, target: str | None = None,
                                 state: NotificationState | None = None,
                                 limit: int = 100) -> list[NotificationItem]:
        """Notifications (of a target, in a state), oldest first."""

    # access tokens ------------------------------------------------------------------------
    async def add_token(self, kind: str, subject: str, token_hash: str, at: datetime, *,
                        channel: str | None = None, label: str | None = None) -> AccessToken:
        """Remember a token by its hash (`supportctl.store.tokens.hash_token`; the store never
        sees a clear token) for an agent or a contact (`kind` 'agent' or 'contact');
        StoreError for an unknown kind or a hash already stored."""

    async def use_token(self, kind: str, token_hash: str, at: datetime, *,
                        channel: str | None = None,
                        idle_ttl: timedelta | None = None) -> AccessToken | None:
        """The token with this hash, its `last_used_at` set to `at`; None (and nothing changed)
        when it is unknown, revoked, of another kind, of another channel than `channel` (when
        given), or unused for longer than `idle_ttl` since its last use or creation."""

    async def revoke_tokens(self, kind: str, subject: str, at: datetime) -> int:
        """Revoke every live token of a subject; how many were revoked."""

    async def list_tokens(self, kind: str, subject: str | None = None) -> list[AccessToken]:
        """Tokens of a kind (of one subject), revoked ones too, oldest first."""
