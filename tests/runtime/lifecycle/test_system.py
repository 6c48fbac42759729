"""What the runtime itself does to a conversation, as pure transitions
(supportctl/runtime/lifecycle/system.py): timers, the queue, shift ends, parked messages."""

from __future__ import annotations

import pytest
from frames import assignment, at, conversation, events, frame, kinds, texts_out

from supportctl.plugins.channel import ContactRef, InboundMessage
from supportctl.runtime.lifecycle.system import (
    on_offer,
    on_parked,
    on_shift_end,
    on_timer,
    on_window_closed,
)
from supportctl.store.records import ConversationStatus, EventKind, TimerKind

ESCALATION = {"to": "leads", "notify": ["leads-slack"], "reply": "still_waiting",
              "after": 600.0, "since": at(0, 10).isoformat()}
QUEUED = conversation(status=ConversationStatus.QUEUED, agent=None, queued_at=at(0, 9))
CLOSED = conversation(status=ConversationStatus.CLOSED, closed_at=at(0, 11),
                      context={"csat_asked_at": at(0, 11).isoformat()})

TIMER_CASES = [
    ("auto-close closes an idle conversation", TimerKind.AUTO_CLOSE, {}, conversation(),
     ConversationStatus.CLOSED),
    ("auto-close leaves a queued one: the silence is ours", TimerKind.AUTO_CLOSE, {}, QUEUED,
     None),
    ("nothing fires on a closed conversation", TimerKind.ESCALATION, ESCALATION, CLOSED, None),
    ("the CSAT wait ends: the question is no longer pending", TimerKind.CSAT_TIMEOUT, {},
     CLOSED, ConversationStatus.CLOSED),
    ("a CSAT timeout with nothing pending does nothing", TimerKind.CSAT_TIMEOUT, {},
     conversation(), None),
    ("an escalation without an agent's reply goes to its team", TimerKind.ESCALATION,
     ESCALATION, conversation(), ConversationStatus.OPEN),
    ("an agent replied since: the escalation does nothing", TimerKind.ESCALATION, ESCALATION,
     conversation(context={"agent_replied_at": at(0, 10, 5).isoformat()}), None),
]


@pytest.mark.parametrize(("name", "kind", "payload", "current", "status"), TIMER_CASES,
                         ids=[c[0] for c in TIMER_CASES])
def test_a_timer(name: str, kind: TimerKind, payload: dict[str, object],
                 current: object, status: ConversationStatus | None) -> None:
    t = on_timer(frame(at(0, 10, 10), current), kind, payload)  # type: ignore[arg-type]
    if status is None:
        assert t is None
        return
    assert t is not None and t.after.status is status


def test_an_escalation_reassigns_alerts_and_tells_the_customer() -> None:
    t = on_timer(frame(at(0, 10, 10), conversation()), TimerKind.ESCALATION, ESCALATION)
    assert t is not None
    assert (t.after.team, t.after.agent) == ("leads", "lena")
    assert kinds(t) == ["escalated", "assign:lena", "notify", "out"]
    (alert,) = t.notifications
    assert alert.target == "leads-slack"
    assert alert.payload["kind"] == "conversation.escalated"
    assert texts_out(t) == ["Sorry for the wait: a shift lead is on it now."]
    assert "csat_asked_at" not in t.after.context


def test_the_queue_offers_a_conversation_to_an_agent_with_room_only_while_queued() -> None:
    t = on_offer(frame(at(0, 10), QUEUED, open_counts={"anna": 1}), "anna")
    assert t is not None
    offered = assignment(t)
    assert (offered.agent, offered.reason, offered.max_open, offered.open_seen) == (
        "anna", "queue", 5, 1)
    assert t.after.queued_at is None and t.after.status is ConversationStatus.OPEN
    assert on_offer(frame(at(0, 10), conversation()), "anna") is None  # taken meanwhile


def test_a_shift_end_requeues_only_what_its_agent_still_holds() -> None:
    t = on_shift_end(frame(at(0, 16, 1), conversation()), "anna")
    assert t is not None
    assert (t.after.status, t.after.agent, t.after.queued_at) == (
        ConversationStatus.QUEUED, None, at(0, 16, 1))
    (status,) = events(t, EventKind.STATUS)
    assert status.data["reason"] == "handover" and status.data["from_agent"] == "anna"
    assert on_shift_end(frame(at(0, 16, 1), conversation(agent="dora")), "anna") is None
    assert on_shift_end(frame(at(0, 16, 1), QUEUED), "anna") is None


def test_a_window_the_provider_closed_stays_closed_until_the_customer_writes() -> None:
    t = on_window_closed(frame(at(1, 11), conversation()), "chat", "M1", "131047", "too late")
    assert t.after.context["window_closed"] == {"chat": at(1, 11).isoformat()}
    (closed,) = events(t, EventKind.WINDOW_CLOSED)
    assert closed.data["code"] == "131047"


def test_a_parked_message_is_stored_noted_and_queued_for_its_team() -> None:
    event = InboundMessage("help", "eva:1", ContactRef("eva"), at(0, 10), text="my order?")
    t = on_parked(frame(at(0, 10)), event, "TypeError: boom", 8)
    assert kinds(t) == ["opened", "in", "parked", "note", "assign:queue"]
    assert (t.after.status, t.after.team) == (ConversationStatus.QUEUED, "support")
    (note,) = events(t, EventKind.NOTE)
    assert "8 attempts: TypeError: boom" in str(note.data["text"])
    in_menu = conversation("help", ConversationStatus.WAITING, None, None,
                           context={"menu": ["main"], "retries": 0})
    continued = on_parked(frame(at(0, 10), in_menu), event, "boom", 8)
    assert "menu" not in continued.after.context  # a person answers, not the menu
    held = on_parked(frame(at(0, 10), conversation()), event, "boom", 8)
    assert held.after.agent == "anna"  # an agent has it already: noted, left with them
