"""Coverage of a representative week: who is on shift when, and the hours a rule leaves bare.

The week is fixed, not "now", so that `validate` gives the same answer every day: Monday
12 January 2026 to Sunday 18 January 2026 in the workspace time zone, or the first of the
other reference weeks in which no time zone of the stack changes its clocks. Only weekly hours
count: open dates, overrides and the dates of `closed_on` holiday calendars are deliberate
exceptions, not gaps. Times are minutes after Monday 00:00 of that week.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

from supportctl.config.model.common import as_list
from supportctl.config.model.routing import Condition
from supportctl.config.model.schedules import Schedule
from supportctl.config.model.stack import StackBase
from supportctl.config.timespec import DAY_NAMES, END_OF_DAY, zone
from supportctl.routing.calendar import (
    Calendar,
    Flat,
    complement,
    intersect,
    merge,
    pairs_of,
    subtract,
    union,
)
from supportctl.routing.schedules import CompiledSchedule, ScheduleError, compile_schedule

WEEK_MINUTES = 7 * END_OF_DAY
WHOLE_WEEK: Flat = (0, WEEK_MINUTES)
REFERENCE_MONDAYS = (date(2026, 1, 12), date(2026, 7, 13), date(2026, 5, 11), date(2026, 9, 14))
"""Candidate reference weeks, in order of preference; the first without a clock change wins."""


@dataclass(frozen=True, slots=True)
class ReferenceWeek:
    """A week without clock changes, from Monday 00:00 in the workspace time zone."""

    timezone: str
    monday: date
    start: int
    """Epoch seconds of Monday 00:00."""

    @property
    def end(self) -> int:
        return self.start + WEEK_MINUTES * 60

    def minutes(self, calendar: Calendar) -> Flat:
        """When the calendar is open during the week, in minutes after Monday 00:00."""
        return merge((math.floor((low - self.start) / 60), math.ceil((high - self.start) / 60))
                     for low, high in calendar.spans(self.start, self.end))


def _steady(where: tzinfo, start: int, end: int) -> bool:
    offsets = {datetime.fromtimestamp(s, where).utcoffset() for s in range(start, end, 3600)}
    return len(offsets) == 1


def reference_week(timezone: str, zones: Iterable[tzinfo] = ()) -> ReferenceWeek:
    """The first reference week in which neither the workspace zone nor `zones` change clocks."""
    home = zone(timezone)
    others = [home, *zones]
    weeks = []
    for monday in REFERENCE_MONDAYS:
        start = int(datetime.combine(monday, time(), home).timestamp())
        weeks.append(ReferenceWeek(timezone, monday, start))
        # a margin of two days: overnight windows of the days around the week reach into it
        margin = 2 * 86_400
        if all(_steady(z, start - margin, start + WEEK_MINUTES * 60 + margin) for z in others):
            return weeks[-1]
    return weeks[0]


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def describe(minutes: Flat) -> str:
    """`Mon-Fri 00:00-08:00, 18:00-24:00, Sat-Sun all day`: week minutes, day by day."""
    if minutes == WHOLE_WEEK:
        return "all week"
    days: list[tuple[tuple[int, int], ...]] = []
    for weekday in range(7):
        low = weekday * END_OF_DAY
        days.append(tuple((s - low, e - low) for s, e in pairs_of(
            intersect(minutes, (low, low + END_OF_DAY)))))
    parts = []
    weekday = 0
    while weekday < 7:
        last = weekday
        while last + 1 < 7 and days[last + 1] == days[weekday]:
            last += 1
        if days[weekday]:
            label = DAY_NAMES[weekday].title()
            if last > weekday:
                label += "-" + DAY_NAMES[last].title()
            times = ("all day" if days[weekday] == ((0, END_OF_DAY),) else
                     ", ".join(f"{_clock(s)}-{_clock(e)}" for s, e in days[weekday]))
            parts.append(f"{label} {times}")
        weekday = last + 1
    return ", ".join(parts)


class _Unknown(Exception):
    """A reference that cannot be judged (reported elsewhere); the rule is skipped."""


@dataclass(frozen=True, slots=True)
class Gap:
    """Hours of the week in which a rule's team and all its fallbacks have nobody on shift."""

    rule_index: int
    rule: str
    team: str
    fallbacks: tuple[str, ...]
    minutes: Flat
    suggestion: str | None
    """A team on shift during all of those hours, worth naming as a fallback."""


@dataclass
class WeekCoverage:
    """The representative week of a stack: when each schedule is open and each team staffed."""

    week: ReferenceWeek
    schedules: dict[str, Flat]
    teams: dict[str, Flat]
    """Team id -> minutes with at least one agent on shift (teams that could be judged):
    its shifts minus its `closed_on` schedules, as `TeamSchedule.staffed` computes them."""


