"""H706: hours in which a rule's team and its fallbacks have nobody on shift while others do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, CliResult

from supportctl.commands import EXIT_INVALID, EXIT_OK
from supportctl.config.model.routing import Condition
from supportctl.config.model.stack import StackBase, build_stack_model
from supportctl.plugins import load_plugins
from supportctl.routing.coverage import (
    END_OF_DAY,
    WHOLE_WEEK,
    coverage_gaps,
    describe,
    may_hold,
    must_hold,
    reference_week,
)
from supportctl.validation import validate_stack

STACKS = FIXTURES / "stacks"
HINT = ("add a fallback that is on shift then (team {team!r} is) or a shift for those hours; "
        "until then these customers get the out-of-hours reply while others are served")


def findings(name: str, monkeypatch: pytest.MonkeyPatch,
             codes: tuple[str, ...] = ("H705", "H706")) -> list[tuple[Any, ...]]:
    monkeypatch.chdir(STACKS)
    result = validate_stack(Path(name), env={})
    return [(d.file, d.line, d.column, d.code, d.message, d.hint)
            for d in result.diagnostics.sorted() if d.code in codes]


def test_a_team_with_fewer_hours_than_the_catch_all_and_no_fallback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert findings("coverage-language-gap.yaml", monkeypatch, ("H705", "H706", "R311")) == [
        ("coverage-language-gap.yaml", 27, 9, "H706",
         "rule 'chinese-speakers' routes to team 'chinese', which has nobody on shift "
         "Mon-Fri 16:00-24:00 (Europe/Berlin), and the rule has no fallback",
         HINT.format(team="general"))]


def test_rules_with_fallbacks_schedules_and_other_time_zones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    file = "coverage-rules.yaml"
    support = HINT.format(team="support")
    assert findings(file, monkeypatch) == [
        # a team that is never on shift gets H705 only, not H706 at the rule as well
        (file, 33, 3, "H705", "team 'vip' is never on shift",
         "give it shifts whose schedules have hours"),
        (file, 37, 9, "H706",
         "rule 'wholesale' routes to team 'wholesale', which has nobody on shift "
         "Mon-Fri 00:00-08:00, 18:00-24:00, Sat-Sun all day (Europe/Berlin), "
         "and no fallback covers them", support),
        # `office-web` applies only while `office` is open, when its team is there: no warning;
        # `office-phone` applies from 08:00 to 18:00 but its team works 09:00-17:00
        (file, 44, 9, "H706",
         "rule 'office-phone' routes to team 'office', which has nobody on shift "
         "Mon-Fri 08:00-09:00, 17:00-18:00 (Europe/Berlin), and the rule has no fallback",
         support),
        # `not: business-hours`: evenings Mon-Fri 18:00-08:00 leave Sunday night and Saturday
        (file, 47, 9, "H706",
         "rule 'after-hours' routes to team 'after-hours', which has nobody on shift "
         "Mon 00:00-08:00, Sat 08:00-24:00, Sun all day (Europe/Berlin), "
         "and the rule has no fallback", support),
        # New York 09:00-17:00 is 15:00-23:00 in Berlin in the reference week (January)
        (file, 50, 9, "H706",
         "rule 'americans' routes to team 'us', which has nobody on shift "
         "Mon-Fri 00:00-15:00, 23:00-24:00, Sat-Sun all day (Europe/Berlin), "
         "and the rule has no fallback", support)]


def test_closing_hours_of_the_whole_stack_and_holidays_are_no_gap(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(STACKS)
    assert list(validate_stack(Path("coverage-clean.yaml"), env={}).diagnostics) == []


def test_validate_prints_the_warning_and_strict_fails(
        run_cli: Callable[..., CliResult]) -> None:
    relaxed = run_cli("validate", "coverage-language-gap.yaml", cwd=STACKS)
    assert relaxed.code == EXIT_OK
    assert relaxed.out.startswith(
        "coverage-language-gap.yaml:27:9: warning[H706]: routing[0].to: rule 'chinese-speakers' "
        "routes to team 'chinese', which has nobody on shift Mon-Fri 16:00-24:00 "
        "(Europe/Berlin), and the rule has no fallback\n")
    assert run_cli("validate", "--strict", "coverage-language-gap.yaml",
                   cwd=STACKS).code == EXIT_INVALID


def test_the_small_business_fixtures_have_no_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    assert findings("minimal.yaml", monkeypatch) == []


# --- the pieces -------------------------------------------------------------------------------

def stack(**sections: Any) -> StackBase:
    return build_stack_model(load_plugins()).model_validate({
        "version": 1, "workspace": {"name": "A", "timezone": "Europe/Berlin"}, **sections})


def test_gaps_are_judged_only_where_they_can_be() -> None:
    base: dict[str, Any] = {
        "schedules": {"day": {"hours": [{"days": "daily", "time": "08:00-16:00"}]},
                      "bad": {"timezone": "Mars/Base", "hours": [{"days": "mon",
                                                                   "time": "08:00-09:00"}]}},
        "agents": {"a": {"name": "A"}},
        "teams": {"all": {"shifts": [{"schedule": "day", "agents": ["a"]}]},
                  "broken": {"shifts": [{"schedule": "bad", "agents": ["a"]}]},
                  "lost": {"shifts": [{"schedule": "nowhere", "agents": ["a"]}]}}}
    rules = [{"name": "r1", "when": {"channel": "x"}, "to": "broken"},
             {"name": "r2", "when": {"channel": "y"}, "to": "lost"},
             {"name": "r3", "when": {"channel": "z"}, "to": "unknown-team"},
             {"name": "r4", "when": {"schedule": "unknown"}, "to": "all"},
             {"name": "rest", "to": "all"},
             {"name": "after", "when": {"channel": "w"}, "to": "broken"}]
    assert coverage_gaps(stack(**base, routing=rules)) == []
    # a catch-all whose hours cannot be judged: nothing can be compared with it
    assert coverage_gaps(stack(**base, routing=[
        {"name": "r1", "when": {"channel": "x"}, "to": "all"},
        {"name": "rest", "to": "lost"}])) == []


def test_without_a_catch_all_every_team_counts_as_opening_hours() -> None:
    gaps = coverage_gaps(stack(
        schedules={"day": {"hours": [{"days": "mon-fri", "time": "08:00-16:00"}]},
                   "late": {"hours": [{"days": "mon-fri", "time": "16:00-20:00"}]}},
        agents={"a": {"name": "A"}},
        teams={"day": {"shifts": [{"schedule": "day", "agents": ["a"]}]},
               "late": {"shifts": [{"schedule": "late", "agents": ["a"]}]}},
        routing=[{"name": "only", "when": {"channel": "web"}, "to": "day"}]))
    assert [(g.rule, describe(g.minutes), g.suggestion) for g in gaps] == [
        ("only", "Mon-Fri 16:00-20:00", "late")]


def test_describe_groups_days_with_the_same_hours() -> None:
    day = END_OF_DAY
    assert describe(WHOLE_WEEK) == "all week"
    assert describe(()) == ""
    assert describe((0, 480, 18 * 60, day + 480, day + 18 * 60, 2 * day + 480)) == \
        "Mon-Tue 00:00-08:00, 18:00-24:00, Wed 00:00-08:00"
    assert describe((60, 120, 2 * day + 60, 2 * day + 120)) == "Mon 01:00-02:00, Wed 01:00-02:00"
    assert describe((5 * day, 7 * day)) == "Sat-Sun all day"
    assert describe((6 * day + 22 * 60, 7 * day)) == "Sun 22:00-24:00"


def test_the_reference_week_avoids_clock_changes() -> None:
    assert reference_week("Europe/Berlin").monday == date(2026, 1, 12)
    # a zone that changes clocks in that week moves it to the next candidate
    week = reference_week("Europe/Berlin", [_ZoneWithChange()])
    assert week.monday == date(2026, 7, 13)
    assert week.end - week.start == 7 * 86_400


class _ZoneWithChange(tzinfo):
    """A made-up zone that moves its clocks on 14 January 2026."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        moved = dt is not None and dt.replace(tzinfo=None) >= datetime(2026, 1, 14)
        return timedelta(hours=1 if moved else 0)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)


