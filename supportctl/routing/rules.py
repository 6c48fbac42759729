"""The ordered routing rules compiled into an immutable table indexed for first-match lookup.

A decision must not scan every rule. At compile time each rule's condition yields the equality
tests that must hold for it to match (its channel, channel type and `contact.<attribute>` values
at the top level of the condition). The table keeps, per channel of the stack, the rules that
channel can reach, and within it, per value of the contact attribute that most rules test for
equality, the rules that value can reach, in rule order. A lookup then evaluates only those
candidates, in order, and stops at the first that matches: the same answer as a scan of every
rule, which `first_match_by_scan` keeps as the reference that tests and benchmarks compare with.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from supportctl.config.model.routing import Rule
from supportctl.routing.conditions import (
    Inquiry,
    Matcher,
    ScheduleOpen,
    Verdict,
    canonical,
    compile_condition,
    required_values,
)

_CHANNEL, _CHANNEL_TYPE = "channel", "channel type"


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with its compiled condition; `matcher` is None for a catch-all."""

    index: int
    rule: Rule
    matcher: Matcher | None
    required: Mapping[str, frozenset[str]]

    def matches(self, inquiry: Inquiry) -> bool:
        return self.matcher is None or self.matcher(inquiry)

    def explain(self, inquiry: Inquiry) -> Verdict:
        if self.matcher is None:
            return Verdict(True, "no condition: matches every conversation")
        return self.matcher.explain(inquiry)

    def admits(self, label: str, value: str) -> bool:
        """Whether the rule's required equality tests allow `value` for `label`."""
        allowed = self.required.get(label)
        return allowed is None or value in allowed


@dataclass(frozen=True, slots=True)
class _ChannelIndex:
    rules: tuple[CompiledRule, ...]  # every rule this channel can reach
    by_value: Mapping[str, tuple[CompiledRule, ...]]  # ... narrowed by the indexed attribute
    other: tuple[CompiledRule, ...]  # ... for values no rule names


class RuleTable:
    """First-match lookup over compiled rules; immutable once built."""

    def __init__(self, rules: Sequence[Rule], channel_types: Mapping[str, str],
                 schedule_open: ScheduleOpen) -> None:
        self.rules: tuple[CompiledRule, ...] = tuple(
            _compile(index, rule, schedule_open) for index, rule in enumerate(rules))
        self.attribute = _most_tested_attribute(self.rules)
        self._channels = {channel: self._index(channel, kind)
                          for channel, kind in channel_types.items()}

    def _index(self, channel: str, kind: str) -> _ChannelIndex:
        reachable = tuple(r for r in self.rules
                          if r.admits(_CHANNEL, canonical(channel))
                          and r.admits(_CHANNEL_TYPE, canonical(kind)))
        label = self.attribute
        if label is None:
            return _ChannelIndex(reachable, {}, reachable)
        values = {value for r in reachable for value in r.required.get(label, ())}
        by_value = {value: tuple(r for r in reachable if r.admits(label, value))
                    for value in values}
        other = tuple(r for r in reachable if label not in r.required)
        return _ChannelIndex(reachable, by_value, other)

    def candidates(self, inquiry: Inquiry) -> Sequence[CompiledRule]:
        """The rules that can match this inquiry, in order: a superset of those that do."""
        index = self._channels.get(inquiry.channel)
        if index is None:  # a channel the stack does not define: no shortcut
            return self.rules
        if self.attribute is None:
            return index.rules
        value = inquiry.contact.get(self.attribute.removeprefix("contact."))
        if value is None:
            return index.other
        if isinstance(value, list | tuple | set | frozenset):
            return index.rules
        return index.by_value.get(canonical(value), index.other)

    def first_match(self, inquiry: Inquiry) -> CompiledRule | None:
        """The first rule whose condition holds, or None."""
        for rule in self.candidates(inquiry):
            if rule.matcher is None or rule.matcher(inquiry):
                return rule
        return None

    def first_match_by_scan(self, inquiry: Inquiry) -> CompiledRule | None:
        """The same answer by trying every rule in order (the reference for tests and bench)."""
        for rule in self.rules:
            if rule.matches(inquiry):
                return rule
        return None

    def trace(self, inquiry: Inquiry) -> list[tuple[CompiledRule, Verdict]]:
        """Every rule tried up to the first match, with why it did or did not match."""
        tried = []
        for rule in self.rules:
            verdict = rule.explain(inquiry)
            tried.append((rule, verdict))
            if verdict.holds:
                break
        return tried


def _compile(index: int, rule: Rule, schedule_open: ScheduleOpen) -> CompiledRule:
    if rule.when is None:
        return CompiledRule(index, rule, None, {})
    matcher = compile_condition(rule.when, schedule_open)
    return CompiledRule(index, rule, matcher, required_values(matcher))


def _most_tested_attribute(rules: Sequence[CompiledRule]) -> str | None:
    counts = Counter(label for r in rules for label in r.required
                     if label.startswith("contact."))
    return counts.most_common(1)[0][0] if counts else None
