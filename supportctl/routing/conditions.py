"""Rule conditions compiled into small matcher objects that can also say why they (don't) match.

Comparison semantics, shared by matching and by `explain`:
- text values compare case-insensitively; numbers and booleans by value, so `contact.tier: 1`
  matches a contact whose tier arrived as the text "1";
- a contact attribute holding a list (tags, say) matches when any of its items does;
- a missing contact attribute equals nothing and matches no regex (so `not` of it holds);
- keywords match as whole words, ignoring case, except at edges written in a script without
  spaces between words (Chinese, Japanese, Thai, ...), where a keyword matches inside the text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from supportctl.config.model.common import as_list
from supportctl.config.model.routing import Condition, KeywordMatch, RegexMatch

# (schedule id, instant) -> is the schedule open then
ScheduleOpen = Callable[[str, datetime], bool]


@dataclass(frozen=True, slots=True)
class Inquiry:
    """What routing decides on: a new conversation's channel, contact, first text and time."""

    at: datetime
    channel: str
    channel_type: str
    contact: Mapping[str, Any] = field(default_factory=dict)
    text: str = ""


def canonical(value: Any) -> str:
    """The form in which values compare: case-folded text, `true`/`false`, normalised numbers."""
    if value.__class__ is str:
        return value.casefold()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).casefold()


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a condition holds, and in words why."""

    holds: bool
    reason: str


class Matcher:
    """A compiled condition."""

    def __call__(self, inquiry: Inquiry) -> bool:
        raise NotImplementedError

    def explain(self, inquiry: Inquiry) -> Verdict:
        raise NotImplementedError


def _choices(values: Sequence[Any]) -> str:
    shown = [repr(v) for v in values]
    return shown[0] if len(shown) == 1 else "one of " + ", ".join(shown)


@dataclass(frozen=True, slots=True)
class OneOf(Matcher):
    """A field of the inquiry equals one of some values."""

    label: str
    read: Callable[[Inquiry], Any]
    values: frozenset[str]
    written: tuple[Any, ...]

    def __call__(self, inquiry: Inquiry) -> bool:
        value = self.read(inquiry)
        if isinstance(value, list | tuple | set | frozenset):  # e.g. a contact's tags
            return any(canonical(item) in self.values for item in value)
        return value is not None and canonical(value) in self.values

    def explain(self, inquiry: Inquiry) -> Verdict:
        value = self.read(inquiry)
        holds = self(inquiry)
        if value is None:
            return Verdict(False, f"{self.label} is not known (wanted {_choices(self.written)})")
        relation = "is" if holds else "is not"
        return Verdict(holds, f"{self.label} {value!r} {relation} {_choices(self.written)}")


@dataclass(frozen=True, slots=True)
class Pattern(Matcher):
    """A field of the inquiry contains a match of a regular expression or of a keyword."""

    label: str
    read: Callable[[Inquiry], Any]
    regex: re.Pattern[str]
    written: str

    def __call__(self, inquiry: Inquiry) -> bool:
        return self._found(self.read(inquiry)) is not None

    def _found(self, value: Any) -> re.Match[str] | None:
        """The first match in the value, or in any item of a list value."""
        if value is None:
            return None
        for item in value if isinstance(value, list | tuple | set | frozenset) else (value,):
            found = self.regex.search(str(item))
            if found is not None:
                return found
        return None

    def explain(self, inquiry: Inquiry) -> Verdict:
        value = self.read(inquiry)
        if value is None:
            return Verdict(False, f"{self.label} is not known (wanted {self.written})")
        found = self._found(value)
        if found is None:
            return Verdict(False, f"{self.label} {_short(value)} has no {self.written}")
        return Verdict(True, f"{self.label} {_short(value)} has {found.group(0)!r} "
                             f"({self.written})")


@dataclass(frozen=True, slots=True)
class ScheduleIsOpen(Matcher):
    """A schedule is open at the inquiry's time."""

    schedule: str
    is_open: ScheduleOpen

    def __call__(self, inquiry: Inquiry) -> bool:
        return self.is_open(self.schedule, inquiry.at)

    def explain(self, inquiry: Inquiry) -> Verdict:
        holds = self(inquiry)
        return Verdict(holds, f"schedule {self.schedule!r} is {'open' if holds else 'closed'} "
                              f"at {inquiry.at.isoformat()}")


@dataclass(frozen=True, slots=True)
class AllOf(Matcher):
    parts: tuple[Matcher, ...]

    def __call__(self, inquiry: Inquiry) -> bool:
        # a loop, not all(...): the generator costs more than the test in the hottest call
        for part in self.parts:  # noqa: SIM110
            if not part(inquiry):
                return False
        return True

    def explain(self, inquiry: Inquiry) -> Verdict:
        verdicts = [part.explain(inquiry) for part in self.parts]
        failed = [v.reason for v in verdicts if not v.holds]
        if failed:
            return Verdict(False, "; ".join(failed))
        return Verdict(True, "; ".join(v.reason for v in verdicts))


