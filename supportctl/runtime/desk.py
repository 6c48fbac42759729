"""The desk runs the conversation state machine: read, decide, apply, publish.

For every input (a customer's message, an agent's action, a timer, a shift boundary) the desk
reads a snapshot from the store, calls the input's pure transition function
(supportctl/runtime/lifecycle/), has `Store.apply` write the whole transition in one transaction
and, only after that commit, publishes its events on the feed and wakes the workers that have
new jobs. When the conversation or an agent's load changed between the snapshot and the apply
(`Conflict`: a second message of the same customer, simultaneous handoffs to one team), the
desk reads again and decides again; the store's version check, unique index and assignment
preconditions make that the only way two inputs can meet.

Every entry point reads the live stack once and uses that one stack to the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

import structlog

from supportctl.plugins.channel import DeliveryState, DeliveryStatus, InboundEvent
from supportctl.routing.assignment import RoutingState
from supportctl.routing.handover import Handover, OpenConversation, Queued, drain, shift_end
from supportctl.runtime.clock import Clock
from supportctl.runtime.feed import Feed
from supportctl.runtime.lifecycle import agents, system
from supportctl.runtime.lifecycle.frame import Frame, LoadNeeded
from supportctl.runtime.lifecycle.handoff import max_open
from supportctl.runtime.lifecycle.inbound import Arrival, Customer, on_message
from supportctl.runtime.live import LiveStack
from supportctl.runtime.metrics import Metrics
from supportctl.runtime.passive import HOLD
from supportctl.store.ids import new_id
from supportctl.store.interface import Conflict, Store, StoreError
from supportctl.store.records import (
    Contact,
    Conversation,
    ConversationStatus,
    Event,
    Job,
    Message,
    MessageStatus,
    TimerKind,
)
from supportctl.store.transition import Applied, Lease, Snapshot, Transition

log = structlog.get_logger("supportctl.runtime")

# computing a change again this often in a row means something keeps changing the
# conversation; the caller retries later (a receipt goes back to the work queue)
MAX_CONFLICTS = 25

Step = Callable[[Frame], Transition | None]
Read = Callable[[bool], Awaitable[Snapshot]]  # a snapshot, with the agents' load or not


class _Conflicted:
    """An attempt the store refused: read and decide again."""


class Busy(StoreError):
    """A conversation kept changing while a change to it was being computed; try later."""


class Desk:
    def __init__(self, store: Store, live: Callable[[], LiveStack], clock: Clock, feed: Feed,
                 metrics: Metrics, *, public_url: str | None = None,
                 queued: Callable[[Applied], None] | None = None) -> None:
        self.store = store
        self.live = live
        self.clock = clock
        self.feed = feed
        self.metrics = metrics
        self.public_url = public_url
        self.queued = queued  # wakes the workers of the jobs a change queued
        self._contended = asyncio.Lock()  # attempts after a conflict take turns

    async def change(self, read: Read, step: Step, *,
                     finish: tuple[str, str] | None = None, hold: Lease | None = None,
                     live: LiveStack | None = None) -> Applied | None:
        """Read, decide, apply (again while the state changes meanwhile), publish; None when
        the step decided there is nothing to do (`finish`'s job is done all the same).

        The first attempt runs alongside everything else; after a conflict the attempts of
        this process take turns, so that thirty simultaneous handoffs to one team converge in
        thirty-odd tries instead of thirty squared. The database still decides: the turns only
        spare work, replicas on one database stay correct without them."""
        live = live or self.live()
        load = [False]  # whether this input routes: then every attempt reads the load at once
        for attempt in range(MAX_CONFLICTS):
            if attempt == 0:
                outcome = await self._attempt(live, read, step, finish, hold, load)
            else:
                async with self._contended:
                    outcome = await self._attempt(live, read, step, finish, hold, load)
            if not isinstance(outcome, _Conflicted):
                return outcome
            self.metrics.conflicts.inc()
        raise Busy(f"the conversation changed {MAX_CONFLICTS} times while a change to it was "
                   "being computed")

    async def _attempt(self, live: LiveStack, read: Read, step: Step,
                       finish: tuple[str, str] | None, hold: Lease | None,
                       load: list[bool]) -> Applied | _Conflicted | None:
        snapshot = await read(load[0])
        frame = Frame(live, snapshot, self.clock.now(), self.public_url, new_id())
        try:
            transition = step(frame)
        except LoadNeeded:
            load[0] = True
            snapshot = await read(True)
            frame = Frame(live, snapshot, self.clock.now(), self.public_url, frame.fresh_id)
            transition = step(frame)
        if transition is None:
            if finish is not None:
                await self.store.finish(finish[0], finish[1], frame.now)
            return None
        try:
            applied = await self.store.apply(transition, finish=finish, hold=hold)
        except Conflict:
            return _Conflicted()
        self.feed.applied(applied, snapshot.contact)
        if self.queued is not None and (applied.messages or applied.notifications):
            self.queued(applied)
        return applied

    def _of(self, conversation_id: str) -> Read:
        return lambda load: self.store.snapshot(conversation_id, load=load)

    # --- inbound ------------------------------------------------------------------------------

    async def receive(self, event: InboundEvent, finish: tuple[str, str] | None = None
                      ) -> Arrival | None:
        """Process one stored inbound event; where a customer's message went (None for a
        delivery status)."""
        if isinstance(event, DeliveryStatus):
            await self._status(event)
            if finish is not None:
                await self.store.finish(finish[0], finish[1], self.clock.now())
            return None
        arrived: list[Arrival] = []

        def step(frame: Frame) -> Transition:
            received = on_message(frame, event)
            arrived[:] = [received.arrival]
            return received.transition

        applied = await self.change(self._inbound(event), step, finish=finish,
                                    hold=self._hold(event.channel_id))
        assert applied is not None
        # debug: one line per message costs as much as processing it when the desk is busy
        log.debug("message received", kind=arrived[0].value,
                 conversation_id=applied.conversation.id, channel=event.channel_id,
                 status=applied.conversation.status.value, team=applied.conversation.team,
                 agent=applied.conversation.agent)
        return arrived[0]

    async def parked(self, event: Customer, error: str, attempts: int) -> Applied | None:
        """A message whose processing kept failing: stored with a note and queued for a
        person (`system.on_parked`)."""
        return await self.change(self._inbound(event),
                                 lambda frame: system.on_parked(frame, event, error, attempts))

    def _inbound(self, event: Customer) -> Read:
        ref = event.contact
        return lambda load: self.store.inbound_snapshot(
            event.channel_id, ref.external_id, self.clock.now(), name=ref.name,
            language=ref.language, phone=ref.phone, email=ref.email, load=load)

    def _hold(self, channel: str) -> Lease | None:
        hold = HOLD.get()
        return hold.lease if hold is not None and hold.channel == channel else None

    async def _status(self, event: DeliveryStatus) -> None:
        status = MessageStatus(event.status.value)
        error = None
        if event.status is DeliveryState.FAILED:
            error = ": ".join(p for p in (event.error_code, event.error_text) if p) or None
        updated = await self.store.update_message_status(event.channel_id, event.external_id,
                                                         status, event.at, error)
        if updated is not None:
            self.feed.status(updated)

    # --- agent actions ------------------------------------------------------------------------

    async def reply(self, conversation_id: str, agent: str, text: str) -> Message:
        """An agent's free-text reply; WindowClosed outside the channel's window."""
        applied = await self.change(self._of(conversation_id),
                                    lambda frame: agents.on_reply(frame, agent, text))
        assert applied is not None
        return _outbound(applied)

    async def send_template(self, conversation_id: str, agent: str, template_id: str) -> Message:
        """A template by an agent: its text inside the window, its native version outside."""
        applied = await self.change(
            self._of(conversation_id),
            lambda frame: agents.on_template(frame, agent, template_id))
        assert applied is not None
        return _outbound(applied)

    async def transfer(self, conversation_id: str, by: str | None, *, team: str | None = None,
                       agent: str | None = None) -> Conversation:
        """To an agent (of `team`, or of the conversation's team), or to a team's assignment."""
        applied = await self.change(
            self._of(conversation_id),
            lambda frame: agents.on_transfer(frame, by, team=team, agent=agent))
        assert applied is not None
        await self.drain()
        return applied.conversation

    async def close(self, conversation_id: str, by: str | None, reason: str = "agent"
                    ) -> Conversation:
        """Close; ask the CSAT question when a person handled the conversation."""
        applied = await self.change(self._of(conversation_id),
                                    lambda frame: agents.on_close(frame, by, reason))
        assert applied is not None
        log.info("conversation closed", reason=reason, by=by, conversation_id=conversation_id)
        await self.drain()  # the agent has room for the next in the queue
        return applied.conversation

    async def reopen_by(self, conversation_id: str, by: str) -> Conversation:
        applied = await self.change(self._of(conversation_id),
                                    lambda frame: agents.on_reopen(frame, by))
        assert applied is not None
        return applied.conversation

    async def note(self, conversation_id: str, agent: str, text: str) -> Event:
        """An internal note: seen by agents, never sent to the customer."""
        applied = await self.change(self._of(conversation_id),
                                    lambda frame: agents.on_note(frame, agent, text))
        assert applied is not None
        return applied.events[-1]

    # --- timers, shifts, the queue --------------------------------------------------------------

    async def fire(self, job: Job, holder: str) -> Applied | None:
        """A timer job fell due; its change finishes the job in the same transaction."""
        assert job.conversation_id is not None
        kind = TimerKind(job.kind)
        applied = await self.change(self._of(job.conversation_id),
                                    lambda frame: system.on_timer(frame, kind, job.payload),
                                    finish=(job.id, holder))
        if applied is not None:
            log.info("timer fired", kind=kind.value, conversation_id=job.conversation_id)
            if applied.conversation.status is ConversationStatus.CLOSED:
                await self.drain()
        return applied

    async def window_closed(self, message: Message, code: str, error: str) -> None:
        """The provider refused a message as out of its window."""
        await self.change(self._of(message.conversation_id),
                          lambda frame: system.on_window_closed(frame, message.channel,
                                                                message.id, code, error))

    async def message_sent(self, message: Message, conversation: Conversation,
                           contact: Contact) -> None:
        """The outbox (or a passive reply) sent a message."""
        self.feed.sent(message, conversation, contact, self.live().stack.agents)

    async def tick(self) -> None:
        """Shift boundaries: apply `handover` to agents whose shift ended, then offer queued
        conversations oldest-first to agents on shift with room."""
        live = self.live()
        now = self.clock.now()
        holding = await self.store.list_conversations(status=ConversationStatus.OPEN,
                                                      limit=100_000)
        ended = shift_end(live.router, (OpenConversation(c.id, c.team, c.agent)
                                        for c in holding if c.team and c.agent), now)
        for conversation, policy in ended:
            if policy is Handover.REQUEUE:
                applied = await self.change(self._of(conversation.id),
                                            _shift_end(conversation.agent), live=live)
                if applied is not None:
                    log.info("handed over at shift end", agent=conversation.agent,
                             team=conversation.team, conversation_id=conversation.id)
        await self.drain(live)

    async def drain(self, live: LiveStack | None = None) -> int:
        """Offer queued conversations oldest-first to agents on shift with room; how many
        were assigned. Each offer is a change of its own, refused by the store when the
        conversation or the agent's load moved meanwhile (another replica, another drain)."""
        live = live or self.live()
        now = self.clock.now()
        queued, counts, positions = await self.store.queue_snapshot()
        waiting = [Queued(c.id, c.team, c.queued_at or c.updated_at,
                          language or _channel_language(live, c))
                   for c, language in queued if c.team is not None]
        if not waiting:
            return 0
        offers, _ = drain(live.router, waiting, now, RoutingState(counts, positions))
        assigned = 0
        for waiting_one, agent in offers:
            applied = await self.change(self._of(waiting_one.id), _offer(agent), live=live)
            assigned += applied is not None
        return assigned


def _offer(agent: str) -> Step:
    """The drain's offer, unless the agent has no room any more (then the next drain)."""
    def step(frame: Frame) -> Transition | None:
        limit = max_open(frame, agent)
        if limit is not None and frame.routing_state.open_of(agent) >= limit:
            return None
        return system.on_offer(frame, agent)
    return step


def _shift_end(agent: str) -> Step:
    return lambda frame: system.on_shift_end(frame, agent)


def _channel_language(live: LiveStack, conversation: Conversation) -> str | None:
    channel = live.stack.channels.get(conversation.channel)
    return channel.language if channel is not None else None


def _outbound(applied: Applied) -> Message:
    """The message an agent's action queued."""
    return next(m for m in reversed(applied.messages) if m.author is not None)


def teams_of(live: LiveStack, agent: str) -> set[str]:
    """The teams an agent belongs to: as a member or on one of the team's shifts."""
    return {team_id for team_id, team in live.stack.teams.items()
            if agent in (team.members or ()) or any(agent in shift.agents
                                                     for shift in team.shifts)}


def may_see(live: LiveStack, agent: str, conversation: Conversation,
            teams: Mapping[str, set[str]] | None = None) -> bool:
    """Supervisors see everything; an agent sees their teams' conversations and their own."""
    model = live.stack.agents.get(agent)
    if model is None:
        return False
    if model.supervisor or conversation.agent == agent:
        return True
    mine = teams[agent] if teams is not None else teams_of(live, agent)
    return conversation.team in mine

