"""Routing outcomes that change between two stacks over a sampled week, grouped for reading."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest
from conftest import valid_stack

from supportctl.config.model.stack import StackBase
from supportctl.routing import outcome_diff as module
from supportctl.routing.contact_classes import dimensions
from supportctl.routing.engine import Router
from supportctl.routing.outcome_diff import (
    SLOTS,
    Landing,
    Sampler,
    landing,
    merge_cubes,
    outcome_diff,
    probes,
    sample_points,
    week_instants,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
TINY = FIXTURES / "diff" / "tiny.yaml"
SHOP = FIXTURES / "stacks" / "routing-shop.yaml"
ROOT = Path(__file__).parent.parent.parent / "stack.yaml"


def edited(source: Path, tmp_path: Path, *edits: tuple[str, str]) -> StackBase:
    """`source` with each (old, new) text replaced exactly once."""
    text = source.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / source.name
    path.write_text(text, encoding="utf-8")
    return valid_stack(path)


def lines(old: StackBase, new: StackBase, monday: date | None = None) -> list[str]:
    return [str(change) for change in outcome_diff(old, new, monday).changes]


@pytest.fixture(scope="module")
def tiny() -> StackBase:
    return valid_stack(TINY)


@pytest.fixture(scope="module")
def shop() -> StackBase:
    return valid_stack(SHOP)


def test_a_stack_compared_with_itself_changes_nothing(tiny: StackBase, shop: StackBase) -> None:
    assert outcome_diff(tiny, tiny).changes == []
    assert outcome_diff(shop, shop).changes == []


def test_the_default_week_is_the_reference_week_and_any_date_picks_its_monday(
        tiny: StackBase) -> None:
    assert outcome_diff(tiny, tiny).monday == date(2026, 1, 12)
    assert outcome_diff(tiny, tiny, date(2026, 12, 25)).monday == date(2026, 12, 21)


def test_a_shorter_lunch_changes_the_lunch_rule_hour_on_its_channel_only(
        tmp_path: Path, tiny: StackBase) -> None:
    new = edited(TINY, tmp_path, ('time: "12:00-13:00"', 'time: "12:00-14:00"'))
    assert lines(tiny, new) == [
        'Mon-Fri 13:00-14:00, chat2, text≠"order no000000": desk → office']


def test_removing_a_fallback_leaves_conversations_waiting(tmp_path: Path,
                                                          shop: StackBase) -> None:
    new = edited(SHOP, tmp_path, ("    to: chinese\n    fallback: general\n",
                                  "    to: chinese\n"))
    # the Chinese team works 09:00-18:00 Shanghai time: 02:00-11:00 in Berlin in January
    assert lines(shop, new) == [
        "Mon-Fri 11:00-24:00, every channel, language=zh: general → out of hours (chinese)",
        "Mon-Fri 11:00-24:00, wechat, every contact: general → out of hours (chinese)",
    ]


def test_a_channel_only_one_stack_has_lands_nowhere_in_the_other(tmp_path: Path,
                                                                 tiny: StackBase) -> None:
    new = edited(TINY, tmp_path, ("  chat2: {type: webchat}\n", ""),
                 ("    when: {channel: chat2, schedule: lunch}", "    when: {schedule: lunch}"))
    assert lines(tiny, new) == [
        "Mon-Fri 00:00-09:00, 17:00-24:00, Sat-Sun all day, chat2, every contact: desk → —",
        'Mon-Fri 09:00-12:00, 13:00-17:00, chat2, text="order no000000": office → —',
        'Mon-Fri 09:00-12:00, 13:00-17:00, chat2, text≠"order no000000": desk → —',
        # at lunch the rule now holds on every channel
        'Mon-Fri 12:00-13:00, web, text≠"order no000000": desk → office',
        "Mon-Fri 12:00-13:00, chat2, every contact: office → —",
    ]


def test_holidays_count_in_the_week_asked_for(tmp_path: Path, tiny: StackBase) -> None:
    new = edited(TINY, tmp_path, ('dates: ["2026-12-25"]', 'dates: ["2026-12-24"]'))
    assert lines(tiny, new) == []  # the reference week in January has neither date
    assert lines(tiny, new, date(2026, 12, 21)) == [
        'Thu 09:00-12:00, 13:00-17:00, every channel, text="order no000000": office → desk',
        'Thu 12:00-13:00, web, text="order no000000": office → desk',
        "Thu 12:00-13:00, chat2, every contact: office → out of hours (office)",
        'Fri 09:00-12:00, 13:00-17:00, every channel, text="order no000000": desk → office',
        'Fri 12:00-13:00, web, text="order no000000": desk → office',
        "Fri 12:00-13:00, chat2, every contact: out of hours (office) → office",
    ]


def test_changes_are_data_for_json(tmp_path: Path, tiny: StackBase) -> None:
    new = edited(TINY, tmp_path, ('time: "12:00-13:00"', 'time: "12:00-14:00"'))
    (change,) = outcome_diff(tiny, new).changes
    assert change.as_dict() == {
        "window": "Mon-Fri 13:00-14:00",
        "minutes": [[780, 840], [2220, 2280], [3660, 3720], [5100, 5160], [6540, 6600]],
        "channels": ["chat2"], "every_channel": False,
        "contact": {"text": [None]}, "label": 'chat2, text≠"order no000000"',
        "before": {"kind": "team", "team": "desk"},
        "after": {"kind": "team", "team": "office"},
    }


def test_the_sampler_lands_where_the_engine_routes(shop: StackBase) -> None:
    root = valid_stack(ROOT)
    chooser = random.Random(7)
    for stack in (shop, root):
        router = Router(stack)
        instants = week_instants(date(2026, 1, 12), stack.workspace.timezone)
        sampler = Sampler(router, instants)
        dims, _ = dimensions([router])
        sampled = probes(dims, sample_points(dims, [router])[0])
        for slot in chooser.sample(range(SLOTS), 96):
            for channel in stack.channels:
                for _, contact, text in sampled:
                    decision = router.decide(router.inquiry(instants[slot], channel, contact,
                                                            text))
                    assert sampler.landing(slot, channel, contact, text) == landing(decision)


def test_past_the_limit_attributes_vary_one_at_a_time(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path, shop: StackBase) -> None:
    monkeypatch.setattr(module, "MAX_CLASSES", 3)
    new = edited(SHOP, tmp_path, ("    to: chinese\n    fallback: general\n",
                                  "    to: chinese\n"))
    result = outcome_diff(shop, new)
    assert not result.every_combination and result.probes == 3
    assert any("too many contact classes" in note for note in result.notes)
    assert ("Mon-Fri 11:00-24:00, every channel, language=zh: general → out of hours (chinese)"
            in [str(c) for c in result.changes])


def test_landings_read_as_the_summary_shows_them() -> None:
    assert [str(Landing("team", "general")), str(Landing("out_of_hours", "chinese")),
            str(Landing("no_channel")), str(Landing("unrouted"))] == [
        "general", "out of hours (chinese)", "—", "unrouted"]


def test_cubes_cover_exactly_the_points_and_may_overlap() -> None:
    # an L shape on a 2 x 3 grid: row 0 whole, and column 0
    points = [(0, 0), (0, 1), (0, 2), (1, 0)]
    cubes = merge_cubes(points, [0, 1], [2, 3])
    assert sorted(cubes, key=lambda c: (sorted(c[0]), sorted(c[1]))) == [
        (frozenset({0}), frozenset({0, 1, 2})), (frozenset({0, 1}), frozenset({0}))]
    covered = {(a, b) for x, y in cubes for a in x for b in y}
    assert covered == set(points)
