"""The coverage grid: on-duty counts per hour for teams and languages, weeks and clock changes."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import valid_stack

from supportctl.config.model.stack import StackBase
from supportctl.routing.coverage import coverage_gaps
from supportctl.routing.grid import CoverageGrid, Row, concrete_week, coverage_grid, gap_cells
from supportctl.validation import validate_stack

STACKS = Path(__file__).parent.parent / "fixtures" / "stacks"
REPO = Path(__file__).parent.parent.parent
BERLIN = ZoneInfo("Europe/Berlin")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


@pytest.fixture(scope="module")
def shop() -> StackBase:
    return valid_stack(STACKS / "routing-shop.yaml")


@pytest.fixture(scope="module")
def dst() -> StackBase:
    return valid_stack(STACKS / "coverage-grid-dst.yaml")


def hours(*spans: tuple[int, int, int]) -> tuple[int, ...]:
    """24 counts from (first hour, end hour, count) spans; other hours 0."""
    day = [0] * 24
    for first, end, value in spans:
        day[first:end] = [value] * (end - first)
    return tuple(day)


def row(grid: CoverageGrid, kind: str, key: str) -> Row:
    rows = grid.teams if kind == "team" else grid.languages
    return next(r for r in rows if r.id == key)


def test_the_reference_week_of_a_shop(shop: StackBase) -> None:
    grid = coverage_grid(shop)
    assert (grid.week.timezone, grid.week.monday, grid.week.reference) == (
        "Europe/Berlin", date(2026, 1, 12), True)
    general = row(grid, "team", "general")
    assert general.agents == ("anna", "ben", "carla")
    assert general.hours[MON] == hours((8, 16, 3), (16, 24, 1))
    assert general.hours[SAT] == general.hours[SUN] == hours()
    # 09:00-18:00 in Shanghai is 02:00-11:00 in Berlin in January
    assert row(grid, "team", "chinese").hours[FRI] == hours((2, 11, 2))
    assert row(grid, "team", "supervisors").hours[WED] == hours((8, 16, 1))
    assert [r.id for r in grid.languages] == ["de", "en", "zh"]
    assert row(grid, "language", "de").hours[MON] == hours((8, 16, 3))  # anna, carla, sam
    # li (zh, en) from 02:00, anna and ben and sam from 08:00, li gone at 11:00, ben alone late
    assert row(grid, "language", "en").hours[MON] == hours((2, 8, 1), (8, 11, 4), (11, 16, 3),
                                                           (16, 24, 1))
    assert grid.gaps == ()


def test_in_another_time_zone(shop: StackBase) -> None:
    grid = coverage_grid(shop, "Asia/Shanghai")
    assert grid.week.timezone == "Asia/Shanghai"
    assert row(grid, "team", "chinese").hours[MON] == hours((9, 18, 2))
    # Berlin's Friday late shift ends at 24:00 Berlin, 07:00 Saturday in Shanghai
    assert row(grid, "team", "general").hours[SAT] == hours((0, 7, 1))


def test_a_cell_is_the_fewest_agents_at_any_moment_of_the_hour(dst: StackBase) -> None:
    grid = coverage_grid(dst)
    # hugo starts at 08:30: the 08:00 hour has two agents for its first half
    assert row(grid, "team", "days").hours[MON] == hours((6, 9, 2), (9, 12, 3), (12, 14, 2))
    assert row(grid, "team", "nights").hours[SUN] == hours((0, 6, 1), (22, 24, 1))


def test_an_agent_on_shift_in_two_teams_counts_once_per_language(dst: StackBase) -> None:
    grid = coverage_grid(dst)
    assert "nina" in row(grid, "team", "backup").agents
    assert row(grid, "language", "de").hours[MON] == hours(
        (0, 6, 1), (6, 9, 2), (9, 12, 3), (12, 14, 2), (22, 24, 1))
    # New York 09:00-17:00 is 15:00-23:00 in Berlin in January; nina covers the rest
    assert row(grid, "language", "en").hours[TUE] == hours(
        (0, 14, 1), (15, 22, 1), (22, 23, 2), (23, 24, 1))


def test_the_spring_forward_week_in_berlin(dst: StackBase) -> None:
    grid = coverage_grid(dst, day=date(2026, 3, 27))
    week = grid.week
    assert (week.monday, week.reference) == (date(2026, 3, 23), False)
    assert (week.end - week.start) == 167 * 3600
    assert [cell is None for cell in week.cells[SUN][:4]] == [False, False, True, False]
    assert all(cell is not None for day in week.cells[:SUN] for cell in day)
    nights = row(grid, "team", "nights").hours[SUN]
    assert nights[:6] == (1, 1, None, 1, 1, 1)
    assert row(grid, "team", "days").hours[SUN][2] is None
    # New York moved its clocks on 8 March, Berlin not before Sunday: 5 hours apart all week
    assert row(grid, "team", "us").hours[FRI] == hours((14, 22, 1))
    after = coverage_grid(dst, day=date(2026, 3, 30))
    assert row(after, "team", "us").hours[MON] == hours((15, 23, 1))


def test_gaps_bridge_the_hour_the_clock_skips(dst: StackBase) -> None:
    grid = coverage_grid(dst, day=date(2026, 3, 29))
    (gap,) = grid.gaps
    assert gap.gap.rule == "english"
    assert gap.hours == ("Mon-Fri 00:00-14:00, 22:00-24:00, Sat-Sun 00:00-06:00, "
                         "22:00-24:00")
    saturday_night = datetime(2026, 3, 28, 22, tzinfo=BERLIN)
    assert (saturday_night, datetime(2026, 3, 29, 6, tzinfo=BERLIN)) in gap.intervals
    assert gap.intervals[-1] == (datetime(2026, 3, 29, 22, tzinfo=BERLIN),
                                 datetime(2026, 3, 30, 0, tzinfo=BERLIN))


def test_the_fall_back_week_in_berlin(dst: StackBase) -> None:
    grid = coverage_grid(dst, day=date(2026, 10, 25))
    week = grid.week
    assert (week.end - week.start) == 169 * 3600
    low, high = week.cells[SUN][2] or (0, 0)
    assert high - low == 2 * 3600  # 02:00-03:00 happens twice
    assert row(grid, "team", "nights").hours[SUN][:7] == (1, 1, 1, 1, 1, 1, 0)


def test_a_concrete_week_has_its_holidays(shop: StackBase) -> None:
    grid = coverage_grid(shop, day=date(2026, 12, 23))
    assert grid.week.monday == date(2026, 12, 21)
    general = row(grid, "team", "general")
    assert general.hours[THU] == hours((8, 16, 3), (16, 24, 1))
    assert general.hours[FRI] == hours()  # Christmas: closed_on holidays
    assert row(grid, "team", "chinese").hours[FRI] == hours((2, 11, 2))  # not closed
    reference = coverage_grid(shop)
    assert row(reference, "team", "general").hours[FRI] == general.hours[THU]


def test_holidays_of_a_concrete_week_are_not_gaps() -> None:
    stack = valid_stack(STACKS / "coverage-language-gap.yaml")
    grid = coverage_grid(stack, day=date(2026, 1, 14))  # the week holds Wednesday's holiday
    assert [(g.gap.rule, g.hours, g.gap.suggestion) for g in grid.gaps] == [
        ("chinese-speakers", "Mon-Tue 16:00-24:00, Thu-Fri 16:00-24:00", "general")]
    assert gap_cells(grid) == {(day, hour) for day in (MON, TUE, THU, FRI)
                               for hour in range(16, 24)}


def _valid_fixture_stacks() -> list[Path]:
    found = []
    for path in [*sorted(STACKS.glob("*.yaml")), REPO / "stack.yaml"]:
        result = validate_stack(path, env={})
        if result.stack is not None and not result.diagnostics.errors:
            found.append(path)
    return found


@pytest.mark.parametrize("path", _valid_fixture_stacks(), ids=lambda p: p.name)
def test_the_reference_week_has_exactly_the_h706_gaps(path: Path) -> None:
    stack = valid_stack(path)
    expected = [(g.rule_index, g.rule, g.team, g.fallbacks, g.minutes, g.suggestion)
                for g in coverage_gaps(stack)]
    assert [(g.rule_index, g.rule, g.team, g.fallbacks, g.minutes, g.suggestion)
            for g in (x.gap for x in coverage_grid(stack).gaps)] == expected


def test_the_week_containing_a_date_starts_on_monday() -> None:
    week = concrete_week("Australia/Sydney", date(2026, 4, 5))  # a Sunday; DST ends that day
    assert week.monday == date(2026, 3, 30)
    assert (week.end - week.start) == 169 * 3600
    assert week.instant(0) == datetime(2026, 3, 30, tzinfo=ZoneInfo("Australia/Sydney"))


def test_an_override_can_open_a_gap_in_a_concrete_week() -> None:
    stack = valid_stack(STACKS / "coverage-grid-override.yaml")
    assert coverage_grid(stack).gaps == ()
    grid = coverage_grid(stack, day=date(2026, 6, 1))
    assert [(g.gap.rule, g.hours, g.gap.suggestion, g.intervals) for g in grid.gaps] == [
        ("german-speakers", "Wed 12:00-17:00", "general",
         ((datetime(2026, 6, 3, 12, tzinfo=BERLIN), datetime(2026, 6, 3, 17, tzinfo=BERLIN)),))]
    assert row(grid, "team", "german").hours[WED] == hours((9, 12, 1))
    assert row(grid, "language", "de").hours[WED] == hours((9, 12, 1))
    assert row(grid, "language", "en").hours[WED] == hours((9, 12, 2), (12, 17, 1))
