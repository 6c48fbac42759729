"""Property tests: is_open, next_open, next_close and intervals agree, for random schedules.

Instants cluster around the 2026 clock changes of each zone; away from clock changes the
answer is also checked against a naive wall-clock reading of the schedule.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportctl.config.model.common import as_list
from supportctl.config.model.people import Team
from supportctl.config.model.schedules import Schedule
from supportctl.config.timespec import DAY_NAMES, parse_days, parse_time_range
from supportctl.routing.schedules import CompiledSchedule, compile_schedule, compile_team


def clock_changes(name: str) -> list[datetime]:
    """The instants of 2026 at which the zone's UTC offset changes."""
    zone = ZoneInfo(name)

    def offset(t: datetime) -> timedelta | None:
        return t.astimezone(zone).utcoffset()

    changes = []
    t = datetime(2026, 1, 1, tzinfo=UTC)
    while t.year == 2026:
        after = t + timedelta(hours=1)
        if offset(after) != offset(t):
            change = t
            while offset(change) == offset(t):
                change += timedelta(minutes=1)
            changes.append(change)
        t = after
    return changes


# Lord Howe moves its clocks by 30 minutes, Santiago at midnight
ZONES = {name: clock_changes(name) for name in (
    "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata",
    "Australia/Lord_Howe", "America/Santiago", "UTC")}
TICK = timedelta(microseconds=1)
SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def time_ranges(draw: st.DrawFn) -> str:
    start = draw(st.integers(0, 95)) * 15
    end = draw(st.integers(1, 96).filter(lambda e: e * 15 != start)) * 15
    return f"{clock(start)}-{clock(end)}"


@st.composite
def day_lists(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        first, last = draw(st.sampled_from(DAY_NAMES)), draw(st.sampled_from(DAY_NAMES))
        return f"{first}-{last}" if first != last else first
    return ",".join(draw(st.lists(st.sampled_from(DAY_NAMES), min_size=1, max_size=3,
                                  unique=True)))


dates_2026 = st.dates(date(2026, 1, 1), date(2026, 12, 31))


@st.composite
def schedules(draw: st.DrawFn) -> dict[str, Any]:
    hours = draw(st.lists(st.fixed_dictionaries({
        "days": st.one_of(day_lists(), st.lists(day_lists(), min_size=1, max_size=2)),
        "time": st.one_of(time_ranges(), st.lists(time_ranges(), min_size=1, max_size=3)),
    }), max_size=3))
    dates = [d.isoformat() for d in draw(st.lists(dates_2026, max_size=3, unique=True))]
    if draw(st.booleans()):
        first = draw(dates_2026)
        dates.append(f"{first}..{first + timedelta(days=draw(st.integers(0, 5)))}")
    overrides = []
    for day in draw(st.lists(dates_2026, max_size=3, unique=True)):
        if draw(st.booleans()):
            overrides.append({"date": day.isoformat(), "closed": True})
        else:
            overrides.append({"date": day.isoformat(),
                              "time": draw(st.lists(time_ranges(), min_size=1, max_size=2))})
    return {"timezone": draw(st.sampled_from(sorted(ZONES))), "hours": hours,
            "dates": dates, "overrides": overrides}


@st.composite
def instants(draw: st.DrawFn, zone_name: str) -> datetime:
    """Near a clock change of the zone, on a boundary-friendly grid, or anywhere in 2026."""
    changes = ZONES[zone_name]
    if changes and draw(st.booleans()):
        base = draw(st.sampled_from(changes))
        offset = timedelta(minutes=15 * draw(st.integers(-4 * 72, 4 * 72)))
    else:
        base = datetime(2026, 1, 1, tzinfo=UTC)
        offset = timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 365)))
    jitter = draw(st.sampled_from([timedelta(0), timedelta(0), TICK, -TICK,
                                   timedelta(seconds=draw(st.integers(0, 899)))]))
    return base + offset + jitter


def compiled(fields: dict[str, Any]) -> CompiledSchedule:
    return compile_schedule(Schedule.model_validate(fields), "UTC")


@SETTINGS
@given(st.data())
def test_next_open_is_the_first_open_instant(data: st.DataObject) -> None:
    fields = data.draw(schedules())
    calendar = compiled(fields)
    t = data.draw(instants(fields["timezone"]))
    opening = calendar.next_open(t)
    if opening is None:
        assert not calendar.is_open(t)
        assert not calendar.is_open(t + timedelta(days=400))
        return
    assert opening >= t
    assert calendar.is_open(opening)
    if opening > t:
        assert not calendar.is_open(t)
        assert not calendar.is_open(opening - TICK)
        assert not calendar.is_open(t + (opening - t) / 2)
    else:
        assert calendar.is_open(t)


