"""A transition being put together: the steps of one input add to it, `transition()` freezes it.

Only the transition functions of this package use it, each for one input; nothing here reads or
writes storage. The conversation's runtime bookkeeping lives in its `context` under the keys
below (kept as they were, so older databases read the same).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from supportctl.routing.assignment import RoutingState
from supportctl.runtime.lifecycle.frame import Frame
from supportctl.runtime.menu_engine import MenuState
from supportctl.store.records import (
    JSON,
    Conversation,
    ConversationStatus,
    Direction,
    EventKind,
    TimerKind,
)
from supportctl.store.transition import (
    Assign,
    CsatScore,
    LogEntry,
    NewEvent,
    NewMessage,
    NewNotification,
    SetTimer,
    Transition,
)

MENU = "menu"  # the menus opened, the current one last
RETRIES = "retries"  # re-prompts of the current menu so far
HANDOFF_AT = "handoff_at"  # when the conversation was handed to routing (assignment latency)
CSAT_ASKED_AT = "csat_asked_at"  # the CSAT question is pending since
AGENT_REPLIED_AT = "agent_replied_at"  # an agent's last reply (escalations are "no reply")
WINDOW_CLOSED = "window_closed"  # {channel: when the provider refused a message as too late}


def time_in(conversation: Conversation, key: str) -> datetime | None:
    """A time kept in the conversation's context."""
    value = conversation.context.get(key)
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def menu_in(conversation: Conversation) -> MenuState | None:
    path = conversation.context.get(MENU)
    if not isinstance(path, list):
        return None
    return MenuState(tuple(str(menu) for menu in path), int(conversation.context.get(RETRIES, 0)))


