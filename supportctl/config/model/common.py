"""Small reusable value types of the stack language, each with its schema and help text."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class StackModel(BaseModel):
    """Base of every stack-language model: unknown keys refused, no silent type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True,
                              use_attribute_docstrings=True)


class SecretMarker:
    """Metadata marking a field as a credential: never printed, expected as `${ENV}`."""

    def __repr__(self) -> str:
        return "SecretMarker()"


SECRET = SecretMarker()


def type_help(text: str, **keywords: Any) -> Callable[[dict[str, Any]], None]:
    """Schema help of a reusable type that gives way to the docstring of the field using it.

    A `description=` in the type's own `Field` would win over the field's docstring (pydantic
    only reads docstrings of fields that have no description yet), hiding the field's meaning.
    """

    def extra(schema: dict[str, Any]) -> None:
        schema.setdefault("description", text)
        schema.update(keywords)

    return extra


ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN), Field(
    json_schema_extra=type_help(
        "An id: letters, digits, `_` and `-`, starting with a letter or digit."),
    examples=["general"])]

LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"),
                         Field(json_schema_extra=type_help(
                             "A language code (ISO 639-1 or BCP 47)."),
                               examples=["en", "de", "zh", "pt-BR"])]

TimeZoneName = Annotated[str, StringConstraints(min_length=1), Field(
    json_schema_extra=type_help("An IANA time zone name."),
    examples=["Europe/Berlin", "America/New_York"])]

Secret = Annotated[str, SECRET, Field(
    json_schema_extra=type_help(
        "A credential. Write it as `${ENV_VAR}` so it stays out of the repository.",
        writeOnly=True, format="password"),
    examples=["${WA_TOKEN}"])]

DURATION_PATTERN = r"^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$"
Duration = Annotated[str, StringConstraints(pattern=DURATION_PATTERN, min_length=2), Field(
    json_schema_extra=type_help("A duration such as `90s`, `15m`, `2h30m` or `1d`."),
    examples=["15m", "24h"])]

TIME_RANGE_PATTERN = r"^[0-9]{2}:[0-9]{2}-[0-9]{2}:[0-9]{2}$"
TimeRange = Annotated[str, StringConstraints(pattern=TIME_RANGE_PATTERN), Field(
    json_schema_extra=type_help(
        "`HH:MM-HH:MM` in the schedule's time zone. `24:00` ends a day; an end before the start "
        "crosses midnight and belongs to the day it starts."),
    examples=["08:00-16:00", "22:00-06:00"])]

DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
Date = Annotated[str, StringConstraints(pattern=DATE_PATTERN), Field(
    json_schema_extra=type_help("A calendar date `YYYY-MM-DD`."), examples=["2026-12-25"])]
DateOrRange = Annotated[str, StringConstraints(
    pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(\.\.[0-9]{4}-[0-9]{2}-[0-9]{2})?$"), Field(
    json_schema_extra=type_help(
        "A date `YYYY-MM-DD` or an inclusive range `YYYY-MM-DD..YYYY-MM-DD`."),
    examples=["2026-12-25", "2026-12-24..2026-12-26"])]

DAYS_PATTERN = r"^[a-z]+(-[a-z]+)?(, *[a-z]+(-[a-z]+)?)*$"
DayList = Annotated[str, StringConstraints(pattern=DAYS_PATTERN), Field(
    json_schema_extra=type_help(
        "Days of the week: `mon`..`sun`, ranges such as `mon-fri`, comma lists such as "
        "`sat,sun`, or `daily`, `weekdays`, `weekends`."),
    examples=["mon-fri", "sat,sun", "daily"])]

LocalizedText = Annotated[dict[LanguageCode, str], Field(
    min_length=1, json_schema_extra=type_help("Text per language code."),
    examples=[{"en": "Hello!", "de": "Hallo!"}])]
Text = Annotated[str | LocalizedText, Field(
    json_schema_extra=type_help(
        "Text in the workspace's default language, or a mapping of language code to text."),
    examples=["Track my order", {"en": "Track my order", "de": "Bestellung verfolgen"}])]

IdList = Annotated[list[Id], Field(min_length=1)]
IdOrIds = Annotated[Id | IdList, Field(json_schema_extra=type_help("One id, or a list of ids."),
                                       examples=["slack-support", ["slack-support", "crm"]])]

_DURATION_PART = re.compile(r"([0-9]+)([dhms])")
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """`2h30m` -> timedelta(hours=2, minutes=30); the text must match DURATION_PATTERN."""
    return timedelta(seconds=sum(int(n) * _UNIT[u] for n, u in _DURATION_PART.findall(text)))


def texts_of(value: str | dict[str, str] | None, default_language: str) -> dict[str, str]:
    """A Text as a language -> text mapping (a plain string is the default language's)."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {default_language: value}
    return dict(value)


def text_in(value: str | dict[str, str] | None, language: str | None,
            default_language: str) -> str | None:
    """A Text in `language`, else in the default language, else in any; None when empty."""
    texts = texts_of(value, default_language)
    return (texts.get(language or "") or texts.get(default_language)
            or next(iter(texts.values()), None))


def as_list(value: Any) -> list[Any]:
    """`x` -> `[x]`, a list as it is, None -> `[]`: for fields that take one id or several."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]

