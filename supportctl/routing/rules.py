"""The ordered routing rules compiled into an immutable table indexed for first-match lookup.

A decision must not scan every rule. At compile time each rule's condition yields the equality
tests that must hold for it to match (its channel, channel type and `contact.<attribute>` values
at the top level of the condition). The table arranges the rules in a small decision tree on
those tests: a node picks the test most rules make and keeps, for each value named, the rules
that value can still reach (in rule order), and for any other value the rules that do not test
it. A lookup walks down with the inquiry's values and evaluates only the rules of the leaf it
reaches, in order, stopping at the first that matches: the same answer as a scan of every rule,
which `first_match_by_scan` keeps as the reference that tests and benchmarks compare with.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter

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


_LEAF_SIZE = 4  # below this, evaluating the rules is cheaper than another level


@dataclass(frozen=True, slots=True)
class _Node:
    """A node of the index: `rules` are the candidates when no deeper test narrows them."""

    rules: tuple[CompiledRule, ...]
    label: str | None = None
    read: Callable[[Inquiry], object] | None = None
    by_value: Mapping[str, _Node] | None = None
    other: _Node | None = None


def _reader(label: str) -> Callable[[Inquiry], object]:
    if label == _CHANNEL:
        return attrgetter("channel")
    if label == _CHANNEL_TYPE:
        return attrgetter("channel_type")
    attribute = label.removeprefix("contact.")
    return lambda inquiry: inquiry.contact.get(attribute)


def _build(rules: tuple[CompiledRule, ...], used: frozenset[str]) -> _Node:
    if len(rules) <= _LEAF_SIZE:
        return _Node(rules)
    counts = Counter(label for r in rules for label in r.required if label not in used)
    if not counts:
        return _Node(rules)
    label, tested = counts.most_common(1)[0]
    if tested < 2:
        return _Node(rules)
    deeper = used | {label}
    values = sorted({value for r in rules for value in r.required.get(label, ())})
    by_value = {value: _build(tuple(r for r in rules if r.admits(label, value)), deeper)
                for value in values}
    other = _build(tuple(r for r in rules if label not in r.required), deeper)
    return _Node(rules, label, _reader(label), by_value, other)


class RuleTable:
    """First-match lookup over compiled rules; immutable once built."""

    def __init__(self, rules: Sequence[Rule], schedule_open: ScheduleOpen) -> None:
        self.rules: tuple[CompiledRule, ...] = tuple(
            _compile(index, rule, schedule_open) for index, rule in enumerate(rules))
        self._root = _build(self.rules, frozenset())

    def candidates(self, inquiry: Inquiry) -> Sequence[CompiledRule]:
        """The rules that can match this inquiry, in order: a superset of those that do."""
        node = self._root
        while node.read is not None:
            value = node.read(inquiry)
            by_value, other = node.by_value, node.other
            assert by_value is not None and other is not None
            if value is None:
                node = other
            elif value.__class__ is str:
                node = by_value.get(value.casefold(), other)
            elif isinstance(value, list | tuple | set | frozenset):  # tags: no single branch
                break
            else:
                node = by_value.get(canonical(value), other)
        return node.rules

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
