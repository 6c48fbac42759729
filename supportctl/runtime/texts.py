"""Templates filled in for one contact: free text in their language, or a channel's native one.

Placeholders are `{{variable}}` as `validate` checks them (T601): `contact.<attribute>`,
`agent.name`, `agent.first_name`, `team.name`, `workspace.name`, `channel.name`,
`conversation.id`, `conversation.url` and `next_open`. A variable without a value is left empty
rather than shown as `{{...}}` to a customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from supportctl.config.checks.templates import PLACEHOLDER
from supportctl.config.model.common import StackModel, text_in
from supportctl.config.model.stack import StackBase
from supportctl.plugins.channel import OutboundTemplate


def fill(text: str, variables: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: variables.get(m.group(1).strip(), ""), text)


def format_opening(at: datetime, timezone: str) -> str:
    """`{{next_open}}`: a wall-clock time every reader parses, in the workspace's zone."""
    local = at.astimezone(ZoneInfo(timezone))
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or timezone)


@dataclass(frozen=True, slots=True)
class Variables:
    """What a template may mention; `as_mapping` gives the placeholder names."""

    contact: Mapping[str, Any]
    agent_name: str | None = None
    team_name: str | None = None
    channel_name: str | None = None
    conversation_id: str | None = None
    conversation_url: str | None = None
    next_open: str | None = None

    def as_mapping(self, workspace_name: str) -> dict[str, str]:
        values = {f"contact.{key}": str(value) for key, value in self.contact.items()
                  if value is not None and not isinstance(value, dict | list)}
        name = self.contact.get("name")
        if isinstance(name, str) and name and "contact.first_name" not in values:
            values["contact.first_name"] = name.split()[0]
        optional = {"agent.name": self.agent_name, "team.name": self.team_name,
                    "channel.name": self.channel_name, "conversation.id": self.conversation_id,
                    "conversation.url": self.conversation_url, "next_open": self.next_open}
        values.update({key: value for key, value in optional.items() if value})
        if self.agent_name:
            values["agent.first_name"] = self.agent_name.split()[0]
        values["workspace.name"] = workspace_name
        return values


class Texts:
    """The templates of one stack."""

    def __init__(self, stack: StackBase) -> None:
        self.stack = stack
        self.default_language = stack.workspace.language

    def language_for(self, language: str | None) -> str:
        """The contact's language when the workspace serves it, else the default."""
        return language if language in self.stack.workspace.languages else self.default_language

    def text(self, template_id: str, language: str | None, variables: Variables) -> str | None:
        """The template's free text in the contact's language (else the default, else any);
        None when the template has only native versions."""
        template = self.stack.templates.get(template_id)
        if template is None:
            return None
        chosen = text_in(template.text, language, self.default_language)
        if chosen is None:
            return None
        return fill(chosen, variables.as_mapping(self.stack.workspace.name))

    def localized(self, value: str | dict[str, str] | None, language: str | None,
                  variables: Variables | None = None) -> str:
        """A text given inline (an FAQ answer) in the contact's language."""
        chosen = text_in(value, language, self.default_language) or ""
        if variables is None:
            return chosen
        return fill(chosen, variables.as_mapping(self.stack.workspace.name))

    def native(self, template_id: str, channel_type: str, language: str | None,
               variables: Variables) -> OutboundTemplate | None:
        """The channel type's native template (sendable outside its window), if declared:
        its language picked for the contact, its parameters filled in order."""
        template = self.stack.templates.get(template_id)
        if template is None:
            return None
        # a plugin's native template model is a field named after its channel type
        native = getattr(template, channel_type, None)
        if not isinstance(native, StackModel):
            return None
        data = native.model_dump()
        # WhatsApp names its template `name`; WeChat's is `template_id`, with keyed `data`
        name = data.get("name", data.get("template_id"))
        if not isinstance(name, str):
            return None
        codes = data.get("language")
        if isinstance(codes, dict):
            code = (codes.get(self.language_for(language)) or codes.get(self.default_language)
                    or next(iter(codes.values())))
        else:
            code = str(codes or "")
        values = variables.as_mapping(self.stack.workspace.name)
        params = tuple(values.get(str(p), "") for p in data.get("params") or ())
        keyed = data.get("data")
        fields = tuple((str(key), fill(str(text), values)) for key, text in keyed.items()
                       ) if isinstance(keyed, dict) else ()
        url = data.get("url")
        return OutboundTemplate(name, code, params, fields,
                                fill(url, values) if isinstance(url, str) else None)

    def has_native(self, template_id: str, channel_type: str) -> bool:
        template = self.stack.templates.get(template_id)
        return template is not None and isinstance(getattr(template, channel_type, None),
                                                   StackModel)
