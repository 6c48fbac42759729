"""Why routing decided what it did, as data: the trace `supportctl explain` shows a reviewer.

`explain` makes the same decision as `Router.decide` and adds what a person needs to check it:
every rule tried with the reason it did or did not match, each team tried (the rule's team,
then its fallbacks) with every member's status and why (on shift until when, off shift until
when, team closed by which holiday, at capacity, another language preferred), how the agent was
chosen, the out-of-hours reply with its language and the escalation steps with their times.
Pure: times stay aware datetimes; rendering them in a time zone is the caller's business.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from supportctl.config.model.common import as_list, texts_of
from supportctl.routing.assignment import Assignment, Availability, RoutingState
from supportctl.routing.conditions import Inquiry
from supportctl.routing.engine import Decision, Outcome, Router

STATUS_CODES: Mapping[Availability, str] = {
    Availability.ELIGIBLE: "eligible",
    Availability.OFF_SHIFT: "off_shift",
    Availability.HOLIDAY: "team_closed",
    Availability.AT_CAPACITY: "at_capacity",
    Availability.OTHER_LANGUAGE: "other_language",
}
"""The stable word for each availability (JSON `status`)."""


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """One rule tried, in order, with whether and why it matched."""

    index: int
    name: str
    matched: bool
    reason: str
    to: str
    fallbacks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Member:
    """One member of a team tried, at the moment of the decision."""

    agent: str
    name: str
    availability: Availability
    open: int
    max_open: int
    languages: tuple[str, ...]
    shifts: tuple[str, ...]
    """Schedules of this team's shifts the agent works (any time)."""
    working: tuple[str, ...]
    """Those of `shifts` open now (empty while the team is closed)."""
    until: datetime | None
    """On shift: when this agent's time on shift in this team ends (None: never)."""
    next_on_shift: datetime | None
    """Not on shift: when this agent is next on shift in this team (None: never)."""
    detail: str

    @property
    def status(self) -> str:
        return STATUS_CODES[self.availability]

    @property
    def on_shift(self) -> bool:
        return self.availability not in (Availability.OFF_SHIFT, Availability.HOLIDAY)


@dataclass(frozen=True, slots=True)
class Choice:
    """How the agent was chosen among the eligible members of the team that took it."""

    method: str
    agent: str | None
    language: str | None
    speakers_preferred: bool
    """True when the contact's language narrowed the candidates to those who speak it."""
    candidates: tuple[str, ...]
    """Eligible agents after the language preference, in the order assignment tries them."""
    order: tuple[str, ...]
    """The team's order (its `members`, else first appearance in its shifts)."""
    last_assigned: str | None
    open: Mapping[str, int]
    reason: str


@dataclass(frozen=True, slots=True)
class TeamTrace:
    """One team tried: the rule's own team or one of its fallbacks."""

    team: str
    name: str | None
    role: str
    """`team` for the rule's own team, `fallback` for the others."""
    assign: str
    on_shift: tuple[str, ...]
    closed_by: str | None
    """The `closed_on` schedule closing the team now, if one does."""
    reopens: datetime | None
    """While closed by a holiday: when that holiday calendar closes again."""
    next_staffed: datetime | None
    """While nobody is on shift: when somebody next is (None: never)."""
    members: tuple[Member, ...]
    agent: str | None
    took_it: bool


@dataclass(frozen=True, slots=True)
class Reply:
    """The template sent now (the out-of-hours reply) and the language it is sent in."""

    template: str
    language: str | None
    text: str | None


