"""Routing decisions applied to a conversation: handoff, reopening, escalation, the queue, the
end of a shift; and the alerts for notify targets that go with them.

Routing itself is `supportctl.routing` (pure); this module turns its decisions into changes. An
assignment the router chooses carries its preconditions (the agent's room, the round-robin
position) so that `Store.apply` refuses it when the load changed meanwhile.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from supportctl.config.model.common import parse_duration
from supportctl.routing.assignment import Assignment
from supportctl.routing.engine import Decision, Outcome
from supportctl.routing.handover import OpenConversation, reopen
from supportctl.runtime.lifecycle.changes import (
    AGENT_REPLIED_AT,
    CSAT_ASKED_AT,
    HANDOFF_AT,
    Changes,
    time_in,
)
from supportctl.runtime.lifecycle.frame import Frame, contact_attributes
from supportctl.runtime.lifecycle.sending import automatic
from supportctl.runtime.notifications import addressed, alert_kind, compose, subscribers
from supportctl.runtime.texts import format_opening
from supportctl.store.records import JSON, ConversationStatus, EventKind, TimerKind


def max_open(frame: Frame, agent: str | None) -> int | None:
    """The capacity an automatic assignment to `agent` must respect."""
    model = frame.live.stack.agents.get(agent) if agent else None
    return model.max_open if model is not None else None


def touch(changes: Changes, frame: Frame) -> None:
    """Activity: the idle auto-close starts over."""
    after = parse_duration(frame.live.stack.conversations.auto_close_after)
    changes.arm(TimerKind.AUTO_CLOSE, frame.now + after)


def assign_chosen(changes: Changes, frame: Frame, chosen: Assignment, *, rule: str | None,
                  reason: str) -> None:
    """Apply what assignment chose for a team: an agent, or the team's queue."""
    changes.assign(team=chosen.team, agent=chosen.agent, rule=rule, reason=reason,
                   max_open=max_open(frame, chosen.agent),
                   round_robin=chosen.method == "round_robin")


def handoff(changes: Changes, frame: Frame, reason: str = "routed") -> None:
    """Route the conversation by the rules: team, agent or queue, or out-of-hours reply."""
    conversation = changes.state
    text = "\n".join([*frame.snapshot.inbound_texts, *changes.texts])
    router = frame.live.router
    inquiry = router.inquiry(frame.now, conversation.channel,
                             contact_attributes(frame.contact), text)
    changes.remember(HANDOFF_AT, frame.now)
    apply_decision(changes, frame, router.decide(inquiry, changes.routing), reason)


def apply_decision(changes: Changes, frame: Frame, decision: Decision, reason: str) -> None:
    rule = decision.rule.rule.name if decision.rule is not None else None
    changes.event(EventKind.ROUTED, {
        "rule": rule, "outcome": decision.outcome.value, "team": decision.team,
        "agent": decision.agent,
        "next_open": decision.next_open.isoformat() if decision.next_open else None})
    chosen = decision.assignment
    changes.assign(team=decision.team, agent=decision.agent, rule=rule, reason=reason,
                   max_open=max_open(frame, decision.agent),
                   round_robin=chosen is not None and chosen.method == "round_robin")
    if decision.outcome is Outcome.OUT_OF_HOURS and decision.reply is not None:
        opening = (format_opening(decision.next_open, frame.live.stack.workspace.timezone)
                   if decision.next_open else None)
        automatic(changes, frame, decision.reply,
                  frame.variables(changes.state, next_open=opening), why="out-of-hours reply")
    changes.cancel(TimerKind.ESCALATION)
    for slot, step in enumerate(decision.escalations):
        changes.arm(TimerKind.ESCALATION, step.at, {
            "to": step.to, "notify": list(step.notify), "reply": step.reply,
            "after": step.after.total_seconds(), "since": frame.now.isoformat()}, slot)
    if decision.notify:
        notify(changes, frame, decision.notify, "routed")


