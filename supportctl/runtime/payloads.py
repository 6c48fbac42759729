"""Outbound messages as stored in the database (a message's `payload`) and back.

The store keeps what the runtime decided to send as JSON, so the outbox worker can send it after
a restart and the agent API can show it: `{"text": ...}`, `{"template": {"name", "language",
"params"}}` (with `fields` and `url` for a keyed template) or `{"menu": {"prompt", "choices",
"text", "shape", "button"}}`. Inbound messages keep the customer's text under `text` too, with
what else the channel told (`media`, ...).
"""

from __future__ import annotations

from typing import Any

from supportctl.plugins.channel import (
    MenuChoice,
    MenuShape,
    OutboundMenu,
    OutboundMessage,
    OutboundTemplate,
    OutboundText,
)

JSON = dict[str, Any]


class PayloadError(ValueError):
    """A stored payload that is no outbound message (a bug, or a row edited by hand)."""


def to_payload(message: OutboundMessage) -> JSON:
    if isinstance(message, OutboundText):
        return {"text": message.text, **({"human": True} if message.human else {})}
    if isinstance(message, OutboundTemplate):
        template: JSON = {"name": message.name, "language": message.language,
                          "params": list(message.params)}
        if message.fields:
            template["fields"] = [list(pair) for pair in message.fields]
        if message.url:
            template["url"] = message.url
        return {"template": template}
    return {"menu": {
        "prompt": message.prompt,
        "choices": [{"id": c.id, "title": c.title, "description": c.description}
                    for c in message.choices],
        "text": message.text, "shape": message.shape.value, "button": message.button}}


def from_payload(payload: JSON) -> OutboundMessage:
    try:
        if "menu" in payload:
            menu = payload["menu"]
            return OutboundMenu(
                menu["prompt"],
                tuple(MenuChoice(c["id"], c["title"], c.get("description"))
                      for c in menu["choices"]),
                menu["text"], MenuShape(menu["shape"]), menu.get("button"))
        if "template" in payload:
            template = payload["template"]
            return OutboundTemplate(template["name"], template["language"],
                                    tuple(template.get("params", ())),
                                    tuple((str(k), str(v)) for k, v in template.get("fields", ())),
                                    template.get("url"))
        return OutboundText(str(payload["text"]), bool(payload.get("human", False)))
    except (KeyError, TypeError, ValueError) as exc:
        raise PayloadError(f"stored payload is not an outbound message: {exc!r}") from exc


def display_text(payload: JSON) -> str:
    """What a person reads for a stored message, whatever its kind."""
    if "menu" in payload or "template" in payload:
        message = from_payload(payload)
        if isinstance(message, OutboundMenu):
            return message.as_text()
        assert isinstance(message, OutboundTemplate)
        params = ", ".join(message.params)
        return f"[template {message.name} ({message.language})" + (f": {params}]" if params
                                                                   else "]")
    text = payload.get("text")
    return text if isinstance(text, str) else ""
