"""Compiled conditions: matching semantics and the reasons `explain` gives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from supportctl.config.model.routing import Condition
from supportctl.routing.conditions import Inquiry, compile_condition, keyword_regex

NOON = datetime(2026, 11, 23, 12, tzinfo=UTC)


def holds(when: dict[str, Any], *, channel: str = "wa", channel_type: str = "whatsapp",
          text: str = "", open_schedules: frozenset[str] = frozenset(), **contact: Any) -> bool:
    matcher = compile_condition(Condition.model_validate(when),
                                lambda schedule, _at: schedule in open_schedules)
    inquiry = Inquiry(NOON, channel, channel_type, contact, text)
    verdict = matcher.explain(inquiry)
    assert verdict.holds == matcher(inquiry), verdict.reason
    return verdict.holds


@pytest.mark.parametrize(("when", "contact", "expected"), [
    ({"contact.language": "zh"}, {"language": "zh"}, True),
    ({"contact.language": "zh"}, {"language": "ZH"}, True),
    ({"contact.language": "zh"}, {"language": "de"}, False),
    ({"contact.language": "zh"}, {}, False),
    ({"contact.segment": ["vip", "gold"]}, {"segment": "gold"}, True),
    ({"contact.segment": ["vip", "gold"]}, {"segment": "silver"}, False),
    ({"contact.tier": 1}, {"tier": "1"}, True),
    ({"contact.tier": 1}, {"tier": 1.0}, True),
    ({"contact.vip": True}, {"vip": "true"}, True),
    ({"contact.vip": True}, {"vip": False}, False),
    ({"contact.tags": "wholesale"}, {"tags": ["retail", "wholesale"]}, True),
    ({"contact.phone": {"regex": r"^\+86"}}, {"phone": "+8613800138000"}, True),
    ({"contact.phone": {"regex": r"^\+86"}}, {"phone": "+4930123456"}, False),
    ({"contact.phone": {"regex": r"^\+86"}}, {}, False),
    ({"contact.tags": {"regex": "^vip$"}}, {"tags": ["new", "VIP"]}, True),
    ({"contact.tags": {"regex": "^vip$"}}, {"tags": ["new", "vip-lite"]}, False),
    ({"not": {"contact.language": "zh"}}, {}, True),
])
def test_contact_attributes(when: dict[str, Any], contact: dict[str, Any],
                            expected: bool) -> None:
    assert holds(when, **contact) is expected


@pytest.mark.parametrize(("keywords", "text", "expected"), [
    (["refund"], "I want a REFUND now", True),
    (["refund"], "refunds please", False),  # whole words only
    (["refund"], "nonrefundable", False),
    (["money back"], "I want my money   back!", True),
    (["money back"], "moneyback", False),
    (["退款"], "我想要退款，谢谢", True),  # no spaces between Chinese words
    (["straße"], "Welche Straße?", True),
    (["c++"], "help with c++ please", True),
])
def test_keywords(keywords: list[str], text: str, expected: bool) -> None:
    assert holds({"text": {"keywords": keywords}}, text=text) is expected
    assert (keyword_regex(keywords).search(text) is not None) is expected


def test_regex_text_ignores_case() -> None:
    assert holds({"text": {"regex": r"order\s*#?\d+"}}, text="Where is ORDER #123?")
    assert not holds({"text": {"regex": r"order\s*#?\d+"}}, text="where is my order")


def test_channel_type_and_schedule() -> None:
    assert holds({"channel": ["wa", "tg"]}, channel="tg")
    assert not holds({"channel": "wa"}, channel="web")
    assert holds({"channel_type": "whatsapp"})
    assert holds({"schedule": "day"}, open_schedules=frozenset({"day"}))
    assert not holds({"schedule": "day"})


def test_any_all_not_combine() -> None:
    when = {"any": [{"channel": "wechat"}, {"contact.language": "zh"}],
            "not": {"contact.segment": "wholesale"}}
    assert holds(when, channel="wechat")
    assert holds(when, language="zh")
    assert not holds(when, language="zh", segment="wholesale")
    assert not holds(when, language="de")
    assert holds({"all": [{"channel": "wa"}, {"contact.language": "de"}]}, language="de")


def test_explain_says_why() -> None:
    matcher = compile_condition(Condition.model_validate(
        {"contact.language": ["zh", "ja"], "text": {"keywords": ["refund"]}}), lambda *_: False)
    verdict = matcher.explain(Inquiry(NOON, "wa", "whatsapp", {"language": "de"}, "refund?"))
    assert not verdict.holds
    assert verdict.reason == "contact.language 'de' is not one of 'zh', 'ja'"
    verdict = matcher.explain(Inquiry(NOON, "wa", "whatsapp", {"language": "ja"}, "Refund?"))
    assert verdict.holds
    assert verdict.reason == ("contact.language 'ja' is one of 'zh', 'ja'; "
                              "text 'Refund?' has 'Refund' (keyword 'refund')")