def reopen_conversation(changes: Changes, frame: Frame, reason: str) -> None:
    """A closed conversation is active again: back to its agent when on shift with room,
    otherwise routed again like a new one."""
    changes.set_status(ConversationStatus.WAITING, reason)
    changes.forget(CSAT_ASKED_AT)
    conversation = changes.state
    if conversation.team is None or conversation.agent is None:
        handoff(changes, frame, reason="reopen")
        return
    router = frame.live.router
    inquiry = router.inquiry(frame.now, conversation.channel, contact_attributes(frame.contact))
    previous = OpenConversation(conversation.id, conversation.team, conversation.agent)
    back = reopen(router, inquiry, previous, changes.routing)
    if back.agent is not None:
        changes.assign(team=conversation.team, agent=back.agent, rule=conversation.rule,
                       reason="reopen", max_open=max_open(frame, back.agent))
        return
    assert back.decision is not None
    apply_decision(changes, frame, back.decision, "reopen")


def offer(changes: Changes, frame: Frame, agent: str) -> None:
    """A queued conversation goes to an agent who has room (the queue drains)."""
    conversation = changes.state
    method = frame.live.stack.teams[conversation.team].assign if conversation.team else ""
    changes.assign(team=conversation.team, agent=agent, rule=conversation.rule, reason="queue",
                   max_open=max_open(frame, agent), round_robin=method == "round_robin")
    touch(changes, frame)


def requeue(changes: Changes) -> None:
    """The agent's shift ended and the team requeues: back to the team's queue."""
    changes.set_status(ConversationStatus.QUEUED, "handover", agent=changes.state.agent)


def escalate(changes: Changes, frame: Frame, payload: JSON) -> None:
    """An escalation step fell due without an agent's reply: to its team, alert, notice."""
    since = datetime.fromisoformat(payload["since"])
    replied = time_in(changes.state, AGENT_REPLIED_AT)
    if replied is not None and replied >= since:
        return
    to = payload.get("to")
    changes.event(EventKind.ESCALATED, {"after": payload.get("after"), "to": to})
    router = frame.live.router
    if to is not None and to in router.assigners:
        chosen = router.assigners[to].assign(frame.now, changes.routing,
                                             frame.language(changes.state))
        assign_chosen(changes, frame, chosen, rule=changes.state.rule, reason="escalation")
    if payload.get("notify"):
        notify(changes, frame, payload["notify"], "escalation", after=payload.get("after"),
               to=to)
    if payload.get("reply"):
        automatic(changes, frame, payload["reply"], frame.variables(changes.state),
                  why="escalation notice")


def notify(changes: Changes, frame: Frame, targets: tuple[str, ...] | list[str], why: str,
           **data: Any) -> None:
    """Record an alert for the stack's notify targets and queue it for those with a runtime
    that take it (the notification worker delivers it)."""
    conversation = changes.state
    event: JSON = {"targets": list(targets), "why": why, "team": conversation.team,
                   "agent": conversation.agent, **data}
    kind = alert_kind(why)
    _queue(changes, frame, addressed(frame.live.notifiers, targets, kind), kind, data)
    changes.event(EventKind.NOTIFY, event)


def notify_all(changes: Changes, frame: Frame, kind: str, **data: Any) -> None:
    """Queue a lifecycle event (closed, CSAT answered) for the targets that take it for every
    conversation; nothing is recorded when none does."""
    targets = subscribers(frame.live.notifiers, kind)
    if targets:
        _queue(changes, frame, targets, kind, data)
        changes.event(EventKind.NOTIFY, {"targets": targets, "why": kind, **data})


def _queue(changes: Changes, frame: Frame, targets: list[str], kind: str,
           data: dict[str, Any]) -> None:
    if not targets:
        return
    conversation = changes.state
    payload = compose(frame.live.stack, conversation, frame.contact.name, kind, frame.now,
                      frame.link(conversation.id), data)
    for target in targets:
        changes.notify(target, payload)