def week_coverage(stack: StackBase) -> WeekCoverage:
    """Compile what can be compiled of a checked stack and measure its representative week."""
    compiled: dict[str, CompiledSchedule] = {}
    for schedule_id, schedule in stack.schedules.items():
        try:
            compiled[schedule_id] = compile_schedule(
                schedule, stack.workspace.timezone, name=schedule_id, weekly_only=True)
        except ScheduleError:
            continue  # H701-H704 say what is wrong with it
    week = reference_week(stack.workspace.timezone, {c.zone for c in compiled.values()})
    schedules = {schedule_id: week.minutes(c) for schedule_id, c in compiled.items()}
    teams = {}
    for team_id, team in stack.teams.items():
        shifts = [shift.schedule for shift in team.shifts]
        if all(s in schedules for s in (*shifts, *team.closed_on)):  # else: R303 or H70x
            teams[team_id] = subtract(union(*(schedules[s] for s in shifts)),
                                      union(*(schedules[s] for s in team.closed_on)))
    return WeekCoverage(week, schedules, teams)


def _schedule(schedules: Mapping[str, Flat], schedule_id: str) -> Flat:
    if schedule_id not in schedules:
        raise _Unknown(schedule_id)
    return schedules[schedule_id]


def may_hold(condition: Condition | None, schedules: Mapping[str, Flat]) -> Flat:
    """Minutes of the week at which the condition can hold for some conversation."""
    result = WHOLE_WEEK
    if condition is None:
        return result
    if condition.schedule is not None:
        result = intersect(result, _schedule(schedules, condition.schedule))
    for sub in condition.all or []:
        result = intersect(result, may_hold(sub, schedules))
    if condition.any:
        result = intersect(result, union(*(may_hold(sub, schedules) for sub in condition.any)))
    if condition.not_ is not None:
        result = subtract(result, must_hold(condition.not_, schedules))
    return result


def must_hold(condition: Condition, schedules: Mapping[str, Flat]) -> Flat:
    """Minutes of the week at which the condition holds for every conversation."""
    if (condition.channel is not None or condition.channel_type is not None or
            condition.text is not None or condition.contact_matchers()):
        return ()
    result = WHOLE_WEEK
    if condition.schedule is not None:
        result = intersect(result, _schedule(schedules, condition.schedule))
    for sub in condition.all or []:
        result = intersect(result, must_hold(sub, schedules))
    if condition.any:
        result = intersect(result, union(*(must_hold(sub, schedules) for sub in condition.any)))
    if condition.not_ is not None:
        result = intersect(result, complement(may_hold(condition.not_, schedules),
                                              0, WEEK_MINUTES))
    return result


def _works(schedule: Schedule | None) -> bool:
    if schedule is None:
        return True  # unknown: R303 says so
    return bool(schedule.hours or schedule.dates or any(o.time for o in schedule.overrides))


def never_on_shift(stack: StackBase, team_id: str) -> bool:
    """The team H705 reports: no shift whose schedule has any hours at all."""
    team = stack.teams[team_id]
    return not any(_works(stack.schedules.get(shift.schedule)) for shift in team.shifts)


def opening_hours(stack: StackBase, coverage: WeekCoverage) -> Flat | None:
    """When the stack serves customers at all: the catch-all rule's teams are on shift.

    Without a catch-all, whenever any team is. None when that cannot be judged.
    """
    catch_all = next((rule for rule in stack.routing if rule.when is None), None)
    teams = ([catch_all.to, *as_list(catch_all.fallback)] if catch_all is not None
             else list(coverage.teams))
    if any(team not in coverage.teams for team in teams):
        return None
    return union(*(coverage.teams[team] for team in teams))


def coverage_gaps(stack: StackBase) -> list[Gap]:
    """The H706 gaps of the reference week (weekly hours only)."""
    try:
        zone(stack.workspace.timezone)
    except ValueError:
        return []  # H701
    return gaps_in(stack, week_coverage(stack))


def gaps_in(stack: StackBase, coverage: WeekCoverage) -> list[Gap]:
    """For each rule up to the catch-all: opening hours of a measured week at which it can
    match while its team and all its fallbacks have nobody on shift."""
    opening = opening_hours(stack, coverage)
    if opening is None:
        return []
    catch_all = next((rule for rule in stack.routing if rule.when is None), None)
    helpers = list(dict.fromkeys(
        [*([catch_all.to, *as_list(catch_all.fallback)] if catch_all else []),
         *coverage.teams]))
    gaps = []
    rules = list(stack.routing)
    last = next((i for i, rule in enumerate(rules) if rule.when is None), len(rules) - 1)
    for index, rule in enumerate(rules[:last + 1]):  # later rules never match: U501
        chain = [rule.to, *as_list(rule.fallback)]
        if any(team not in coverage.teams for team in chain):
            continue  # unknown team or schedule: reported elsewhere
        if all(never_on_shift(stack, team) for team in chain):
            continue  # H705 already says the team is never on shift
        try:
            applies = intersect(may_hold(rule.when, coverage.schedules), opening)
        except _Unknown:
            continue
        bare = subtract(applies, union(*(coverage.teams[team] for team in chain)))
        if bare:
            suggestion = next((team for team in helpers if team not in chain and
                               not subtract(bare, coverage.teams[team])), None)
            gaps.append(Gap(index, rule.name, rule.to, tuple(chain[1:]), bare, suggestion))
    return gaps
