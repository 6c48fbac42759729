"""Routing rules: conditions on channel, contact, text and time; targets and escalations."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import Field, TypeAdapter, model_validator

from supportctl.config.model.common import Duration, Id, IdOrIds, StackModel

CONTACT_KEY = re.compile(r"^contact\.([A-Za-z_][A-Za-z0-9_]*)$")
CONTACT_KEY_PATTERN = CONTACT_KEY.pattern

Scalar = str | int | float | bool


class RegexMatch(StackModel):
    """Matches when the regular expression is found (case-insensitive)."""

    regex: Annotated[str, Field(min_length=1, examples=[r"^\+86"])]
    """A Python regular expression, searched anywhere in the value, ignoring case."""


class KeywordMatch(StackModel):
    """Matches when any keyword appears as a word in the text (case-insensitive)."""

    keywords: Annotated[list[Annotated[str, Field(min_length=1)]], Field(
        min_length=1, examples=[["refund", "money back"]])]
    """Words or phrases; any one of them matching is enough."""


ContactMatch = Annotated[
    Scalar | Annotated[list[Scalar], Field(min_length=1)] | RegexMatch,
    Field(description="A value the attribute must equal, a list it must be one of, or "
                      "`{regex: ...}`.", examples=["zh", ["vip", "gold"], {"regex": "^\\+86"}])]
_CONTACT_MATCH: TypeAdapter[Any] = TypeAdapter(ContactMatch, config={"strict": True})


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    return node


def _condition_schema(schema: dict[str, Any]) -> None:
    contact = _CONTACT_MATCH.json_schema()
    schema["additionalProperties"] = False
    schema["patternProperties"] = {CONTACT_KEY_PATTERN: _inline_refs(contact,
                                                                     contact.get("$defs", {}))}
    schema["minProperties"] = 1


class Condition(StackModel):
    """When a rule applies. All keys given must hold; use `any`, `all` and `not` to combine.

    Besides the keys below, `contact.<attribute>` tests an attribute of the contact, e.g.
    `contact.language: zh`, `contact.segment: [vip, gold]` or `contact.phone: {regex: "^\\+86"}`.
    """

    model_config = StackModel.model_config | {"extra": "allow",
                                              "json_schema_extra": _condition_schema}

    channel: Annotated[IdOrIds | None, Field(examples=["wa-main", ["wa-main", "web"]])] = None
    """The conversation's channel id, or one of several."""
    channel_type: Annotated[str | Annotated[list[str], Field(min_length=1)] | None, Field(
        examples=["whatsapp", ["wechat", "telegram"]])] = None
    """The conversation's channel type (plugin name), or one of several."""
    text: Annotated[KeywordMatch | RegexMatch | None, Field(examples=[
        {"keywords": ["refund", "money back"]}, {"regex": "order (no|number) ?[0-9]{6}"}])] = None
    """The text of the message that opened the conversation."""
    schedule: Annotated[Id | None, Field(examples=["business-hours"])] = None
    """True while the schedule is open."""
    any: Annotated[list[Condition] | None, Field(min_length=1, examples=[
        [{"channel": "wechat"}, {"contact.language": "zh"}]])] = None
    """At least one of these conditions holds."""
    all: Annotated[list[Condition] | None, Field(min_length=1, examples=[
        [{"channel_type": "whatsapp"}, {"contact.segment": "vip"}]])] = None
    """Every one of these conditions holds."""
    not_: Annotated[Condition | None, Field(alias="not", examples=[
        {"schedule": "business-hours"}])] = None
    """This condition does not hold."""

    _contact_key: ClassVar[re.Pattern[str]] = CONTACT_KEY

    @model_validator(mode="after")
    def _contact_matchers(self) -> Condition:
        extras = self.model_extra or {}
        for key, value in extras.items():
            if not CONTACT_KEY.match(key):
                raise ValueError(f"unknown condition key {key!r}")
            extras[key] = _CONTACT_MATCH.validate_python(value)
        if not extras and not any(getattr(self, f) is not None for f in type(self).model_fields):
            raise ValueError("a condition needs at least one key")
        return self

    def contact_matchers(self) -> dict[str, Any]:
        """`{attribute: matcher}` for the `contact.<attribute>` keys of this condition."""
        return {key.split(".", 1)[1]: value for key, value in (self.model_extra or {}).items()}


class Escalation(StackModel):
    """What happens when a conversation waits too long for an agent's reply."""

    model_config = StackModel.model_config | {"json_schema_extra": {
        "anyOf": [{"required": ["to"]}, {"required": ["notify"]}]}}

    after: Duration
    """How long without an agent reply before this step runs."""
    to: Annotated[Id | None, Field(examples=["supervisors"])] = None
    """Team that takes the conversation over."""
    notify: IdOrIds | None = None
    """Notify targets (under `notify`) to alert."""
    reply: Annotated[Id | None, Field(examples=["still_waiting"])] = None
    """Template sent to the customer when this step runs."""

    @model_validator(mode="after")
    def _does_something(self) -> Escalation:
        if self.to is None and self.notify is None:
            raise ValueError("an escalation step needs `to` or `notify`")
        return self


class Rule(StackModel):
    """A routing rule. Rules are tried in order; the first whose condition holds wins."""

    name: Annotated[Id, Field(examples=["chinese-speakers"])]
    """Unique name, used by `explain`, tests and reports."""
    description: Annotated[str | None, Field(examples=[
        "Chinese speakers reach agents who read Chinese"])] = None
    """Why this rule exists."""
    when: Annotated[Condition | None, Field(examples=[
        {"any": [{"channel": "wechat"}, {"contact.language": "zh"}]}])] = None
    """The condition; a rule without one matches every conversation (a catch-all)."""
    to: Annotated[Id, Field(examples=["general"])]
    """The team that receives the conversation."""
    fallback: Annotated[IdOrIds | None, Field(examples=["general", ["general", "night"]])] \
        = None
    """Team(s) tried in order when nobody in `to` is on shift."""
    escalate: Annotated[list[Escalation], Field(examples=[[
        {"after": "15m", "notify": "slack-support"},
        {"after": "1h", "to": "supervisors", "reply": "still_waiting"}]])] = []
    """Escalation steps, by time since the conversation was routed without an agent reply."""
    notify: IdOrIds | None = None
    """Notify targets alerted whenever this rule routes a conversation."""
    out_of_hours_reply: Annotated[Id | None, Field(examples=["out_of_hours"])] = None
    """Template sent when nobody is on shift; overrides the team's and the workspace's."""
