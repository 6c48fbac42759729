"""Inbound events as JSON and back, as the inbox keeps them between storing and processing."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import datetime
from typing import Any

from supportctl.plugins.channel import (
    ContactRef,
    DeliveryState,
    DeliveryStatus,
    InboundEvent,
    InboundMessage,
    InteractiveReply,
    Location,
    MediaRef,
    SharedContact,
)

JSON = dict[str, Any]


class EventDecodeError(ValueError):
    """A stored event that is no inbound event (a bug, or a row edited by hand)."""


def event_key(event: InboundEvent) -> str:
    """The dedupe key of an event within its channel: a status is news once per state."""
    if isinstance(event, DeliveryStatus):
        return f"status:{event.external_id}:{event.status.value}"
    return event.external_id


_KINDS = {InboundMessage: "message", InteractiveReply: "reply", DeliveryStatus: "status"}


def _plain(value: Any) -> Any:
    """A field's value as JSON: dataclasses as objects, tuples as lists, times in ISO 8601.
    (`dataclasses.asdict` deep-copies every leaf: a fifth of a webhook's time under load.)"""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name in _names(type(value))}
    return value


_FIELDS: dict[type[Any], tuple[str, ...]] = {}


def _names(cls: type[Any]) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))
    return names


def event_to_json(event: InboundEvent) -> JSON:
    data: JSON = {"kind": _KINDS[type(event)]}
    for name in _names(type(event)):
        data[name] = _plain(getattr(event, name))
    return data


def event_from_json(data: JSON) -> InboundEvent:
    try:
        fields = {k: v for k, v in data.items() if k != "kind"}
        kind = data["kind"]
        if kind == "status":
            return DeliveryStatus(**{**fields, "status": DeliveryState(fields["status"]),
                                     "at": datetime.fromisoformat(fields["at"])})
        fields["contact"] = ContactRef(**fields["contact"])
        fields["sent_at"] = datetime.fromisoformat(fields["sent_at"])
        if kind == "reply":
            return InteractiveReply(**fields)
        if kind != "message":
            raise EventDecodeError(f"unknown event kind {kind!r}")
        if fields.get("media") is not None:
            fields["media"] = MediaRef(**fields["media"])
        if fields.get("location") is not None:
            fields["location"] = Location(**fields["location"])
        fields["contacts"] = tuple(SharedContact(c["name"], tuple(c.get("phones", ())))
                                   for c in fields.get("contacts", ()))
        return InboundMessage(**fields)
    except (KeyError, TypeError, ValueError) as exc:
        raise EventDecodeError(f"stored event is not an inbound event: {exc!r}") from exc
