"""Signed HTTP webhook notifier: the signature (a known-answer vector computed with openssl),
the JSON body, the headers, the events filter, and how each answer is read; against a fake
receiver on loopback that verifies signatures as docs/notifications.md tells receivers to."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import ClientSession, web
from notifier_fakes import FakeReceiver, verified
from serving import listening
from supportctl_plugins.webhook import WebhookNotifier, plugin
from supportctl_plugins.webhook_runtime import WebhookNotifierRuntime, body, signature

from supportctl.plugins.notifier import DeliveryResult, Notification
from supportctl.runtime.live import notifier_class

SECRET = "whsec_test_3f9a"
SENT_AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Unix 1795424400
CLOSED = Notification(
    "01JD0000000000000000000001", "conversation.closed",
    datetime(2026, 11, 23, 8, 59, 30, 250000, tzinfo=UTC), "01JD0000000000000000000000",
    "webchat", "service", "jana", "Eva Braun", "Eva Braun on Shop chat: closed by Jana Becker",
    "https://support.example/api/v1/conversations/01JD0000000000000000000000",
    {"reason": "agent", "by": "jana", "team_name": "Service", "agent_name": "Jana Becker",
     "channel_name": "Shop chat"})


def config(url: str, events: list[Any] | None = None, timeout: str = "10s") -> WebhookNotifier:
    return WebhookNotifier(type="webhook", url=url, secret=SECRET, events=events,
                           timeout=timeout)


def runtime(url: str, http: ClientSession | None = None, **kwargs: Any
            ) -> WebhookNotifierRuntime:
    made = WebhookNotifierRuntime("crm", config(url, **kwargs), http=http)
    made.clock = lambda: SENT_AT
    return made


def test_the_plugin_names_its_runtime() -> None:
    assert notifier_class(plugin) is WebhookNotifierRuntime


def test_signature_known_answer() -> None:
    raw = b'{"id":"01JD0000000000000000000001","type":"conversation.closed"}'
    assert signature(SECRET, 1795424400, raw) == (
        "sha256=88c4006d75e16f7e0af127c2ae78939fb0981e245143af4295a8235389a007d1")


def test_the_body_is_the_event_as_compact_sorted_json() -> None:
    sent = body(CLOSED)
    assert json.loads(sent) == {
        "id": "01JD0000000000000000000001", "type": "conversation.closed",
        "occurred_at": "2026-11-23T08:59:30.250000Z",
        "summary": "Eva Braun on Shop chat: closed by Jana Becker",
        "conversation": {"id": "01JD0000000000000000000000", "channel": "webchat",
                         "team": "service", "agent": "jana", "contact_name": "Eva Braun",
                         "link": CLOSED.link},
        "data": dict(CLOSED.data)}
    assert sent.startswith(b'{"conversation":{"agent":"jana",')  # sorted, no spaces


def test_the_events_key_filters_what_the_target_takes() -> None:
    everything = runtime("http://127.0.0.1:9/")
    assert all(everything.wants(k) for k in ("conversation.routed", "conversation.escalated",
                                             "conversation.closed", "csat.answered"))
    csat_only = runtime("http://127.0.0.1:9/", events=["csat.answered"])
    assert csat_only.wants("csat.answered")
    assert not csat_only.wants("conversation.closed")


def test_a_delivery_is_signed_and_verified_by_the_receiver() -> None:
    async def body_() -> None:
        receiver = FakeReceiver({"crm": SECRET})
        async with listening(receiver.app()) as base, ClientSession() as http:
            result = await runtime(f"{base}/hooks/crm", http).deliver(CLOSED)
            assert result == DeliveryResult.delivered()
            (got,) = receiver.received["crm"]
            assert got.body["id"] == CLOSED.id
            assert got.headers["X-Supportctl-Event"] == "conversation.closed"
            assert got.headers["X-Supportctl-Delivery"] == CLOSED.id
            assert got.headers["X-Supportctl-Timestamp"] == "1795424400"
            assert got.headers["X-Supportctl-Signature"] == signature(SECRET, 1795424400,
                                                                      body(CLOSED))
            assert got.headers["Content-Type"] == "application/json"
            # the same delivery signed with another secret is refused by the receiver
            wrong = WebhookNotifierRuntime("crm", WebhookNotifier(
                type="webhook", url=f"{base}/hooks/crm", secret="other"), http=http)
            refused = await wrong.deliver(CLOSED)
            assert refused == DeliveryResult.failed("HTTP 401: bad signature")
            assert receiver.refused == 1

    asyncio.run(body_())


def test_a_tampered_body_or_timestamp_fails_verification() -> None:
    raw = body(CLOSED)
    headers = {"X-Supportctl-Timestamp": "1795424400",
               "X-Supportctl-Signature": signature(SECRET, 1795424400, raw)}
    assert verified(SECRET, headers, raw)
    assert not verified(SECRET, headers, raw.replace(b"jana", b"jane"))
    assert not verified(SECRET, {**headers, "X-Supportctl-Timestamp": "1795424401"}, raw)


@pytest.mark.parametrize(("status", "headers", "expected"), [
    (200, {}, DeliveryResult.delivered()),
    (202, {}, DeliveryResult.delivered()),
    (408, {}, DeliveryResult.temporary("HTTP 408: busy")),
    (429, {"Retry-After": "30"}, DeliveryResult.temporary("HTTP 429: busy", 30.0)),
    (503, {"Retry-After": "Mon, 23 Nov 2026 09:02:00 GMT"},
     DeliveryResult.temporary("HTTP 503: busy", 120.0)),
    (500, {}, DeliveryResult.temporary("HTTP 500: busy")),
    (400, {}, DeliveryResult.failed("HTTP 400: busy")),
    (410, {}, DeliveryResult.failed("HTTP 410: busy")),
])
def test_each_answer_is_read(status: int, headers: dict[str, str],
                             expected: DeliveryResult) -> None:
    async def main() -> DeliveryResult:
        receiver = FakeReceiver({"crm": SECRET})
        receiver.answer(status, "busy", **headers)
        async with listening(receiver.app()) as base, ClientSession() as http:
            return await runtime(f"{base}/hooks/crm", http).deliver(CLOSED)

    assert asyncio.run(main()) == expected


def test_a_receiver_slower_than_the_timeout_is_a_temporary_error() -> None:
    async def main() -> DeliveryResult:
        release = asyncio.Event()

        async def stuck(request: web.Request) -> web.Response:
            await release.wait()  # never answers before the client gives up
            return web.Response(status=204)

        app = web.Application()
        app.router.add_post("/slow", stuck)
        async with listening(app) as base, ClientSession() as http:
            try:
                return await runtime(f"{base}/slow", http, timeout="1s").deliver(CLOSED)
            finally:
                release.set()

    assert asyncio.run(main()) == DeliveryResult.temporary("no answer within 1s")


def test_a_refused_connection_is_a_temporary_error() -> None:
    async def main() -> DeliveryResult:
        async with ClientSession() as http:
            return await runtime("http://127.0.0.1:9/hooks/crm", http).deliver(CLOSED)

    result = asyncio.run(main())
    assert not result.ok and not result.permanent
    assert result.error is not None and result.error.startswith("network: ")