@dataclass(frozen=True, slots=True)
class Step:
    """An escalation step as the runtime will schedule it."""

    after: str
    """As written in the stack (`15m`)."""
    delay: timedelta
    at: datetime
    to: str | None
    notify: tuple[str, ...]
    reply: str | None


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything `explain` shows about one decision."""

    timezone: str
    """The workspace time zone, in which times are meant to be read."""
    inquiry: Inquiry
    state: RoutingState
    rules: tuple[RuleTrace, ...]
    rules_total: int
    rule: str | None
    outcome: Outcome
    team: str | None
    teams: tuple[TeamTrace, ...]
    not_tried: tuple[str, ...]
    """Fallbacks of the rule that were not needed, in order."""
    choice: Choice | None
    agent: str | None
    reply: Reply | None
    next_open: datetime | None
    escalations: tuple[Step, ...]
    notify: tuple[str, ...]
    decision: Decision

    @property
    def summary(self) -> str:
        """One sentence: what happens to the conversation."""
        if self.outcome is Outcome.UNROUTED:
            return "no rule matched: the conversation is not routed"
        if self.outcome is Outcome.ASSIGNED:
            return f"assigned to {self.agent} of team {self.team}"
        if self.outcome is Outcome.QUEUED:
            return f"queued in team {self.team}: nobody is assigned yet"
        closed = self.teams[0].closed_by if self.teams else None
        fallbacks = len(self.teams) > 1
        if closed is not None:
            return (f"out of hours: team {self.team} is closed (closed_on {closed!r})"
                    + ("; nobody is on shift in its fallbacks either" if fallbacks else ""))
        return (f"out of hours: nobody on shift in team {self.team}"
                + (" or its fallbacks" if fallbacks else ""))


def explain(router: Router, inquiry: Inquiry, state: RoutingState | None = None
            ) -> Explanation:
    """Decide like `router.decide` and say why, step by step."""
    state = state or RoutingState()
    decision = router.decide(inquiry, state)
    traced = router.table.trace(inquiry)
    rules = tuple(RuleTrace(compiled.index, compiled.rule.name, verdict.holds, verdict.reason,
                            compiled.rule.to, tuple(as_list(compiled.rule.fallback)))
                  for compiled, verdict in traced)
    matched = decision.rule
    teams: list[TeamTrace] = []
    not_tried: tuple[str, ...] = ()
    if matched is not None:
        chain = [matched.rule.to, *as_list(matched.rule.fallback)]
        for position, assignment in enumerate(decision.tried):
            teams.append(_team(router, assignment, "team" if position == 0 else "fallback",
                               decision))
        tried = {a.team for a in decision.tried}
        not_tried = tuple(t for t in chain[1:] if t not in tried)
    chosen = decision.assignment
    choice = (_choice(router, chosen, state, _language(inquiry))
              if chosen is not None and chosen.on_shift else None)
    return Explanation(
        timezone=router.stack.workspace.timezone, inquiry=inquiry, state=state, rules=rules,
        rules_total=len(router.table.rules), rule=matched.rule.name if matched else None,
        outcome=decision.outcome, team=decision.team, teams=tuple(teams), not_tried=not_tried,
        choice=choice, agent=decision.agent, reply=_reply(router, decision),
        next_open=decision.next_open, escalations=_steps(decision), notify=decision.notify,
        decision=decision)


def _team(router: Router, assignment: Assignment, role: str, decision: Decision) -> TeamTrace:
    at = decision.inquiry.at
    schedule = router.teams[assignment.team]
    team = router.stack.teams[assignment.team]
    closed_by = schedule.closed_by(at)
    reopens = None
    if closed_by is not None:
        holiday = next(c for name, c in schedule.closed if name == closed_by)
        reopens = holiday.next_close(at)
    next_staffed = None if assignment.on_shift else schedule.staffed.next_open(at)
    members = []
    for status in assignment.agents:
        agent = router.stack.agents.get(status.agent)
        shifts = tuple(dict.fromkeys(s.schedule for s in schedule.shifts
                                     if status.agent in s.agents))
        working = () if closed_by is not None else tuple(dict.fromkeys(
            s.schedule for s in schedule.shifts
            if status.agent in s.agents and s.calendar.is_open(at)))
        calendar = schedule.agent_calendar(status.agent)
        on_shift = status.availability not in (Availability.OFF_SHIFT, Availability.HOLIDAY)
        members.append(Member(
            agent=status.agent, name=agent.name if agent else status.agent,
            availability=status.availability, open=status.open, max_open=status.max_open,
            languages=tuple(agent.languages) if agent else (), shifts=shifts, working=working,
            until=calendar.next_close(at) if on_shift else None,
            next_on_shift=None if on_shift else calendar.next_open(at), detail=status.detail))
    return TeamTrace(assignment.team, team.name, role, assignment.method, assignment.on_shift,
                     closed_by, reopens, next_staffed, tuple(members), assignment.agent,
                     assignment.team == decision.team and bool(assignment.on_shift))


def rotation(order: Sequence[str], last: str | None, eligible: Sequence[str]) -> list[str]:
    """Eligible agents in team order, starting after `last` and wrapping (as assignment does)."""
    position = {agent: index for index, agent in enumerate(order)}
    start = position[last] + 1 if last in position else 0
    size = max(len(order), 1)
    return sorted(eligible, key=lambda agent: (position.get(agent, size) - start) % size)


def _language(inquiry: Inquiry) -> str | None:
    value = inquiry.contact.get("language")
    return str(value) if value is not None else None


def _choice(router: Router, assignment: Assignment, state: RoutingState,
            language: str | None) -> Choice:
    order = tuple(router.assigners[assignment.team].order)
    last = state.last_assigned.get(assignment.team)
    if last not in order:
        last = None
    statuses = assignment.agents
    preferred = any(s.availability is Availability.OTHER_LANGUAGE for s in statuses)
    candidates = tuple(rotation(order, last, assignment.eligible))
    open_now = {agent: state.open_of(agent) for agent in candidates}
    method, agent = assignment.method, assignment.agent
    after = f"after {last}, the last agent it assigned" if last else "from the start (it has " \
        "assigned nobody yet)"
    if not candidates:
        full = [s.agent for s in statuses if s.availability is Availability.AT_CAPACITY]
        reason = ("every agent on shift is at max_open (" + ", ".join(full) + "): the "
                  "conversation waits in the team queue until one has room")
    elif method == "manual":
        reason = ("assign: manual: nobody is assigned; the conversation waits in the team "
                  "queue for an agent to pick it")
    elif method == "least_open":
        loads = ", ".join(f"{a} {open_now[a]}" for a in candidates)
        reason = (f"least_open: {agent} has the fewest open conversations ({loads}); ties "
                  f"go to the first in team order {after}")
    else:
        reason = (f"round_robin: {agent} is the next eligible agent in team order "
                  f"({', '.join(order)}) {after}")
    if preferred and candidates:
        reason += f"; only agents who speak {language!r} were considered"
    return Choice(method, agent, language, preferred, candidates, order, last,
                  open_now, reason)


def _reply(router: Router, decision: Decision) -> Reply | None:
    if decision.reply is None:
        return None
    template = router.stack.templates.get(decision.reply)
    default = router.stack.workspace.language
    texts = texts_of(template.text if template else None, default)
    wanted = _language(decision.inquiry)
    language = wanted if wanted is not None and wanted in texts else (
        default if default in texts else next(iter(texts), None))
    return Reply(decision.reply, language, texts.get(language) if language else None)


def _steps(decision: Decision) -> tuple[Step, ...]:
    written = decision.rule.rule.escalate if decision.rule is not None else []
    return tuple(Step(spec.after, step.after, step.at, step.to, step.notify, step.reply)
                 for spec, step in zip(written, decision.escalations, strict=True))