@dataclass(frozen=True, slots=True)
class AnyOf(Matcher):
    parts: tuple[Matcher, ...]

    def __call__(self, inquiry: Inquiry) -> bool:
        for part in self.parts:  # noqa: SIM110 (see AllOf)
            if part(inquiry):
                return True
        return False

    def explain(self, inquiry: Inquiry) -> Verdict:
        verdicts = [part.explain(inquiry) for part in self.parts]
        held = [v.reason for v in verdicts if v.holds]
        if held:
            return Verdict(True, held[0])
        return Verdict(False, "none of: " + "; ".join(v.reason for v in verdicts))


@dataclass(frozen=True, slots=True)
class Not(Matcher):
    part: Matcher

    def __call__(self, inquiry: Inquiry) -> bool:
        return not self.part(inquiry)

    def explain(self, inquiry: Inquiry) -> Verdict:
        inner = self.part.explain(inquiry)
        return Verdict(not inner.holds, f"not ({inner.reason})")


def _short(value: Any, limit: int = 40) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _spaced(char: str) -> bool:
    """Whether words of this character's script are separated by spaces or punctuation."""
    if not char.isalnum():
        return False
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return False
    return not unicodedata.name(char, "").startswith(("THAI", "LAO", "KHMER", "MYANMAR"))


def keyword_regex(keywords: Sequence[str]) -> re.Pattern[str]:
    """One case-insensitive regex matching any keyword as a whole word (see the module doc)."""
    alternatives = []
    for keyword in sorted(keywords, key=len, reverse=True):
        words = r"\s+".join(re.escape(w) for w in keyword.split())
        start = r"(?<!\w)" if _spaced(keyword[0]) else ""
        end = r"(?!\w)" if _spaced(keyword[-1]) else ""
        alternatives.append(f"{start}{words}{end}")
    return re.compile("|".join(alternatives), re.IGNORECASE)


def _contact_reader(attribute: str) -> Callable[[Inquiry], Any]:
    def read(inquiry: Inquiry) -> Any:
        return inquiry.contact.get(attribute)
    return read


def _read_channel(inquiry: Inquiry) -> str:
    return inquiry.channel


def _read_channel_type(inquiry: Inquiry) -> str:
    return inquiry.channel_type


def _read_text(inquiry: Inquiry) -> str:
    return inquiry.text


def _text_matcher(label: str, read: Callable[[Inquiry], Any],
                  match: KeywordMatch | RegexMatch) -> Matcher:
    if isinstance(match, KeywordMatch):
        return Pattern(label, read, keyword_regex(match.keywords),
                       "keyword " + _choices(match.keywords))
    return Pattern(label, read, re.compile(match.regex, re.IGNORECASE),
                   f"a match of /{match.regex}/")


def _one_of(label: str, read: Callable[[Inquiry], Any], values: Any) -> OneOf:
    written = tuple(as_list(values))
    return OneOf(label, read, frozenset(canonical(v) for v in written), written)


def compile_condition(condition: Condition, schedule_open: ScheduleOpen) -> Matcher:
    """The matcher of a condition: every key given must hold."""
    parts: list[Matcher] = []
    if condition.channel is not None:
        parts.append(_one_of("channel", _read_channel, condition.channel))
    if condition.channel_type is not None:
        parts.append(_one_of("channel type", _read_channel_type, condition.channel_type))
    for attribute, match in condition.contact_matchers().items():
        label, read = f"contact.{attribute}", _contact_reader(attribute)
        parts.append(_text_matcher(label, read, match) if isinstance(match, RegexMatch)
                     else _one_of(label, read, match))
    if condition.text is not None:
        parts.append(_text_matcher("text", _read_text, condition.text))
    if condition.schedule is not None:
        parts.append(ScheduleIsOpen(condition.schedule, schedule_open))
    if condition.any is not None:
        parts.append(AnyOf(tuple(compile_condition(c, schedule_open) for c in condition.any)))
    if condition.all is not None:
        parts.extend(compile_condition(c, schedule_open) for c in condition.all)
    if condition.not_ is not None:
        parts.append(Not(compile_condition(condition.not_, schedule_open)))
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def required_values(matcher: Matcher) -> dict[str, frozenset[str]]:
    """Equality tests that must hold for the matcher to hold, by label: what tables index on."""
    if isinstance(matcher, OneOf):
        return {matcher.label: matcher.values}
    if isinstance(matcher, AllOf):
        required: dict[str, frozenset[str]] = {}
        for part in matcher.parts:
            for label, values in required_values(part).items():
                required[label] = required[label] & values if label in required else values
        return required
    return {}
