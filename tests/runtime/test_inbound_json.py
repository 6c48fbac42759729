"""Every kind of inbound event survives the inbox's JSON unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

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
from supportctl.runtime.inbound_json import (
    EventDecodeError,
    event_from_json,
    event_key,
    event_to_json,
)

AT = datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=UTC)
ANN = ContactRef("4915112345678", "Ann", "+4915112345678", "de", None)

EVENTS: list[InboundEvent] = [
    InboundMessage("wa", "wamid.1", ANN, AT, text="hi", reply_to="wamid.0"),
    InboundMessage("wa", "wamid.2", ANN, AT, text="look",
                   media=MediaRef("image", "m-1", "image/jpeg", "look", None)),
    InboundMessage("wa", "wamid.3", ANN, AT, location=Location(53.55, 9.99, "Hafen", None)),
    InboundMessage("wa", "wamid.4", ANN, AT,
                   contacts=(SharedContact("Bo", ("+491", "+492")), SharedContact("Cy"))),
    InboundMessage("wa", "wamid.5", ANN, AT, unsupported="reaction"),
    InteractiveReply("wa", "wamid.6", ANN, AT, "main.1", "Track my order", "wamid.out1"),
    DeliveryStatus("wa", "wamid.out1", DeliveryState.FAILED, AT, "4915112345678", "131047",
                   "Re-engagement message"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.external_id)
def test_an_event_round_trips_through_json_text(event: InboundEvent) -> None:
    assert event_from_json(json.loads(json.dumps(event_to_json(event)))) == event


def test_a_status_is_keyed_by_message_and_state_so_each_state_counts_once() -> None:
    sent = DeliveryStatus("wa", "wamid.out1", DeliveryState.SENT, AT)
    read = DeliveryStatus("wa", "wamid.out1", DeliveryState.READ, AT)
    assert event_key(sent) != event_key(read)
    assert event_key(EVENTS[0]) == "wamid.1"


@pytest.mark.parametrize("data", [{}, {"kind": "poke"}, {"kind": "message", "contact": {}},
                                  {"kind": "status", "status": "lost"}])
def test_a_row_that_is_no_event_is_a_decode_error(data: dict[str, object]) -> None:
    with pytest.raises(EventDecodeError):
        event_from_json(data)
