"""What the runtime itself does to a conversation: timers that fall due, the queue draining to an
agent, the end of an agent's shift, a provider that says the window closed, and a customer's
message whose processing kept failing (parked: a person must look at it)."""

from __future__ import annotations

from supportctl.plugins.channel import InboundMessage, InteractiveReply
from supportctl.routing.engine import Outcome
from supportctl.runtime.lifecycle.agents import on_close
from supportctl.runtime.lifecycle.changes import CSAT_ASKED_AT, WINDOW_CLOSED, Changes
from supportctl.runtime.lifecycle.frame import Frame, contact_attributes
from supportctl.runtime.lifecycle.handoff import escalate, offer, requeue
from supportctl.runtime.lifecycle.inbound import Arrival, arrival, inbound_payload, opening
from supportctl.store.records import JSON, Conversation, ConversationStatus, EventKind, TimerKind
from supportctl.store.transition import Transition


def _changes(frame: Frame) -> Changes:
    conversation = frame.snapshot.conversation
    assert conversation is not None
    return Changes(conversation, conversation, frame)


def on_timer(frame: Frame, kind: TimerKind, payload: JSON) -> Transition | None:
    """A timer fell due; None when it has nothing to do any more."""
    conversation = frame.snapshot.conversation
    assert conversation is not None
    if kind is TimerKind.CSAT_TIMEOUT:
        if CSAT_ASKED_AT not in conversation.context:
            return None
        changes = _changes(frame)
        changes.forget(CSAT_ASKED_AT)
        return changes.transition()
    if conversation.status is ConversationStatus.CLOSED:
        return None
    if kind is TimerKind.AUTO_CLOSE:
        if conversation.status is ConversationStatus.QUEUED:
            # the silence is ours: nobody could answer yet (out of hours, a full team); the
            # idle clock starts again when an agent gets it (the queue drains)
            return None
        return on_close(frame, None, reason="idle")
    changes = _changes(frame)
    escalate(changes, frame, payload)
    transition = changes.transition()
    return transition if transition.log else None


def on_offer(frame: Frame, agent: str) -> Transition | None:
    """The queue drains: the conversation goes to `agent`; None when it is no longer queued."""
    conversation = frame.snapshot.conversation
    if conversation is None or conversation.status is not ConversationStatus.QUEUED:
        return None
    changes = _changes(frame)
    offer(changes, frame, agent)
    return changes.transition()


def on_shift_end(frame: Frame, agent: str) -> Transition | None:
    """`agent`'s shift ended and the team requeues; None when the conversation moved on."""
    conversation = frame.snapshot.conversation
    if (conversation is None or conversation.status is not ConversationStatus.OPEN
            or conversation.agent != agent):
        return None
    changes = _changes(frame)
    requeue(changes)
    return changes.transition()


def on_window_closed(frame: Frame, channel: str, message_id: str, code: str,
                     error: str) -> Transition:
    """The provider refused a message because its window has closed: recorded, and the window
    counts as closed until the customer writes again."""
    changes = _changes(frame)
    changes.event(EventKind.WINDOW_CLOSED, {"message_id": message_id, "channel": channel,
                                            "code": code, "error": error})
    closed = {**changes.state.context.get(WINDOW_CLOSED, {}), channel: frame.now.isoformat()}
    changes.remember(WINDOW_CLOSED, closed)
    return changes.transition()


def on_parked(frame: Frame, event: InboundMessage | InteractiveReply, error: str,
              attempts: int) -> Transition:
    """A customer's message whose processing failed `attempts` times: stored as it came, with a
    note, and the conversation waits in its team's queue for a person (routed by the rules if
    it has no team yet), so nobody's message is silently dropped."""
    current = frame.snapshot.conversation
    if arrival(frame, None) in (Arrival.CONTINUED, Arrival.REOPENED) and current is not None:
        changes = Changes(current, current, frame)
    else:
        changes = Changes(None, opening(frame, event.channel_id), frame)
        changes.event(EventKind.OPENED, {"channel": event.channel_id, "status": "waiting"})
    changes.inbound(event.channel_id, inbound_payload(event), event.external_id)
    changes.event(EventKind.PARKED, {"external_id": event.external_id, "error": error,
                                     "attempts": attempts})
    changes.event(EventKind.NOTE, {"author": None, "text": (
        f"supportctl could not process this message ({attempts} attempts: {error}); "
        "a person needs to answer it")})
    conversation = changes.state
    if conversation.agent is None or conversation.status is ConversationStatus.CLOSED:
        changes.set_menu(None)
        changes.assign(team=conversation.team or _team_by_rules(frame, conversation),
                       agent=None, rule=conversation.rule, reason="parked")
    return changes.transition()


def _team_by_rules(frame: Frame, conversation: Conversation) -> str | None:
    """The team routing rules give the conversation, without choosing an agent; None when
    routing itself fails (a supervisor still sees the conversation)."""
    try:
        router = frame.live.router
        decision = router.decide(router.inquiry(frame.now, conversation.channel,
                                                contact_attributes(frame.contact)))
    except Exception:
        return None
    return decision.team if decision.outcome is not Outcome.UNROUTED else None
