"""What a change does to routing: the (time, channel, contact) at which a conversation now lands
somewhere else.

Both stacks route the same sample of new conversations: every 15 minutes of one week (wall-clock
times in the new stack's workspace time zone), on every channel either stack has, for each class
of contact the rules of either stack tell apart. A class is one value of each contact attribute
the rules test (every value they name, a sample of each regex, and "other": not set or any other
value) and one first text (each keyword, a sample of each regex, and "other"); values that every
condition of both stacks treats alike are one class. Where a conversation lands is the team that
takes it or "out of hours (team)" when the rule's team and fallbacks have nobody on shift; a
channel one stack lacks lands nowhere ("—"). Assignment to agents is not compared.

Time only enters a rule's condition through `schedule:`, so rules are matched once per distinct
state of the schedules conditions name, and where a rule lands once per slot; the week itself is
compared rule against rule. Changes are grouped into readable windows (`describe`) and into
cubes of channels and contact classes that change alike. The classes themselves come from
`contact_classes`.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from supportctl.config.model.common import as_list
from supportctl.config.model.stack import StackBase
from supportctl.config.timespec import END_OF_DAY, zone
from supportctl.routing.calendar import DAY, Flat, merge
from supportctl.routing.conditions import Inquiry, ScheduleIsOpen, canonical
from supportctl.routing.contact_classes import OTHER, Dimension, dimensions, walk
from supportctl.routing.coverage import WEEK_MINUTES, describe, reference_week
from supportctl.routing.engine import Decision, Outcome, Router

STEP = 15
"""Minutes between samples."""
SLOTS = WEEK_MINUTES // STEP
MAX_CLASSES = 20_000
"""Beyond this many combinations, contacts vary one attribute at a time (see `sample_points`)."""
_NO_RULE, _NO_CHANNEL = -1, -2


@dataclass(frozen=True, slots=True)
class Landing:
    """Where a conversation lands: `team`, `out_of_hours` (of team), `no_channel`, `unrouted`."""

    kind: str
    team: str | None = None

    def __str__(self) -> str:
        if self.kind == "team":
            return str(self.team)
        if self.kind == "out_of_hours":
            return f"out of hours ({self.team})"
        return "—" if self.kind == "no_channel" else "unrouted"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "team": self.team}


@dataclass(frozen=True, slots=True)
class OutcomeChange:
    """Conversations that land elsewhere: when, on which channels, from which contacts."""

    minutes: Flat
    """Minutes after Monday 00:00 of the week."""
    channels: tuple[str, ...]
    every_channel: bool
    contact: tuple[tuple[Dimension, frozenset[int]], ...]
    """The dimensions restricted to some of their classes (the others: any class)."""
    before: Landing
    after: Landing

    @property
    def window(self) -> str:
        return describe(self.minutes)

    @property
    def who(self) -> str:
        """`wechat, language=zh`: the channels and contact classes, `every contact` if any."""
        channels = "every channel" if self.every_channel else "|".join(self.channels)
        parts = [d.describe(chosen) for d, chosen in self.contact] or ["every contact"]
        return ", ".join([channels, *parts])

    def __str__(self) -> str:
        return f"{self.window}, {self.who}: {self.before} → {self.after}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "minutes": [list(pair) for pair in zip(self.minutes[::2], self.minutes[1::2],
                                                   strict=True)],
            "channels": list(self.channels),
            "every_channel": self.every_channel,
            "contact": {d.name: [v for i in sorted(chosen) for v in d.classes[i].values]
                        for d, chosen in self.contact},
            "label": self.who,
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
        }


@dataclass
class OutcomeDiff:
    """The routing outcomes that differ over one sampled week."""

    monday: date
    timezone: str
    channels: tuple[str, ...]
    dimensions: tuple[Dimension, ...]
    changes: list[OutcomeChange]
    probes: int = 0
    """Contact classes sampled (combinations of the dimensions' classes) on each channel."""
    every_combination: bool = True
    """False when there were too many classes and attributes varied one at a time."""
    notes: list[str] = field(default_factory=list)
    """What could not be sampled (a regex without a sample text, say)."""


def sample_points(dims: Sequence[Dimension],
            routers: Sequence[Router]) -> tuple[list[tuple[int, ...]], bool]:
    """Class coordinates to sample: every combination, or, past MAX_CLASSES, each attribute
    varied alone plus the combinations of equality values that one rule requires together."""
    sizes = [len(d.classes) for d in dims]
    total = 1
    for size in sizes:
        total *= size
    if total <= MAX_CLASSES:
        return list(itertools.product(*(range(size) for size in sizes))), True
    others = tuple(size - 1 for size in sizes)  # "other" sorts last in every dimension
    points = {others}
    for d, size in enumerate(sizes):
        points.update((*others[:d], c, *others[d + 1:]) for c in range(size))
    position = {f"contact.{d.name}": i for i, d in enumerate(dims) if d.name != "text"}
    for router in routers:
        for rule in router.table.rules:
            choices = [list(others[i:i + 1]) for i in range(len(dims))]
            for label, values in rule.required.items():
                if label in position:
                    index = position[label]
                    choices[index] = [c for c, klass in enumerate(dims[index].classes)
                                      if any(v is not None and canonical(v) in values
                                             for v in klass.values)]
            points.update(itertools.product(*choices))
    return sorted(points), False


def week_instants(monday: date, timezone: str) -> list[datetime]:
    """The wall-clock start of every slot of the week (in a week with a clock change, the
    skipped hour reads as the hour after and the repeated hour once, at its first occurrence)."""
    where = zone(timezone)
    return [datetime.combine(monday + timedelta(days=minute // END_OF_DAY),
                             time(minute % END_OF_DAY // 60, minute % 60), where)
            for minute in range(0, WEEK_MINUTES, STEP)]


Probe = tuple[tuple[int, ...], dict[str, Any], str]
"""Class coordinates, and the contact and first text that stand for them."""


def probes(dims: Sequence[Dimension], points: Iterable[tuple[int, ...]]) -> list[Probe]:
    """The contact and text of each point: the first value of each class, "other" left out."""
    found = []
    for point in points:
        chosen = [(d.name, d.classes[c].values[0]) for d, c in zip(dims, point, strict=True)]
        contact = {name: value for name, value in chosen
                   if name != "text" and value is not None}
        text = next((str(value or "") for name, value in chosen if name == "text"), "")
        found.append((point, contact, text))
    return found


def landing(decision: Decision) -> Landing:
    """Where a decision of the engine lands, in the terms of this comparison."""
    if decision.outcome is Outcome.UNROUTED:
        return Landing("unrouted")
    if decision.outcome is Outcome.OUT_OF_HOURS:
        return Landing("out_of_hours", decision.team)
    return Landing("team", decision.team)


class Sampler:
    """One stack over the slots of a week: which rule a probe matches, and where each rule
    lands in every slot (computed once per rule, from each team's staffed calendar)."""

    def __init__(self, router: Router, instants: Sequence[datetime]) -> None:
        self.router = router
        self.instants = instants
        self.seconds = [at.timestamp() for at in instants]
        self._staffed: dict[str, list[bool]] = {}
        self._landings: dict[int, tuple[Landing, ...]] = {}
        self.named = sorted({part.schedule for rule in router.table.rules
                             for part in (walk(rule.matcher) if rule.matcher else ())
                             if isinstance(part, ScheduleIsOpen)})

    def conditions_at(self, at: datetime) -> tuple[bool, ...]:
        """The state of every schedule that a rule's condition names."""
        schedules = self.router.schedules
        return tuple(s in schedules and schedules[s].is_open(at) for s in self.named)

    def match(self, at: datetime, channel: str, contact: Mapping[str, Any], text: str) -> int:
        kind = self.router.channel_types.get(channel)
        if kind is None:
            return _NO_CHANNEL
        rule = self.router.table.first_match(Inquiry(at, channel, kind, contact, text))
        return _NO_RULE if rule is None else rule.index

    def staffed(self, team: str) -> list[bool]:
        """Whether anyone of the team is on shift in each slot (every shift has an agent, so
        its `staffed` calendar is open exactly when `on_shift` names somebody)."""
        found = self._staffed.get(team)
        if found is None:
            spans = [edge for span in self.router.teams[team].staffed.spans(
                self.seconds[0] - DAY, self.seconds[-1] + DAY) for edge in span]
            found = self._staffed[team] = [bool(bisect_right(spans, s) & 1)
                                           for s in self.seconds]
        return found

    def landing(self, slot: int, channel: str, contact: Mapping[str, Any], text: str) -> Landing:
        """Where one probe lands in one slot."""
        return self.landings(self.match(self.instants[slot], channel, contact, text))[slot]

    def landings(self, index: int) -> tuple[Landing, ...]:
        """Where the rule at `index` lands in each slot, as `Router.decide` routes it."""
        found = self._landings.get(index)
        if found is not None:
            return found
        if index < 0:
            found = (Landing("no_channel" if index == _NO_CHANNEL else "unrouted"),) * SLOTS
        else:
            rule = self.router.table.rules[index].rule
            chain = [(Landing("team", team), self.staffed(team))
                     for team in [rule.to, *as_list(rule.fallback)] if team in self.router.teams]
            away = Landing("out_of_hours", rule.to)
            found = tuple(next((landing for landing, staffed in chain if staffed[slot]), away)
                          for slot in range(SLOTS))
        self._landings[index] = found
        return found


Key = tuple[tuple[int, int], ...]
"""The rule each stack matches, per distinct state of the condition schedules."""


Change = tuple[Landing, Landing]
"""Where a conversation landed before, and where it lands now."""


def _timeline(sides: Sequence[Sampler], key: Key,
              state_of_slot: Sequence[int]) -> dict[Change, list[int]]:
    """The slots in which the probes of `key` land elsewhere, by change."""
    before = [sides[0].landings(old) for old, _ in key]
    after = [sides[1].landings(new) for _, new in key]
    if before == after:
        return {}
    slots: dict[Change, list[int]] = {}
    for slot, state in enumerate(state_of_slot):
        was, now = before[state][slot], after[state][slot]
        if was != now:
            slots.setdefault((was, now), []).append(slot)
    return slots


Cube = tuple[frozenset[int], ...]


def merge_cubes(points: Iterable[tuple[int, ...]], axes: Sequence[int],
                sizes: Sequence[int]) -> list[Cube]:
    """Points of a grid as few, large cubes that together hold exactly those points.

    Along each axis in `axes`, cubes that agree on every other axis become one (until nothing
    merges); then each cube grows along those axes as far as it stays inside the points, and
    cubes inside another are dropped. Cubes may overlap: "segment=wholesale" and "text=bulk"
    read better than the same points cut into disjoint pieces.
    """
    inside = set(points)
    cubes: list[Cube] = [tuple(frozenset((c,)) for c in point) for point in sorted(inside)]
    changed = True
    while changed:
        changed = False
        for axis in axes:
            groups: dict[Cube, set[int]] = {}
            for cube in cubes:
                groups.setdefault(cube[:axis] + cube[axis + 1:], set()).update(cube[axis])
            if len(groups) < len(cubes):
                changed = True
                cubes = [(*rest[:axis], frozenset(values), *rest[axis:])
                         for rest, values in groups.items()]
    grown = []
    for cube in cubes:
        for axis in axes:
            for value in range(sizes[axis]):
                if value not in cube[axis] and all(
                        point in inside for point in itertools.product(
                            *cube[:axis], (value,), *cube[axis + 1:])):
                    cube = (*cube[:axis], cube[axis] | {value}, *cube[axis + 1:])
        grown.append(cube)
    unique = list(dict.fromkeys(grown))
    return [cube for cube in unique if not any(
        other != cube and all(mine <= theirs for mine, theirs in zip(cube, other, strict=True))
        for other in unique)]


def outcome_diff(old: StackBase, new: StackBase, monday: date | None = None) -> OutcomeDiff:
    """Where sampled conversations land in each stack over a week, and where that differs.

    The week starts on `monday` (any date: its week's Monday), by default on the reference
    week `coverage` uses, so that the answer does not depend on the day it is asked.
    """
    routers = (Router(old), Router(new))
    timezone = new.workspace.timezone
    if monday is None:
        zones = {zone(old.workspace.timezone),
                 *(c.zone for router in routers for c in router.schedules.values())}
        monday = reference_week(timezone, zones).monday
    monday -= timedelta(days=monday.weekday())
    instants = week_instants(monday, timezone)
    sides = (Sampler(routers[0], instants), Sampler(routers[1], instants))
    channels = tuple(dict.fromkeys([*new.channels, *old.channels]))
    dims, notes = dimensions(routers)
    points, every = sample_points(dims, routers)
    if not every:
        notes.append(f"too many contact classes to combine them all: attributes vary one at "
                     f"a time and as each rule combines them; unnamed attributes are {OTHER}")

    states: dict[tuple[tuple[bool, ...], ...], int] = {}
    state_of_slot = [states.setdefault((sides[0].conditions_at(at), sides[1].conditions_at(at)),
                                       len(states)) for at in instants]
    firsts = [state_of_slot.index(state) for state in range(len(states))]
    sampled = probes(dims, points)

    timelines: dict[Key, dict[Change, list[int]]] = {}
    points_of: dict[Key, list[tuple[int, ...]]] = {}  # (channel, *classes) that change
    for number, channel in enumerate(channels):
        for point, contact, text in sampled:
            key = tuple((sides[0].match(instants[slot], channel, contact, text),
                         sides[1].match(instants[slot], channel, contact, text))
                        for slot in firsts)
            timeline = timelines.get(key)
            if timeline is None:
                timeline = timelines[key] = _timeline(sides, key, state_of_slot)
            if timeline:
                points_of.setdefault(key, []).append((number, *point))

    axes = list(range(len(dims) + 1)) if every else [0]
    sizes = [len(channels), *(len(d.classes) for d in dims)]
    changes = []
    for change in dict.fromkeys(change for key in points_of for change in timelines[key]):
        # cut the week where the set of probes that change this way changes
        keys_at: dict[int, list[Key]] = {}
        for key in points_of:
            for slot in timelines[key].get(change, ()):
                keys_at.setdefault(slot, []).append(key)
        windows: dict[tuple[Key, ...], list[int]] = {}
        for slot, alike in sorted(keys_at.items()):
            windows.setdefault(tuple(alike), []).append(slot)
        for keys, slots in windows.items():
            minutes = merge((slot * STEP, (slot + 1) * STEP) for slot in slots)
            found = [point for key in keys for point in points_of[key]]
            for cube in merge_cubes(found, axes, sizes):
                restricted = tuple((d, chosen) for d, chosen in zip(dims, cube[1:], strict=True)
                                   if len(chosen) < len(d.classes)
                                   and (every or chosen != {len(d.classes) - 1}))
                changes.append(OutcomeChange(
                    minutes, tuple(channels[i] for i in sorted(cube[0])),
                    len(cube[0]) == len(channels), restricted, *change))
    changes.sort(key=lambda c: (c.minutes, channels.index(c.channels[0]), c.who,
                                str(c.before), str(c.after)))
    return OutcomeDiff(monday, timezone, channels, dims, changes, len(points), every,
                       notes)
