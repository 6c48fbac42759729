"""Web chat runtime: its HTTP API over real HTTP on 127.0.0.1, against an in-memory host."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession, web
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from malformed import assert_well_formed, mutated_json, problems, raw_request, words
from supportctl_plugins.webchat import WebChatChannel, plugin
from supportctl_plugins.webchat_runtime import WebChatRuntime, item_json

from supportctl.plugins.channel import (
    ChannelHost,
    ChatItem,
    ContactRef,
    HostUnavailable,
    InboundEvent,
    InboundMessage,
    InteractiveReply,
    MenuChoice,
    OutboundMenu,
    OutboundTemplate,
    OutboundText,
    WebhookRejected,
    WebhookRequest,
    receive,
)
from supportctl.runtime.clock import FrozenClock
from supportctl.runtime.live import runtime_class

CHANNEL = "web"
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SHOP = "https://shop.acme.example"


@dataclass
class FakeHost:
    """The server's side, in memory: contacts, tokens, a deduplicating event store, watchers."""

    contacts: dict[str, ContactRef] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    ttls: list[timedelta] = field(default_factory=list)
    events: list[InboundEvent] = field(default_factory=list)
    items: dict[str, list[ChatItem]] = field(default_factory=lambda: defaultdict(list))
    watchers: dict[str, list[asyncio.Queue[ChatItem]]] = field(
        default_factory=lambda: defaultdict(list))
    unavailable: bool = False
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def register_contact(self, channel_id: str, contact: ContactRef) -> None:
        if self.unavailable:
            raise HostUnavailable("database down")
        self.contacts[contact.external_id] = contact

    async def deliver(self, events: Sequence[InboundEvent]) -> None:
        if self.unavailable:
            raise HostUnavailable("database down")
        for event in events:
            assert not isinstance(event, InboundMessage | InteractiveReply) or \
                event.channel_id == CHANNEL
            if any(e.external_id == event.external_id for e in self.events):
                continue
            self.events.append(event)
            if isinstance(event, InboundMessage):
                contact, echo_id = event.contact.external_id, event.external_id.split(":", 1)[1]
                self.store(contact, "in", event.text or "", {"text": event.text,
                                                             "echo_id": echo_id})
            elif isinstance(event, InteractiveReply):
                contact, echo_id = event.contact.external_id, event.external_id.split(":", 1)[1]
                self.store(contact, "in", event.title, {"text": event.title,
                                                        "echo_id": echo_id})

    def store(self, contact: str, direction: str, text: str, payload: dict[str, Any],
              author: str | None = None) -> ChatItem:
        item = ChatItem(f"m{next(self._ids):05d}", direction, NOON, text, payload, author)
        self.items[contact].append(item)
        for queue in self.watchers[contact]:
            queue.put_nowait(item)
        return item

    async def issue_token(self, channel_id: str, external_user_id: str) -> str:
        token = f"tok-{len(self.tokens) + 1}"
        self.tokens[token] = external_user_id
        return token

    async def token_owner(self, channel_id: str, token: str, idle_ttl: timedelta) -> str | None:
        self.ttls.append(idle_ttl)
        token.encode()  # the server hashes the UTF-8 of it
        return self.tokens.get(token)

    async def token_valid(self, channel_id: str, token: str, idle_ttl: timedelta) -> bool:
        return token in self.tokens

    async def history(self, channel_id: str, external_user_id: str,
                      after: str | None = None) -> list[ChatItem]:
        if self.unavailable:
            raise HostUnavailable("database down")
        if after is not None:
            after.encode()  # the server looks it up in the database
        items = self.items[external_user_id]
        ids = [item.id for item in items]
        return items[ids.index(after) + 1:] if after in ids else list(items)

    def watch(self, channel_id: str, external_user_id: str
              ) -> AbstractAsyncContextManager[AsyncIterator[ChatItem]]:
        @asynccontextmanager
        async def watching() -> AsyncIterator[AsyncIterator[ChatItem]]:
            queue: asyncio.Queue[ChatItem] = asyncio.Queue()
            self.watchers[external_user_id].append(queue)

            async def items() -> AsyncIterator[ChatItem]:
                while True:
                    yield await queue.get()

            try:
                yield items()
            finally:
                self.watchers[external_user_id].remove(queue)

        return watching()


