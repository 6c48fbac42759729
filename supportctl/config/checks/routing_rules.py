"""Routing rules must be reachable, named once, and test things that exist."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from supportctl.config.checks import Check, CheckContext
from supportctl.config.checks.references import unknown, unknown_each
from supportctl.config.diagnostics import Finding, YamlPath
from supportctl.config.model.common import as_list
from supportctl.config.model.routing import Condition, RegexMatch
from supportctl.config.model.workspace import BUILTIN_CONTACT_ATTRIBUTES
from supportctl.config.suggest import did_you_mean, known_list

_SETS = ("channel", "channel_type")


def conditions(condition: Condition, path: YamlPath) -> Iterator[tuple[Condition, YamlPath]]:
    """A condition and every condition nested in it, with their paths."""
    yield condition, path
    for key in ("any", "all"):
        for index, child in enumerate(getattr(condition, key) or ()):
            yield from conditions(child, (*path, key, index))
    if condition.not_ is not None:
        yield from conditions(condition.not_, (*path, "not"))


def conjuncts(condition: Condition) -> dict[str, Any]:
    """The condition as `key -> canonical value`: sets for membership, JSON text otherwise."""
    parts: dict[str, Any] = {}
    dumped = condition.model_dump(mode="json", by_alias=True, exclude_none=True)
    for key, value in dumped.items():
        if key in _SETS or (key.startswith("contact.") and not isinstance(value, dict)):
            parts[key] = frozenset(json.dumps(v) for v in as_list(value))
        else:
            parts[key] = json.dumps(value, sort_keys=True)
    return parts


def covers(earlier: dict[str, Any], later: dict[str, Any]) -> bool:
    """True when everything `later` matches is matched by `earlier` too."""
    for key, value in earlier.items():
        if key not in later:
            return False
        other = later[key]
        if isinstance(value, frozenset) and isinstance(other, frozenset):
            if not other <= value:
                return False
        elif value != other:
            return False
    return True


class EarlierConditions:
    """Conditions of the rules seen so far, indexed so that a stack of a thousand rules is not
    checked pair by pair: a covering rule tests a subset of the keys, and for each of them it
    has the same value or a superset of values."""

    def __init__(self) -> None:
        self.parts: dict[int, dict[str, Any]] = {}
        # key set -> key -> token -> indexes of rules with exactly that key set
        self.groups: dict[frozenset[str], dict[str, dict[Any, list[int]]]] = {}

    def add(self, index: int, parts: dict[str, Any]) -> None:
        self.parts[index] = parts
        group = self.groups.setdefault(frozenset(parts), {})
        for key, value in parts.items():
            tokens = group.setdefault(key, {})
            for token in value if isinstance(value, frozenset) else (value,):
                tokens.setdefault(token, []).append(index)

    def first_covering(self, parts: dict[str, Any]) -> int | None:
        """The index of the earliest rule that matches everything `parts` does."""
        keys = frozenset(parts)
        best: int | None = None
        for group_keys, group in self.groups.items():
            if not group_keys <= keys:
                continue
            candidates = min((group[key].get(_token(parts[key]), []) for key in group_keys),
                             key=len)
            for index in candidates:
                if best is not None and index >= best:
                    break
                if covers(self.parts[index], parts):
                    best = index
                    break
        return best


def _token(value: Any) -> Any:
    # a covering rule's set contains every value of the covered one, so any one will do
    return min(value) if isinstance(value, frozenset) else value


def reachability(context: CheckContext) -> Iterator[Finding]:
    rules = context.stack.routing
    catch_all: int | None = None
    seen = EarlierConditions()
    names: dict[str, int] = {}
    for index, rule in enumerate(rules):
        path: YamlPath = ("routing", index)
        if rule.name in names:
            first = names[rule.name]
            yield Finding((*path, "name"), "U504", f"rule name {rule.name!r} is already used by "
                          f"an earlier rule ({context.where(('routing', first))})",
                          "give every rule its own name")
        else:
            names[rule.name] = index
        if catch_all is not None:
            yield Finding(path, "U501", f"rule {rule.name!r} can never match: the catch-all "
                          f"rule {rules[catch_all].name!r} "
                          f"({context.where(('routing', catch_all))}) comes first",
                          "move this rule above the catch-all, or remove it")
            continue
        if rule.when is None:
            catch_all = index
            continue
        parts = conjuncts(rule.when)
        earlier_index = seen.first_covering(parts)
        if earlier_index is not None:
            same = conjuncts(rules[earlier_index].when) == parts  # type: ignore[arg-type]
            yield Finding(path, "U502", f"rule {rule.name!r} can never match: rule "
                          f"{rules[earlier_index].name!r} "
                          f"({context.where(('routing', earlier_index))}) comes first and "
                          + ("has the same condition" if same else
                             "matches every conversation this one does"),
                          "make the conditions differ, or put the narrower rule first")
        seen.add(index, parts)
    if "routing" in context.broken:
        return  # the catch-all may be the rule that failed the structural check
    if rules and catch_all is None:
        last = len(rules) - 1
        yield Finding(("routing", last), "U503", "no catch-all rule: conversations that match "
                      "no rule have nowhere to go", "end the routing with a rule without `when`, "
                      "e.g. `- {name: everyone-else, to: general}`")
    elif not rules and (context.stack.teams or context.stack.channels):
        yield Finding(("routing",), "U503", "there are no routing rules, so no conversation "
                      "reaches a team", "add a rule without `when`, e.g. "
                      "`- {name: everyone-else, to: general}`")


def fallbacks(context: CheckContext) -> Iterator[Finding]:
    for index, rule in enumerate(context.stack.routing):
        seen = {rule.to}
        for position, team in enumerate(as_list(rule.fallback)):
            path: YamlPath = ("routing", index, "fallback")
            if isinstance(rule.fallback, list):
                path = (*path, position)
            if team in seen:
                yield Finding(path, "U506", f"fallback {team!r} repeats a team already tried "
                              f"by rule {rule.name!r}", "remove the repeat")
            seen.add(team)


def condition_terms(context: CheckContext) -> Iterator[Finding]:
    """Channels, types, schedules, attributes and regexes used in conditions must be valid."""
    stack = context.stack
    known_attributes = {*BUILTIN_CONTACT_ATTRIBUTES, *stack.workspace.contact_attributes}
    types_in_use = {channel.type for channel in stack.channels.values()}
    for index, rule in enumerate(stack.routing):
        if rule.when is None:
            continue
        for condition, path in conditions(rule.when, ("routing", index, "when")):
            yield from unknown_each(context, "channels", condition.channel, (*path, "channel"))
            yield from unknown(context, "schedules", condition.schedule, (*path, "schedule"))
            for position, kind in enumerate(as_list(condition.channel_type)):
                type_path: YamlPath = (*path, "channel_type")
                if isinstance(condition.channel_type, list):
                    type_path = (*type_path, position)
                if kind not in types_in_use:
                    installed = set(context.plugins.channels)
                    what = ("no channel of type" if kind in installed else "unknown channel type")
                    yield Finding(type_path, "R307", f"{what} {kind!r} in this stack",
                                  did_you_mean(kind, types_in_use | installed) or
                                  f"types in use: {known_list(types_in_use)}")
            if condition.text is not None and isinstance(condition.text, RegexMatch):
                yield from _regex(condition.text.regex, (*path, "text", "regex"))
            for attribute, matcher in condition.contact_matchers().items():
                key_path: YamlPath = (*path, f"contact.{attribute}")
                if attribute not in known_attributes:
                    yield Finding(key_path, "R309", f"unknown contact attribute {attribute!r}",
                                  did_you_mean(attribute, known_attributes) or
                                  "declare it in workspace.contact_attributes", at_key=True)
                if isinstance(matcher, RegexMatch):
                    yield from _regex(matcher.regex, (*key_path, "regex"))


def _regex(pattern: str, path: YamlPath) -> Iterator[Finding]:
    try:
        re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        yield Finding(path, "U505", f"invalid regular expression: {exc}",
                      "Python `re` syntax; quote the pattern in single quotes in YAML")


CHECKS: list[Check] = [reachability, fallbacks, condition_terms]
