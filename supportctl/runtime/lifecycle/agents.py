"""What agents do to a conversation: reply, send a template, transfer, close, reopen, note.

Each function raises `ActionRefused` (or `WindowClosed`) when the action cannot be done as
asked; the agent API answers 409 or 422 with the message.
"""

from __future__ import annotations

from supportctl.config.model.common import parse_duration
from supportctl.plugins.channel import OutboundText
from supportctl.plugins.notifier import CLOSED
from supportctl.runtime.lifecycle.changes import AGENT_REPLIED_AT, CSAT_ASKED_AT, Changes
from supportctl.runtime.lifecycle.frame import Frame
from supportctl.runtime.lifecycle.handoff import (
    assign_chosen,
    notify_all,
    reopen_conversation,
    touch,
)
from supportctl.runtime.lifecycle.sending import automatic, free_text, template
from supportctl.store.records import Conversation, ConversationStatus, EventKind, TimerKind
from supportctl.store.transition import Transition


class ActionRefused(Exception):
    """An agent action that cannot be done as asked (HTTP 409/422 with this message)."""


def _current(frame: Frame) -> Conversation:
    conversation = frame.snapshot.conversation
    assert conversation is not None, "agent actions read a conversation's snapshot"
    return conversation


def _active(frame: Frame) -> Changes:
    conversation = _current(frame)
    if conversation.status is ConversationStatus.CLOSED:
        raise ActionRefused(f"conversation {conversation.id} is closed; reopen it first")
    return Changes(conversation, conversation, frame)


def _spoke(changes: Changes, frame: Frame, agent: str) -> None:
    """An agent wrote to the customer: the conversation is theirs if nobody held it, and the
    escalations (which mean "no agent reply for so long") end."""
    if changes.state.agent is None:
        changes.assign(team=changes.state.team, agent=agent, rule=changes.state.rule,
                       reason="picked")
    changes.remember(AGENT_REPLIED_AT, frame.now)
    changes.cancel(TimerKind.ESCALATION)
    touch(changes, frame)


def on_reply(frame: Frame, agent: str, text: str) -> Transition:
    """An agent's free-text reply; WindowClosed outside the channel's window."""
    changes = _active(frame)
    free_text(changes, frame, OutboundText(text), author=agent)
    _spoke(changes, frame, agent)
    return changes.transition()


def on_template(frame: Frame, agent: str, template_id: str) -> Transition:
    """A template by an agent: its text inside the window, its native version outside."""
    if template_id not in frame.live.stack.templates:
        raise ActionRefused(f"no template {template_id!r} in the stack; known: "
                            + ", ".join(sorted(frame.live.stack.templates)))
    changes = _active(frame)
    template(changes, frame, template_id, frame.variables(changes.state, agent=agent),
             author=agent)
    _spoke(changes, frame, agent)
    return changes.transition()


def on_transfer(frame: Frame, by: str | None, *, team: str | None = None,
                agent: str | None = None) -> Transition:
    """To an agent (of `team`, or of the conversation's team), or to a team's assignment."""
    stack = frame.live.stack
    if team is not None and team not in stack.teams:
        raise ActionRefused(f"no team {team!r}; known: {', '.join(sorted(stack.teams))}")
    if agent is not None and agent not in stack.agents:
        raise ActionRefused(f"no agent {agent!r}; known: {', '.join(sorted(stack.agents))}")
    if team is None and agent is None:
        raise ActionRefused("say where to: a team, an agent, or both")
    changes = _active(frame)
    target_team = team or changes.state.team
    if agent is None:
        assert team is not None
        chosen = frame.live.router.assigners[team].assign(frame.now, changes.routing,
                                                          frame.language(changes.state))
        assign_chosen(changes, frame, chosen, rule=changes.state.rule, reason="transfer")
        agent = chosen.agent
    else:
        # a person chose this agent: their judgement, not max_open, decides
        changes.assign(team=target_team, agent=agent, rule=changes.state.rule,
                       reason="transfer")
    changes.event(EventKind.TRANSFER, {"by": by, "team": target_team, "agent": agent})
    return changes.transition()


def on_close(frame: Frame, by: str | None, reason: str = "agent") -> Transition:
    """Close; ask the CSAT question when a person handled the conversation."""
    changes = _active(frame)
    handled = changes.state.agent is not None
    changes.set_status(ConversationStatus.CLOSED, reason, by=by)
    changes.cancel()
    notify_all(changes, frame, CLOSED, reason=reason, by=by)
    csat = frame.live.stack.conversations.csat
    if csat is not None and handled and automatic(
            changes, frame, csat.template, frame.variables(changes.state), why="csat question"):
        changes.remember(CSAT_ASKED_AT, frame.now)
        changes.arm(TimerKind.CSAT_TIMEOUT, frame.now + parse_duration(csat.wait))
    return changes.transition()


def on_reopen(frame: Frame, by: str) -> Transition:
    conversation = _current(frame)
    if conversation.status is not ConversationStatus.CLOSED:
        raise ActionRefused(f"conversation {conversation.id} is not closed")
    changes = Changes(conversation, conversation, frame)
    reopen_conversation(changes, frame, reason=f"reopened by {by}")
    touch(changes, frame)
    return changes.transition()


def on_note(frame: Frame, agent: str, text: str) -> Transition:
    """An internal note: seen by agents, never sent to the customer."""
    conversation = _current(frame)
    changes = Changes(conversation, conversation, frame)
    changes.event(EventKind.NOTE, {"author": agent, "text": text})
    return changes.transition()
