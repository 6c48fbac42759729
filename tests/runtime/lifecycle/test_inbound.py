"""A customer's message as a pure transition (supportctl/runtime/lifecycle/inbound.py): where it
goes, what it sets off, and the preconditions of the assignment it makes, case by case."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from frames import assignment, at, conversation, events, frame, kinds, texts_out

from supportctl.plugins.channel import ContactRef, InboundMessage, InteractiveReply
from supportctl.runtime.lifecycle.inbound import Arrival, csat_score, on_message
from supportctl.store.records import Conversation, ConversationStatus, EventKind, TimerKind


def message(text: str, channel: str = "chat", when: datetime | None = None) -> InboundMessage:
    return InboundMessage(channel, f"eva:{text}", ContactRef("eva"), when or at(0, 10),
                          text=text)


@dataclass(frozen=True)
class Case:
    name: str
    now: datetime
    text: str
    current: Conversation | None = None
    channel: str = "chat"
    open_counts: dict[str, int] = field(default_factory=dict)
    arrival: Arrival = Arrival.NEW
    status: ConversationStatus = ConversationStatus.OPEN
    team: str | None = "support"
    agent: str | None = None
    log: tuple[str, ...] = ()
    out: tuple[str, ...] = ()
    timers: tuple[TimerKind, ...] = (TimerKind.AUTO_CLOSE,)


CLOSED = conversation(status=ConversationStatus.CLOSED, closed_at=at(0, 12),
                      context={"csat_asked_at": at(0, 12).isoformat()})

CASES = [
    Case("a new customer in the day shift goes to the least loaded English speaker",
         at(0, 10), "Hello", open_counts={"bernd": 0, "anna": 0}, agent="anna",
         log=("opened", "in", "routed", "assign:anna")),
    Case("anna holds more: the other agent on shift who speaks the language is tried first",
         at(0, 10), "Hello", open_counts={"anna": 5}, agent="bernd",
         log=("opened", "in", "routed", "assign:bernd")),
    Case("both at max_open: queued for the team", at(0, 10), "Hello",
         open_counts={"anna": 5, "bernd": 5}, status=ConversationStatus.QUEUED,
         log=("opened", "in", "routed", "assign:queue")),
    Case("out of hours: queued with the reply naming the next opening", at(0, 23), "Hello",
         status=ConversationStatus.QUEUED, log=("opened", "in", "routed", "assign:queue", "out"),
         out=("Nobody is in right now; we are back at 2026-11-24 08:00 UTC.",)),
    Case("a keyword rule escalates: the timer is armed with the auto-close", at(0, 10),
         "urgent: help", agent="anna", log=("opened", "in", "routed", "assign:anna"),
         timers=(TimerKind.ESCALATION, TimerKind.AUTO_CLOSE)),
    Case("a channel with a menu shows it and waits", at(0, 10), "Hi", channel="help",
         status=ConversationStatus.WAITING, team=None, log=("opened", "in", "out"),
         out=("Hello Eva! Pick a topic.\n\n1. Opening hours\n2. Talk to a person",)),
    Case("an open conversation is continued", at(0, 11), "More", current=conversation(),
         arrival=Arrival.CONTINUED, agent="anna", log=("in",)),
    Case("a closed one within reopen_within is reopened, back to its agent", at(0, 14),
         "One more thing", current=CLOSED, arrival=Arrival.REOPENED, agent="anna",
         log=("in", "status", "assign:anna")),
    Case("a score while the CSAT question is pending is its answer", at(0, 12, 10), "4",
         current=CLOSED, arrival=Arrival.CSAT, status=ConversationStatus.CLOSED, agent="anna",
         log=("in", "csat", "out"), out=("Thanks for rating us!",), timers=()),
    Case("a closed one long ago: a new conversation", at(2, 12), "Hello again",
         current=CLOSED, agent="anna", log=("opened", "in", "routed", "assign:anna")),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_customers_message(case: Case) -> None:
    received = on_message(frame(case.now, case.current, open_counts=case.open_counts),
                          message(case.text, case.channel, case.now))
    t = received.transition
    assert received.arrival is case.arrival
    assert (t.after.status, t.after.team, t.after.agent) == (case.status, case.team, case.agent)
    assert tuple(kinds(t)) == case.log
    assert tuple(texts_out(t)) == case.out
    assert tuple(sorted({timer.kind for timer in t.timers})) == tuple(sorted(case.timers))
    assert t.version == (0 if case.arrival is Arrival.NEW else case.current.version)  # type: ignore[union-attr]
    if case.arrival is Arrival.NEW:
        assert t.after.id == "NEW" and t.after.last_customer_message == {case.channel: case.now}


def test_an_automatic_assignment_carries_the_load_it_was_decided_on() -> None:
    t = on_message(frame(at(0, 10), open_counts={"anna": 2, "bernd": 4}),
                   message("Hello")).transition
    chosen = assignment(t)
    assert (chosen.agent, chosen.max_open, chosen.open_seen) == ("anna", 5, 2)
    assert not chosen.round_robin  # support assigns by least_open
    assert chosen.data["reason"] == "routed"
    experts = on_message(frame(at(0, 10), last_assigned={"experts": "erik"}),
                         message("my espresso machine leaks")).transition
    rotated = assignment(experts)
    assert (rotated.team, rotated.agent, rotated.round_robin, rotated.last_seen) == (
        "experts", "erik", True, "erik")


def test_the_menu_answers_reprompts_and_hands_off() -> None:
    in_menu = conversation("help", ConversationStatus.WAITING, None, None,
                           context={"menu": ["main"], "retries": 0})
    answer = on_message(frame(at(0, 10), in_menu), message("1", "help")).transition
    assert texts_out(answer) == ["Mon-Fri 8 to 22."]
    assert answer.after.context == {"menu": ["main"], "retries": 0}
    again = on_message(frame(at(0, 10), in_menu), message("pancakes", "help")).transition
    assert again.after.context["retries"] == 1 and len(texts_out(again)) == 1
    exhausted = conversation("help", ConversationStatus.WAITING, None, None,
                             context={"menu": ["main"], "retries": 1})
    handed = on_message(frame(at(0, 10), exhausted), message("pancakes", "help")).transition
    (menu,) = events(handed, EventKind.MENU)
    assert menu.data == {"handoff": True, "reprompts_exhausted": True}
    assert "menu" not in handed.after.context and handed.after.agent == "anna"
    tapped = InteractiveReply("help", "eva:tap", ContactRef("eva"), at(0, 10), "2",
                              "Talk to a person")
    person = on_message(frame(at(0, 10), in_menu), tapped).transition
    assert person.after.status is ConversationStatus.OPEN


def test_a_waiting_conversation_with_an_agent_is_open_again_when_the_customer_answers() -> None:
    waiting = conversation(status=ConversationStatus.WAITING)
    t = on_message(frame(at(0, 11), waiting), message("Here you go")).transition
    assert t.after.status is ConversationStatus.OPEN
    assert kinds(t) == ["in", "status"]


@pytest.mark.parametrize(("text", "score"), [
    ("4", 4), ("I give you a 3", 3), ("0", None), ("6", None), ("4 or 5", None),
    ("", None), (None, None), ("great", None)])
def test_a_csat_answer_is_one_whole_number_on_the_scale(text: str | None,
                                                        score: int | None) -> None:
    assert csat_score(text, 5) == score


def test_a_rating_after_the_csat_wait_reopens_instead() -> None:
    late = on_message(frame(at(0, 12) + timedelta(hours=1, minutes=1), CLOSED),
                      message("5"))
    assert late.arrival is Arrival.REOPENED
