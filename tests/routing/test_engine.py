"""Routing decisions end to end on a real stack: rules, fallbacks, shifts, holidays, agents."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from supportctl.routing.assignment import Availability, RoutingState
from supportctl.routing.engine import Outcome, Router
from supportctl.validation import validate_stack

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def router() -> Router:
    path = Path(__file__).parent.parent / "fixtures" / "stacks" / "routing-shop.yaml"
    result = validate_stack(path, env={})
    assert result.stack is not None and not result.diagnostics.errors
    return Router(result.stack)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A wall-clock time in Berlin, November or December 2026 (23 November is a Monday)."""
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def test_a_german_customer_at_noon_gets_the_first_agent_of_general(router: Router) -> None:
    decision = router.decide(router.inquiry(at(23, 12), "wa", {"language": "de"}))
    assert decision.rule is not None and decision.rule.rule.name == "everyone-else"
    assert (decision.outcome, decision.team, decision.agent) == (Outcome.ASSIGNED, "general",
                                                                  "anna")
    assert decision.on_shift == ("anna", "ben", "carla")
    assert decision.state.last_assigned == {"general": "anna"}
    assert decision.state.open_conversations == {"anna": 1}


def test_language_preference_among_eligible_agents(router: Router) -> None:
    decision = router.decide(router.inquiry(at(23, 12), "wa", {"language": "en"}))
    assert decision.agent == "anna"  # anna and ben speak English; anna comes first
    assignment = decision.assignment
    assert assignment is not None
    carla = next(s for s in assignment.agents if s.agent == "carla")
    assert carla.availability is Availability.OTHER_LANGUAGE


def test_round_robin_takes_turns_from_the_persisted_position(router: Router) -> None:
    state = RoutingState(last_assigned={"general": "anna"})
    assert router.decide(router.inquiry(at(23, 12), "web"), state).agent == "ben"
    state = RoutingState(last_assigned={"general": "carla"})
    assert router.decide(router.inquiry(at(23, 12), "web"), state).agent == "anna"


def test_round_robin_is_fair_over_many_assignments(router: Router) -> None:
    state, counts = RoutingState(), Counter[str]()
    for _ in range(100):
        decision = router.decide(router.inquiry(at(23, 12), "web"),
                                 RoutingState(last_assigned=state.last_assigned))
        assert decision.agent is not None
        counts[decision.agent] += 1
        state = decision.state
    assert max(counts.values()) - min(counts.values()) <= 1
    assert set(counts) == {"anna", "ben", "carla"}


def test_agents_at_capacity_are_skipped_and_a_full_team_queues(router: Router) -> None:
    state = RoutingState({"anna": 2})
    assert router.decide(router.inquiry(at(23, 12), "web"), state).agent == "ben"
    full = RoutingState({"anna": 2, "ben": 3, "carla": 2})
    decision = router.decide(router.inquiry(at(23, 12), "web"), full)
    assert (decision.outcome, decision.team, decision.agent) == (Outcome.QUEUED, "general",
                                                                  None)
    assert decision.reply is None  # the team is at work, just busy


def test_late_shift_and_out_of_hours_with_next_open(router: Router) -> None:
    assert router.decide(router.inquiry(at(23, 20), "web")).agent == "ben"
    decision = router.decide(router.inquiry(at(28, 11), "web"))  # a Saturday
    assert (decision.outcome, decision.team, decision.agent) == (Outcome.OUT_OF_HOURS,
                                                                  "general", None)
    assert decision.reply == "out_of_hours"
    assert decision.next_open == at(30, 8)  # Monday 08:00


def test_escalations_are_timed_from_routing_or_from_the_opening(router: Router) -> None:
    decision = router.decide(router.inquiry(at(23, 12), "web"))
    assert [(s.at, s.to, s.notify, s.reply) for s in decision.escalations] == [
        (at(23, 12, 15), "supervisors", ("slack",), None),
        (at(23, 13), None, ("slack",), "still_waiting")]
    waiting = router.decide(router.inquiry(at(28, 11), "web"))
    assert waiting.escalations[0].at == at(30, 8, 15)


def test_fallback_when_the_team_is_off_shift(router: Router) -> None:
    # 12:00 in Berlin is 19:00 in Shanghai: the Chinese team has gone home
    decision = router.decide(router.inquiry(at(23, 12), "wechat"))
    assert decision.rule is not None and decision.rule.rule.name == "chinese-speakers"
    assert [a.team for a in decision.tried] == ["chinese", "general"]
    assert (decision.team, decision.agent) == ("general", "anna")
    morning = router.decide(router.inquiry(at(23, 3), "wa", {"language": "zh"}))
    assert (morning.team, morning.agent) == ("chinese", "li")


def test_least_open_picks_the_least_busy_and_rotates_ties(router: Router) -> None:
    busy_li = RoutingState({"li": 1})
    assert router.decide(router.inquiry(at(23, 3), "wechat"), busy_li).agent == "wei"
    tie = RoutingState(last_assigned={"chinese": "li"})
    assert router.decide(router.inquiry(at(23, 3), "wechat"), tie).agent == "wei"


def test_manual_teams_queue_and_holidays_close_the_team(router: Router) -> None:
    vip = router.decide(router.inquiry(at(23, 12), "web", {"segment": "vip"}))
    assert (vip.outcome, vip.team, vip.agent, vip.notify) == (Outcome.QUEUED, "supervisors",
                                                              None, ("slack",))
    christmas = router.decide(router.inquiry(at(25, 12, month=12), "web"))
    assert christmas.outcome is Outcome.OUT_OF_HOURS
    assignment = christmas.tried[0]
    assert {s.availability for s in assignment.agents} == {Availability.HOLIDAY}
    assert christmas.next_open == at(28, 8, month=12)


def test_decisions_are_pure(router: Router) -> None:
    inquiry = router.inquiry(at(23, 12), "wa", {"language": "de"})
    state = RoutingState({"anna": 1}, {"general": "carla"})
    assert router.decide(inquiry, state) == router.decide(inquiry, state)
    assert state == RoutingState({"anna": 1}, {"general": "carla"})
    assert router.decide(inquiry, state).escalations[0].after == timedelta(minutes=15)


def test_next_open_is_the_earliest_opening_of_the_rule_and_its_fallbacks(router: Router) -> None:
    # Saturday 03:00: chinese (Shanghai weekdays) and general (Berlin weekdays) are both off;
    # general opens Monday 08:00 Berlin, chinese Monday 09:00 Shanghai = Monday 02:00 Berlin
    decision = router.decide(router.inquiry(at(28, 3), "wechat"))
    assert decision.outcome is Outcome.OUT_OF_HOURS
    assert decision.team == "chinese"
    assert decision.next_open == at(30, 2)


def test_a_list_of_languages_prefers_the_first(router: Router) -> None:
    decision = router.decide(router.inquiry(at(23, 12), "web", {"language": ["de", "en"]}))
    assert decision.assignment is not None
    assert decision.assignment.eligible == ("anna", "carla")


def test_the_channel_language_is_assumed_until_the_contact_has_one(router: Router) -> None:
    assert router.inquiry(at(23, 3), "wechat").contact == {"language": "zh"}
    assert router.inquiry(at(23, 3), "wechat", {"language": "en"}).contact == {"language": "en"}
    assert router.inquiry(at(23, 3), "wa").contact == {}
