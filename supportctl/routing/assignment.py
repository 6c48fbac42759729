"""Choosing an agent of a team: who may take a conversation now, and which one does.

An agent is eligible when on shift in the team and under `max_open`. When any eligible agent
speaks the contact's language, only those are considered. Then:
- `round_robin` takes the first eligible agent after the one the team assigned last, in the
  team's order (its `members`, else the order of first appearance in its shifts); with a fixed
  set of eligible agents, N assignments give each of k agents N/k, rounded up or down;
- `least_open` takes the eligible agent with the fewest open conversations; ties go to the first
  after the last assigned agent in the same cyclic order, so equal loads rotate too;
- `manual` assigns nobody: the conversation waits in the team queue for an agent to pick it.

The state (open conversations per agent, the last agent each team assigned) belongs to the
runtime, which persists it; this module only reads it and says what the next state is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from supportctl.config.model.people import Agent, Team
from supportctl.routing.schedules import TeamSchedule


@dataclass(frozen=True, slots=True)
class RoutingState:
    """What assignment needs to know about the running system."""

    open_conversations: Mapping[str, int] = field(default_factory=dict)
    """Open conversations assigned to each agent (agents not listed have none)."""
    last_assigned: Mapping[str, str] = field(default_factory=dict)
    """The agent each team assigned last: the round-robin position."""

    def open_of(self, agent: str) -> int:
        return self.open_conversations.get(agent, 0)

    def after_assigning(self, team: str, agent: str) -> RoutingState:
        """The state once `agent` of `team` has taken one more conversation."""
        return RoutingState({**self.open_conversations, agent: self.open_of(agent) + 1},
                            {**self.last_assigned, team: agent})


class Availability(StrEnum):
    """Why an agent of a team can or cannot take a conversation now."""

    ELIGIBLE = "eligible"
    OFF_SHIFT = "off shift"
    HOLIDAY = "team closed"
    AT_CAPACITY = "at capacity"
    OTHER_LANGUAGE = "does not speak the contact's language"


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """One member of a team at the moment of a decision."""

    agent: str
    availability: Availability
    open: int
    max_open: int
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Assignment:
    """The outcome of choosing an agent of one team."""

    team: str
    on_shift: tuple[str, ...]
    agents: tuple[AgentStatus, ...]
    agent: str | None
    method: str
    state: RoutingState

    @property
    def eligible(self) -> tuple[str, ...]:
        return tuple(a.agent for a in self.agents if a.availability is Availability.ELIGIBLE)


def team_order(team: Team, schedule: TeamSchedule) -> tuple[str, ...]:
    """The order in which round robin takes the team's agents."""
    if team.members is not None:
        return tuple(dict.fromkeys([*team.members, *schedule.agents]))
    return schedule.agents


class Assigner:
    """Assignment for one team; built once per stack, shared read-only."""

    def __init__(self, team_id: str, team: Team, schedule: TeamSchedule,
                 agents: Mapping[str, Agent]) -> None:
        self.team_id = team_id
        self.team = team
        self.schedule = schedule
        self.order = team_order(team, schedule)
        self._position = {agent: index for index, agent in enumerate(self.order)}
        self._limits = {a: agents[a].max_open if a in agents else 1 for a in self.order}
        self._languages = {a: frozenset(agents[a].languages) if a in agents else frozenset()
                           for a in self.order}

    def statuses(self, at: datetime, state: RoutingState,
                 language: str | None) -> tuple[tuple[str, ...], tuple[AgentStatus, ...]]:
        """Who is on shift, and each member's availability with the reason."""
        on_shift = self.schedule.on_shift(at)
        closed_by = self.schedule.closed_by(at) if not on_shift else None
        working = set(on_shift)
        statuses = []
        for agent in self.order:
            open_now, limit = state.open_of(agent), self._limits[agent]
            if agent not in working:
                if closed_by is not None:
                    statuses.append(AgentStatus(agent, Availability.HOLIDAY, open_now, limit,
                                                f"closed_on {closed_by!r}"))
                else:
                    statuses.append(AgentStatus(agent, Availability.OFF_SHIFT, open_now, limit))
            elif open_now >= limit:
                statuses.append(AgentStatus(agent, Availability.AT_CAPACITY, open_now, limit,
                                            f"{open_now} open of max_open {limit}"))
            else:
                statuses.append(AgentStatus(agent, Availability.ELIGIBLE, open_now, limit))
        if language:
            speakers = {s.agent for s in statuses if s.availability is Availability.ELIGIBLE
                        and language in self._languages[s.agent]}
            if speakers:
                statuses = [AgentStatus(s.agent, Availability.OTHER_LANGUAGE, s.open,
                                        s.max_open, f"prefers agents who speak {language!r}")
                            if s.availability is Availability.ELIGIBLE and s.agent not in speakers
                            else s for s in statuses]
        return on_shift, tuple(statuses)

    def assign(self, at: datetime, state: RoutingState,
               language: str | None = None) -> Assignment:
        """Choose an agent now (or nobody), and the state after it."""
        on_shift, statuses = self.statuses(at, state, language)
        eligible = [s.agent for s in statuses if s.availability is Availability.ELIGIBLE]
        method = self.team.assign
        chosen: str | None = None
        if eligible and method != "manual":
            rotation = self._after(state.last_assigned.get(self.team_id), eligible)
            if method == "least_open":
                rank = {agent: index for index, agent in enumerate(rotation)}
                chosen = min(rotation, key=lambda agent: (state.open_of(agent), rank[agent]))
            else:
                chosen = rotation[0]
        after = state.after_assigning(self.team_id, chosen) if chosen is not None else state
        return Assignment(self.team_id, on_shift, statuses, chosen, method, after)

    def _after(self, last: str | None, eligible: Sequence[str]) -> list[str]:
        """Eligible agents in team order, starting after `last` and wrapping around."""
        start = self._position[last] + 1 if last in self._position else 0
        size = len(self.order)
        return sorted(eligible, key=lambda agent: (self._position[agent] - start) % size)
