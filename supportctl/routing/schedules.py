"""Compiled schedules: weekly wall-clock windows, open dates and overrides, in a time zone.

A `CompiledSchedule` is built once from a `Schedule` of the stack and is then a read-only
`Calendar`: `is_open(t)`, `next_open(t)`, `next_close(t)` and `intervals(start, end)`.

Wall-clock semantics (see docs/schedules.md): a window `HH:MM-HH:MM` belongs to the date it
starts on; its start and end are each the *first instant at which the wall clock shows that
time or later* on that date. So a window covers the wall-clock hours that exist that day:
shorter on a spring-forward day, longer on a fall-back day, and two windows that meet on the
wall clock (`16:00-24:00`, `00:00-08:00`) meet in real time too, whatever the clocks do.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from supportctl.config.timespec import (
    END_OF_DAY,
    parse_date,
    parse_date_range,
    parse_days,
    parse_time_range,
    zone,
)
from supportctl.routing.calendar import (
    DAY,
    NEVER,
    NO_HORIZON,
    Calendar,
    Flat,
    any_of,
    merge,
    pairs_of,
    timestamp,
    without,
)

if TYPE_CHECKING:
    from supportctl.config.model.people import Team
    from supportctl.config.model.schedules import Schedule
    from supportctl.config.model.stack import StackBase

_EPOCH = date(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_LAST_DAY = date.max - timedelta(days=3)  # leave room for windows that end two days later
_WHOLE_DAY: tuple[tuple[int, int], ...] = ((0, END_OF_DAY),)
_FAR = -NO_HORIZON

Windows = tuple[tuple[int, int], ...]
"""Wall-clock windows of one date: (start, end) minutes after its midnight, end up to < 2880."""


class ScheduleError(ValueError):
    """A schedule that cannot be compiled (bad time zone, range, day or date)."""


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _windows(ranges: Iterable[str]) -> Windows:
    """`["22:00-06:00", "08:00-12:00"]` -> ((480, 720), (1320, 1800)): overnight ends + 24h."""
    pairs = []
    for text in ranges:
        span = parse_time_range(text)
        pairs.append((span.start, span.end + END_OF_DAY if span.crosses_midnight else span.end))
    return tuple(pairs_of(merge(pairs)))


def first_instant(where: tzinfo, local: datetime) -> int:
    """Epoch seconds of the first instant at which the wall clock in `where` shows `local` or
    later: the earlier of two for a repeated time, the moment of the jump for a skipped one."""
    candidates = [int(local.replace(tzinfo=where, fold=fold).timestamp()) for fold in (0, 1)]
    if candidates[0] == candidates[1]:
        return candidates[0]  # neither skipped nor repeated: the one instant (PEP 495)
    found = [s for s in candidates if _wall(where, s) == local]
    if found:
        return min(found)
    low, high = min(candidates), max(candidates)  # the clock jumps over `local` in between
    while high - low > 1:
        middle = (low + high) // 2
        if _wall(where, middle) >= local:
            high = middle
        else:
            low = middle
    return high


def _wall(where: tzinfo, seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, where).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class _Dated:
    """Dates with their own hours: open dates (whole days) and overrides."""

    open_ranges: tuple[tuple[int, int], ...]  # (first, last) ordinals, merged, inclusive
    overrides: Mapping[int, Windows]  # ordinal -> windows replacing the weekly ones
    active: tuple[tuple[int, int], ...]  # (first, last) ordinals of dates that may open
    active_ends: tuple[int, ...]

    def is_open_date(self, ordinal: int) -> bool:
        index = bisect_left(self.open_ranges, (ordinal + 1,)) - 1
        return index >= 0 and self.open_ranges[index][1] >= ordinal

    @property
    def last(self) -> int | None:
        ends = [last for _, last in self.open_ranges] + list(self.overrides)
        return max(ends, default=None)


class CompiledSchedule(Calendar):
    """A schedule compiled for fast questions about instants; build with `compile_schedule`."""

    __slots__ = ("_dated", "_horizon", "_weekdays_open", "name", "weekly", "zone")

    def __init__(self, where: tzinfo, weekly: Sequence[Windows], dated: _Dated,
                 name: str = "") -> None:
        super().__init__()
        self.zone = where
        self.name = name
        self.weekly: tuple[Windows, ...] = tuple(weekly)
        """Windows starting on each weekday, Monday first."""
        self._dated = dated
        self._weekdays_open = any(self.weekly)
        last = dated.last
        # dated entries reach at most two local days (< 1 UTC day each side) past their date
        self._horizon = NO_HORIZON if last is None else last - _EPOCH_ORDINAL + 3

    def __repr__(self) -> str:
        return f"CompiledSchedule({self.name or '?'}, {self.zone})"

    @property
    def horizon(self) -> int:
        return self._horizon

    def windows_on(self, day: date) -> Windows:
        """The wall-clock windows that start on a local date, after overrides and open dates."""
        ordinal = day.toordinal()
        override = self._dated.overrides.get(ordinal)
        if override is not None:
            return override
        weekly = self.weekly[day.weekday()]
        if self._dated.open_ranges and self._dated.is_open_date(ordinal):
            return tuple(pairs_of(merge((*weekly, *_WHOLE_DAY))))
        return weekly

    def _compute_day(self, day: int) -> Flat:
        low, high = day * DAY, (day + 1) * DAY
        try:
            first = datetime.fromtimestamp(low, self.zone).date() - timedelta(days=1)
            last = min(datetime.fromtimestamp(high, self.zone).date() + timedelta(days=1),
                       _LAST_DAY)
        except (OverflowError, ValueError, OSError):
            return ()  # beyond the years datetime knows: nothing is open there
        pairs = []
        local = first
        while local <= last:
            midnight = datetime.combine(local, time())
            for start, end in self.windows_on(local):
                opens = first_instant(self.zone, midnight + timedelta(minutes=start))
                closes = first_instant(self.zone, midnight + timedelta(minutes=end))
                if closes > low and opens < high:
                    pairs.append((max(opens, low), min(closes, high)))
            local += timedelta(days=1)
        return merge(pairs)

    def skip(self, day: int) -> int:
        if self._weekdays_open:
            return day
        # without weekly hours only dated entries open; they reach < 2 UTC days past their date
        ordinal = day + _EPOCH_ORDINAL - 2
        index = bisect_left(self._dated.active_ends, ordinal)
        if index == len(self._dated.active):
            return _FAR
        return max(day, self._dated.active[index][0] - _EPOCH_ORDINAL - 1)


def compile_schedule(schedule: Schedule, default_timezone: str, *, name: str = "",
                     weekly_only: bool = False) -> CompiledSchedule:
    """Compile a schedule of the stack; `weekly_only` drops its dates and overrides.

    Raises ScheduleError for anything the H70x checks report (unknown zone, bad range...).
    """
    try:
        where = zone(schedule.timezone or default_timezone)
        weekly: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for hours in schedule.hours:
            windows = _windows(_as_list(hours.time))
            for days in _as_list(hours.days):
                for weekday in parse_days(days):
                    weekly[weekday].extend(windows)
        open_ranges: list[tuple[int, int]] = []
        overrides: dict[int, Windows] = {}
        if not weekly_only:
            for text in schedule.dates:
                first, last = parse_date_range(text)
                open_ranges.append((first.toordinal(), last.toordinal()))
            for override in schedule.overrides:
                ordinal = parse_date(override.date).toordinal()
                overrides[ordinal] = () if override.closed else _windows(
                    _as_list(override.time))
    except ValueError as exc:
        label = f"schedule {name!r}: " if name else ""
        raise ScheduleError(f"{label}{exc}") from None
    merged = merge((first, last + 1) for first, last in open_ranges)
    ranges = tuple((first, end - 1) for first, end in pairs_of(merged))
    # dates on which something may open, for skipping empty stretches in searches
    active = tuple((first, end - 1) for first, end in pairs_of(merge(
        [(first, last + 1) for first, last in ranges] +
        [(ordinal, ordinal + 1) for ordinal, windows in overrides.items() if windows])))
    dated = _Dated(ranges, overrides, active, tuple(last for _, last in active))
    return CompiledSchedule(where, [tuple(pairs_of(merge(w))) for w in weekly], dated, name)


def compile_schedules(stack: StackBase, *, weekly_only: bool = False
                      ) -> dict[str, CompiledSchedule]:
    """Every schedule of a checked stack, in the workspace time zone unless it names one."""
    return {schedule_id: compile_schedule(schedule, stack.workspace.timezone, name=schedule_id,
                                          weekly_only=weekly_only)
            for schedule_id, schedule in stack.schedules.items()}


@dataclass(frozen=True, slots=True)
class ShiftCalendar:
    """One shift of a team: its schedule and who works it."""

    schedule: str
    calendar: Calendar
    agents: tuple[str, ...]


class TeamSchedule:
    """A team's on-duty view: which agents are on shift at an instant, holidays applied.

    `staffed` is open whenever at least one agent is on shift: the union of the shifts minus
    the team's `closed_on` calendars (each in its own time zone).
    """

    __slots__ = ("_agents", "closed", "shifts", "staffed", "team")

    def __init__(self, team: str, shifts: Sequence[ShiftCalendar],
                 closed: Sequence[tuple[str, Calendar]]) -> None:
        self.team = team
        self.shifts = tuple(shifts)
        self.closed = tuple(closed)
        closed_union = any_of([calendar for _, calendar in self.closed])
        self.staffed: Calendar = without(any_of([s.calendar for s in self.shifts]),
                                         closed_union)
        agents: dict[str, Calendar] = {}
        for agent in dict.fromkeys(a for s in self.shifts for a in s.agents):
            worked = [s.calendar for s in self.shifts if agent in s.agents]
            agents[agent] = without(any_of(worked), closed_union)
        self._agents = agents

    def __repr__(self) -> str:
        return f"TeamSchedule({self.team})"

    @property
    def agents(self) -> tuple[str, ...]:
        """Every agent with a shift in this team, in order of first appearance."""
        return tuple(self._agents)

    def closed_by(self, instant: datetime) -> str | None:
        """The `closed_on` schedule that closes the team at this instant, if any."""
        seconds = timestamp(instant)
        return next((name for name, calendar in self.closed if calendar.is_open_at(seconds)),
                    None)

    def on_shift(self, instant: datetime) -> tuple[str, ...]:
        """Agents on shift at this instant, in order of first appearance in the shifts."""
        return self.on_shift_at(timestamp(instant))

    def on_shift_at(self, seconds: float) -> tuple[str, ...]:
        """`on_shift` at an epoch timestamp."""
        for _, calendar in self.closed:
            if calendar.is_open_at(seconds):
                return ()
        found: dict[str, None] = {}
        for shift in self.shifts:
            if shift.calendar.is_open_at(seconds):
                found.update(dict.fromkeys(shift.agents))
        return tuple(found)

    def agent_calendar(self, agent: str) -> Calendar:
        """When this agent is on shift in this team (never, for an agent without shifts)."""
        return self._agents.get(agent, NEVER)


def compile_team(team_id: str, team: Team,
                 schedules: Mapping[str, Calendar]) -> TeamSchedule:
    """A team's on-duty view from compiled schedules; raises ScheduleError for unknown ids."""
    def find(schedule_id: str) -> Calendar:
        calendar = schedules.get(schedule_id)
        if calendar is None:
            raise ScheduleError(f"team {team_id!r}: unknown schedule {schedule_id!r}")
        return calendar

    shifts = [ShiftCalendar(s.schedule, find(s.schedule), tuple(s.agents)) for s in team.shifts]
    closed = [(schedule_id, find(schedule_id)) for schedule_id in team.closed_on]
    return TeamSchedule(team_id, shifts, closed)


def compile_teams(stack: StackBase, schedules: Mapping[str, Calendar]
                  ) -> dict[str, TeamSchedule]:
    """Every team of a checked stack."""
    return {team_id: compile_team(team_id, team, schedules)
            for team_id, team in stack.teams.items()}
