"""Agents' actions as pure transitions (supportctl/runtime/lifecycle/agents.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from frames import assignment, at, conversation, events, frame, kinds, texts_out

from supportctl.runtime.lifecycle.agents import (
    ActionRefused,
    on_close,
    on_note,
    on_reopen,
    on_reply,
    on_template,
    on_transfer,
)
from supportctl.store.records import ConversationStatus, EventKind, TimerKind


def test_a_reply_goes_out_and_ends_the_escalations() -> None:
    t = on_reply(frame(at(0, 10, 5), conversation()), "anna", "Hi, how can I help?")
    assert kinds(t) == ["out"]
    (out,) = [e for e in t.log]
    assert out.author == "anna" and out.payload["human"] is True  # type: ignore[union-attr]
    assert TimerKind.ESCALATION in t.cancel_timers
    assert [timer.kind for timer in t.timers] == [TimerKind.AUTO_CLOSE]
    assert t.after.context["agent_replied_at"] == at(0, 10, 5).isoformat()


def test_replying_to_a_conversation_nobody_holds_picks_it() -> None:
    queued = conversation(status=ConversationStatus.QUEUED, agent=None)
    t = on_reply(frame(at(0, 10), queued), "bernd", "I'm on it")
    assert (t.after.status, t.after.agent) == (ConversationStatus.OPEN, "bernd")
    chosen = assignment(t)
    assert (chosen.reason, chosen.max_open) == ("picked", None)  # a person's choice


def test_actions_on_a_closed_conversation_are_refused() -> None:
    closed = conversation(status=ConversationStatus.CLOSED, closed_at=at(0, 11))
    for action in (lambda f: on_reply(f, "anna", "x"), lambda f: on_close(f, "anna"),
                   lambda f: on_transfer(f, "anna", team="experts"),
                   lambda f: on_template(f, "anna", "hello")):
        with pytest.raises(ActionRefused, match="closed"):
            action(frame(at(0, 12), closed))
    with pytest.raises(ActionRefused, match="not closed"):
        on_reopen(frame(at(0, 12), conversation()), "anna")


def test_a_template_needs_to_exist() -> None:
    with pytest.raises(ActionRefused, match="no template 'nope'"):
        on_template(frame(at(0, 10), conversation()), "anna", "nope")
    t = on_template(frame(at(0, 10), conversation()), "anna", "hello")
    assert texts_out(t) == ["Hello Eva! Pick a topic."]


def test_transfers_to_a_team_choose_by_its_assignment_and_to_an_agent_as_told() -> None:
    to_team = on_transfer(frame(at(0, 10), conversation()), "anna", team="experts")
    assert (to_team.after.team, to_team.after.agent) == ("experts", "erik")
    assert assignment(to_team).max_open == 5  # an automatic choice keeps to max_open
    (moved,) = events(to_team, EventKind.TRANSFER)
    assert moved.data == {"by": "anna", "team": "experts", "agent": "erik"}
    to_agent = on_transfer(frame(at(0, 10), conversation(), open_counts={"dora": 5}), "anna",
                           agent="dora")
    assert (to_agent.after.team, to_agent.after.agent) == ("support", "dora")
    assert assignment(to_agent).max_open is None  # a person chose: beyond max_open if need be
    for where in ({}, {"team": "nope"}, {"agent": "nope"}):
        with pytest.raises(ActionRefused):
            on_transfer(frame(at(0, 10), conversation()), "anna", **where)


def test_closing_asks_csat_when_a_person_handled_it() -> None:
    t = on_close(frame(at(0, 11), conversation()), "anna")
    assert (t.after.status, t.after.closed_at) == (ConversationStatus.CLOSED, at(0, 11))
    assert kinds(t) == ["status", "out"]
    assert texts_out(t) == ["How did Anna do? Reply 1 to 5."]
    assert t.cancel_timers == frozenset(TimerKind)
    assert [(timer.kind, timer.due_at) for timer in t.timers] == [
        (TimerKind.CSAT_TIMEOUT, at(0, 12))]
    unhandled = on_close(frame(at(0, 11), conversation(agent=None,
                                                       status=ConversationStatus.QUEUED)),
                         None, reason="idle")
    assert kinds(unhandled) == ["status"] and unhandled.timers == ()


def test_reopening_by_an_agent_goes_back_to_the_previous_agent_or_routes_again() -> None:
    closed = conversation(status=ConversationStatus.CLOSED, closed_at=at(0, 11))
    back = on_reopen(frame(at(0, 12), closed), "anna")
    assert (back.after.status, back.after.agent) == (ConversationStatus.OPEN, "anna")
    evening = on_reopen(frame(at(0, 17), closed), "anna")  # anna is off shift
    assert evening.after.agent in {"carla", "dora"}
    assert assignment(evening).data["reason"] == "reopen"


def test_a_note_changes_nothing_but_the_log() -> None:
    current = conversation()
    t = on_note(frame(at(0, 10) + timedelta(minutes=3), current), "anna", "VIP customer")
    assert t.after == current
    (note,) = events(t, EventKind.NOTE)
    assert note.data == {"author": "anna", "text": "VIP customer"}
