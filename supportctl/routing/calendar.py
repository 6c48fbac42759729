"""Sets of instants kept as sorted UTC intervals, computed one UTC day at a time and cached.

Everything time-related in routing reduces to "is this instant in the set, and where does the
set start or stop next": a schedule, a team's staffed hours, a shift minus holidays. A calendar
answers those questions from per-day interval tuples, so a decision costs one dict look-up and
one bisection, whatever the time zone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

DAY = 86_400
"""Seconds in a UTC day; calendars are computed per UTC day `k` = [k * DAY, (k + 1) * DAY)."""
SEARCH_DAYS = 16
"""Days searched past a calendar's horizon before concluding it never opens (or closes) again:
beyond its last dated entry a calendar repeats every week, so two weeks settle the question."""
MAX_SEARCH_DAYS = 20 * 366
"""However far a calendar's dated entries reach, a search looks at no more days than twenty
years have (a team closed for longer is, for every practical purpose, closed for good)."""
NO_HORIZON = -(10**9)
"""Horizon of a calendar without dated entries: purely weekly from the beginning of time."""
_CACHE_LIMIT = 4096

Flat = tuple[int, ...]
"""Disjoint, sorted, non-touching half-open intervals written flat: (s0, e0, s1, e1, ...)."""


def merge(pairs: Iterable[tuple[int, int]]) -> Flat:
    """The union of half-open intervals as a Flat; empty and touching intervals are merged."""
    out: list[int] = []
    for start, end in sorted(p for p in pairs if p[1] > p[0]):
        if out and start <= out[-1]:
            if end > out[-1]:
                out[-1] = end
        else:
            out.extend((start, end))
    return tuple(out)


def pairs_of(flat: Flat) -> Iterator[tuple[int, int]]:
    """(start, end) pairs of a Flat."""
    return zip(flat[::2], flat[1::2], strict=True)


def union(*flats: Flat) -> Flat:
    """Instants in any of the sets."""
    return merge(p for flat in flats for p in pairs_of(flat))


def subtract(base: Flat, removed: Flat) -> Flat:
    """Instants of `base` that are not in `removed`."""
    if not removed or not base:
        return base
    out: list[tuple[int, int]] = []
    cuts = list(pairs_of(removed))
    index = 0
    for start, end in pairs_of(base):
        while index < len(cuts) and cuts[index][1] <= start:
            index += 1
        position = start
        scan = index
        while scan < len(cuts) and cuts[scan][0] < end:
            cut_start, cut_end = cuts[scan]
            if cut_start > position:
                out.append((position, cut_start))
            position = max(position, cut_end)
            scan += 1
        if position < end:
            out.append((position, end))
    return merge(out)


def intersect(first: Flat, second: Flat) -> Flat:
    """Instants in both sets."""
    return subtract(first, subtract(first, second))


def clip(flat: Flat, low: int, high: int) -> Flat:
    """The part of a set inside [low, high)."""
    return merge((max(s, low), min(e, high)) for s, e in pairs_of(flat))


def complement(flat: Flat, low: int, high: int) -> Flat:
    """The instants of [low, high) that are not in the set."""
    return subtract((low, high) if high > low else (), flat)


def timestamp(instant: datetime) -> float:
    """Seconds since the epoch of an aware datetime; a naive one is refused, not guessed."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant.isoformat()} has no time zone; pass an aware datetime")
    return instant.timestamp()


def utc(seconds: float) -> datetime:
    """The aware UTC datetime of an epoch timestamp."""
    return datetime.fromtimestamp(seconds, UTC)


