"""Web chat channel: runtime half, an HTTP API for a site or app (see docs/webchat.md).

The server mounts `routes(host)` under `/channels/{channel_id}`:

- `POST /contacts`: a new customer identity and its token;
- `POST /messages`: a text or a tapped menu button from the customer (deduplicated by `echo_id`);
- `GET /messages?after=ID`: the conversation so far;
- `GET /stream`: the same as Server-Sent Events, history first, then live.

Web chat has no provider: what the desk sends is stored by the server and reaches the customer
through `/messages` and `/stream`, so `send` only hands out an id, and there is no webhook.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from supportctl.config.model.common import parse_duration
from supportctl.plugins.channel import (
    ChannelHost,
    ChannelRuntime,
    ChatItem,
    ContactRef,
    HostUnavailable,
    InboundEvent,
    InboundMessage,
    InteractiveReply,
    OutboundMessage,
    Route,
    SendResult,
    WebhookRejected,
    WebhookRequest,
)
from supportctl.plugins.json_values import unicode_text
from supportctl.runtime.clock import Clock, SystemClock

from .webchat import WebChatChannel, plugin

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
"""Largest JSON body the API accepts (413 beyond)."""
TEXT_LIMIT = plugin.limits.text_length or 10000
ECHO_ID_LIMIT = 100
OPTION_ID_LIMIT = 256
TITLE_LIMIT = 200
NAME_LIMIT = 200
EMAIL_LIMIT = 254
TOKEN_LIMIT = 512
CURSOR_LIMIT = 200
RETRY_AFTER_SECONDS = 5
KEEPALIVE_SECONDS = 15.0
RECHECK_SECONDS = 1.0  # an open stream asks whether its token still works this often
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
CORS_METHODS = "GET, POST"
CORS_HEADERS = "Authorization, Content-Type, Last-Event-ID"
CORS_MAX_AGE = "600"

JSON = dict[str, Any]


class ApiError(Exception):
    """An answer other than success: `status` with `{"error": message}`."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None
                 ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def _unauthorized(message: str, invalid: bool = False) -> ApiError:
    challenge = 'Bearer error="invalid_token"' if invalid else "Bearer"
    return ApiError(401, message, {"WWW-Authenticate": challenge})


def _unavailable() -> ApiError:
    return ApiError(503, "the chat service is unavailable; try again shortly",
                    {"Retry-After": str(RETRY_AFTER_SECONDS)})


def _json_response(status: int, body: JSON, headers: Mapping[str, str] | None = None
                   ) -> web.Response:
    from aiohttp import web

    return web.json_response(body, status=status, headers=dict(headers or {}))


