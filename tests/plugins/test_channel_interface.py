"""The runtime half of the channel interface, through the collecting test double."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from supportctl.plugins.channel import (
    ContactRef,
    Headers,
    InboundMessage,
    InteractiveReply,
    MenuChoice,
    MenuShape,
    OutboundMenu,
    OutboundTemplate,
    OutboundText,
    SendError,
    SendResult,
    WebhookRejected,
    WebhookRequest,
    WebhookResponse,
    receive,
)
from supportctl.plugins.testing import TOKEN_HEADER, CollectingChannel

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ANNA = ContactRef("c-1", "Anna", "+4930901820")


def post(body: object, **headers: str) -> WebhookRequest:
    return WebhookRequest("POST", "/channels/test/webhook", {}, Headers(headers),
                          json.dumps(body).encode())


def test_headers_are_case_insensitive_and_keep_their_spelling() -> None:
    headers = Headers([("X-Hub-Signature-256", "sha256=ab"), ("content-type", "text/plain")])
    assert headers["x-hub-signature-256"] == "sha256=ab"
    assert headers.get("CONTENT-TYPE") == "text/plain"
    assert "X-HUB-SIGNATURE-256" in headers
    assert headers.get("missing") is None
    assert list(headers) == ["X-Hub-Signature-256", "content-type"]
    assert len(headers) == 2


def test_a_body_that_is_not_json_is_rejected_with_400() -> None:
    with pytest.raises(WebhookRejected) as caught:
        WebhookRequest("POST", body=b"{not json").json()
    assert caught.value.status == 400
    with pytest.raises(WebhookRejected):
        WebhookRequest("POST", body=b"\xff\xfe").json()


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"n": ' + b"9" * 5000 + b"}"],
                         ids=["deep", "huge-number"])
def test_a_body_nested_too_deeply_or_with_a_huge_number_is_rejected_with_400(
        body: bytes) -> None:
    with pytest.raises(WebhookRejected) as caught:
        WebhookRequest("POST", body=body).json()
    assert caught.value.status == 400


def test_a_delivery_with_one_unreadable_event_is_refused_whole_naming_the_field() -> None:
    outcome = receive(CollectingChannel(now=NOW), post([
        {"from": "c-1", "id": "m-1", "text": "hello"},
        {"from": "c-1", "id": "m-2", "text": 42}]))
    assert outcome.response == WebhookResponse(400, "[1].text: expected a string, got 42")
    assert outcome.events == ()


def test_receive_turns_a_verified_delivery_into_events() -> None:
    channel = CollectingChannel(token="s3cret", now=NOW)
    outcome = receive(channel, post([{"from": "c-1", "id": "m-1", "text": "hello"},
                                     {"from": "c-1", "id": "m-2", "option": "main.2",
                                      "title": "Payments"}],
                                    **{TOKEN_HEADER: "s3cret"}))
    assert outcome.response == WebhookResponse(200, "ok")
    assert outcome.events == (
        InboundMessage("test", "m-1", ContactRef("c-1"), NOW, text="hello"),
        InteractiveReply("test", "m-2", ContactRef("c-1"), NOW, "main.2", "Payments"))


@pytest.mark.parametrize(("request_", "status"), [
    (post({"from": "c", "id": "m"}), 401),
    (post({"from": "c", "id": "m"}, **{TOKEN_HEADER: "guess"}), 403),
    (WebhookRequest("POST", headers=Headers({TOKEN_HEADER: "s3cret"}), body=b"[1"), 400),
    (post({"id": "m"}, **{TOKEN_HEADER: "s3cret"}), 400),
    (WebhookRequest("GET"), 405),
    (WebhookRequest("PUT"), 405),
])
def test_receive_answers_a_rejected_request_with_its_status_and_no_events(
        request_: WebhookRequest, status: int) -> None:
    outcome = receive(CollectingChannel(token="s3cret"), request_)
    assert outcome.response.status == status
    assert outcome.events == ()


def test_window_policy() -> None:
    unlimited = CollectingChannel()
    assert unlimited.window_open(None, NOW)
    day = CollectingChannel(window=timedelta(hours=24))
    assert day.window_open(NOW - timedelta(hours=23, minutes=59), NOW)
    assert not day.window_open(NOW - timedelta(hours=24), NOW)
    assert not day.window_open(None, NOW)  # the customer never wrote


def test_outbound_menu_as_text_puts_the_prompt_above_the_numbered_choices() -> None:
    menu = OutboundMenu("Pick a topic", (MenuChoice("main.1", "Track my order"),
                                         MenuChoice("refunds", "Refunds", "Money back")),
                        "1. Track my order\n2. Refunds\n0. Back", MenuShape.LIST, "Topics")
    assert menu.as_text() == "Pick a topic\n\n1. Track my order\n2. Refunds\n0. Back"
    assert OutboundMenu("", (), "1. A").as_text() == "1. A"


def test_collecting_channel_records_sends_and_scripted_failures() -> None:
    channel = CollectingChannel()
    closed = SendError("131047", "window closed", permanent=True, window_closed=True)
    channel.fail_next(closed)
    menu = OutboundMenu("Pick", (MenuChoice("a", "A"),), "1. A")

    async def run() -> list[SendResult]:
        return [await channel.send(ANNA, OutboundText("hi")),
                await channel.send(ANNA, OutboundText("hi again")),
                await channel.send(ContactRef("c-2"), menu),
                await channel.send(ANNA, OutboundTemplate("follow_up", "en_US", ("Anna", "7")))]

    results = asyncio.run(run())
    assert results == [SendResult(error=closed), SendResult("collected-1"),
                       SendResult("collected-2"), SendResult("collected-3")]
    assert not results[0].ok and results[1].ok
    assert channel.texts() == ["hi again", "Pick\n\n1. A", "[template follow_up(Anna, 7)]"]
    assert channel.texts(to="c-1") == ["hi again", "[template follow_up(Anna, 7)]"]
    assert channel.templates() == [OutboundTemplate("follow_up", "en_US", ("Anna", "7"))]
    assert channel.results == results


def serve_one(handler_limit: int, body: bytes, chunked: bool = False) -> tuple[int, str]:
    """POST `body` to an aiohttp app whose handler reads it as a WebhookRequest."""
    seen: list[WebhookRequest] = []

    async def handler(request: web.Request) -> web.Response:
        try:
            seen.append(await WebhookRequest.from_aiohttp(request, handler_limit))
        except WebhookRejected as rejected:
            return WebhookResponse(rejected.status, rejected.reason).to_aiohttp()
        return WebhookResponse(200, "ok").to_aiohttp()

    async def run() -> tuple[int, str]:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_post("/channels/{channel_id}/webhook", handler)
        async def pieces() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
            for start in range(0, len(body), 1000):
                yield body[start:start + 1000]

        async with TestClient(TestServer(app)) as client:
            reply = await client.post("/channels/wa/webhook?x=1",
                                      data=pieces() if chunked else body,
                                      headers={"X-Hub-Signature-256": "sha256=00"})
            return reply.status, await reply.text()

    status, text = asyncio.run(run())
    if status == 200:
        (request,) = seen
        assert request.method == "POST"
        assert request.path == "/channels/wa/webhook"
        assert request.query == {"x": "1"}
        assert request.headers["x-hub-signature-256"] == "sha256=00"
        assert request.body == body
    return status, text


def test_from_aiohttp_reads_the_raw_body_up_to_the_limit() -> None:
    assert serve_one(3 * 1024 * 1024, b"x" * (3 * 1024 * 1024)) == (200, "ok")
    status, text = serve_one(1024, b"x" * 1025)
    assert status == 413
    assert "limit of 1024" in text
    # without a Content-Length the limit is enforced while reading
    assert serve_one(2000, b"y" * 2000, chunked=True) == (200, "ok")
    status, text = serve_one(1024, b"y" * 2000, chunked=True)
    assert status == 413
    assert "over the limit of 1024" in text