class Changes:
    """The transition of one conversation, from `before` (None: it starts now) to `state`."""

    def __init__(self, before: Conversation | None, state: Conversation,
                 frame: Frame) -> None:
        self.version = before.version if before is not None else 0
        self.state = state
        self.now = frame.now
        self._frame = frame
        self._routing: RoutingState | None = None
        self.texts: list[str] = []  # what the customer wrote in this input (routing reads it)
        self._log: list[LogEntry] = []
        self._cancelled: set[TimerKind] = set()
        self._timers: dict[tuple[TimerKind, int], SetTimer] = {}
        self._notifications: list[NewNotification] = []
        self._csat: CsatScore | None = None

    @property
    def routing(self) -> RoutingState:
        """The agents' load as this transition's assignments leave it; read from the frame
        the first time a step needs it (LoadNeeded when the snapshot was read without it)."""
        if self._routing is None:
            self._routing = self._frame.routing_state
        return self._routing

    @routing.setter
    def routing(self, state: RoutingState) -> None:
        self._routing = state

    # --- state ----------------------------------------------------------------------------

    def update(self, **fields: Any) -> None:
        self.state = replace(self.state, updated_at=max(self.state.updated_at, self.now),
                             **fields)

    def remember(self, key: str, value: Any) -> None:
        """Set a context key (None removes it)."""
        context = {k: v for k, v in self.state.context.items() if k != key}
        if value is not None:
            context[key] = value.isoformat() if isinstance(value, datetime) else value
        self.update(context=context)

    def forget(self, *keys: str) -> None:
        self.update(context={k: v for k, v in self.state.context.items() if k not in keys})

    def set_menu(self, menu: MenuState | None) -> None:
        context = {k: v for k, v in self.state.context.items() if k not in (MENU, RETRIES)}
        if menu is not None:
            context[MENU] = list(menu.path)
            context[RETRIES] = menu.retries
        self.update(context=context)

    def set_status(self, status: ConversationStatus, reason: str, **data: Any) -> None:
        """Change the status (event `status`): closing sets closed_at, anything else clears it;
        `queued` drops the agent and takes a place in the team's queue."""
        before = self.state
        if status is ConversationStatus.OPEN and before.agent is None:
            raise ValueError(f"conversation {before.id} has no agent: assign it")
        agent = None if status is ConversationStatus.QUEUED else before.agent
        change: JSON = {**data, "from": before.status.value, "to": status.value, "reason": reason}
        if agent != before.agent:
            change["from_agent"] = before.agent
        self.update(status=status, agent=agent,
                    closed_at=self.now if status is ConversationStatus.CLOSED else None,
                    queued_at=self.now if status is ConversationStatus.QUEUED else None)
        self.event(EventKind.STATUS, change)

    def assign(self, *, team: str | None, agent: str | None, rule: str | None, reason: str,
               max_open: int | None = None, round_robin: bool = False) -> None:
        """Give the conversation to `agent` of `team` (or queue it for `team`). With `max_open`
        the assignment holds only while the agent has room and got no other conversation
        since this transition's snapshot; with `round_robin` it records the team's position,
        only while nobody moved it meanwhile."""
        before = self.state
        status = ConversationStatus.OPEN if agent else ConversationStatus.QUEUED
        data: JSON = {"team": team, "agent": agent, "rule": rule, "reason": reason,
                      "from_team": before.team, "from_agent": before.agent,
                      "status": status.value}
        rotates = round_robin and team is not None and agent is not None
        self._log.append(Assign(
            team, agent, rule, reason, data, max_open=max_open if agent else None,
            open_seen=self.routing.open_of(agent) if agent and max_open is not None else None,
            round_robin=rotates,
            last_seen=self.routing.last_assigned.get(team) if rotates and team else None))
        self.update(team=team, agent=agent, rule=rule, status=status, closed_at=None,
                    queued_at=self.now if agent is None else None)
        if agent is not None and team is not None:
            if rotates:
                self.routing = self.routing.after_assigning(team, agent)
            else:
                self.routing = RoutingState(
                    {**self.routing.open_conversations, agent: self.routing.open_of(agent) + 1},
                    self.routing.last_assigned)

    # --- log ------------------------------------------------------------------------------

    def event(self, kind: EventKind, data: JSON) -> None:
        self._log.append(NewEvent(kind, data))

    def inbound(self, channel: str, payload: JSON, external_id: str) -> None:
        """The customer's message: stored, and its channel's window starts again."""
        self._log.append(NewMessage(Direction.IN, channel, payload, external_id=external_id))
        windows = {**self.state.last_customer_message, channel: self.now}
        self.update(last_customer_message=windows)
        text = payload.get("text")
        if isinstance(text, str):
            self.texts.append(text)

    def outbound(self, payload: JSON, author: str | None = None) -> None:
        """A message to send on the conversation's channel (queued in the outbox)."""
        self._log.append(NewMessage(Direction.OUT, self.state.channel, payload, author=author))

    def arm(self, kind: TimerKind, due_at: datetime, payload: JSON | None = None,
            slot: int = 0) -> None:
        self._timers[(kind, slot)] = SetTimer(kind, due_at, payload or {}, slot)

    def cancel(self, *kinds: TimerKind) -> None:
        """Drop the conversation's pending timers of these kinds (all with none given), those
        already stored and those armed earlier in this transition."""
        wanted = set(kinds or TimerKind)
        self._cancelled |= wanted
        self._timers = {key: timer for key, timer in self._timers.items()
                        if timer.kind not in wanted}

    def notify(self, target: str, payload: JSON) -> None:
        self._notifications.append(NewNotification(target, payload))

    def record_csat(self, score: int, comment: str | None) -> None:
        self._csat = CsatScore(score, comment)

    # --- result ---------------------------------------------------------------------------

    @property
    def logged(self) -> tuple[LogEntry, ...]:
        return tuple(self._log)

    def transition(self) -> Transition:
        return Transition(self.state, self.version, self.now, tuple(self._log),
                          frozenset(self._cancelled), tuple(self._timers.values()),
                          tuple(self._notifications), self._csat)
