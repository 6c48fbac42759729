"""Reading providers' JSON: leniently (`as_dict`, `as_list`) or by type with paths (`Node`).

`as_dict` and `as_list` read answers of a provider's API, where a field of the wrong type reads
as empty. A webhook delivery is read with `Node` instead: each value keeps the path it was found
at (`entry[0].changes[0].value.messages[3].timestamp`), and a value of the wrong type or out of
range raises `Malformed` naming that path, which `receive` answers with a 400. A field that is
absent (or null) reads as None, so optional fields stay optional.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

ID_LIMIT = 512
"""Longest id a channel may give (a message's, a sender's): far over any provider's, and short
enough for a database's unique index."""
INT_LIMIT = 2**63  # ids and counts of every provider fit in a signed 64-bit integer
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LAST_SECOND = int((datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - EPOCH).total_seconds())
_SHOWN = 40  # characters of a string quoted in a message


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """`value` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


class Malformed(ValueError):
    """A value of a payload that cannot be read: where it is (`path`) and what is wrong."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path or 'body'}: {problem}")
        self.path = path
        self.problem = problem


def describe(value: Any) -> str:
    """A value as a message shows it: JSON for a number or a short string, else its kind."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str) and len(value) > _SHOWN:
        return f"a string of {len(value)} characters"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**_SHOWN:
        return f"an integer of {len(str(abs(value)))} digits"
    return json.dumps(value)  # ASCII, lone surrogates escaped: safe in any answer or log


def unicode_text(text: str) -> str:
    """`text` with what UTF-8 cannot encode replaced by U+FFFD: JSON's unpaired surrogate
    escapes ("\\ud800") and undecodable bytes of a header come back as lone surrogates."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


@dataclass(frozen=True, slots=True)
class Node:
    """A value of a payload and the path it was found at; None stands for an absent one."""

    value: Any
    path: str = ""

    def _fail(self, problem: str) -> Malformed:
        return Malformed(self.path, problem)

    def _expected(self, what: str) -> Malformed:
        if self.value is None:
            return self._fail("missing")
        return self._fail(f"expected {what}, got {describe(self.value)}")

    @property
    def present(self) -> bool:
        return self.value is not None

    def __getitem__(self, key: str) -> Node:
        """The member `key` of this object (absent when this is absent too)."""
        path = f"{self.path}.{key}" if self.path else key
        if self.value is None:
            return Node(None, path)
        if not isinstance(self.value, dict):
            raise self._expected("an object")
        return Node(self.value.get(key), path)

    def names(self) -> list[str]:
        """The names of this object's members (none when absent)."""
        if self.value is not None and not isinstance(self.value, dict):
            raise self._expected("an object")
        return list(self.value or ())

    def each(self) -> Iterator[Node]:
        """The items of this list, in order (none when absent)."""
        if self.value is None:
            return
        if not isinstance(self.value, list):
            raise self._expected("a list")
        for index, item in enumerate(self.value):
            yield Node(item, f"{self.path}[{index}]")

    def text(self) -> str | None:
        """A string, None when absent."""
        if self.value is None:
            return None
        if not isinstance(self.value, str):
            raise self._expected("a string")
        return unicode_text(self.value)

    def ident(self) -> str:
        """An id: a string that is not empty, at most ID_LIMIT characters, valid Unicode."""
        if not isinstance(self.value, str):
            raise self._expected("a string")
        if not self.value.strip():
            raise self._fail("empty")
        if len(self.value) > ID_LIMIT:
            raise self._fail(f"{describe(self.value)} is longer than an id may be "
                             f"({ID_LIMIT})")
        if unicode_text(self.value) != self.value:
            raise self._fail(f"{describe(self.value)} is not valid Unicode")
        return self.value

    def code(self) -> str | None:
        """A string, or an integer written as its digits (codes and ids that providers send
        either way), None when absent."""
        if isinstance(self.value, int) and not isinstance(self.value, bool):
            return str(self.integer())
        return self.text()

    def optional_ident(self) -> str | None:
        """An id, None when absent."""
        return None if self.value is None else self.ident()

    def integer(self) -> int | None:
        """An integer (a signed 64-bit one: every provider's ids and counts fit), None when
        absent; true and false are no integers."""
        if self.value is None:
            return None
        if not isinstance(self.value, int) or isinstance(self.value, bool):
            raise self._expected("an integer")
        if not -INT_LIMIT <= self.value < INT_LIMIT:
            raise self._fail(f"{describe(self.value)} is out of range")
        return self.value

    def number(self, low: float, high: float) -> float:
        """A finite number from `low` to `high`, given as a JSON number or as decimal text."""
        value = self.value
        try:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError
            number = float(value)
        except ValueError:
            raise self._expected("a number") from None
        except OverflowError:  # an integer past any float: out of every range
            number = math.inf
        if not (math.isfinite(number) and low <= number <= high):
            raise self._fail(f"{describe(value)} is not a number from {low:g} to {high:g}")
        return number

    def unix_time(self, per_second: int = 1) -> datetime:
        """A time in Unix seconds (or `per_second` parts of a second), as an integer or its
        ASCII digits: negative, fractional or past the year 9999 is no time."""
        value = self.value
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 30:
            value = int(value)
        if (not isinstance(value, int) or isinstance(value, bool)
                or not 0 <= value <= LAST_SECOND * per_second):
            if self.value is None:
                raise self._fail("missing")
            raise self._fail(f"{describe(self.value)} is not a time")
        seconds, part = divmod(value, per_second)
        return EPOCH + timedelta(seconds=seconds, microseconds=part * 1_000_000 // per_second)

    def iso_time(self) -> datetime:
        """A time in ISO 8601 with a UTC offset, from 1970 to the year 9999 in UTC."""
        text = self.text()
        if text is None:
            raise self._fail("missing")
        try:
            at = datetime.fromisoformat(text)
            in_utc = at.astimezone(UTC) if at.tzinfo is not None else None
        except (ValueError, OverflowError):
            raise self._fail(f"{describe(text)} is not an ISO 8601 time") from None
        if in_utc is None:
            raise self._fail(f"{describe(text)} has no UTC offset")
        if in_utc < EPOCH:
            raise self._fail(f"{describe(text)} is before 1970")
        return at
