"""Parsers of the time notations of the stack language: days, time ranges, dates, time zones.

Each raises ValueError with a message fit for a diagnostic; the schema has already checked the
rough shape, these check the meaning (`25:00`, `fri-xyz`, `2026-02-30`).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, time
from functools import cache

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ALIASES = {"daily": DAY_NAMES, "weekdays": DAY_NAMES[:5], "weekends": DAY_NAMES[5:]}
END_OF_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Minutes after local midnight; `end` may be 1440 (24:00) or before `start` (overnight)."""

    start: int
    end: int

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_clock(text: str, allow_24: bool) -> int:
    """`08:30` -> 510 minutes after midnight."""
    hours_text, _, minutes_text = text.partition(":")
    hours, minutes = int(hours_text), int(minutes_text)
    if minutes > 59:
        raise ValueError(f"{text}: minutes must be 00-59")
    if hours == 24 and minutes == 0 and allow_24:
        return END_OF_DAY
    if hours > 23:
        raise ValueError(f"{text}: hours must be 00-23" + (" (24:00 only as an end)"
                                                          if allow_24 or hours == 24 else ""))
    return hours * 60 + minutes


def parse_time_range(text: str) -> TimeRange:
    """`22:00-06:00` -> TimeRange(1320, 360); start and end must differ."""
    start_text, _, end_text = text.partition("-")
    start = parse_clock(start_text, allow_24=False)
    end = parse_clock(end_text, allow_24=True)
    if start == end:
        raise ValueError(f"{text}: start and end are the same; write 00:00-24:00 for a whole day")
    return TimeRange(start, end)


def parse_days(text: str) -> tuple[int, ...]:
    """`mon-fri` -> (0, 1, 2, 3, 4); `fri-mon` wraps; `sat,sun`; `daily`/`weekdays`/`weekends`."""
    days: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if part in _ALIASES:
            days.extend(DAY_NAMES.index(d) for d in _ALIASES[part])
            continue
        first, _, last = part.partition("-")
        for name in (first, last) if last else (first,):
            if name not in DAY_NAMES:
                raise ValueError(f"{name!r} is not a day; use mon, tue, wed, thu, fri, sat, sun")
        if not last:
            days.append(DAY_NAMES.index(first))
            continue
        index = DAY_NAMES.index(first)
        while True:
            days.append(index)
            if DAY_NAMES[index] == last:
                break
            index = (index + 1) % 7
    return tuple(sorted(set(days)))


def parse_date(text: str) -> date:
    """`2026-12-25` -> date; `2026-02-30` raises."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text} is not a calendar date") from None


def parse_date_range(text: str) -> tuple[date, date]:
    """`2026-12-24..2026-12-26` -> (first, last), inclusive; a single date is a one-day range."""
    first_text, _, last_text = text.partition("..")
    first = parse_date(first_text)
    last = parse_date(last_text) if last_text else first
    if last < first:
        raise ValueError(f"{text}: the range ends before it starts")
    return first, last


@cache
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone of that name; raises ValueError for an unknown one."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone") from None


@cache
def zone_names() -> frozenset[str]:
    """All IANA zone names this machine knows, for did-you-mean hints."""
    return frozenset(zoneinfo.available_timezones())


def clock(value: time) -> str:
    """`time(8, 0)` -> `08:00`."""
    return value.strftime("%H:%M")
