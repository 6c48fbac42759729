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
from supportctl.routing.calendar import timestamp
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


# not frozen: a frozen dataclass costs 2 µs more to build, a sixth of a routing decision;
# treat it as read-only all the same
@dataclass(slots=True)
class Assignment:
    """The outcome of choosing an agent of one team."""

    team: str
    on_shift: tuple[str, ...]
    eligible: tuple[str, ...]  # after the language preference
    agent: str | None
    method: str
    language: str | None
    at: datetime
    before: RoutingState = field(repr=False)
    assigner: Assigner = field(repr=False, compare=False)

    @property
    def state(self) -> RoutingState:
        """The state after this assignment (built on demand: it copies the state's maps)."""
        if self.agent is None:
            return self.before
        return self.before.after_assigning(self.team, self.agent)

    @property
    def agents(self) -> tuple[AgentStatus, ...]:
        """Every member's availability with the reason (worked out on demand, for explain)."""
        return self.assigner.statuses(self.at, self.before, self.language)


def team_order(team: Team, schedule: TeamSchedule) -> tuple[str, ...]:
    """The order in which round robin takes the team's agents."""
    if team.members is not None:
        return tuple(dict.fromkeys([*team.members, *schedule.agents]))
    return schedule.agents


_POOL_CACHE = 512


class Assigner:
    """Assignment for one team; built once per stack, then only its cache changes."""

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
        # (minute, language) -> (on shift, of those who speak it). Shifts start and end on
        # whole minutes (wall-clock HH:MM in zones with whole-minute offsets), so who is on
        # shift is the same through a minute; many conversations arrive in the same one.
        self._pools: dict[tuple[int, str | None], tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def statuses(self, at: datetime, state: RoutingState,
                 language: str | None) -> tuple[AgentStatus, ...]:
        """Each member's availability at `at`, with the reason."""
        on_shift, speakers = self._pool(timestamp(at), language)
        working = set(on_shift)
        closed_by = self.schedule.closed_by(at) if not working else None
        eligible = set(self._eligible(on_shift, speakers, state))
        statuses = []
        for agent in self.order:
            open_now, limit = state.open_of(agent), self._limits[agent]
            if agent not in working:
                availability, detail = ((Availability.HOLIDAY, f"closed_on {closed_by!r}")
                                        if closed_by else (Availability.OFF_SHIFT, ""))
            elif open_now >= limit:
                availability, detail = (Availability.AT_CAPACITY,
                                        f"{open_now} open of max_open {limit}")
            elif agent not in eligible:
                availability, detail = (Availability.OTHER_LANGUAGE,
                                        f"prefers agents who speak {language!r}")
            else:
                availability, detail = Availability.ELIGIBLE, ""
            statuses.append(AgentStatus(agent, availability, open_now, limit, detail))
        return tuple(statuses)

    def _eligible(self, on_shift: Sequence[str], speakers: Sequence[str],
                  state: RoutingState) -> list[str]:
        """Under max_open among those who speak the language, else among all on shift."""
        opened = state.open_conversations
        if not opened:
            return list(speakers or on_shift)
        limits = self._limits
        return ([a for a in speakers if opened.get(a, 0) < limits[a]]
                or [a for a in on_shift if opened.get(a, 0) < limits[a]])

    def assign(self, at: datetime, state: RoutingState,
               language: str | None = None) -> Assignment:
        """Choose an agent now (or nobody); `Assignment.state` is the state after it."""
        return self.assign_at(at, timestamp(at), state, language)

    def assign_at(self, at: datetime, seconds: float, state: RoutingState,
                  language: str | None) -> Assignment:
        """`assign` with the epoch timestamp of `at` already worked out."""
        on_shift, speakers = self._pool(seconds, language)
        if not on_shift:
            return Assignment(self.team_id, (), (), None, self.team.assign, language, at, state,
                              self)
        eligible = self._eligible(on_shift, speakers, state)
        method = self.team.assign
        chosen: str | None = None
        if eligible and method != "manual":
            # the cyclic distance from the agent after the one assigned last
            position, size = self._position, len(self.order)
            last = state.last_assigned.get(self.team_id)
            start = position[last] + 1 if last in position else 0
            if method == "least_open":
                count = state.open_conversations.get
                chosen = min(eligible, key=lambda a: (count(a, 0), (position[a] - start) % size))
            else:
                chosen = min(eligible, key=lambda a: (position[a] - start) % size)
        return Assignment(self.team_id, on_shift, tuple(eligible), chosen, method, language,
                          at, state, self)

    def _pool(self, seconds: float, language: str | None
              ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        key = (int(seconds // 60), language)
        pool = self._pools.get(key)
        if pool is None:
            on_shift = self.schedule.on_shift_at(seconds)
            languages = self._languages
            speakers = tuple(a for a in on_shift if language in languages.get(a, ())) \
                if language else ()
            if len(self._pools) >= _POOL_CACHE:
                self._pools.clear()
            pool = self._pools[key] = (on_shift, speakers)
        return pool
