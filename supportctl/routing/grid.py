"""Who is on duty each hour of a week, per team and per workspace language, and the gaps.

A grid covers one week, Monday to Sunday, in one time zone (the workspace's unless another is
given), as 7 x 24 wall-clock hours. Each cell holds the *fewest* agents on shift at any moment
of that hour, so an hour with a moment in which nobody is on shift shows 0 even if a shift
starts at half past. A cell is the real time from the first instant the clock shows HH:00 to
the first instant it shows the next hour (the rule of docs/schedules.md): on the day clocks
spring forward the skipped hour does not exist (None), on the day they fall back the repeated
hour is two real hours long.

Two kinds of week:
- the *reference week* (`reference=True`, the default of `supportctl coverage`): the week the
  H706 check uses, with weekly hours only (dates, overrides and holiday dates left out), so
  the answer is the same every day and the gaps are exactly those `validate` warns about;
- a *concrete week* (the week containing a given date): every date, override and holiday of
  the stack applies, and clock changes show.

Gaps follow the H706 definition (`coverage.coverage_gaps`): opening hours (the catch-all
rule's teams have somebody on shift) in which a rule can match while its team and all of its
fallbacks have nobody. They are computed over the week shown, in wall-clock minutes after
Monday 00:00 of the grid's time zone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import pairwise

from supportctl.config.model.stack import StackBase
from supportctl.config.timespec import zone
from supportctl.routing.calendar import Calendar, Flat, any_of, merge
from supportctl.routing.coverage import (
    WEEK_MINUTES,
    Gap,
    ReferenceWeek,
    WeekCoverage,
    describe,
    gaps_in,
    reference_week,
)
from supportctl.routing.schedules import (
    CompiledSchedule,
    TeamSchedule,
    compile_schedules,
    compile_teams,
    first_instant,
)

HOURS = 24
DAYS = 7


@dataclass(frozen=True, slots=True)
class GridWeek:
    """Monday 00:00 to the next Monday 00:00 in a time zone, and its 7 x 24 hour cells."""

    timezone: str
    monday: date
    reference: bool
    """The H706 reference week, weekly hours only; else a concrete week with every date."""
    start: int
    end: int
    """Epoch seconds of Monday 00:00 and of the next Monday 00:00."""
    cells: tuple[tuple[tuple[int, int] | None, ...], ...]
    """Per day, per hour: (start, end) epoch seconds, or None for an hour that does not exist."""
    transitions: tuple[int, ...] = ()
    """Epoch seconds inside the week at which the time zone's UTC offset changes."""

    @property
    def days(self) -> tuple[date, ...]:
        return tuple(self.monday + timedelta(days=d) for d in range(DAYS))

    def instant(self, minutes: int) -> datetime:
        """The first instant at which the clock shows this many minutes after Monday 00:00."""
        where = zone(self.timezone)
        local = datetime.combine(self.monday, time()) + timedelta(minutes=minutes)
        return datetime.fromtimestamp(first_instant(where, local), where)


@dataclass(frozen=True, slots=True)
class Row:
    """On-duty counts of a team, or of the agents who speak a language."""

    kind: str
    """`team` or `language`."""
    id: str
    name: str | None
    agents: tuple[str, ...]
    """The agents counted: the team's agents with shifts, or those who speak the language."""
    hours: tuple[tuple[int | None, ...], ...]
    """Per day, per hour: the fewest agents on shift at any moment of it (None: no such hour)."""


@dataclass(frozen=True, slots=True)
class GridGap:
    """A gap of the week shown: a rule can match and its teams have nobody on shift."""

    gap: Gap
    """With `minutes`: wall-clock minutes after Monday 00:00 in the grid's time zone."""
    hours: str
    """`Mon-Fri 16:00-24:00`: the minutes day by day."""
    intervals: tuple[tuple[datetime, datetime], ...]


@dataclass(frozen=True, slots=True)
class CoverageGrid:
    """Everything `supportctl coverage` shows."""

    week: GridWeek
    teams: tuple[Row, ...]
    languages: tuple[Row, ...]
    gaps: tuple[GridGap, ...]


def _week(timezone: str, monday: date, reference: bool) -> GridWeek:
    where = zone(timezone)
    midnight = datetime.combine(monday, time())
    bounds = [first_instant(where, midnight + timedelta(hours=h))
              for h in range(DAYS * HOURS + 1)]
    cells = tuple(tuple(
        (bounds[d * HOURS + h], bounds[d * HOURS + h + 1])
        if bounds[d * HOURS + h + 1] > bounds[d * HOURS + h] else None
        for h in range(HOURS)) for d in range(DAYS))
    return GridWeek(timezone, monday, reference, bounds[0], bounds[-1], cells,
                    tuple(_transitions(where, bounds[0], bounds[-1])))


def concrete_week(timezone: str, day: date) -> GridWeek:
    """The week (Monday to Sunday) containing `day`, in that time zone."""
    return _week(timezone, day - timedelta(days=day.weekday()), reference=False)


def reference_grid_week(stack: StackBase, timezone: str | None = None) -> GridWeek:
    """The H706 reference week, shown in `timezone` (the workspace's by default)."""
    shown = timezone or stack.workspace.timezone
    zones = {s.zone for s in compile_schedules(stack, weekly_only=True).values()}
    zones.add(zone(stack.workspace.timezone))
    return _week(shown, reference_week(shown, zones).monday, reference=True)