class Calendar(ABC):
    """A set of instants: open or closed at every moment. Immutable; the day cache is private.

    Subclasses say which instants of one UTC day are open (`_compute_day`) and from which UTC
    day on they repeat weekly (`horizon`), which bounds every search.
    """

    __slots__ = ("_days",)

    def __init__(self) -> None:
        self._days: dict[int, Flat] = {}

    @abstractmethod
    def _compute_day(self, day: int) -> Flat:
        """Open intervals (epoch seconds) inside UTC day `day`."""

    @property
    @abstractmethod
    def horizon(self) -> int:
        """UTC day after which nothing dated remains: the calendar only repeats weekly."""

    def skip(self, day: int) -> int:
        """A day <= the first day >= `day` that may have open instants (for fast searches)."""
        return day

    def day(self, day: int) -> Flat:
        """Open intervals inside UTC day `day` (cached)."""
        cached = self._days.get(day)
        if cached is None:
            if len(self._days) >= _CACHE_LIMIT:
                self._days.clear()
            cached = self._days[day] = self._compute_day(day)
        return cached

    def is_open(self, instant: datetime) -> bool:
        """True when the calendar is open at this aware instant."""
        return self.is_open_at(timestamp(instant))

    def is_open_at(self, seconds: float) -> bool:
        """True when open at this epoch timestamp."""
        flat = self._days.get(int(seconds // DAY))
        if flat is None:
            flat = self.day(int(seconds // DAY))
        return bool(bisect_right(flat, seconds) & 1)

    def next_open(self, instant: datetime) -> datetime | None:
        """The earliest instant >= `instant` at which it is open (in UTC), None if never."""
        now = timestamp(instant)
        seconds = self.next_open_at(now)
        return _result(instant, now, seconds)

    def next_open_at(self, seconds: float) -> float | None:
        """`next_open` on epoch timestamps: `seconds` itself when open now."""
        day = int(seconds // DAY)
        flat = self.day(day)
        index = bisect_right(flat, seconds)
        if index & 1:
            return seconds
        if index < len(flat):
            return flat[index]
        limit = max(day, self.horizon) + SEARCH_DAYS
        day = self.skip(day + 1)
        for _ in range(MAX_SEARCH_DAYS):
            if day > limit:
                break
            flat = self.day(day)
            if flat:
                return flat[0]
            day = self.skip(day + 1)
        return None

    def next_close(self, instant: datetime) -> datetime | None:
        """The earliest instant >= `instant` at which it is closed (in UTC), None if never."""
        now = timestamp(instant)
        seconds = self.next_close_at(now)
        return _result(instant, now, seconds)

    def next_close_at(self, seconds: float) -> float | None:
        """`next_close` on epoch timestamps: `seconds` itself when closed now."""
        day = int(seconds // DAY)
        flat = self.day(day)
        index = bisect_right(flat, seconds)
        if not index & 1:
            return seconds
        end = flat[index]
        limit = min(max(day, self.horizon) + SEARCH_DAYS, day + MAX_SEARCH_DAYS)
        while end == (day + 1) * DAY:  # open up to midnight UTC: does it go on?
            if day >= limit:
                return None
            day += 1
            flat = self.day(day)
            if not flat or flat[0] != day * DAY:
                return end
            end = flat[1]
        return end

    def spans(self, start: float, end: float) -> Iterator[tuple[float, float]]:
        """Open intervals inside [start, end) in epoch seconds, merged across midnights."""
        current: tuple[float, float] | None = None
        for day in range(int(start // DAY), int(-(-end // DAY))):
            for low, high in pairs_of(self.day(day)):
                low_clipped, high_clipped = max(low, start), min(high, end)
                if high_clipped <= low_clipped:
                    continue
                if current is not None and current[1] == low_clipped:
                    current = (current[0], high_clipped)
                    continue
                if current is not None:
                    yield current
                current = (low_clipped, high_clipped)
        if current is not None:
            yield current

    def intervals(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals [from, to) inside [start, end), as aware UTC datetimes."""
        for low, high in self.spans(timestamp(start), timestamp(end)):
            yield utc(low), utc(high)


def _result(instant: datetime, now: float, seconds: float | None) -> datetime | None:
    if seconds is None:
        return None
    # the instant itself keeps its microseconds exactly; boundaries are whole seconds
    return instant.astimezone(UTC) if seconds == now else utc(seconds)


class Never(Calendar):
    """The calendar that is never open."""

    __slots__ = ()

    def _compute_day(self, day: int) -> Flat:
        return ()

    @property
    def horizon(self) -> int:
        return NO_HORIZON

    def skip(self, day: int) -> int:
        return -NO_HORIZON


NEVER: Calendar = Never()


class Union(Calendar):
    """Open whenever any of its parts is."""

    __slots__ = ("parts",)

    def __init__(self, parts: Sequence[Calendar]) -> None:
        super().__init__()
        self.parts = tuple(parts)

    def _compute_day(self, day: int) -> Flat:
        return union(*(part.day(day) for part in self.parts))

    @property
    def horizon(self) -> int:
        return max((part.horizon for part in self.parts), default=NO_HORIZON)

    def skip(self, day: int) -> int:
        return min((part.skip(day) for part in self.parts), default=-NO_HORIZON)


class Difference(Calendar):
    """Open when `base` is open and `removed` is not (a shift minus its team's holidays)."""

    __slots__ = ("base", "removed")

    def __init__(self, base: Calendar, removed: Calendar) -> None:
        super().__init__()
        self.base = base
        self.removed = removed

    def _compute_day(self, day: int) -> Flat:
        return subtract(self.base.day(day), self.removed.day(day))

    @property
    def horizon(self) -> int:
        return max(self.base.horizon, self.removed.horizon)

    def skip(self, day: int) -> int:
        return self.base.skip(day)


def any_of(calendars: Sequence[Calendar]) -> Calendar:
    """The union of calendars, without a wrapper for none or one."""
    if not calendars:
        return NEVER
    return calendars[0] if len(calendars) == 1 else Union(calendars)


def without(base: Calendar, removed: Calendar) -> Calendar:
    """`base` minus `removed`, without a wrapper when nothing is removed."""
    return base if removed is NEVER or base is NEVER else Difference(base, removed)
