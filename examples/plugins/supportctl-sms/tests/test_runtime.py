"""The SMS runtime without a server: signed deliveries in, requests to a fake gateway out.

Run with `python -m pytest tests` from this folder, supportctl and this plugin installed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from supportctl_sms import SmsChannel
from supportctl_sms.runtime import SmsChannelRuntime, signature, split_text

from supportctl.plugins.channel import (
    ContactRef,
    DeliveryState,
    DeliveryStatus,
    Headers,
    InboundMessage,
    MenuChoice,
    OutboundMenu,
    OutboundTemplate,
    OutboundText,
    SendResult,
    WebhookRequest,
    receive,
)

SECRET = "whsec-test"
NUMBER = "+12125550100"
CUSTOMER = ContactRef("+14155550123", phone="+14155550123")


def runtime(api_base_url: str = "http://127.0.0.1:9") -> SmsChannelRuntime:
    config = SmsChannel(type="sms", phone_number=NUMBER, api_key="key-test",
                        webhook_secret=SECRET, api_base_url=api_base_url)
    return SmsChannelRuntime("sms-us", config)


def delivery(body: dict[str, Any], secret: str = SECRET) -> WebhookRequest:
    raw = json.dumps(body).encode()
    return WebhookRequest("POST", body=raw,
                          headers=Headers({"X-Sms-Signature": signature(secret, raw)}))


MESSAGE = {"type": "message", "id": "in_01", "from": "+14155550123", "to": NUMBER,
           "text": "Where is my order?", "received_at": "2026-11-23T14:05:09Z"}


def test_a_signed_message_becomes_an_inbound_message() -> None:
    outcome = receive(runtime(), delivery(MESSAGE))
    assert outcome.response.status == 200
    assert outcome.events == (InboundMessage(
        "sms-us", "in_01", CUSTOMER, datetime(2026, 11, 23, 14, 5, 9, tzinfo=UTC),
        text="Where is my order?"),)


@pytest.mark.parametrize(("status", "state"), [("sent", DeliveryState.SENT),
                                               ("delivered", DeliveryState.DELIVERED),
                                               ("undelivered", DeliveryState.FAILED)])
def test_a_receipt_becomes_a_delivery_status(status: str, state: DeliveryState) -> None:
    body = {"type": "receipt", "message_id": "msg_7", "to": "+14155550123", "status": status,
            "at": "2026-11-23T14:05:11+00:00", "error_code": None, "error_message": None}
    outcome = receive(runtime(), delivery(body))
    assert outcome.events == (DeliveryStatus(
        "sms-us", "msg_7", state, datetime(2026, 11, 23, 14, 5, 11, tzinfo=UTC),
        "+14155550123"),)


@pytest.mark.parametrize(("request_", "status"), [
    (WebhookRequest("POST", body=json.dumps(MESSAGE).encode()), 401),
    (delivery(MESSAGE, secret="someone-else"), 403),
    (delivery({**MESSAGE, "type": "poll"}), 400),
    (delivery({**MESSAGE, "received_at": "yesterday"}), 400),
    (delivery({**MESSAGE, "received_at": "2026-11-23T14:05:09"}), 400),
    (delivery({**MESSAGE, "from": 4155550123}), 400),
    (delivery({**MESSAGE, "text": 42}), 400),
    (delivery({**MESSAGE, "id": ["in_01"]}), 400),
    (delivery({**MESSAGE, "received_at": "0001-01-01T00:00:00+01:00"}), 400),
    (delivery({**MESSAGE, "received_at": 1795424400}), 400),
    (WebhookRequest("POST", body=b"[" * 10_000 + b"]" * 10_000,
                    headers=Headers({"X-Sms-Signature": signature(
                        SECRET, b"[" * 10_000 + b"]" * 10_000)})), 400),
    (WebhookRequest("GET"), 405)])
def test_what_is_refused(request_: WebhookRequest, status: int) -> None:
    outcome = receive(runtime(), request_)
    assert (outcome.response.status, outcome.events) == (status, ())


def test_a_field_of_the_wrong_type_is_named() -> None:
    outcome = receive(runtime(), delivery({**MESSAGE, "received_at": "yesterday"}))
    assert outcome.response.body == 'received_at: "yesterday" is not an ISO 8601 time'


def test_a_message_to_another_number_is_not_this_channels() -> None:
    outcome = receive(runtime(), delivery({**MESSAGE, "to": "+12125550199"}))
    assert (outcome.response.status, outcome.events) == (200, ())


def test_long_texts_are_split_between_words() -> None:
    text = " ".join(["word"] * 700)  # 3,499 characters
    parts = split_text(text)
    assert [len(part) <= 1600 for part in parts] == [True, True, True]
    assert " ".join(parts) == text
    assert split_text("x" * 1601) == ["x" * 1600, "x"]
    assert split_text("") == [""]


Handler = Callable[[web.Request], Awaitable[web.Response]]


def against_gateway(handler: Handler, message: Any) -> tuple[SendResult, list[dict[str, Any]]]:
    """Send `message` through a runtime pointed at a gateway answering with `handler`."""
    received: list[dict[str, Any]] = []

    async def messages(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "Bearer key-test"
        received.append(await request.json())
        return await handler(request)

    async def main() -> SendResult:
        app = web.Application()
        app.router.add_post("/v1/messages", messages)
        async with TestServer(app, host="127.0.0.1") as server:
            sms = runtime(str(server.make_url("/v1")))
            try:
                return await sms.send(CUSTOMER, message)
            finally:
                await sms.close()

    return asyncio.run(main()), received


async def accept(request: web.Request) -> web.Response:
    return web.json_response({"id": f"msg_{len((await request.json())['text'])}"}, status=201)


def test_a_menu_goes_as_numbered_text_and_a_long_text_in_parts() -> None:
    menu = OutboundMenu("Pick a topic.", (MenuChoice("a", "Track"), MenuChoice("b", "Refunds")),
                        "1. Track\n2. Refunds")
    result, received = against_gateway(accept, menu)
    assert received == [{"from": NUMBER, "to": "+14155550123",
                         "text": "Pick a topic.\n\n1. Track\n2. Refunds"}]
    assert result == SendResult("msg_34")
    result, received = against_gateway(accept, OutboundText("y" * 2000))
    assert [len(body["text"]) for body in received] == [1600, 400]
    assert result == SendResult("msg_1600", more_ids=("msg_400",))


@pytest.mark.parametrize(("status", "permanent"), [(429, False), (500, False), (503, False),
                                                   (400, True), (401, True), (404, True)])
def test_throttling_and_server_trouble_are_retried_refusals_are_not(
        status: int, permanent: bool) -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"error": {"code": "nope", "message": "refused"}},
                                 status=status)

    result, _ = against_gateway(refuse, OutboundText("hi"))
    assert result.error is not None
    assert (result.error.code, result.error.permanent) == ("nope", permanent)


def test_a_throttled_send_waits_as_long_as_the_gateway_asks() -> None:
    async def throttle(request: web.Request) -> web.Response:
        return web.json_response({"error": {"code": "rate_limited", "message": "slow down"}},
                                 status=429, headers={"Retry-After": "7"})

    result, _ = against_gateway(throttle, OutboundText("hi"))
    assert result.error is not None and result.error.retry_after == 7.0


def test_an_unreachable_gateway_is_a_temporary_error() -> None:
    result = asyncio.run(runtime("http://127.0.0.1:9").send(CUSTOMER, OutboundText("hi")))
    assert result.error is not None and not result.error.permanent


def test_sms_has_no_templates() -> None:
    result, received = against_gateway(accept, OutboundTemplate("follow_up", "en"))
    assert received == [] and result.error is not None and result.error.permanent
