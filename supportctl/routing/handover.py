"""Shift boundaries, declared rather than accidental: handover at shift end, queue draining,
and reopened conversations.

- At the end of an agent's shift in a team, the team's `handover` says whether their open
  conversations stay with them (`keep`) or go back to the team queue (`requeue`).
- A queued conversation is offered oldest-first whenever an agent of its team is eligible (came
  on shift, or got room under `max_open`); each offer goes to the agent assignment would choose.
- A reopened conversation goes back to its previous agent when that agent is on shift in the
  team and has room; otherwise it is routed again like a new one.

The runtime calls these at the moments it observes (a timer at each shift change, a closed
conversation, a new message); they only compute, so they are as testable as `decide`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from supportctl.routing.assignment import RoutingState
from supportctl.routing.calendar import timestamp
from supportctl.routing.conditions import Inquiry
from supportctl.routing.engine import Decision, Router


class Handover(StrEnum):
    KEEP = "keep"
    REQUEUE = "requeue"


@dataclass(frozen=True, slots=True)
class OpenConversation:
    """A conversation the runtime holds open for an agent of a team."""

    id: str
    team: str
    agent: str


def shift_end(router: Router, conversations: Iterable[OpenConversation],
              at: datetime) -> list[tuple[OpenConversation, Handover]]:
    """For each open conversation whose agent is off shift in its team at `at`, what happens."""
    seconds = timestamp(at)
    decided = []
    for conversation in conversations:
        team = router.teams.get(conversation.team)
        if team is None or conversation.agent in team.on_shift_at(seconds):
            continue
        policy = router.stack.teams[conversation.team].handover
        decided.append((conversation, Handover(policy)))
    return decided


@dataclass(frozen=True, slots=True)
class Queued:
    """A conversation waiting in a team queue since `since`."""

    id: str
    team: str
    since: datetime
    language: str | None = None


def drain(router: Router, queued: Sequence[Queued], at: datetime,
          state: RoutingState) -> tuple[list[tuple[Queued, str]], RoutingState]:
    """Offer queued conversations oldest-first; returns (conversation, agent) pairs and the
    state after them. A team whose assignment is `manual` keeps its queue for agents to pick."""
    offers: list[tuple[Queued, str]] = []
    full: set[str] = set()  # teams in which nobody could take the last offer
    for waiting in sorted(queued, key=lambda q: (q.since, q.id)):
        assigner = router.assigners.get(waiting.team)
        if assigner is None or waiting.team in full or assigner.team.assign == "manual":
            continue
        assignment = assigner.assign(at, state, waiting.language)
        if assignment.agent is None:  # nobody eligible, whatever the language
            full.add(waiting.team)
            continue
        offers.append((waiting, assignment.agent))
        state = assignment.state
    return offers, state


@dataclass(frozen=True, slots=True)
class Reopened:
    """What happens to a closed conversation that the customer wrote to again."""

    agent: str | None          # the previous agent, when they take it back
    decision: Decision | None  # else: routed again


def reopen(router: Router, inquiry: Inquiry, previous: OpenConversation,
           state: RoutingState) -> Reopened:
    """Back to the previous agent if on shift in the team with room, else routed again."""
    assigner = router.assigners.get(previous.team)
    if assigner is not None:
        on_shift = assigner.schedule.on_shift(inquiry.at)
        limit = router.stack.agents[previous.agent].max_open \
            if previous.agent in router.stack.agents else 0
        if previous.agent in on_shift and state.open_of(previous.agent) < limit:
            return Reopened(previous.agent, None)
    return Reopened(None, router.decide(inquiry, state))
