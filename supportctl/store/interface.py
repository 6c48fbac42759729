"""The one storage interface of the runtime; SQLite implements it now, PostgreSQL later.

Rules every backend keeps, so that the runtime never sees which one it talks to (the contract
suite, tests/store/test_contract.py, holds each backend to them):
- ids are text ULIDs made by `supportctl.store.ids.new_id`, never row ids or sequences;
- times go in and come out as timezone-aware UTC datetimes (stored as UTC epoch microseconds);
- every method is one transaction: it either happens whole or not at all;
- a conversation changes only through `apply`, which checks the version the change was computed
  from and the assignment's preconditions with the row locked (SQLite `BEGIN IMMEDIATE`,
  PostgreSQL `SELECT ... FOR UPDATE` on the conversation and the agent), and refuses a second
  open conversation of a contact on a channel by a unique index; a refusal is `Conflict`;
- claims ("up to N due jobs for this holder until T") never hand one job to two holders whose
  claims overlap: `FOR UPDATE SKIP LOCKED` in PostgreSQL, one writer at a time in SQLite; a
  claim that expires unfinished, or whose process is found dead, is claimable again.
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
    Event,
    Identity,
    Instance,
    Job,
    JobState,
    Message,
    MessageStatus,
    Queue,
    QueueDepths,
)
from supportctl.store.transition import Applied, Lease, Snapshot, Transition


class StoreError(Exception):
    """A store operation that cannot be done (unknown id, invalid transition, bad URL)."""


class NotFound(StoreError):
    """The record named does not exist."""


class Conflict(StoreError):
    """A transition computed from a state that has changed since (another version, an agent who
    got more conversations meanwhile, a round-robin position moved, a second open conversation):
    nothing was written; read the state again and compute the transition again."""


class ClaimLost(StoreError):
    """The job a change was to finish is no longer held by the caller (its lease lapsed and
    another holder took it, or a newer change rescheduled it): nothing was written."""


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
        """How much work waits: queued conversations per team, pending and parked jobs."""

    # processes ----------------------------------------------------------------------------
    async def register_instance(self, instance: Instance) -> None:
        """Record a starting process (it heartbeats while it runs)."""

    async def heartbeat(self, instance: str, at: datetime) -> bool:
        """The process is alive at `at`; False when it was retired meanwhile (found dead)."""

    async def instances(self) -> list[Instance]:
        """The processes recorded as running."""

    async def retire_instance(self, instance: str) -> int:
        """Forget a process that stopped or died and release its claims at once; how many."""

    # the work queue -----------------------------------------------------------------------
    async def enqueue(self, queue: Queue, jobs: Sequence[tuple[str, str, JSON]], at: datetime,
                      *, lease: Lease | None = None) -> list[Job | None]:
        """Add jobs (key, kind, payload), due at `at`, in one transaction: the new job for
        each, None for a key already in the queue (a redelivery). With `lease` they start
        claimed (the webhook that processes them before answering)."""

    async def claim(self, queue: Queue, lease: Lease, now: datetime, limit: int
                    ) -> list[Job]:
        """Claim up to `limit` pending jobs of `queue` due by `now` and not claimed by anyone
        until after `now`, earliest due first."""

    async def finish(self, job_id: str, holder: str, at: datetime) -> bool:
        """The job is done. False when `holder` no longer holds its claim."""

    async def retry(self, job_id: str, holder: str, at: datetime, error: str,
                    retry_at: datetime) -> bool:
        """An attempt failed: try again at `retry_at`. False when the claim was lost."""

    async def park(self, job_id: str, holder: str, at: datetime, error: str) -> bool:
        """Give up on the job: kept as parked with its error, never claimed again. False when
        the claim was lost."""

    async def release(self, job_id: str, holder: str, at: datetime) -> bool:
        """Give up a claim without an attempt: due at `at` for anyone."""

    async def get_job(self, job_id: str) -> Job:
        """One job; NotFound if there is none."""

    async def list_jobs(self, queue: Queue, *, state: JobState | None = None,
                        kind: str | None = None, conversation_id: str | None = None,
                        limit: int = 100) -> list[Job]:
        """Jobs of a queue (in a state, of a kind, of a conversation), oldest first."""

    async def claimed_jobs(self, queue: Queue, holder: str) -> list[Job]:
        """Pending jobs of `queue` claimed by `holder`, oldest first."""

    async def prune_jobs(self, older_than: datetime) -> int:
        """Forget done jobs finished before `older_than` (receipts are the inbound dedupe keys
        until then); parked jobs are kept."""

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
        attributes fill gaps only (event `contact_merged` on every conversation moved). When
        both hold an open conversation on one channel, the dropped contact's is closed."""

    # conversations ------------------------------------------------------------------------
    async def snapshot(self, conversation_id: str, *, load: bool = True) -> Snapshot:
        """What a transition of this conversation reads (without the agents' load unless
        `load`: reading it costs, and most inputs do not route); NotFound if there is none."""

    async def inbound_snapshot(self, channel: str, external_user_id: str, at: datetime, *,
                               name: str | None = None, language: str | None = None,
                               phone: str | None = None, email: str | None = None,
                               load: bool = True) -> Snapshot:
        """`resolve_contact`, then what a transition of the contact's latest conversation on
        `channel` reads (its conversation None when there is none), as `snapshot`."""

    async def apply(self, transition: Transition, *, finish: tuple[str, str] | None = None,
                    hold: Lease | None = None) -> Applied:
        """Write a transition whole, or nothing (Conflict, ClaimLost). `finish` = (job id,
        holder): that job is done in the same transaction; `hold`: the outbound messages start
        claimed by it (a webhook that may answer with the first of them)."""

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
        """Conversations matching every filter given, oldest opened first. `teams` and
        `statuses` match any of their values (an empty one matches nothing; conversations
        without a team never match `teams`); `channel` is the channel a conversation was
        opened on."""

    async def queue_snapshot(self) -> tuple[list[tuple[Conversation, str | None]],
                                            dict[str, int], dict[str, str]]:
        """The queued conversations with a team, each with its contact's language, in queue
        order, and the agents' load (open counts, round-robin positions), read at one moment."""

    # messages -----------------------------------------------------------------------------
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

    async def outbox_sent(self, job_id: str, holder: str, at: datetime,
                          external_id: str | None) -> Message | None:
        """An outbox job's send succeeded: the job is done and its message `sent`, in one
        transaction; the message, or None when the claim was lost."""

    async def outbox_failed(self, job_id: str, holder: str, at: datetime, error: str,
                            retry_at: datetime | None) -> bool:
        """A send failed: retry at `retry_at`, or with None park the job and mark its message
        failed for good. False when the claim was lost."""

    async def outbound(self, message_id: str) -> tuple[Message, Conversation, Contact]:
        """What sending a message needs: it, its conversation and the contact; NotFound."""

    # assignments, routing state, csat, events ---------------------------------------------
    async def assignment_history(self, conversation_id: str) -> list[AssignmentRecord]:
        """Every assignment of a conversation, oldest first."""

    async def open_counts(self) -> dict[str, int]:
        """Conversations an agent holds (status open or waiting) per agent."""

    async def round_robin_positions(self) -> dict[str, str]:
        """The agent each team assigned last by round robin."""

    async def get_csat(self, conversation_id: str) -> CsatAnswer | None:
        """The recorded CSAT answer, if any."""

    async def list_events(self, conversation_id: str) -> list[Event]:
        """A conversation's audit log, oldest first."""

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

    async def token_valid(self, kind: str, token_hash: str, at: datetime, *,
                          channel: str | None = None,
                          idle_ttl: timedelta | None = None) -> bool:
        """Whether `use_token` would accept the token now, without counting as a use (open
        event streams ask every second)."""

    async def revoke_tokens(self, kind: str, subject: str, at: datetime) -> int:
        """Revoke every live token of a subject; how many were revoked."""

    async def list_tokens(self, kind: str, subject: str | None = None) -> list[AccessToken]:
        """Tokens of a kind (of one subject), revoked ones too, oldest first."""
