"""Time zones, days, time ranges, dates and durations must mean something; teams need shifts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from supportctl.config.checks import Check, CheckContext
from supportctl.config.diagnostics import Finding, YamlPath
from supportctl.config.model.common import parse_duration
from supportctl.config.model.schedules import Schedule
from supportctl.config.suggest import did_you_mean
from supportctl.config.timespec import (
    parse_date,
    parse_date_range,
    parse_days,
    parse_time_range,
    zone,
    zone_names,
)


def _timezone(name: str | None, path: YamlPath) -> Iterator[Finding]:
    if name is None:
        return
    try:
        zone(name)
    except ValueError as exc:
        yield Finding(path, "H701", str(exc), did_you_mean(name, zone_names()) or
                      "use a name from the IANA database, like Europe/Berlin or Asia/Shanghai")


def _ranges(value: str | list[str] | None, path: YamlPath) -> Iterator[Finding]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    for index, text in enumerate(items):
        try:
            parse_time_range(text)
        except ValueError as exc:
            yield Finding((*path, index) if isinstance(value, list) else path, "H702", str(exc))


def schedule_terms(context: CheckContext) -> Iterator[Finding]:
    yield from _timezone(context.stack.workspace.timezone, ("workspace", "timezone"))
    for schedule_id, schedule in context.stack.schedules.items():
        base: YamlPath = ("schedules", schedule_id)
        yield from _timezone(schedule.timezone, (*base, "timezone"))
        for index, weekly in enumerate(schedule.hours):
            hours_path = (*base, "hours", index)
            days = weekly.days if isinstance(weekly.days, list) else [weekly.days]
            for position, text in enumerate(days):
                try:
                    parse_days(text)
                except ValueError as exc:
                    days_path = (*hours_path, "days")
                    if isinstance(weekly.days, list):
                        days_path = (*days_path, position)
                    yield Finding(days_path, "H703", str(exc))
            yield from _ranges(weekly.time, (*hours_path, "time"))
        yield from _dates(schedule, base)


def _dates(schedule: Schedule, base: YamlPath) -> Iterator[Finding]:
    seen: dict[str, YamlPath] = {}
    for index, text in enumerate(schedule.dates):
        try:
            first, last = parse_date_range(text)
        except ValueError as exc:
            yield Finding((*base, "dates", index), "H704", str(exc))
            continue
        day = first
        while day <= last and (day - first).days < 3660:
            if day.isoformat() in seen:
                yield Finding((*base, "dates", index), "H708", f"{day} is listed twice",
                              "remove the repeated date")
                break
            seen[day.isoformat()] = (*base, "dates", index)
            day += timedelta(days=1)
    overridden: set[str] = set()
    for index, override in enumerate(schedule.overrides):
        path = (*base, "overrides", index)
        try:
            parse_date(override.date)
        except ValueError as exc:
            yield Finding((*path, "date"), "H704", str(exc))
            continue
        if override.date in overridden:
            yield Finding((*path, "date"), "H708", f"{override.date} has two overrides",
                          "merge them into one override with a list of times")
        overridden.add(override.date)
        if override.closed == (override.time is not None):
            yield Finding(path, "S208", "an override needs either `time` or `closed: true`"
                          if not override.closed else
                          "an override cannot both be `closed` and have `time`")
        yield from _ranges(override.time, (*path, "time"))


def durations(context: CheckContext) -> Iterator[Finding]:
    policy = context.stack.conversations
    candidates: list[tuple[str, YamlPath]] = [
        (policy.auto_close_after, ("conversations", "auto_close_after")),
        (policy.reopen_within, ("conversations", "reopen_within"))]
    if policy.csat is not None:
        candidates.append((policy.csat.wait, ("conversations", "csat", "wait")))
    for text, path in candidates:
        if parse_duration(text) <= timedelta(0):
            yield Finding(path, "H707", f"{text} is no time at all", "use a positive duration")
    for index, rule in enumerate(context.stack.routing):
        previous: timedelta | None = None
        for step_index, step in enumerate(rule.escalate):
            path = ("routing", index, "escalate", step_index, "after")
            after = parse_duration(step.after)
            if after <= timedelta(0):
                yield Finding(path, "H707", f"{step.after} is no time at all",
                              "use a positive duration")
            elif previous is not None and after <= previous:
                yield Finding(path, "H707", f"escalation steps must come in order of time: "
                              f"{step.after} is not after the previous step",
                              "sort the steps by `after`")
            previous = after


def never_on_shift(context: CheckContext) -> Iterator[Finding]:
    schedules = context.stack.schedules
    for team_id, team in context.stack.teams.items():
        def works(schedule_id: str) -> bool:
            schedule = schedules.get(schedule_id)
            if schedule is None:
                return True  # reported as unknown; don't pile on
            return bool(schedule.hours or schedule.dates or
                        any(o.time for o in schedule.overrides))

        if not any(works(shift.schedule) for shift in team.shifts):
            yield Finding(("teams", team_id), "H705", f"team {team_id!r} is never on shift",
                          "give it shifts whose schedules have hours", at_key=True)


CHECKS: list[Check] = [schedule_terms, durations, never_on_shift]
