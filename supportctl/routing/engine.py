"""The routing decision: rule -> team (or fallback, or a wait with the out-of-hours reply) -> agent.

`Router` compiles a checked stack once (schedules, teams, rule table) and is then immutable and
shared. `decide` is pure: the same inquiry and state always give the same decision, and the
state the runtime should persist afterwards is part of the decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from supportctl.config.model.common import as_list, parse_duration
from supportctl.config.model.routing import Rule
from supportctl.config.model.stack import StackBase
from supportctl.routing.assignment import Assigner, Assignment, RoutingState
from supportctl.routing.calendar import timestamp
from supportctl.routing.conditions import Inquiry
from supportctl.routing.rules import CompiledRule, RuleTable
from supportctl.routing.schedules import compile_schedules, compile_teams


class Outcome(StrEnum):
    """What happens to the conversation."""

    ASSIGNED = "assigned"          # an agent has it
    QUEUED = "queued"              # the team is on shift; the conversation waits in its queue
    OUT_OF_HOURS = "out_of_hours"  # nobody on shift in the team or its fallbacks
    UNROUTED = "unrouted"          # no rule matched (validate forbids this; U503)


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """An escalation the runtime schedules: at `at`, unless an agent has replied by then.

    The clock starts when the conversation is routed or, when it waits for the team to come on
    shift, when the team does: a night's messages do not all escalate at a quarter past midnight.
    """

    after: timedelta
    at: datetime
    to: str | None
    notify: tuple[str, ...]
    reply: str | None


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a rule does once it matches, resolved at compile time."""

    chain: tuple[Assigner, ...]  # the rule's team, then its fallbacks (unknown ids left out)
    team: str
    reply: str | None
    escalations: tuple[tuple[timedelta, str | None, tuple[str, ...], str | None], ...]
    notify: tuple[str, ...]


# not frozen: a frozen dataclass costs 2 µs more to build, a sixth of a routing decision;
# treat it as read-only all the same
@dataclass(slots=True)
class Decision:
    """Everything routing decided for one inquiry."""

    inquiry: Inquiry
    rule: CompiledRule | None
    outcome: Outcome
    team: str | None
    tried: tuple[Assignment, ...]  # the rule's team, then each fallback tried, in order
    agent: str | None
    reply: str | None              # template to send now: the out-of-hours reply
    next_open: datetime | None     # when the team or a fallback is next on shift ({{next_open}})
    before: RoutingState = field(repr=False)
    plan: _Plan | None = field(default=None, repr=False, compare=False)

    @property
    def assignment(self) -> Assignment | None:
        """The assignment of the team that took the conversation."""
        return next((a for a in self.tried if a.team == self.team), None)

    @property
    def on_shift(self) -> tuple[str, ...]:
        chosen = self.assignment
        return chosen.on_shift if chosen is not None else ()

    @property
    def state(self) -> RoutingState:
        """The state after this decision, for the runtime to persist."""
        chosen = self.assignment
        return chosen.state if chosen is not None and self.agent else self.before

    @property
    def notify(self) -> tuple[str, ...]:
        """Notify targets the rule alerts whenever it routes a conversation."""
        return self.plan.notify if self.plan else ()

    @property
    def escalations(self) -> tuple[EscalationStep, ...]:
        if self.plan is None:
            return ()
        start = (self.next_open if self.outcome is Outcome.OUT_OF_HOURS and self.next_open
                 else self.inquiry.at)
        return tuple(EscalationStep(after, start + after, to, notify, reply)
                     for after, to, notify, reply in self.plan.escalations)


class Router:
    """A stack compiled for routing decisions."""

    def __init__(self, stack: StackBase) -> None:
        self.stack = stack
        self.schedules = compile_schedules(stack)
        self.teams = compile_teams(stack, self.schedules)
        self.assigners = {team_id: Assigner(team_id, team, self.teams[team_id], stack.agents)
                          for team_id, team in stack.teams.items()}
        self.channel_types = {cid: channel.type for cid, channel in stack.channels.items()}
        self.table = RuleTable(stack.routing, self._schedule_open)
        self._plans = [self._plan(rule) for rule in stack.routing]

    def _plan(self, rule: Rule) -> _Plan:
        chain = tuple(self.assigners[t] for t in [rule.to, *as_list(rule.fallback)]
                      if t in self.assigners)  # validate reports unknown teams
        team = self.stack.teams.get(rule.to)
        reply = (rule.out_of_hours_reply or (team.out_of_hours_reply if team else None)
                 or self.stack.conversations.out_of_hours_reply)
        steps = tuple((parse_duration(step.after), step.to, tuple(as_list(step.notify)),
                       step.reply) for step in rule.escalate)
        return _Plan(chain, rule.to, reply, steps, tuple(as_list(rule.notify)))

    def _schedule_open(self, schedule: str, at: datetime) -> bool:
        return self.schedules[schedule].is_open(at)

    def inquiry(self, at: datetime, channel: str, contact: dict[str, object] | None = None,
                text: str = "") -> Inquiry:
        """An inquiry on one of the stack's channels: its type looked up, and the channel's
        `language` assumed for a contact whose language is not known."""
        contact = dict(contact or {})
        configured = self.stack.channels.get(channel)
        if contact.get("language") is None and configured is not None and configured.language:
            contact["language"] = configured.language
        return Inquiry(at, channel, self.channel_types.get(channel, ""), contact, text)

    def decide(self, inquiry: Inquiry, state: RoutingState | None = None) -> Decision:
        """Route a new (or re-routed) conversation."""
        state = state or RoutingState()
        matched = self.table.first_match(inquiry)
        if matched is None:
            return Decision(inquiry, None, Outcome.UNROUTED, None, (), None, None, None, state)
        plan = self._plans[matched.index]
        language = _language(inquiry.contact.get("language"))
        tried: list[Assignment] = []
        seconds = timestamp(inquiry.at)
        for assigner in plan.chain:
            assignment = assigner.assign_at(inquiry.at, seconds, state, language)
            tried.append(assignment)
            if assignment.on_shift:
                outcome = Outcome.ASSIGNED if assignment.agent else Outcome.QUEUED
                return Decision(inquiry, matched, outcome, assignment.team, tuple(tried),
                                assignment.agent, None, None, state, plan)
        # the earliest opening in the chain: routed again then, whichever team it is
        openings = [t for t in (a.schedule.staffed.next_open(inquiry.at) for a in plan.chain)
                    if t is not None]
        next_open = min(openings, default=None)
        return Decision(inquiry, matched, Outcome.OUT_OF_HOURS, plan.team, tuple(tried), None,
                        plan.reply, next_open, state, plan)


def _language(value: object) -> str | None:
    """The contact's language for the agent preference (the first, if several are given)."""
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return str(value) if value is not None else None
