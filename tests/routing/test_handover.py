"""Shift ends, queues drained oldest-first, and reopened conversations."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from supportctl.routing.assignment import RoutingState
from supportctl.routing.engine import Router
from supportctl.routing.handover import (
    Handover,
    OpenConversation,
    Queued,
    drain,
    reopen,
    shift_end,
)
from supportctl.validation import validate_stack

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def router() -> Router:
    path = Path(__file__).parent.parent / "fixtures" / "stacks" / "routing-shop.yaml"
    stack = validate_stack(path, env={}).stack
    assert stack is not None
    return Router(stack)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)


def test_at_shift_end_the_team_policy_applies_to_agents_gone_off_shift(router: Router) -> None:
    anna = OpenConversation("c1", "general", "anna")   # day shift only
    ben = OpenConversation("c2", "general", "ben")     # day and late shift
    wei = OpenConversation("c3", "chinese", "wei")
    assert shift_end(router, [anna, ben, wei], at(23, 16)) == [
        (anna, Handover.REQUEUE), (wei, Handover.REQUEUE)]
    assert shift_end(router, [anna, ben], at(23, 15, 59)) == []


def test_queue_is_drained_oldest_first_within_capacity(router: Router) -> None:
    queue = [Queued("late", "general", at(23, 7, 50)), Queued("early", "general", at(23, 7, 10)),
             Queued("mid", "general", at(23, 7, 30)), Queued("vip", "supervisors", at(23, 7))]
    state = RoutingState({"anna": 1, "ben": 3, "carla": 1})  # room: anna 1, carla 1
    offers, after = drain(router, queue, at(23, 8), state)
    assert [(q.id, agent) for q, agent in offers] == [("early", "anna"), ("mid", "carla")]
    assert after.open_conversations == {"anna": 2, "ben": 3, "carla": 2}
    assert after.last_assigned == {"general": "carla"}


def test_queue_waits_while_nobody_is_on_shift(router: Router) -> None:
    offers, after = drain(router, [Queued("night", "general", at(23, 1))], at(23, 3),
                          RoutingState())
    assert offers == [] and after == RoutingState()


def test_queue_prefers_speakers_of_the_contact_language(router: Router) -> None:
    queue = [Queued("de", "general", at(23, 7), "de"), Queued("en", "general", at(23, 7, 1),
                                                                "en")]
    offers, _ = drain(router, queue, at(23, 9), RoutingState(last_assigned={"general": "anna"}))
    assert [(q.id, agent) for q, agent in offers] == [("de", "carla"), ("en", "anna")]


def test_reopen_returns_to_the_previous_agent_only_when_on_shift_with_room(
        router: Router) -> None:
    previous = OpenConversation("c1", "general", "anna")
    back = reopen(router, router.inquiry(at(23, 10), "web"), previous, RoutingState())
    assert (back.agent, back.decision) == ("anna", None)
    full = reopen(router, router.inquiry(at(23, 10), "web"), previous, RoutingState({"anna": 2}))
    assert full.agent is None and full.decision is not None
    assert full.decision.agent == "ben"
    evening = reopen(router, router.inquiry(at(23, 20), "web"), previous, RoutingState())
    assert evening.agent is None and evening.decision is not None
    assert evening.decision.agent == "ben"