@SETTINGS
@given(st.data())
def test_next_close_is_the_first_closed_instant(data: st.DataObject) -> None:
    fields = data.draw(schedules())
    calendar = compiled(fields)
    t = data.draw(instants(fields["timezone"]))
    closing = calendar.next_close(t)
    if closing is None:
        assert calendar.is_open(t)
        assert calendar.is_open(t + timedelta(days=400))
        return
    assert closing >= t
    assert not calendar.is_open(closing)
    if closing > t:
        assert calendar.is_open(t)
        assert calendar.is_open(closing - TICK)
        assert calendar.is_open(t + (closing - t) / 2)
        assert calendar.next_open(t) == t.astimezone(UTC)


@SETTINGS
@given(st.data())
def test_intervals_are_exactly_the_open_instants(data: st.DataObject) -> None:
    fields = data.draw(schedules())
    calendar = compiled(fields)
    start = data.draw(instants(fields["timezone"]))
    end = start + timedelta(days=3)
    previous_end = None
    for low, high in calendar.intervals(start, end):
        assert start <= low < high <= end
        assert previous_end is None or previous_end < low  # merged: never touching
        assert calendar.is_open(low) and calendar.is_open(high - TICK)
        if low > start:
            assert not calendar.is_open(low - TICK)
            assert calendar.next_open(start if previous_end is None else previous_end) == low
        if high < end:
            assert not calendar.is_open(high)
            assert calendar.next_close(low) == high
        previous_end = high
    if previous_end is None:
        assert not calendar.is_open(start)
        opening = calendar.next_open(start)
        assert opening is None or opening >= end


def wall_windows(fields: dict[str, Any], day: date) -> list[tuple[int, int]]:
    """The windows starting on a local date, read from the stack model by hand."""
    for override in fields["overrides"]:
        if override["date"] == day.isoformat():
            return [] if override.get("closed") else ranges(as_list(override["time"]))
    windows = []
    for hours in fields["hours"]:
        if any(day.weekday() in parse_days(d) for d in as_list(hours["days"])):
            windows.extend(ranges(as_list(hours["time"])))
    for text in fields["dates"]:
        first, _, last = text.partition("..")
        if date.fromisoformat(first) <= day <= date.fromisoformat(last or first):
            windows.append((0, 1440))
    return windows


def ranges(texts: list[str]) -> list[tuple[int, int]]:
    spans = [parse_time_range(text) for text in texts]
    return [(s.start, s.end + 1440 if s.crosses_midnight else s.end) for s in spans]


def steady(zone: ZoneInfo, t: datetime) -> bool:
    return len({(t + timedelta(hours=h)).astimezone(zone).utcoffset()
                for h in range(-72, 73, 1)}) == 1


@SETTINGS
@given(st.data())
def test_away_from_clock_changes_it_reads_the_wall_clock(data: st.DataObject) -> None:
    fields = data.draw(schedules())
    calendar = compiled(fields)
    zone = ZoneInfo(fields["timezone"])
    t = data.draw(instants(fields["timezone"]))
    if not steady(zone, t):
        return
    local = t.astimezone(zone).replace(tzinfo=None)
    expected = False
    for back in (1, 0):
        day = local.date() - timedelta(days=back)
        midnight = datetime(day.year, day.month, day.day)
        expected = expected or any(
            midnight + timedelta(minutes=s) <= local < midnight + timedelta(minutes=e)
            for s, e in wall_windows(fields, day))
    assert calendar.is_open(t) == expected


@settings(SETTINGS, max_examples=25)
@given(st.data())
def test_a_team_has_agents_on_shift_exactly_when_it_is_staffed(data: st.DataObject) -> None:
    shift_fields = data.draw(st.lists(schedules(), min_size=1, max_size=3))
    holiday_fields = data.draw(schedules())
    calendars = {f"s{i}": compiled(f) for i, f in enumerate(shift_fields)}
    calendars["off"] = compiled(holiday_fields)
    team = compile_team("t", Team.model_validate({
        "shifts": [{"schedule": f"s{i}", "agents": [f"a{i}", "both"]}
                   for i in range(len(shift_fields))],
        "closed_on": ["off"]}), calendars)
    t = data.draw(instants(shift_fields[0]["timezone"]))
    on_shift = team.on_shift(t)
    assert bool(on_shift) == team.staffed.is_open(t)
    assert (team.closed_by(t) == "off") == calendars["off"].is_open(t)
    expected = () if calendars["off"].is_open(t) else tuple(dict.fromkeys(
        agent for i in range(len(shift_fields)) if calendars[f"s{i}"].is_open(t)
        for agent in (f"a{i}", "both")))
    assert on_shift == expected
    for agent in team.agents:
        assert team.agent_calendar(agent).is_open(t) == (agent in on_shift)
