"""Contact classes: the values of each contact attribute and first text that rules tell apart."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from supportctl.config.model.common import as_list
from supportctl.config.model.routing import Condition, RegexMatch
from supportctl.config.timespec import zone
from supportctl.routing.conditions import (
    AllOf,
    AnyOf,
    Inquiry,
    Matcher,
    Not,
    OneOf,
    Pattern,
    canonical,
)
from supportctl.routing.engine import Router

OTHER = "other"


@dataclass(frozen=True, slots=True)
class ContactClass:
    """Values of one dimension that every condition of both stacks treats alike."""

    values: tuple[Any, ...]
    """Sample values (the first is used); None stands for "not set or any other value"."""
    label: str


@dataclass(frozen=True, slots=True)
class Dimension:
    """A contact attribute, or `text` (the first message), and its classes."""

    name: str
    classes: tuple[ContactClass, ...]

    def describe(self, chosen: frozenset[int]) -> str:
        """`language=de|en`; `language≠zh` when "other" is in and naming what is left out is
        shorter, or names one class (`segment≠vip` says more than `segment=other`)."""
        left_out = [i for i in range(len(self.classes)) if i not in chosen]
        other = next((i for i, c in enumerate(self.classes) if None in c.values), None)
        if other in chosen and left_out and (len(left_out) == 1 or len(left_out) < len(chosen)):
            return f"{self.name}≠" + "|".join(self.classes[i].label for i in left_out)
        return f"{self.name}=" + "|".join(self.classes[i].label for i in sorted(chosen))


def walk(matcher: Matcher) -> Iterator[Matcher]:
    """The matcher and every matcher inside it, depth first."""
    yield matcher
    if isinstance(matcher, AllOf | AnyOf):
        for part in matcher.parts:
            yield from walk(part)
    elif isinstance(matcher, Not):
        yield from walk(matcher.part)


# --- samples -------------------------------------------------------------------------------

_parser: Any = importlib.import_module("re._parser")  # the stdlib's regex parser


class _NoSample(Exception):
    pass


def _char_in(items: Sequence[tuple[Any, Any]]) -> str:
    if items and str(items[0][0]) == "NEGATE":
        return next(c for c in "a0 _-x#" if not any(_in_item(c, item) for item in items[1:]))
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            return chr(arg[0])
        if name == "CATEGORY":
            return {"CATEGORY_DIGIT": "0", "CATEGORY_SPACE": " "}.get(str(arg), "a")
    raise _NoSample


def _in_item(char: str, item: tuple[Any, Any]) -> bool:
    op, arg = str(item[0]), item[1]
    if op == "LITERAL":
        return char.casefold() == chr(arg).casefold()
    if op == "RANGE":
        return bool(arg[0] <= ord(char.casefold()) <= arg[1]
                    or arg[0] <= ord(char.upper()) <= arg[1])
    return op == "CATEGORY"  # be safe: any category might hold it


def _emit(items: Iterable[tuple[Any, Any]], groups: dict[int, str]) -> str:
    out = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("a" if chr(arg).casefold() != "a" else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_char_in(arg))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            out.append(_emit(arg[2], groups) * arg[0])
        elif name in ("SUBPATTERN", "ATOMIC_GROUP"):
            text = _emit(arg[-1] if name == "SUBPATTERN" else arg, groups)
            if name == "SUBPATTERN" and arg[0] is not None:
                groups[arg[0]] = text
            out.append(text)
        elif name == "BRANCH":
            out.append(_emit(arg[1][0], groups))
        elif name == "GROUPREF":
            out.append(groups.get(arg, ""))
        elif name not in ("AT", "ASSERT", "ASSERT_NOT"):
            raise _NoSample
    return "".join(out)


def regex_example(regex: str) -> str | None:
    """A short text that the regex finds (ignoring case), or None when none is derived simply."""
    try:
        text = _emit(_parser.parse(regex, re.IGNORECASE), {})
        found = re.search(regex, text, re.IGNORECASE)
    except (_NoSample, re.error, StopIteration, RecursionError):
        return None
    return text if found is not None else None


def _shown(value: Any) -> str:
    return canonical(value) if isinstance(value, bool | float) else str(value)


@dataclass
class _Samples:
    contact: dict[str, dict[str, tuple[Any, str]]] = field(default_factory=dict)
    text: dict[str, tuple[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add_contact(self, attribute: str, value: Any, label: str) -> None:
        self.contact.setdefault(attribute, {}).setdefault(canonical(value), (value, label))

    def regex(self, rule: str, where: str, regex: str) -> str | None:
        sample = regex_example(regex)
        if sample is None:
            self.notes.append(f"rule {rule!r}: no sample found for {where} /{regex}/; "
                              "conversations it alone matches are not compared")
        return sample

    def condition(self, rule: str, condition: Condition) -> None:
        for attribute, match in condition.contact_matchers().items():
            if isinstance(match, RegexMatch):
                sample = self.regex(rule, f"contact.{attribute}", match.regex)
                if sample is not None:
                    self.add_contact(attribute, sample, f"{sample!r}")
            else:
                for value in as_list(match):
                    self.add_contact(attribute, value, _shown(value))
        if condition.text is not None:
            if isinstance(condition.text, RegexMatch):
                sample = self.regex(rule, "text", condition.text.regex)
                if sample is not None:
                    self.text.setdefault(sample.casefold(), (sample, f'"{sample}"'))
            else:
                for keyword in condition.text.keywords:
                    self.text.setdefault(keyword.casefold(), (keyword, f'"{keyword}"'))
        for sub in [*(condition.any or []), *(condition.all or [])]:
            self.condition(rule, sub)
        if condition.not_ is not None:
            self.condition(rule, condition.not_)


def _grouped(name: str, samples: Sequence[tuple[Any, str]],
             matchers: Sequence[OneOf | Pattern],
             inquiry: Callable[[Any], Inquiry]) -> Dimension:
    """Samples grouped by how every matcher of the dimension judges them; "other" last."""
    groups: dict[tuple[bool, ...], list[tuple[Any, str]]] = {}
    for value, label in [*samples, (None, OTHER)]:
        probe = inquiry(value)
        groups.setdefault(tuple(m(probe) for m in matchers), []).append((value, label))
    classes = []
    for members in groups.values():
        values = tuple(value for value, _ in members)
        labels = [label for _, label in members]
        if None in values:
            label = OTHER
        elif len(labels) > 2:
            label = f"{labels[0]} (+{len(labels) - 1} more)"
        else:
            label = "|".join(labels)
        classes.append(ContactClass(values, label))
    classes.sort(key=lambda c: None in c.values)
    return Dimension(name, tuple(classes))


def dimensions(routers: Sequence[Router]) -> tuple[tuple[Dimension, ...], list[str]]:
    """The contact attributes and the text that the rules of these routers test, classed."""
    samples = _Samples()
    matchers: dict[str, list[OneOf | Pattern]] = {}
    for router in routers:
        for rule in router.table.rules:
            if rule.rule.when is not None:
                samples.condition(rule.rule.name, rule.rule.when)
            for part in walk(rule.matcher) if rule.matcher is not None else ():
                if isinstance(part, OneOf | Pattern) and (
                        part.label == "text" or part.label.startswith("contact.")):
                    matchers.setdefault(part.label, []).append(part)
    found = []
    for attribute, values in samples.contact.items():
        found.append(_grouped(attribute, list(values.values()),
                              matchers.get(f"contact.{attribute}", []), _contact_probe(attribute)))
    if "text" in matchers:
        found.append(_grouped("text", list(samples.text.values()), matchers["text"],
                              lambda value: Inquiry(_EPOCH, "", "", {}, value or "")))
    return tuple(found), list(dict.fromkeys(samples.notes))


def _contact_probe(attribute: str) -> Callable[[Any], Inquiry]:
    def probe(value: Any) -> Inquiry:
        return Inquiry(_EPOCH, "", "", {} if value is None else {attribute: value})
    return probe


_EPOCH = datetime(2026, 1, 1, tzinfo=zone("UTC"))
