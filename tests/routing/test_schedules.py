"""Compiled schedules: known answers, across both 2026 clock changes of four time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from supportctl.config.model.people import Team
from supportctl.config.model.schedules import Schedule
from supportctl.routing.calendar import NEVER
from supportctl.routing.schedules import (
    CompiledSchedule,
    ScheduleError,
    compile_schedule,
    compile_team,
    first_instant,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
KOLKATA = ZoneInfo("Asia/Kolkata")
HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)


def schedule(timezone: str = "Europe/Berlin", **fields: Any) -> CompiledSchedule:
    return compile_schedule(Schedule.model_validate(fields), timezone)


def at(where: ZoneInfo, *parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=where, fold=fold)


def stamp(instant: datetime | None) -> float:
    assert instant is not None
    return instant.timestamp()


def spans(calendar: Any, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    where = start.tzinfo
    return [(a.astimezone(where), b.astimezone(where)) for a, b in calendar.intervals(start, end)]


def lengths(calendar: Any, start: datetime, end: datetime) -> list[timedelta]:
    return [b - a for a, b in calendar.intervals(start, end)]


# --- weekly hours, overnight windows, 24:00 ---------------------------------------------------

def test_weekly_windows_with_several_ranges_a_day() -> None:
    office = schedule(hours=[{"days": "mon-fri", "time": ["08:00-12:00", "13:00-17:00"]},
                             {"days": ["sat"], "time": "10:00-14:00"}])
    monday = at(BERLIN, 2026, 1, 12)
    assert spans(office, monday, monday + timedelta(days=7)) == [
        *[(monday + timedelta(days=d, hours=h0), monday + timedelta(days=d, hours=h1))
          for d in range(5) for h0, h1 in ((8, 12), (13, 17))],
        (at(BERLIN, 2026, 1, 17, 10), at(BERLIN, 2026, 1, 17, 14))]
    assert office.is_open(at(BERLIN, 2026, 1, 12, 8))
    assert not office.is_open(at(BERLIN, 2026, 1, 12, 12))
    assert not office.is_open(at(BERLIN, 2026, 1, 18, 11))


def test_an_overnight_window_belongs_to_the_day_it_starts() -> None:
    night = schedule(hours=[{"days": "fri", "time": "22:00-06:00"}])
    assert night.is_open(at(BERLIN, 2026, 1, 16, 22))
    assert night.is_open(at(BERLIN, 2026, 1, 17, 5, 59))  # Saturday morning: Friday's night
    assert not night.is_open(at(BERLIN, 2026, 1, 17, 6))
    assert not night.is_open(at(BERLIN, 2026, 1, 16, 3))  # Friday morning is Thursday's night
    assert not night.is_open(at(BERLIN, 2026, 1, 17, 23))


def test_sunday_night_crosses_into_monday_of_the_next_week() -> None:
    night = schedule("Asia/Kolkata", hours=[{"days": "sun", "time": "22:00-06:00"}])
    assert night.is_open(at(KOLKATA, 2026, 1, 19, 3))
    assert night.next_close(at(KOLKATA, 2026, 1, 18, 23)) == at(KOLKATA, 2026, 1, 19, 6)
    assert night.next_open(at(KOLKATA, 2026, 1, 19, 6)) == at(KOLKATA, 2026, 1, 25, 22)


def test_24_00_ends_the_day_and_meets_the_next_window() -> None:
    late_and_night = schedule(hours=[{"days": "mon", "time": "16:00-24:00"},
                                     {"days": "tue", "time": "00:00-08:00"}])
    start = at(BERLIN, 2026, 1, 12)
    assert spans(late_and_night, start, start + timedelta(days=2)) == [
        (at(BERLIN, 2026, 1, 12, 16), at(BERLIN, 2026, 1, 13, 8))]
    assert late_and_night.next_close(at(BERLIN, 2026, 1, 12, 23)) == at(BERLIN, 2026, 1, 13, 8)


def test_a_whole_week_never_closes_and_an_empty_schedule_never_opens() -> None:
    always = schedule(hours=[{"days": "daily", "time": "00:00-24:00"}])
    now = at(BERLIN, 2026, 3, 29, 3, 30)
    assert always.is_open(now)
    assert always.next_open(now) == now
    assert always.next_close(now) is None
    empty = schedule()
    assert not empty.is_open(now)
    assert empty.next_open(now) is None
    assert empty.next_close(now) == now
    assert list(empty.intervals(now, now + timedelta(days=30))) == []


def test_results_are_utc_and_naive_instants_are_refused() -> None:
    office = schedule(hours=[{"days": "mon-fri", "time": "09:00-17:00"}])
    opening = office.next_open(at(BERLIN, 2026, 1, 17, 12))
    assert opening == at(BERLIN, 2026, 1, 19, 9)
    assert opening is not None and opening.tzinfo is UTC
    precise = at(BERLIN, 2026, 1, 19, 10, 0, 0, 123457)
    assert office.next_open(precise) == precise
    assert office.next_open(precise).microsecond == 123457  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="no time zone"):
        office.is_open(datetime(2026, 1, 19, 10))


# --- dates and overrides ----------------------------------------------------------------------

def test_dates_and_ranges_open_whole_days_in_the_schedules_zone() -> None:
    extra = schedule("America/New_York", dates=["2026-12-24", "2026-12-30..2027-01-01"])
    assert extra.is_open(at(NEW_YORK, 2026, 12, 24, 0))
    assert not extra.is_open(at(NEW_YORK, 2026, 12, 25, 0))
    assert extra.next_open(at(NEW_YORK, 2026, 12, 25)) == at(NEW_YORK, 2026, 12, 30)
    assert extra.next_close(at(NEW_YORK, 2026, 12, 30, 12)) == at(NEW_YORK, 2027, 1, 2)
    assert extra.next_open(at(NEW_YORK, 2027, 1, 2)) is None
    # far apart dates are found without walking every day in between
    assert schedule(dates=["2036-05-01"]).next_open(at(BERLIN, 2026, 1, 1)) == \
        at(BERLIN, 2036, 5, 1)


def test_an_open_date_adds_a_whole_day_to_the_weekly_hours() -> None:
    nights = schedule(hours=[{"days": "fri", "time": "22:00-06:00"}], dates=["2026-01-16"])
    assert spans(nights, at(BERLIN, 2026, 1, 16), at(BERLIN, 2026, 1, 18)) == [
        (at(BERLIN, 2026, 1, 16), at(BERLIN, 2026, 1, 17, 6))]


def test_an_override_replaces_the_hours_of_its_date_only() -> None:
    shop = schedule(hours=[{"days": "mon-fri", "time": "08:00-16:00"},
                           {"days": "wed", "time": "22:00-06:00"}],
                    overrides=[{"date": "2026-12-24", "time": "08:00-12:00"},
                               {"date": "2026-12-25", "closed": True}],
                    dates=["2026-12-25"])
    assert spans(shop, at(BERLIN, 2026, 12, 23), at(BERLIN, 2026, 12, 26)) == [
        (at(BERLIN, 2026, 12, 23, 8), at(BERLIN, 2026, 12, 23, 16)),
        # Wednesday's night shift still runs into the overridden Thursday
        (at(BERLIN, 2026, 12, 23, 22), at(BERLIN, 2026, 12, 24, 6)),
        (at(BERLIN, 2026, 12, 24, 8), at(BERLIN, 2026, 12, 24, 12))]
    # the override decides its date alone: listing the date as open does not reopen it
    assert not shop.is_open(at(BERLIN, 2026, 12, 25, 10))


def test_invalid_schedules_do_not_compile() -> None:
    with pytest.raises(ScheduleError, match="'nights': 'Mars/Base' is not an IANA time zone"):
        compile_schedule(Schedule.model_validate({"timezone": "Mars/Base"}), "UTC",
                         name="nights")
    with pytest.raises(ScheduleError, match="hours must be 00-23"):
        schedule(hours=[{"days": "mon", "time": "25:00-26:00"}])


# --- daylight-saving time ---------------------------------------------------------------------
# Europe/Berlin: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00
# America/New_York: 2026-03-08 02:00 -> 03:00, 2026-11-01 02:00 -> 01:00
# Australia/Sydney: 2026-04-05 03:00 -> 02:00 (DST ends), 2026-10-04 02:00 -> 03:00 (begins)

@pytest.mark.parametrize(("where", "spring", "autumn"), [
    (BERLIN, (2026, 3, 29), (2026, 10, 25)),
    (NEW_YORK, (2026, 3, 8), (2026, 11, 1)),
    (SYDNEY, (2026, 10, 4), (2026, 4, 5)),
])
def test_a_window_covers_the_wall_clock_hours_that_exist(
        where: ZoneInfo, spring: tuple[int, int, int], autumn: tuple[int, int, int]) -> None:
    early = schedule(str(where), hours=[{"days": "daily", "time": "00:00-06:00"}])
    day = schedule(str(where), hours=[{"days": "daily", "time": "08:00-16:00"}])
    short, long = at(where, *spring), at(where, *autumn)
    assert lengths(early, short, short + timedelta(hours=12)) == [5 * HOUR]
    assert lengths(early, long, long + timedelta(hours=12)) == [7 * HOUR]
    assert lengths(day, short, short + timedelta(days=1)) == [8 * HOUR]
    assert lengths(day, long, long + timedelta(days=1)) == [8 * HOUR]


def test_spring_forward_in_berlin() -> None:
    morning = schedule(hours=[{"days": "sun", "time": "00:00-08:00"}])
    assert lengths(morning, at(BERLIN, 2026, 3, 29), at(BERLIN, 2026, 3, 30)) == [7 * HOUR]
    assert morning.is_open(at(BERLIN, 2026, 3, 29, 1, 59))
    assert morning.is_open(at(BERLIN, 2026, 3, 29, 3, 0))
    # a window starting in the skipped hour starts when the clock jumps
    skipped = schedule(hours=[{"days": "sun", "time": "02:30-04:00"}])
    assert spans(skipped, at(BERLIN, 2026, 3, 29), at(BERLIN, 2026, 3, 30)) == [
        (at(BERLIN, 2026, 3, 29, 3), at(BERLIN, 2026, 3, 29, 4))]
    # a window entirely inside the skipped hour does not happen that day
    never = schedule(hours=[{"days": "daily", "time": "02:00-02:30"}])
    assert never.next_open(at(BERLIN, 2026, 3, 29, 1)) == at(BERLIN, 2026, 3, 30, 2)
    assert first_instant(BERLIN, datetime(2026, 3, 29, 2, 30)) == \
        int(at(BERLIN, 2026, 3, 29, 3).timestamp())


def test_fall_back_in_berlin_covers_the_repeated_hour_once_per_instant() -> None:
    early = schedule(hours=[{"days": "sun", "time": "00:00-06:00"}])
    first, second = at(BERLIN, 2026, 10, 25, 2, 30), at(BERLIN, 2026, 10, 25, 2, 30, fold=1)
    assert second.timestamp() - first.timestamp() == 3600
    assert early.is_open(first) and early.is_open(second)
    # a boundary inside the repeated hour means its first occurrence, for starts and ends
    split = schedule(hours=[{"days": "sun", "time": ["00:00-02:30"]}])
    rest = schedule(hours=[{"days": "sun", "time": ["02:30-06:00"]}])
    # (Python never finds an ambiguous local time equal to a UTC one: compare timestamps)
    assert stamp(split.next_close(at(BERLIN, 2026, 10, 25))) == first.timestamp()
    assert stamp(rest.next_open(at(BERLIN, 2026, 10, 25))) == first.timestamp()
    assert rest.is_open(second)
    both = schedule(hours=[{"days": "sun", "time": ["00:00-02:30", "02:30-06:00"]}])
    assert lengths(both, at(BERLIN, 2026, 10, 25), at(BERLIN, 2026, 10, 26)) == [7 * HOUR]
    # the hour that repeats is 02:00-03:00: a window of exactly that hour lasts two
    repeated = schedule(hours=[{"days": "sun", "time": "02:00-03:00"}])
    assert lengths(repeated, at(BERLIN, 2026, 10, 25), at(BERLIN, 2026, 10, 26)) == [2 * HOUR]


def test_consecutive_windows_leave_no_hole_and_no_double_shift_over_a_switch() -> None:
    shifts = schedule(hours=[{"days": "daily", "time": "16:00-24:00"},
                             {"days": "daily", "time": "00:00-08:00"}])
    for start, hours in ((at(BERLIN, 2026, 3, 28, 12), 15), (at(BERLIN, 2026, 10, 24, 12), 17)):
        ((opens, _),) = spans(shifts, start, start + timedelta(hours=24))
        assert opens == start + timedelta(hours=4)
        assert lengths(shifts, start, start + timedelta(hours=24)) == [hours * HOUR]


def test_an_overnight_window_into_a_switch_ends_at_the_wall_clock_time() -> None:
    night = schedule(hours=[{"days": "sat", "time": "22:00-06:00"}])
    assert spans(night, at(BERLIN, 2026, 3, 28), at(BERLIN, 2026, 3, 30)) == [
        (at(BERLIN, 2026, 3, 28, 22), at(BERLIN, 2026, 3, 29, 6))]
    assert lengths(night, at(BERLIN, 2026, 3, 28), at(BERLIN, 2026, 3, 30)) == [7 * HOUR]
    assert lengths(night, at(BERLIN, 2026, 10, 24), at(BERLIN, 2026, 10, 26)) == [9 * HOUR]


def test_new_york_both_switches() -> None:
    office = schedule("America/New_York", hours=[{"days": "mon-fri", "time": "09:00-17:00"},
                                                 {"days": "sat", "time": "22:00-06:00"}])
    # Saturday night into the spring-forward Sunday: 22:00 EST to 06:00 EDT is 7 hours
    assert lengths(office, at(NEW_YORK, 2026, 3, 7), at(NEW_YORK, 2026, 3, 8, 12)) == [7 * HOUR]
    assert office.next_open(at(NEW_YORK, 2026, 3, 8, 7)) == at(NEW_YORK, 2026, 3, 9, 9)
    assert office.next_open(at(NEW_YORK, 2026, 3, 8, 7)) == datetime(2026, 3, 9, 13, tzinfo=UTC)
    # ...and into the fall-back Sunday: both 01:30 are inside, 9 hours
    assert office.is_open(at(NEW_YORK, 2026, 11, 1, 1, 30))
    assert office.is_open(at(NEW_YORK, 2026, 11, 1, 1, 30, fold=1))
    assert lengths(office, at(NEW_YORK, 2026, 10, 31), at(NEW_YORK, 2026, 11, 1, 12)) == \
        [9 * HOUR]
    assert office.next_open(at(NEW_YORK, 2026, 11, 1, 7)) == datetime(2026, 11, 2, 14, tzinfo=UTC)


def test_sydney_southern_hemisphere_switches() -> None:
    night = schedule("Australia/Sydney", hours=[{"days": "sat", "time": "20:00-08:00"}])
    # DST ends on Sunday 5 April 2026 (03:00 -> 02:00): a 13-hour night
    assert lengths(night, at(SYDNEY, 2026, 4, 4), at(SYDNEY, 2026, 4, 6)) == [13 * HOUR]
    assert night.is_open(at(SYDNEY, 2026, 4, 5, 2, 30, fold=1))
    # DST begins on Sunday 4 October 2026 (02:00 -> 03:00): an 11-hour night
    assert lengths(night, at(SYDNEY, 2026, 10, 3), at(SYDNEY, 2026, 10, 5)) == [11 * HOUR]
    assert night.next_close(at(SYDNEY, 2026, 10, 3, 21)) == \
        datetime(2026, 10, 3, 21, tzinfo=UTC)  # 08:00 AEDT


def test_kolkata_has_no_switch_and_a_half_hour_offset() -> None:
    desk = schedule("Asia/Kolkata", hours=[{"days": "daily", "time": "22:00-06:00"}])
    for month in (3, 4, 10, 11):
        start = at(KOLKATA, 2026, month, 1)
        assert set(lengths(desk, start + timedelta(hours=12),
                           start + timedelta(days=7, hours=12))) == {8 * HOUR}
    assert desk.next_open(datetime(2026, 3, 29, 12, tzinfo=UTC)) == \
        datetime(2026, 3, 29, 16, 30, tzinfo=UTC)


# --- teams ------------------------------------------------------------------------------------

def team_view(team: dict[str, Any], **schedules: CompiledSchedule) -> Any:
    return compile_team("general", Team.model_validate(team), schedules)


def test_agents_on_shift_are_the_union_of_shifts_minus_holidays() -> None:
    day = schedule(hours=[{"days": "mon-fri", "time": "08:00-16:00"}])
    late = schedule(hours=[{"days": "mon-fri", "time": "12:00-20:00"}])
    holidays = schedule(dates=["2026-01-14"])
    team = team_view({"shifts": [{"schedule": "day", "agents": ["anna", "li"]},
                                 {"schedule": "late", "agents": ["li", "bo"]}],
                      "closed_on": ["holidays"]}, day=day, late=late, holidays=holidays)
    assert team.agents == ("anna", "li", "bo")
    assert team.on_shift(at(BERLIN, 2026, 1, 12, 9)) == ("anna", "li")
    assert team.on_shift(at(BERLIN, 2026, 1, 12, 13)) == ("anna", "li", "bo")
    assert team.on_shift(at(BERLIN, 2026, 1, 12, 19)) == ("li", "bo")
    assert team.on_shift(at(BERLIN, 2026, 1, 14, 13)) == ()
    assert team.closed_by(at(BERLIN, 2026, 1, 14, 13)) == "holidays"
    assert team.closed_by(at(BERLIN, 2026, 1, 13, 13)) is None
    assert team.staffed.next_open(at(BERLIN, 2026, 1, 13, 21)) == at(BERLIN, 2026, 1, 15, 8)
    assert team.agent_calendar("bo").next_open(at(BERLIN, 2026, 1, 12, 9)) == \
        at(BERLIN, 2026, 1, 12, 12)
    assert team.agent_calendar("nobody") is NEVER


def test_a_holiday_inside_a_night_shift_cuts_it_at_midnight() -> None:
    night = schedule(hours=[{"days": "daily", "time": "22:00-06:00"}])
    holidays = schedule(dates=["2026-12-25"])
    team = team_view({"shifts": [{"schedule": "night", "agents": ["carla"]}],
                      "closed_on": ["holidays"]}, night=night, holidays=holidays)
    assert spans(team.staffed, at(BERLIN, 2026, 12, 24, 12), at(BERLIN, 2026, 12, 27)) == [
        (at(BERLIN, 2026, 12, 24, 22), at(BERLIN, 2026, 12, 25)),
        # the night that starts on the holiday resumes when the holiday ends
        (at(BERLIN, 2026, 12, 26), at(BERLIN, 2026, 12, 26, 6)),
        (at(BERLIN, 2026, 12, 26, 22), at(BERLIN, 2026, 12, 27))]
    assert team.on_shift(at(BERLIN, 2026, 12, 25, 1)) == ()
    assert team.closed_by(at(BERLIN, 2026, 12, 25, 1)) == "holidays"
    assert team.on_shift(at(BERLIN, 2026, 12, 26, 1)) == ("carla",)


def test_a_holiday_calendar_keeps_its_own_time_zone() -> None:
    night = schedule(hours=[{"days": "daily", "time": "22:00-06:00"}])
    holidays = schedule("America/New_York", dates=["2026-12-25"])
    team = team_view({"shifts": [{"schedule": "night", "agents": ["carla"]}],
                      "closed_on": ["holidays"]}, night=night, holidays=holidays)
    # Christmas in New York is 25 Dec 06:00 to 26 Dec 06:00 in Berlin
    assert spans(team.staffed, at(BERLIN, 2026, 12, 24, 12), at(BERLIN, 2026, 12, 27)) == [
        (at(BERLIN, 2026, 12, 24, 22), at(BERLIN, 2026, 12, 25, 6)),
        (at(BERLIN, 2026, 12, 26, 22), at(BERLIN, 2026, 12, 27))]


def test_a_long_closure_is_searched_past() -> None:
    day = schedule(hours=[{"days": "mon-fri", "time": "08:00-16:00"}])
    closed = schedule(dates=["2026-01-01..2026-12-31"])
    team = team_view({"shifts": [{"schedule": "day", "agents": ["anna"]}],
                      "closed_on": ["closed"]}, day=day, closed=closed)
    assert team.staffed.next_open(at(BERLIN, 2026, 2, 1)) == at(BERLIN, 2027, 1, 1, 8)


def test_a_team_naming_an_unknown_schedule_does_not_compile() -> None:
    with pytest.raises(ScheduleError, match="team 'general': unknown schedule 'day'"):
        team_view({"shifts": [{"schedule": "day", "agents": ["anna"]}]})