def test_time_masks_of_conditions() -> None:
    schedules = {"office": (100, 200), "late": (150, 300)}

    def cond(**fields: Any) -> Condition:
        return Condition.model_validate(fields)

    assert may_hold(None, schedules) == WHOLE_WEEK
    assert may_hold(cond(channel="web"), schedules) == WHOLE_WEEK
    assert may_hold(cond(schedule="office", channel="web"), schedules) == (100, 200)
    assert may_hold(cond(all=[{"schedule": "office"}, {"schedule": "late"}]),
                    schedules) == (150, 200)
    assert may_hold(cond(any=[{"schedule": "office"}, {"schedule": "late"}]),
                    schedules) == (100, 300)
    assert may_hold(cond(any=[{"schedule": "office"}, {"channel": "web"}]),
                    schedules) == WHOLE_WEEK
    assert may_hold(cond(**{"not": {"schedule": "office"}}), schedules) == \
        (0, 100, 200, WHOLE_WEEK[1])
    # `not` of something that need not hold restricts nothing
    assert may_hold(cond(**{"not": {"schedule": "office", "channel": "web"}}),
                    schedules) == WHOLE_WEEK
    assert must_hold(cond(schedule="office"), schedules) == (100, 200)
    assert must_hold(cond(schedule="office", channel="web"), schedules) == ()
    assert must_hold(cond(**{"not": {"schedule": "office"}}), schedules) == \
        (0, 100, 200, WHOLE_WEEK[1])