def _host_is_a_channel_host(host: FakeHost) -> ChannelHost:
    return host  # mypy-style check that the fake keeps to the protocol


def make_runtime(**config: Any) -> WebChatRuntime:
    runtime = WebChatRuntime(CHANNEL, WebChatChannel(type="webchat", **config))
    runtime.clock = FrozenClock(NOON)
    runtime.keepalive = 0.2
    return runtime


@dataclass
class Api:
    base: str
    http: ClientSession
    host: FakeHost
    runtime: WebChatRuntime

    def url(self, path: str) -> str:
        return f"{self.base}/channels/{CHANNEL}{path}"

    async def contact(self, **body: Any) -> tuple[str, str]:
        async with self.http.post(self.url("/contacts"), json=body) as reply:
            assert reply.status == 201, await reply.text()
            data = await reply.json()
        return data["contact"], data["token"]

    async def post(self, token: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        async with self.http.post(self.url("/messages"), json=body, headers=headers,
                                  **kwargs) as reply:
            return reply.status, await reply.json()


def run(scenario: Callable[[Api], Awaitable[None]], **config: Any) -> None:
    """Serve the runtime's routes exactly as `supportctl serve` mounts them, run `scenario`."""

    async def main() -> None:
        host, runtime = FakeHost(), make_runtime(**config)
        app = web.Application()
        for route in runtime.routes(_host_is_a_channel_host(host)):
            app.router.add_route(route.method, f"/channels/{CHANNEL}{route.path}",
                                 route.handler)
        async with TestServer(app, host="127.0.0.1", port=0) as server, ClientSession() as http:
            try:
                await asyncio.wait_for(
                    scenario(Api(str(server.make_url("")).rstrip("/"), http, host, runtime)),
                    timeout=10)
            finally:
                await runtime.close()

    asyncio.run(main())


async def read_events(reply: ClientResponse, count: int, timeout: float = 3
                      ) -> tuple[list[dict[str, str]], int]:
    """The next `count` events of a stream (and how many keepalive comments came between)."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    keepalives = 0

    async def collect() -> None:
        nonlocal current, keepalives
        while len(events) < count:
            line = (await reply.content.readline()).decode()
            if not line:
                raise AssertionError(f"stream ended after {events}")
            line = line.rstrip("\n")
            if line == "":
                if current:
                    events.append(current)
                current = {}
            elif line.startswith(":"):
                keepalives += line == ": keepalive"
            else:
                key, _, value = line.partition(": ")
                current[key] = value

    await asyncio.wait_for(collect(), timeout)
    return events, keepalives


# --- contacts ---------------------------------------------------------------------------------


def test_a_contact_gets_an_id_and_a_token() -> None:
    async def scenario(api: Api) -> None:
        contact, token = await api.contact(name="Ada", language="de", email="ada@example.com")
        assert contact.startswith("wc_") and len(contact) > 10
        assert api.host.tokens[token] == contact
        assert api.host.contacts[contact] == ContactRef(contact, "Ada", language="de",
                                                        email="ada@example.com")
        other, _ = await api.contact()
        assert other != contact
        assert api.host.contacts[other] == ContactRef(other)

    run(scenario)


@pytest.mark.parametrize(("body", "error"), [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"name": 5}', "name must be a string"),
    (b'{"language": "German!"}', "language"),
    (b'{"email": "nope"}', "email"),
    (b"\xff\xfe", "not JSON"),
])
def test_a_bad_contact_body_is_400(body: bytes, error: str) -> None:
    async def scenario(api: Api) -> None:
        async with api.http.post(api.url("/contacts"), data=body,
                                 headers={"Content-Type": "application/json"}) as reply:
            assert reply.status == 400
            assert reply.content_type == "application/json"
            assert error in (await reply.json())["error"]
        assert api.host.contacts == {}

    run(scenario)


def test_a_body_over_64_kib_is_413() -> None:
    async def scenario(api: Api) -> None:
        big = json.dumps({"name": "x" * (65 * 1024)}).encode()
        async with api.http.post(api.url("/contacts"), data=big) as reply:
            assert reply.status == 413
            assert "limit" in (await reply.json())["error"]

        async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted as read
            for _ in range(70):
                yield b" " * 1024

        _, token = await api.contact()
        async with api.http.post(api.url("/messages"), data=chunked(),
                                 headers={"Authorization": f"Bearer {token}"}) as reply:
            assert reply.status == 413
        assert api.host.events == []

    run(scenario)


def test_an_unavailable_host_is_503_with_retry_after() -> None:
    async def scenario(api: Api) -> None:
        _, token = await api.contact()
        api.host.unavailable = True
        async with api.http.post(api.url("/messages"), json={"text": "hi", "echo_id": "e1"},
                                 headers={"Authorization": f"Bearer {token}"}) as reply:
            assert reply.status == 503
            assert int(reply.headers["Retry-After"]) > 0
            assert "unavailable" in (await reply.json())["error"]
        async with api.http.post(api.url("/contacts"), json={}) as reply:
            assert reply.status == 503

    run(scenario)


# --- messages ---------------------------------------------------------------------------------


def test_a_message_is_delivered_once_per_echo_id() -> None:
    async def scenario(api: Api) -> None:
        contact, token = await api.contact(name="Ada")
        for _ in range(2):  # a retried POST
            status, body = await api.post(token, {"text": "Where is my order?",
                                                  "echo_id": "c-1"})
            assert (status, body) == (202, {"echo_id": "c-1", "accepted": True})
        assert api.host.events == [InboundMessage(
            CHANNEL, f"{contact}:c-1", ContactRef(contact), NOON, text="Where is my order?")]
        status, _ = await api.post(token, {"option_id": "track", "title": "Track my order",
                                           "echo_id": "c-2"})
        assert status == 202
        assert api.host.events[1] == InteractiveReply(
            CHANNEL, f"{contact}:c-2", ContactRef(contact), NOON, "track", "Track my order")
        assert api.host.ttls[-1] == timedelta(days=30)

    run(scenario)


@pytest.mark.parametrize(("body", "error"), [
    ({"text": "hi"}, "echo_id"),
    ({"text": "hi", "echo_id": ""}, "echo_id"),
    ({"text": "hi", "echo_id": "e" * 101}, "echo_id"),
    ({"text": "hi", "echo_id": 7}, "echo_id"),
    ({"echo_id": "e1"}, "text"),
    ({"text": "   ", "echo_id": "e1"}, "text"),
    ({"text": "x" * 10001, "echo_id": "e1"}, "10000"),
    ({"text": "hi", "option_id": "a", "echo_id": "e1"}, "either"),
    ({"option_id": "", "echo_id": "e1"}, "option_id"),
    ({"option_id": "a", "title": 3, "echo_id": "e1"}, "title"),
])
def test_a_bad_message_is_400(body: dict[str, Any], error: str) -> None:
    async def scenario(api: Api) -> None:
        _, token = await api.contact()
        status, answer = await api.post(token, body)
        assert status == 400
        assert error in answer["error"]
        assert api.host.events == []

    run(scenario)


def test_the_longest_text_is_accepted() -> None:
    assert plugin.limits.text_length == 10000

    async def scenario(api: Api) -> None:
        _, token = await api.contact()
        status, _ = await api.post(token, {"text": "x" * 10000, "echo_id": "e" * 100})
        assert status == 202

    run(scenario)


BODIES = [{"text": "Where is my order?", "echo_id": "c-1"},
          {"option_id": "track", "title": "Track my order", "echo_id": "c-2"},
          {"name": "Ada", "language": "de", "email": "ada@example.com"}]


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(["/contacts", "/messages"]),
       body=st.one_of(*(mutated_json(body, words(*BODIES), long=50_000) for body in BODIES)))
def test_a_broken_body_is_refused_or_read_into_well_typed_events(path: str, body: bytes) -> None:
    async def scenario(api: Api) -> None:
        _, token = await api.contact()
        contacts = dict(api.host.contacts)
        async with api.http.post(api.url(path), data=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"}) as reply:
            assert 200 <= reply.status < 300 or 400 <= reply.status < 500, await reply.text()
            refused = reply.status >= 400
        if refused:
            assert (api.host.events, api.host.contacts) == ([], contacts)
        for event in api.host.events:
            assert_well_formed(event, CHANNEL)
        for contact in api.host.contacts.values():
            assert problems(contact, ContactRef, "contact") == []

    run(scenario, allowed_origins=["*"])


def test_headers_that_are_not_utf8_are_read_as_such_not_a_500() -> None:
    async def scenario(api: Api) -> None:
        _, token = await api.contact()
        path, auth = f"/channels/{CHANNEL}", f"Authorization: Bearer {token}\r\n".encode()
        assert await raw_request(api.base, "POST", f"{path}/messages",
                                 b"Authorization: Bearer \xff\xfe\r\n") == 401
        body = json.dumps({"text": "hi", "echo_id": "e1"}).encode()
        assert await raw_request(api.base, "POST", f"{path}/messages",
                                 auth + b"Origin: https://\xff.example\r\n", body) == 202
        assert await raw_request(api.base, "GET", f"{path}/stream",
                                 auth + b"Last-Event-ID: m\xff\r\n") == 200

    run(scenario, allowed_origins=["*"])


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic dG9rLTE=", "Bearer "])
def test_a_missing_or_bad_token_is_401(authorization: str | None) -> None:
    async def scenario(api: Api) -> None:
        await api.contact()
        headers = {"Authorization": authorization} if authorization is not None else {}
        for method, path in (("POST", "/messages"), ("GET", "/messages"), ("GET", "/stream")):
            async with api.http.request(method, api.url(path), headers=headers,
                                        json={"text": "hi", "echo_id": "e1"}) as reply:
                assert reply.status == 401
                assert reply.headers["WWW-Authenticate"].startswith("Bearer")
                assert "token" in (await reply.json())["error"]
        assert api.host.events == []

    run(scenario)


def test_history_pages_with_after() -> None:
    async def scenario(api: Api) -> None:
        contact, token = await api.contact()
        await api.post(token, {"text": "Hello", "echo_id": "e1"})
        menu = OutboundMenu("How can we help?", (MenuChoice("track", "Track my order"),
                                                 MenuChoice("pay", "Payments", "Refunds")),
                            "1. Track my order\n2. Payments")
        api.host.store(contact, "out", menu.as_text(), {"menu": {
            "prompt": menu.prompt, "text": menu.text,
            "choices": [{"id": c.id, "title": c.title, "description": c.description}
                        for c in menu.choices]}}, author="Anna")
        api.host.store("wc_someone_else", "out", "not yours", {})
        headers = {"Authorization": f"Bearer {token}"}
        async with api.http.get(api.url("/messages"), headers=headers) as reply:
            assert reply.status == 200
            messages = (await reply.json())["messages"]
        assert messages == [
            {"id": "m00001", "direction": "in", "at": "2026-03-02T12:00:00Z", "text": "Hello",
             "author": None, "status": "sent", "choices": [], "echo_id": "e1"},
            {"id": "m00002", "direction": "out", "at": "2026-03-02T12:00:00Z",
             "text": "How can we help?\n\n1. Track my order\n2. Payments", "author": "Anna",
             "status": "sent", "echo_id": None,
             "choices": [{"id": "track", "title": "Track my order"},
                         {"id": "pay", "title": "Payments", "description": "Refunds"}]},
        ]
        async with api.http.get(api.url("/messages"), params={"after": "m00001"},
                                headers=headers) as reply:
            assert [m["id"] for m in (await reply.json())["messages"]] == ["m00002"]
        async with api.http.get(api.url("/messages"), params={"after": "m00002"},
                                headers=headers) as reply:
            assert (await reply.json())["messages"] == []

    run(scenario)


# --- CORS -------------------------------------------------------------------------------------


def test_cors_allows_listed_origins_and_refuses_others() -> None:
    async def scenario(api: Api) -> None:
        async with api.http.post(api.url("/contacts"), json={},
                                 headers={"Origin": SHOP}) as reply:
            assert reply.status == 201
            assert reply.headers["Access-Control-Allow-Origin"] == SHOP
            assert "Origin" in reply.headers["Vary"]
            token = (await reply.json())["token"]
        async with api.http.get(api.url("/messages"), headers={
                "Origin": SHOP, "Authorization": "Bearer wrong"}) as reply:
            assert reply.status == 401  # errors readable by the page too
            assert reply.headers["Access-Control-Allow-Origin"] == SHOP
        async with api.http.post(api.url("/contacts"), json={},
                                 headers={"Origin": "https://evil.example"}) as reply:
            assert reply.status == 403
            assert "Access-Control-Allow-Origin" not in reply.headers
            assert "not allowed" in (await reply.json())["error"]
        async with api.http.get(api.url("/messages"), headers={
                "Origin": "https://evil.example", "Authorization": f"Bearer {token}"}) as reply:
            assert reply.status == 403
        # no Origin (server to server, curl): allowed, no CORS headers
        async with api.http.post(api.url("/contacts"), json={}) as reply:
            assert reply.status == 201
            assert "Access-Control-Allow-Origin" not in reply.headers
        assert len(api.host.contacts) == 2

    run(scenario, allowed_origins=[SHOP])


def test_cors_preflight() -> None:
    async def scenario(api: Api) -> None:
        for path in ("/contacts", "/messages", "/stream"):
            async with api.http.options(api.url(path), headers={
                    "Origin": SHOP, "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "authorization, content-type"}) as reply:
                assert reply.status == 204
                assert reply.headers["Access-Control-Allow-Origin"] == SHOP
                assert set(reply.headers["Access-Control-Allow-Methods"].split(", ")) == {
                    "GET", "POST"}
                assert set(reply.headers["Access-Control-Allow-Headers"].split(", ")) == {
                    "Authorization", "Content-Type", "Last-Event-ID"}
        async with api.http.options(api.url("/messages"), headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "POST"}) as reply:
            assert reply.status == 403
            assert "Access-Control-Allow-Origin" not in reply.headers

    run(scenario, allowed_origins=[SHOP])


def test_cors_star_allows_any_origin_and_none_allows_only_the_own() -> None:
    async def star(api: Api) -> None:
        async with api.http.post(api.url("/contacts"), json={},
                                 headers={"Origin": "https://anything.example"}) as reply:
            assert reply.status == 201
            assert reply.headers["Access-Control-Allow-Origin"] == "https://anything.example"

    async def none(api: Api) -> None:
        own = "http://" + api.base.split("://", 1)[1]
        async with api.http.post(api.url("/contacts"), json={},
                                 headers={"Origin": own}) as reply:
            assert reply.status == 201  # a same-origin page (browsers send Origin on POST)
        async with api.http.post(api.url("/contacts"), json={},
                                 headers={"Origin": SHOP}) as reply:
            assert reply.status == 403

    run(star, allowed_origins=["*"])
    run(none)


# --- stream -----------------------------------------------------------------------------------


def test_the_stream_replays_history_then_goes_live_and_resumes() -> None:
    async def scenario(api: Api) -> None:
        contact, token = await api.contact()
        await api.post(token, {"text": "one", "echo_id": "e1"})
        await api.post(token, {"text": "two", "echo_id": "e2"})
        async with api.http.get(api.url("/stream"), params={"token": token},
                                headers={"Origin": SHOP}) as reply:
            assert reply.status == 200
            assert reply.content_type == "text/event-stream"
            assert reply.headers["Access-Control-Allow-Origin"] == SHOP
            replayed, _ = await read_events(reply, 2)
            assert [(e["id"], e["event"]) for e in replayed] == [("m00001", "message"),
                                                                 ("m00002", "message")]
            assert json.loads(replayed[0]["data"])["text"] == "one"
            answer = api.host.store(contact, "out", "Hi, Anna here", {"text": "x"}, "Anna")
            live, _ = await read_events(reply, 1)
            assert json.loads(live[0]["data"]) == item_json(answer)
            assert live[0]["id"] == "m00003"
        assert await _drained(api, contact)  # the server left its watch

        # the browser reconnects with Last-Event-ID (the URL keeps its old ?after=)
        await api.post(token, {"text": "three", "echo_id": "e3"})
        async with api.http.get(api.url("/stream"), params={"after": "m00001"}, headers={
                "Authorization": f"Bearer {token}", "Last-Event-ID": "m00002"}) as reply:
            resumed, _ = await read_events(reply, 2)
            assert [e["id"] for e in resumed] == ["m00003", "m00004"]
            assert json.loads(resumed[1]["data"])["echo_id"] == "e3"

    run(scenario, allowed_origins=[SHOP])


async def _drained(api: Api, contact: str) -> bool:
    """The server noticed the closed stream and left its watch (within a few keepalives)."""
    for _ in range(50):
        if not api.host.watchers[contact]:
            return True
        await asyncio.sleep(0.05)
    return False


def test_the_stream_sends_keepalives_and_skips_what_it_replayed() -> None:
    async def scenario(api: Api) -> None:
        contact, token = await api.contact()
        await api.post(token, {"text": "one", "echo_id": "e1"})
        async with api.http.get(api.url("/stream"),
                                headers={"Authorization": f"Bearer {token}"}) as reply:
            first, _ = await read_events(reply, 1)
            assert first[0]["id"] == "m00001"
            # an item the watch reports again (stored while the history was read) is not resent
            for queue in api.host.watchers[contact]:
                queue.put_nowait(api.host.items[contact][0])
            new = api.host.store(contact, "out", "two", {})
            events, _ = await read_events(reply, 1)
            assert [e["id"] for e in events] == [new.id]
            raw = await asyncio.wait_for(reply.content.readline(), 2)
            assert raw == b": keepalive\n"
        assert await _drained(api, contact)

    run(scenario)


def test_the_stream_ends_cleanly_when_the_runtime_closes() -> None:
    async def scenario(api: Api) -> None:
        contact, token = await api.contact()
        async with api.http.get(api.url("/stream"),
                                headers={"Authorization": f"Bearer {token}"}) as reply:
            assert reply.status == 200
            await asyncio.sleep(0.05)
            await api.runtime.close()
            rest = await asyncio.wait_for(reply.content.read(), 3)
            assert b"event:" not in rest
        assert api.host.watchers[contact] == []

    run(scenario)


# --- sending and the webhook ------------------------------------------------------------------


@pytest.mark.parametrize("message", [
    OutboundText("hello"),
    OutboundTemplate("follow_up", "en", ("Ada",)),
    OutboundMenu("Pick", (MenuChoice("a", "A"),), "1. A"),
])
def test_send_only_hands_out_an_id(message: Any) -> None:
    runtime = make_runtime()
    first = asyncio.run(runtime.send(ContactRef("wc_x"), message))
    second = asyncio.run(runtime.send(ContactRef("wc_x"), message))
    assert first.ok and first.external_id and second.external_id != first.external_id
    assert runtime.window is None and runtime.window_open(None, NOON)


def test_there_is_no_webhook() -> None:
    runtime = make_runtime()
    outcome = receive(runtime, WebhookRequest("POST", body=b"{}"))
    assert outcome.response.status == 404 and outcome.events == ()
    with pytest.raises(WebhookRejected):
        runtime.verify(WebhookRequest("POST"))
    assert runtime.parse(WebhookRequest("POST")) == []


def test_the_spec_names_the_runtime() -> None:
    assert runtime_class(plugin) is WebChatRuntime


def test_the_stream_misses_nothing_stored_while_the_history_is_read() -> None:
    async def scenario(api: Api) -> None:
        contact, token = await api.contact()
        await api.post(token, {"text": "one", "echo_id": "e1"})
        read_history = api.host.history

        async def racing_history(channel_id: str, user: str,
                                 after: str | None = None) -> list[ChatItem]:
            items = await read_history(channel_id, user, after)
            api.host.store(contact, "out", "stored meanwhile", {})  # after the snapshot
            return items

        api.host.history = racing_history  # type: ignore[method-assign]
        async with api.http.get(api.url("/stream"),
                                headers={"Authorization": f"Bearer {token}"}) as reply:
            events, _ = await read_events(reply, 2)
            assert [json.loads(e["data"])["text"] for e in events] == ["one",
                                                                       "stored meanwhile"]

    run(scenario)


def test_an_unexpected_failure_is_a_500_without_a_traceback() -> None:
    async def scenario(api: Api) -> None:
        _, token = await api.contact()

        async def broken(*args: Any, **kwargs: Any) -> list[ChatItem]:
            raise RuntimeError("secret internals")

        api.host.history = broken  # type: ignore[method-assign]
        async with api.http.get(api.url("/messages"),
                                headers={"Authorization": f"Bearer {token}"}) as reply:
            assert reply.status == 500
            assert await reply.json() == {"error": "internal error"}
        async with api.http.get(api.url("/messages"), params={"after": "x" * 201},
                                headers={"Authorization": f"Bearer {token}"}) as reply:
            assert reply.status == 400

    run(scenario)
