"""The compiled rule table: first match wins, and the index never changes the answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from supportctl.config.model.routing import Rule
from supportctl.routing.conditions import Inquiry
from supportctl.routing.rules import RuleTable

NOON = datetime(2026, 11, 23, 12, tzinfo=UTC)
CHANNELS = {"wa": "whatsapp", "wechat": "wechat", "web": "webchat"}


def table(*rules: dict[str, Any]) -> RuleTable:
    return RuleTable([Rule.model_validate(r) for r in rules],
                     lambda schedule, _at: schedule == "open")


def inquiry(channel: str = "wa", text: str = "", **contact: Any) -> Inquiry:
    return Inquiry(NOON, channel, CHANNELS.get(channel, "unknown"), contact, text)


RULES = table(
    {"name": "chinese", "when": {"any": [{"channel": "wechat"}, {"contact.language": "zh"}]},
     "to": "chinese"},
    {"name": "vip-de", "when": {"contact.language": "de", "contact.segment": "vip"}, "to": "vip"},
    {"name": "refunds", "when": {"text": {"keywords": ["refund"]}}, "to": "billing"},
    {"name": "german", "when": {"contact.language": ["de", "at"], "channel": ["wa", "web"]},
     "to": "german"},
    {"name": "everyone-else", "to": "general"},
)


def test_first_match_wins() -> None:
    assert RULES.first_match(inquiry(channel="wechat", language="de")).rule.name == "chinese"
    assert RULES.first_match(inquiry(language="de", segment="vip")).rule.name == "vip-de"
    assert RULES.first_match(inquiry(language="de", text="refund")).rule.name == "refunds"
    assert RULES.first_match(inquiry(language="de")).rule.name == "german"
    assert RULES.first_match(inquiry(language="fr")).rule.name == "everyone-else"
    assert RULES.first_match(inquiry(channel="elsewhere")).rule.name == "everyone-else"


def test_the_index_narrows_the_candidates() -> None:
    many = table(*({"name": f"{language}-{genre}", "to": "t",
                    "when": {"contact.language": language, "contact.genre": genre}}
                   for language in ("de", "en", "fr") for genre in ("music", "games")),
                 {"name": "refunds", "to": "t", "when": {"text": {"keywords": ["refund"]}}},
                 {"name": "everyone-else", "to": "t"})
    names = [r.rule.name for r in many.candidates(inquiry(language="fr", genre="games"))]
    assert names == ["fr-music", "fr-games", "refunds", "everyone-else"]  # small enough
    names = [r.rule.name for r in many.candidates(inquiry(language="es", genre="games"))]
    assert names == ["refunds", "everyone-else"]
    tagged = many.candidates(inquiry(language=["fr", "de"], genre="games"))
    assert [r.rule.name for r in tagged][:2] == ["de-music", "de-games"]  # no single branch


def test_no_rule_matches() -> None:
    assert table({"name": "zh", "when": {"contact.language": "zh"}, "to": "t"}).first_match(
        inquiry(language="de")) is None


def test_trace_stops_at_the_match() -> None:
    trace = RULES.trace(inquiry(language="de", text="refund please"))
    assert [(r.rule.name, v.holds) for r, v in trace] == [
        ("chinese", False), ("vip-de", False), ("refunds", True)]
    assert trace[0][1].reason == ("none of: channel 'wa' is not 'wechat'; "
                                  "contact.language 'de' is not 'zh'")


_values = st.sampled_from(["zh", "de", "en", "vip", "1", "x"])
_genres = st.sampled_from(["music", "games", "1"])
_simple = st.one_of(
    st.builds(lambda v: {"contact.language": v}, _values | st.lists(_values, min_size=1)),
    st.builds(lambda v: {"contact.segment": v}, _values),
    st.builds(lambda v: {"contact.genre": v}, _genres | st.lists(_genres, min_size=1)),
    st.builds(lambda c: {"channel": c}, st.sampled_from(["wa", "wechat", "web", ["wa", "web"]])),
    st.builds(lambda t: {"channel_type": t}, st.sampled_from(["whatsapp", "webchat"])),
    st.builds(lambda k: {"text": {"keywords": [k]}}, st.sampled_from(["refund", "hi"])),
    st.just({"schedule": "open"}), st.just({"schedule": "closed"}),
)


def _combine(parts: list[dict[str, Any]], how: str) -> dict[str, Any]:
    if how == "and":
        merged: dict[str, Any] = {}
        for part in parts:
            merged.update(part)
        return merged
    if how == "not":
        return {"not": parts[0]}
    return {how: parts}


_conditions = st.recursive(
    _simple, lambda inner: st.builds(_combine, st.lists(inner, min_size=1, max_size=3),
                                     st.sampled_from(["and", "any", "all", "not"])),
    max_leaves=6)
_rules = st.lists(st.one_of(_conditions, st.none()), min_size=1, max_size=24)
_inquiries = st.builds(
    lambda channel, language, segment, genre, text: inquiry(
        channel, text, **{k: v for k, v in (("language", language), ("segment", segment),
                                            ("genre", genre)) if v is not None}),
    st.sampled_from(["wa", "wechat", "web", "elsewhere"]), st.none() | _values,
    st.none() | _values | st.lists(_values, max_size=2), st.none() | _genres,
    st.sampled_from(["", "refund", "hi"]))


@settings(max_examples=200, deadline=None)
@given(_rules, st.lists(_inquiries, min_size=1, max_size=8))
def test_the_index_gives_the_same_answer_as_a_scan(conditions: list[dict[str, Any] | None],
                                                   inquiries: list[Inquiry]) -> None:
    compiled = table(*({"name": f"r{i}", "to": "t", **({"when": c} if c else {})}
                       for i, c in enumerate(conditions)))
    for asked in inquiries:
        indexed, scanned = compiled.first_match(asked), compiled.first_match_by_scan(asked)
        assert (indexed and indexed.index) == (scanned and scanned.index)
        trace = compiled.trace(asked)
        assert (trace[-1][0].index if trace[-1][1].holds else None) == (scanned and scanned.index)
