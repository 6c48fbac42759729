"""Rules that can never match: after a catch-all, or covered by an earlier rule."""

from __future__ import annotations

from typing import Any

import pytest

from supportctl.config.checks import CheckContext
from supportctl.config.checks.routing_rules import reachability
from supportctl.config.model.stack import build_stack_model
from supportctl.plugins import load_plugins


def findings(rules: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    model = build_stack_model(load_plugins())
    stack = model.model_validate({
        "version": 1, "workspace": {"name": "A", "timezone": "UTC",
                                    "contact_attributes": ["segment"]},
        "channels": {"wa": {"type": "webchat"}, "tg": {"type": "webchat"}},
        "teams": {"t": {}}, "routing": [*rules, {"name": "rest", "to": "t"}]})
    return [(f.path[1], f.code, f.message) for f in reachability(CheckContext(stack,
                                                                              load_plugins()))
            if isinstance(f.path[1], int)]


def rule(name: str, **when: Any) -> dict[str, Any]:
    return {"name": name, "to": "t", "when": when}


@pytest.mark.parametrize(("earlier", "later", "shadowed"), [
    ({"contact.language": "zh"}, {"contact.language": "zh"}, "same"),
    ({"contact.language": "zh"}, {"contact.language": ["zh"]}, "same"),
    ({"contact.language": "zh"}, {"contact.language": "zh", "channel": "wa"}, "covers"),
    ({"contact.language": ["zh", "ja"]}, {"contact.language": "ja"}, "covers"),
    ({"channel": ["wa", "tg"]}, {"channel": "tg", "contact.segment": "vip"}, "covers"),
    ({"contact.language": "ja"}, {"contact.language": ["zh", "ja"]}, None),
    ({"contact.language": "zh", "channel": "wa"}, {"contact.language": "zh"}, None),
    ({"contact.language": "zh"}, {"contact.language": "ja"}, None),
    ({"text": {"regex": "refund"}}, {"text": {"regex": "refunds?"}}, None),
    ({"text": {"keywords": ["refund"]}}, {"text": {"keywords": ["refund"]}, "channel": "wa"},
     "covers"),
    ({"any": [{"channel": "wa"}, {"contact.segment": "vip"}]},
     {"any": [{"channel": "wa"}, {"contact.segment": "vip"}]}, "same"),
])
def test_covered_rules(earlier: dict[str, Any], later: dict[str, Any],
                       shadowed: str | None) -> None:
    found = findings([rule("first", **earlier), rule("second", **later)])
    if shadowed is None:
        assert found == []
        return
    ((index, code, message),) = found
    assert (index, code) == (1, "U502")
    assert message.startswith("rule 'second' can never match: rule 'first' (routing[0]) comes "
                              "first and ")
    assert message.endswith("has the same condition" if shadowed == "same" else
                            "matches every conversation this one does")


def test_the_earliest_covering_rule_is_named() -> None:
    found = findings([rule("narrow", **{"contact.language": "zh", "channel": "wa"}),
                      rule("wide", **{"contact.language": ["zh", "ja"]}),
                      rule("zh-wa", **{"contact.language": "zh", "channel": "wa",
                                       "contact.segment": "vip"})])
    assert [(i, c) for i, c, _ in found] == [(2, "U502")]
    assert "rule 'narrow'" in found[0][2]


def test_rules_after_a_catch_all() -> None:
    found = findings([{"name": "all", "to": "t"}, rule("late", channel="wa")])
    assert [(i, c) for i, c, _ in found] == [(1, "U501"), (2, "U501")]
