"""The trace `explain` shows: rules tried, teams and fallbacks, members and why, the choice."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from supportctl.routing.assignment import Availability, RoutingState
from supportctl.routing.engine import Outcome, Router
from supportctl.routing.explanation import Explanation, explain, rotation
from supportctl.validation import validate_stack

BERLIN = ZoneInfo("Europe/Berlin")
STACKS = Path(__file__).parent.parent / "fixtures" / "stacks"


def compiled(name: str) -> Router:
    result = validate_stack(STACKS / name, env={})
    assert result.stack is not None and not result.diagnostics.errors
    return Router(result.stack)


@pytest.fixture(scope="module")
def shop() -> Router:
    return compiled("routing-shop.yaml")


@pytest.fixture(scope="module")
def holiday() -> Router:
    return compiled("explain-holiday.yaml")


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """Wall-clock time in Berlin in 2026 (23 November is a Monday)."""
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def run(router: Router, when: datetime, channel: str, contact: dict[str, object] | None = None,
        state: RoutingState | None = None, text: str = "") -> Explanation:
    return explain(router, router.inquiry(when, channel, contact, text), state)


def statuses(explanation: Explanation, team: int) -> list[tuple[str, str, str]]:
    return [(m.agent, m.status, m.detail) for m in explanation.teams[team].members]


def test_a_fallback_takes_over_from_a_team_off_shift(shop: Router) -> None:
    found = run(shop, at(23, 12), "wechat", state=RoutingState({"anna": 1},
                                                                {"general": "anna"}))
    assert [(r.name, r.matched, r.reason) for r in found.rules] == [
        ("chinese-speakers", True, "channel 'wechat' is 'wechat'")]
    assert (found.rule, found.rules_total, found.outcome, found.team, found.agent) == (
        "chinese-speakers", 3, Outcome.ASSIGNED, "general", "ben")
    chinese, general = found.teams
    assert (chinese.team, chinese.role, chinese.on_shift, chinese.took_it) == (
        "chinese", "team", (), False)
    assert chinese.next_staffed == at(24, 2)  # 09:00 in Shanghai
    assert [(m.agent, m.status, m.shifts, m.next_on_shift) for m in chinese.members] == [
        ("li", "off_shift", ("shanghai-day",), at(24, 2)),
        ("wei", "off_shift", ("shanghai-day",), at(24, 2))]
    assert (general.role, general.on_shift, general.took_it) == (
        "fallback", ("anna", "ben", "carla"), True)
    assert [(m.agent, m.working, m.until) for m in general.members] == [
        ("anna", ("day",), at(23, 16)), ("ben", ("day",), at(24, 0)),
        ("carla", ("day",), at(23, 16))]
    assert found.choice is not None
    assert (found.choice.method, found.choice.candidates, found.choice.last_assigned) == (
        "round_robin", ("ben", "carla", "anna"), "anna")
    assert found.choice.reason == ("round_robin: ben is the next eligible agent in team order "
                                   "(anna, ben, carla) after anna, the last agent it assigned")
    assert found.not_tried == () and found.reply is None and found.next_open is None
    assert found.summary == "assigned to ben of team general"


def test_every_rule_tried_says_why_it_did_not_match(shop: Router) -> None:
    found = run(shop, at(23, 12), "web", {"language": "en"})
    assert [(r.index, r.name, r.matched, r.reason) for r in found.rules] == [
        (0, "chinese-speakers", False,
         "none of: channel 'web' is not 'wechat'; contact.language 'en' is not 'zh'"),
        (1, "vip", False, "contact.segment is not known (wanted 'vip')"),
        (2, "everyone-else", True, "no condition: matches every conversation")]


def test_the_contacts_language_narrows_the_candidates(shop: Router) -> None:
    found = run(shop, at(23, 12), "web", {"language": "en"})
    assert statuses(found, 0) == [("anna", "eligible", ""), ("ben", "eligible", ""),
                                  ("carla", "other_language", "prefers agents who speak 'en'")]
    assert found.choice is not None
    assert (found.choice.language, found.choice.speakers_preferred,
            found.choice.candidates) == ("en", True, ("anna", "ben"))
    assert found.choice.reason.endswith("; only agents who speak 'en' were considered")


def test_agents_at_capacity_and_a_full_team_that_queues(shop: Router) -> None:
    some = run(shop, at(23, 12), "web", state=RoutingState({"anna": 2}))
    assert statuses(some, 0)[0] == ("anna", "at_capacity", "2 open of max_open 2")
    assert some.agent == "ben"
    full = run(shop, at(23, 12), "web", state=RoutingState({"anna": 2, "ben": 3, "carla": 2}))
    assert (full.outcome, full.team, full.agent) == (Outcome.QUEUED, "general", None)
    assert full.choice is not None and full.choice.candidates == ()
    assert full.choice.reason == ("every agent on shift is at max_open (anna, ben, carla): the "
                                  "conversation waits in the team queue until one has room")
    assert full.summary == "queued in team general: nobody is assigned yet"


def test_least_open_names_the_loads(shop: Router) -> None:
    found = run(shop, at(23, 3), "wechat", state=RoutingState({"li": 1}))
    assert found.agent == "wei"
    assert found.choice is not None and found.choice.open == {"li": 1, "wei": 0}
    assert found.choice.reason == (
        "least_open: wei has the fewest open conversations (li 1, wei 0); ties go to the "
        "first in team order from the start (it has assigned nobody yet)")


def test_manual_assignment_and_fallbacks_not_needed(shop: Router) -> None:
    found = run(shop, at(23, 12), "web", {"segment": "vip"})
    assert (found.outcome, found.team, found.agent, found.notify) == (
        Outcome.QUEUED, "supervisors", None, ("slack",))
    assert found.not_tried == ("general",)
    assert found.choice is not None and found.choice.reason.startswith("assign: manual: ")


def test_a_holiday_closes_the_team_and_says_until_when(shop: Router) -> None:
    found = run(shop, at(25, 12, month=12), "web", {"language": "en"})
    assert found.outcome is Outcome.OUT_OF_HOURS
    (general,) = found.teams
    assert (general.closed_by, general.reopens, general.next_staffed) == (
        "holidays", at(26, 0, month=12), at(28, 8, month=12))
    assert statuses(found, 0) == [(a, "team_closed", "closed_on 'holidays'")
                                  for a in ("anna", "ben", "carla")]
    assert all(m.next_on_shift == at(28, 8, month=12) for m in general.members)
    assert found.choice is None
    assert found.reply is not None
    assert (found.reply.template, found.reply.language, found.reply.text) == (
        "out_of_hours", "en", "Back at {{next_open}}.")
    assert found.next_open == at(28, 8, month=12)
    assert [(s.after, s.at, s.to, s.notify, s.reply) for s in found.escalations] == [
        ("15m", at(28, 8, 15, month=12), "supervisors", ("slack",), None),
        ("1h", at(28, 9, month=12), None, ("slack",), "still_waiting")]
    assert found.summary == "out of hours: team general is closed (closed_on 'holidays')"


def test_on_a_holiday_the_fallback_takes_it(holiday: Router) -> None:
    may_day = datetime(2026, 5, 1, 12, tzinfo=BERLIN)  # a Friday, and a holiday of `office`
    found = run(holiday, may_day, "shop", {"language": "de"})
    assert [(r.name, r.matched, r.reason) for r in found.rules] == [
        ("shop-in-office-hours", True,
         "channel 'shop' is 'shop'; schedule 'office' is open at 2026-05-01T12:00:00+02:00")]
    office, late = found.teams
    assert (office.closed_by, office.took_it, late.took_it, found.agent) == (
        "holidays", False, True, "dan")
    # cat is a member of `office` without a shift in it: no next shift to name
    assert [(m.agent, m.status, m.shifts, m.next_on_shift) for m in office.members] == [
        ("ann", "team_closed", ("office",), datetime(2026, 5, 4, 9, tzinfo=BERLIN)),
        ("bob", "team_closed", ("office",), datetime(2026, 5, 4, 9, tzinfo=BERLIN)),
        ("cat", "team_closed", (), None)]
    assert [(m.agent, m.status, m.next_on_shift) for m in late.members] == [
        ("dan", "eligible", None), ("cat", "off_shift", datetime(2026, 5, 1, 17,
                                                                 tzinfo=BERLIN))]
    assert found.notify == ("ops",)


def test_the_teams_own_reply_in_the_contacts_language_or_the_default(holiday: Router) -> None:
    may_day = datetime(2026, 5, 1, 12, tzinfo=BERLIN)
    german = run(holiday, may_day, "web", {"language": "de"})
    assert german.reply is not None
    assert (german.reply.template, german.reply.language, german.reply.text) == (
        "office_closed", "de", "Das Büro öffnet {{next_open}}.")
    french = run(holiday, may_day, "web", {"language": "fr"})
    assert french.reply is not None and french.reply.language == "en"  # the workspace default
    assert french.next_open == datetime(2026, 5, 4, 9, tzinfo=BERLIN)
    assert [(s.after, s.at) for s in french.escalations] == [
        ("30m", datetime(2026, 5, 4, 9, 30, tzinfo=BERLIN))]


def test_the_trace_agrees_with_the_decision(shop: Router) -> None:
    times = [at(23, 3), at(23, 12), at(23, 20), at(28, 11), at(25, 12, month=12)]
    contacts: list[dict[str, object]] = [{}, {"language": "zh"}, {"segment": "vip"},
                                         {"language": "en", "segment": "VIP"}]
    for when, channel, contact in itertools.product(times, ["wa", "wechat", "web"], contacts):
        found = run(shop, when, channel, contact)
        decision = shop.decide(shop.inquiry(when, channel, contact))
        assert found.rules[-1].matched and found.rules[-1].name == found.rule
        assert not any(r.matched for r in found.rules[:-1])
        assert (found.outcome, found.team, found.agent) == (decision.outcome, decision.team,
                                                            decision.agent)
        assert [t.team for t in found.teams] == [a.team for a in decision.tried]
        for trace in found.teams:
            on_shift = tuple(m.agent for m in trace.members if m.on_shift)
            assert on_shift == trace.on_shift
            assert all(m.availability is not Availability.ELIGIBLE or m.until is not None
                       for m in trace.members)


def test_rotation_starts_after_the_last_agent_and_wraps() -> None:
    order = ("anna", "ben", "carla")
    assert rotation(order, None, ["carla", "anna"]) == ["anna", "carla"]
    assert rotation(order, "anna", ["carla", "anna"]) == ["carla", "anna"]
    assert rotation(order, "carla", ["ben", "carla"]) == ["ben", "carla"]


def test_out_of_hours_in_the_team_and_its_fallbacks(shop: Router) -> None:
    found = run(shop, at(28, 12), "wechat")  # a Saturday
    assert [t.team for t in found.teams] == ["chinese", "general"]
    assert [t.took_it for t in found.teams] == [False, False]
    assert found.summary == "out of hours: nobody on shift in team chinese or its fallbacks"
    assert found.next_open == at(30, 2)  # the rule's own team: Monday 09:00 in Shanghai