def counts(calendars: Sequence[Calendar], week: GridWeek) -> tuple[tuple[int | None, ...], ...]:
    """Per cell of the week, the fewest of the calendars open at any moment of it."""
    changes: dict[float, int] = {}
    for calendar in calendars:
        for low, high in calendar.spans(week.start, week.end):
            changes[low] = changes.get(low, 0) + 1
            changes[high] = changes.get(high, 0) - 1
    times = sorted(changes)
    levels = []  # the count from times[i] until times[i + 1]
    level = 0
    for instant in times:
        level += changes[instant]
        levels.append(level)
    grid = []
    index = 0
    for day in week.cells:
        row: list[int | None] = []
        for cell in day:
            if cell is None:
                row.append(None)
                continue
            low, high = cell
            while index < len(times) and times[index] <= low:
                index += 1
            fewest = levels[index - 1] if index else 0
            scan = index
            while scan < len(times) and times[scan] < high:
                fewest = min(fewest, levels[scan])
                scan += 1
            row.append(fewest)
        grid.append(tuple(row))
    return tuple(grid)


def _transitions(where: tzinfo, start: int, end: int) -> list[int]:
    """Instants in (start, end) at which the zone's UTC offset changes (to the second)."""
    def offset(seconds: int) -> timedelta | None:
        return datetime.fromtimestamp(seconds, where).utcoffset()

    found = []
    step = 900
    low = start
    while low < end:
        high = min(low + step, end)
        if offset(low) != offset(high):
            a, b = low, high
            while b - a > 1:
                middle = (a + b) // 2
                if offset(middle) == offset(a):
                    a = middle
                else:
                    b = middle
            found.append(b)
        low = high
    return found


def wall_minutes(calendar: Calendar, week: GridWeek) -> Flat:
    """When the calendar is open during the week, in wall-clock minutes after Monday 00:00.

    A stretch open across a spring-forward jump covers the skipped wall-clock times too (they
    do not exist, so nothing is claimed about them); across a fall-back, the repeated times
    are covered when either occurrence is.
    """
    where = zone(week.timezone)
    cuts = week.transitions
    midnight = datetime.combine(week.monday, time())
    pairs = []
    for low, high in calendar.spans(week.start, week.end):
        edges = [low, *(c for c in cuts if low < c < high), high]
        previous: int | None = None
        for a, b in pairwise(edges):
            local = datetime.fromtimestamp(a, where).replace(tzinfo=None)
            first = (local - midnight).total_seconds() / 60
            start, end = math.floor(first), math.ceil(first + (b - a) / 60)
            if previous is not None and start > previous:
                pairs.append((previous, start))  # wall-clock times the clock skipped
            pairs.append((start, end))
            previous = end
    return merge((max(s, 0), min(e, WEEK_MINUTES)) for s, e in pairs)


def _intervals(minutes: Flat, week: GridWeek) -> tuple[tuple[datetime, datetime], ...]:
    return tuple((week.instant(s), week.instant(e)) for s, e in zip(
        minutes[::2], minutes[1::2], strict=True))


def _speakers(stack: StackBase, language: str) -> tuple[str, ...]:
    return tuple(a for a, agent in stack.agents.items() if language in agent.languages)


def coverage_grid(stack: StackBase, timezone: str | None = None,
                  day: date | None = None) -> CoverageGrid:
    """The grid of a checked stack: the reference week, or the week containing `day`."""
    shown = timezone or stack.workspace.timezone
    week = (concrete_week(shown, day) if day is not None
            else reference_grid_week(stack, shown))
    schedules: Mapping[str, CompiledSchedule] = compile_schedules(
        stack, weekly_only=week.reference)
    teams: Mapping[str, TeamSchedule] = compile_teams(stack, schedules)
    team_rows = tuple(
        Row("team", team_id, stack.teams[team_id].name, view.agents,
            counts([view.agent_calendar(a) for a in view.agents], week))
        for team_id, view in teams.items())
    on_duty = {agent: any_of([view.agent_calendar(agent) for view in teams.values()
                              if agent in view.agents]) for agent in stack.agents}
    language_rows = tuple(
        Row("language", language, None, _speakers(stack, language),
            counts([on_duty[a] for a in _speakers(stack, language)], week))
        for language in stack.workspace.languages)
    measured = WeekCoverage(
        ReferenceWeek(shown, week.monday, week.start),
        {sid: wall_minutes(c, week) for sid, c in schedules.items()},
        {tid: wall_minutes(view.staffed, week) for tid, view in teams.items()})
    gaps = tuple(GridGap(g, describe(g.minutes), _intervals(g.minutes, week))
                 for g in gaps_in(stack, measured))
    return CoverageGrid(week, team_rows, language_rows, gaps)


def gap_cells(grid: CoverageGrid) -> set[tuple[int, int]]:
    """(day, hour) cells that a gap touches."""
    touched = set()
    for gap in grid.gaps:
        for s, e in zip(gap.gap.minutes[::2], gap.gap.minutes[1::2], strict=True):
            for hour in range(s // 60, -(-e // 60)):
                touched.add((hour // HOURS, hour % HOURS))
    return touched
