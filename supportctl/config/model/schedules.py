"""Shift calendars: weekly hours, open dates and dated overrides, in a time zone."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from supportctl.config.model.common import (
    Date,
    DateOrRange,
    DayList,
    StackModel,
    TimeRange,
    TimeZoneName,
    type_help,
)

TimeRanges = Annotated[TimeRange | Annotated[list[TimeRange], Field(min_length=1)], Field(
    json_schema_extra=type_help("One time range or a list of them."),
    examples=["08:00-16:00", ["08:00-12:00", "13:00-17:00"]])]


class WeeklyHours(StackModel):
    """Opening hours that repeat every week."""

    days: DayList | Annotated[list[DayList], Field(min_length=1)]
    """Days these hours apply to: `mon-fri`, `sat,sun`, `daily`, or a list."""
    time: TimeRanges
    """Hours on those days, in the schedule's time zone."""


class DateOverride(StackModel):
    """Different hours on one date, replacing the weekly hours of that day."""

    date: Date
    """The date, in the schedule's time zone."""
    time: TimeRanges | None = None
    """The hours on that date (for example Christmas Eve `08:00-12:00`)."""
    closed: bool = False
    """Closed the whole date."""


class Schedule(StackModel):
    """A calendar of when something is open: shifts, business hours or holidays."""

    description: Annotated[str | None, Field(examples=["Weekday day shift, Berlin"])] = None
    """What this schedule is for."""
    timezone: TimeZoneName | None = None
    """IANA time zone of the hours and dates; the workspace time zone when absent."""
    hours: list[WeeklyHours] = []
    """Weekly hours."""
    dates: Annotated[list[DateOrRange],
                     Field(examples=[["2026-12-25", "2026-12-31..2027-01-01"]])] = []
    """Whole dates on which the schedule is open all day. A schedule of only `dates` is a
    holiday calendar for `closed_on`."""
    overrides: Annotated[list[DateOverride], Field(examples=[[
        {"date": "2026-12-24", "time": "08:00-12:00"}, {"date": "2026-12-31", "closed": True}]])] \
        = []
    """Dates with other hours than the weekly ones, or closed."""