def iso_utc(at: datetime) -> str:
    """`at` as ISO 8601 in UTC with a `Z` (a naive time is taken as UTC)."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.isoformat().replace("+00:00", "Z")


def item_json(item: ChatItem) -> JSON:
    """A chat item as the API shows it."""
    payload = item.payload if isinstance(item.payload, Mapping) else {}
    menu = payload.get("menu")
    raw_choices = menu.get("choices") if isinstance(menu, Mapping) else None
    choices: list[JSON] = []
    for choice in raw_choices if isinstance(raw_choices, list) else []:
        if isinstance(choice, Mapping) and "id" in choice:
            shown: JSON = {"id": str(choice["id"]), "title": str(choice.get("title", ""))}
            if choice.get("description"):
                shown["description"] = str(choice["description"])
            choices.append(shown)
    echo_id = payload.get("echo_id")
    return {"id": item.id, "direction": item.direction, "at": iso_utc(item.at),
            "text": item.text, "author": item.author, "status": item.status,
            "choices": choices, "echo_id": echo_id if isinstance(echo_id, str) else None}


def sse_event(item: ChatItem) -> bytes:
    """One Server-Sent Event for `item` (JSON has no raw newlines, so one `data:` line)."""
    data = json.dumps(item_json(item), ensure_ascii=False, separators=(",", ":"))
    item_id = item.id.replace("\r", "").replace("\n", "")
    return f"id: {item_id}\nevent: message\ndata: {data}\n\n".encode()


def _header(request: web.Request, name: str) -> str | None:
    """A request header; bytes that are not UTF-8 (which aiohttp hands on as lone surrogates,
    which nothing can encode again) become U+FFFD."""
    value = request.headers.get(name)
    return None if value is None else unicode_text(value)


def _optional_str(body: JSON, key: str, limit: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{key} must be a string")
    value = unicode_text(value.strip())  # JSON may escape lone surrogates, which SQL cannot
    if len(value) > limit:
        raise ApiError(400, f"{key} is longer than {limit} characters")
    return value or None


def _required_str(body: JSON, key: str, limit: int) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"{key} is required and must be a non-empty string")
    if len(value) > limit:
        raise ApiError(400, f"{key} is longer than {limit} characters")
    return value


class WebChatRuntime(ChannelRuntime):
    """The web chat API of one channel. `keepalive` (seconds between `: keepalive` comments on
    a stream) and `clock` (the time of inbound messages) may be changed, for tests."""

    window = None  # a site can always show what the desk writes
    has_webhook = False  # the site talks to the channel's own API
    config: WebChatChannel

    def __init__(self, channel_id: str, config: Any, **kwargs: Any) -> None:
        super().__init__(channel_id, config, **kwargs)
        self.keepalive: float = KEEPALIVE_SECONDS
        self.recheck: float = RECHECK_SECONDS
        self.clock: Clock = SystemClock()
        self.idle_ttl = parse_duration(self.config.token_ttl)
        self._closing = asyncio.Event()
        self._streams: set[asyncio.Task[Any]] = set()

    # --- no provider, so no webhook and nothing to call -------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        raise WebhookRejected(404, "web chat has no webhook; use its API under "
                                   f"/channels/{self.channel_id}/ (contacts, messages, stream)")

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        return []

    async def send(self, to: ContactRef, message: OutboundMessage) -> SendResult:
        """Nothing to call: the server stored the message, and the customer's page gets it
        through `/messages` and `/stream`. Templates are shown as their text."""
        return SendResult(external_id="wcm_" + secrets.token_urlsafe(12))

    async def close(self) -> None:
        """End open streams cleanly (the server calls this when it shuts down)."""
        self._closing.set()
        streams = [task for task in self._streams if not task.done()]
        if streams:
            await asyncio.wait(streams, timeout=5)
        await super().close()

    # --- HTTP API ---------------------------------------------------------------------------

    def routes(self, host: ChannelHost) -> Sequence[Route]:
        def bind(method: Callable[[web.Request, ChannelHost], Awaitable[web.StreamResponse]]
                 ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
            return self._endpoint(lambda request: method(request, host))

        return (
            Route("POST", "/contacts", bind(self._create_contact)),
            Route("OPTIONS", "/contacts", self._preflight),
            Route("POST", "/messages", bind(self._post_message)),
            Route("GET", "/messages", bind(self._get_messages)),
            Route("OPTIONS", "/messages", self._preflight),
            Route("GET", "/stream", bind(self._stream)),
            Route("OPTIONS", "/stream", self._preflight),
        )

    # --- CORS -------------------------------------------------------------------------------

    def origin_allowed(self, origin: str, request: web.Request) -> bool:
        """A listed origin, any with "*", or the API's own (same-origin pages send Origin
        on POST too)."""
        allowed = self.config.allowed_origins
        if "*" in allowed or origin.rstrip("/") in {o.rstrip("/") for o in allowed}:
            return True
        try:
            own_host = urlsplit(origin).netloc
        except ValueError:
            return False
        return bool(own_host) and own_host.lower() == (request.host or "").lower()

    def _cors_headers(self, request: web.Request) -> dict[str, str]:
        origin = _header(request, "Origin")
        if origin is None:
            return {}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
                "Access-Control-Expose-Headers": "Retry-After, WWW-Authenticate"}

    async def _preflight(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        origin = _header(request, "Origin")
        if origin is not None and not self.origin_allowed(origin, request):
            return _json_response(403, {"error": f"origin {origin} is not allowed"})
        headers = {"Allow": f"{CORS_METHODS}, OPTIONS", **self._cors_headers(request)}
        if origin is not None:
            headers.update({"Access-Control-Allow-Methods": CORS_METHODS,
                            "Access-Control-Allow-Headers": CORS_HEADERS,
                            "Access-Control-Max-Age": CORS_MAX_AGE})
        return web.Response(status=204, headers=headers)

    def _endpoint(self, handle: Callable[[web.Request], Awaitable[web.StreamResponse]]
                  ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            origin = _header(request, "Origin")
            if origin is not None and not self.origin_allowed(origin, request):
                return _json_response(403, {"error": f"origin {origin} is not allowed"})
            cors = self._cors_headers(request)
            try:
                response = await handle(request)
            except ApiError as failure:
                return _json_response(failure.status, {"error": failure.message},
                                      {**failure.headers, **cors})
            except HostUnavailable:
                busy = _unavailable()
                return _json_response(busy.status, {"error": busy.message},
                                      {**busy.headers, **cors})
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("web chat %s: %s %s failed", self.channel_id, request.method,
                              request.path)
                return _json_response(500, {"error": "internal error"}, cors)
            if not response.prepared:
                response.headers.update(cors)
            return response

        return handler

    # --- request parts ----------------------------------------------------------------------

    async def _body(self, request: web.Request) -> JSON:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise ApiError(413, f"body is over the limit of {MAX_BODY} bytes")
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(MAX_BODY + 1):
            size += len(chunk)
            if size > MAX_BODY:
                raise ApiError(413, f"body is over the limit of {MAX_BODY} bytes")
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError as exc:  # not UTF-8, not JSON, or a number of over 4,300 digits
            raise ApiError(400, f"body is not JSON: {exc}") from exc
        except RecursionError as exc:
            raise ApiError(400, "body is nested too deeply") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "body must be a JSON object")
        return body

    async def _contact(self, request: web.Request, host: ChannelHost,
                       query_token: bool = False) -> str:
        """The customer behind the request's token (header, or `?token=` when allowed)."""
        token = self._token(request, query_token)
        contact = await host.token_owner(self.channel_id, token, idle_ttl=self.idle_ttl)
        if contact is None:
            raise _unauthorized("the token is not valid or has expired", invalid=True)
        return contact

    def _token(self, request: web.Request, query_token: bool) -> str:
        """The request's token as given (not yet checked against the host)."""
        header = _header(request, "Authorization")
        token: str | None = None
        if header is not None:
            scheme, _, value = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise _unauthorized("Authorization must be 'Bearer <token>'")
            token = value.strip()
        elif query_token:
            token = request.query.get("token") or None
        if token is None:
            raise _unauthorized("a token is required (Authorization: Bearer <token>)")
        if len(token) > TOKEN_LIMIT:
            raise _unauthorized("the token is not valid", invalid=True)
        return token

    @staticmethod
    def _cursor(value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if len(value) > CURSOR_LIMIT:
            raise ApiError(400, f"after is longer than {CURSOR_LIMIT} characters")
        return value.strip()

    # --- handlers ---------------------------------------------------------------------------

    async def _create_contact(self, request: web.Request, host: ChannelHost
                              ) -> web.StreamResponse:
        body = await self._body(request)
        name = _optional_str(body, "name", NAME_LIMIT)
        language = _optional_str(body, "language", 35)
        if language is not None and not LANGUAGE.match(language):
            raise ApiError(400, "language must be a language code such as en, de or pt-BR")
        email = _optional_str(body, "email", EMAIL_LIMIT)
        if email is not None and not EMAIL.match(email):
            raise ApiError(400, "email is not an email address")
        external_id = "wc_" + secrets.token_urlsafe(16)
        await host.register_contact(self.channel_id, ContactRef(
            external_id, name=name, language=language, email=email))
        token = await host.issue_token(self.channel_id, external_id)
        return _json_response(201, {"contact": external_id, "token": token})

    async def _post_message(self, request: web.Request, host: ChannelHost
                            ) -> web.StreamResponse:
        contact = await self._contact(request, host)
        body = await self._body(request)
        echo_id = _required_str(body, "echo_id", ECHO_ID_LIMIT)
        if not echo_id.isprintable():
            raise ApiError(400, "echo_id must be printable text")
        external_id = f"{contact}:{echo_id}"
        sender = ContactRef(contact)
        now = self.clock.now()
        event: InboundEvent
        if "option_id" in body and body["option_id"] is not None:
            if body.get("text") is not None:
                raise ApiError(400, "send either text or option_id, not both")
            option_id = unicode_text(_required_str(body, "option_id", OPTION_ID_LIMIT))
            title = _optional_str(body, "title", TITLE_LIMIT) or option_id
            event = InteractiveReply(self.channel_id, external_id, sender, now, option_id, title)
        else:
            text = body.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ApiError(400, "text (or option_id) is required and must not be empty")
            if len(text) > TEXT_LIMIT:
                raise ApiError(400, f"text is longer than {TEXT_LIMIT} characters")
            event = InboundMessage(self.channel_id, external_id, sender, now,
                                   text=unicode_text(text))
        await host.deliver([event])
        return _json_response(202, {"echo_id": echo_id, "accepted": True})

    async def _get_messages(self, request: web.Request, host: ChannelHost
                            ) -> web.StreamResponse:
        contact = await self._contact(request, host)
        after = self._cursor(request.query.get("after"))
        items = await host.history(self.channel_id, contact, after)
        return _json_response(200, {"messages": [item_json(item) for item in items]})

    async def _stream(self, request: web.Request, host: ChannelHost) -> web.StreamResponse:
        from aiohttp import web

        contact = await self._contact(request, host, query_token=True)
        after = self._cursor(_header(request, "Last-Event-ID")
                             or request.query.get("after"))
        task = asyncio.current_task()
        if task is not None:
            self._streams.add(task)
        try:
            async with host.watch(self.channel_id, contact) as live:
                # watching before reading the history: nothing stored in between is missed
                history = await host.history(self.channel_id, contact, after)
                response = web.StreamResponse(status=200, headers={
                    "Content-Type": "text/event-stream; charset=utf-8",
                    "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
                    **self._cors_headers(request)})
                await response.prepare(request)
                try:
                    token = self._token(request, True)
                    await self._pump(response, history, live, lambda: host.token_valid(
                        self.channel_id, token, self.idle_ttl))
                    if not self._disconnected(request):
                        await response.write_eof()
                except ConnectionError:
                    pass  # the client went away mid-write: nothing more to say
                except Exception:  # after prepare, a JSON error can no longer be sent
                    log.exception("web chat %s: stream of %s failed", self.channel_id, contact)
                return response
        finally:
            if task is not None:
                self._streams.discard(task)

    @staticmethod
    def _disconnected(request: web.Request) -> bool:
        transport = request.transport
        return transport is None or transport.is_closing()

    async def _pump(self, response: web.StreamResponse, history: list[ChatItem],
                    live: AsyncIterator[ChatItem],
                    still_valid: Callable[[], Awaitable[bool]]) -> None:
        """History, then live items not already shown, with keepalive comments in between;
        returns when the client disconnects, the watch ends, the runtime closes or, within
        `recheck` seconds, when the token stops working (expired, or the session ended)."""
        seen: set[str] = set()
        for item in history:
            seen.add(item.id)
            await response.write(sse_event(item))
        closing: asyncio.Future[Any] = asyncio.ensure_future(self._closing.wait())
        following: asyncio.Future[Any] | None = None
        written = checked = time.monotonic()
        try:
            while not self._closing.is_set():
                if following is None:
                    following = asyncio.ensure_future(anext(live))
                done, _ = await asyncio.wait({following, closing},
                                             timeout=min(self.keepalive, self.recheck),
                                             return_when=asyncio.FIRST_COMPLETED)
                if time.monotonic() - checked >= self.recheck:
                    if not await still_valid():
                        return
                    checked = time.monotonic()
                if following in done:
                    try:
                        item = following.result()
                    except StopAsyncIteration:
                        return
                    following = None
                    if item.id in seen:
                        continue
                    await response.write(sse_event(item))
                    written = time.monotonic()
                elif not done and time.monotonic() - written >= self.keepalive:
                    await response.write(b": keepalive\n\n")
                    written = time.monotonic()
        finally:
            closing.cancel()
            if following is not None and not following.done():
                following.cancel()
                await asyncio.wait({following}, timeout=1)  # let the watch settle
