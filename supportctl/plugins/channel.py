"""The runtime half of a channel plugin: webhooks in, normalized events out, messages sent.

A channel plugin's `ChannelSpec.runtime` names a `ChannelRuntime` subclass ("module:attribute"),
imported only by `serve`. The server hands the runtime a `WebhookRequest` (our own type, so that a
plugin is tested without a server), takes back a `WebhookResponse` or normalized events, stores
the events durably, and only then answers the provider. Sending goes the other way: the outbox
worker calls `send` with an `OutboundText`, `OutboundTemplate` or `OutboundMenu` and records the
`SendResult`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from supportctl.config.plugin_spec import ChannelConfig
from supportctl.plugins.json_values import Malformed, as_dict, unicode_text

if TYPE_CHECKING:
    from aiohttp import ClientSession, web

DEFAULT_MAX_BODY = 1024 * 1024
T = TypeVar("T")


class WebhookRejected(Exception):
    """A webhook request the channel refuses: answered with `status`, nothing processed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


class RegistrationFailed(Exception):
    """The provider refused to register a webhook; the message says why."""


class Headers(Mapping[str, str]):
    """HTTP headers looked up case-insensitively (the last value of a repeated header wins)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: dict[str, tuple[str, str]] = {name.lower(): (name, value)
                                                   for name, value in pairs}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """An HTTP request to a channel's webhook, body unparsed (signatures cover the raw bytes)."""

    method: str
    path: str = "/"
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON is the sender's fault (400)."""
        try:
            return json.loads(self.body)
        except ValueError as exc:  # not UTF-8, not JSON, or a number of over 4,300 digits
            raise WebhookRejected(400, f"body is not JSON: {exc}") from exc
        except RecursionError as exc:
            raise WebhookRejected(400, "body is nested too deeply") from exc

    @classmethod
    async def from_aiohttp(cls, request: web.Request,
                           max_body: int = DEFAULT_MAX_BODY) -> WebhookRequest:
        """Read an aiohttp request whole; a body over `max_body` bytes is refused with 413."""
        if request.content_length is not None and request.content_length > max_body:
            raise WebhookRejected(413, f"body of {request.content_length} bytes is over the "
                                       f"limit of {max_body}")
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(64 * 1024):  # a read may return less
            size += len(chunk)
            if size > max_body:
                raise WebhookRejected(413, f"body is over the limit of {max_body} bytes")
            chunks.append(chunk)
        # header bytes that are not UTF-8 arrive as lone surrogates, which no signature check
        # could encode: they become U+FFFD, which no signature matches either
        headers = Headers((name, unicode_text(value)) for name, value in request.headers.items())
        return cls(request.method, request.path, dict(request.query), headers,
                   b"".join(chunks))


@dataclass(frozen=True, slots=True)
class WebhookResponse:
    """What the webhook answers the provider."""

    status: int = 200
    body: str = ""
    content_type: str = "text/plain"

    def to_aiohttp(self) -> web.Response:
        """The same response as an aiohttp one."""
        from aiohttp import web

        return web.Response(status=self.status, text=self.body, content_type=self.content_type)


# --- inbound events ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactRef:
    """A customer as a channel knows them: its id there, and what it tells about them."""

    external_id: str
    name: str | None = None
    phone: str | None = None  # E.164 with "+", when the channel knows it
    language: str | None = None  # when the channel knows it (a site passes its page language)
    email: str | None = None  # only when the channel verified it (a logged-in shop customer)


@dataclass(frozen=True, slots=True)
class MediaRef:
    """An attachment, kept as a reference: fetching it is the runtime's business, later."""

    kind: str  # image, audio, video, document, sticker, ...
    id: str
    mime_type: str | None = None
    caption: str | None = None
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class SharedContact:
    """A contact card the customer sent."""

    name: str
    phones: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """Something the customer sent. `text` is None for media without a caption, locations,
    contact cards and types the channel cannot show (`unsupported` names them)."""

    channel_id: str
    external_id: str  # the channel's message id: the dedupe key with channel_id
    contact: ContactRef
    sent_at: datetime
    text: str | None = None
    media: MediaRef | None = None
    location: Location | None = None
    contacts: tuple[SharedContact, ...] = ()
    reply_to: str | None = None  # external id of the message this one answers
    unsupported: str | None = None  # the channel's name for a type we do not handle


@dataclass(frozen=True, slots=True)
class InteractiveReply:
    """The customer tapped a button or list row we sent; `option_id` is the id we gave it."""

    channel_id: str
    external_id: str
    contact: ContactRef
    sent_at: datetime
    option_id: str
    title: str
    reply_to: str | None = None


class DeliveryState(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """What became of a message we sent (`external_id` is the id `send` returned)."""

    channel_id: str
    external_id: str
    status: DeliveryState
    at: datetime
    recipient: str | None = None
    error_code: str | None = None
    error_text: str | None = None


InboundEvent = InboundMessage | InteractiveReply | DeliveryStatus


# --- outbound messages ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboundText:
    """Free text. `human`: written by an agent, not by the desk (Messenger tags such messages
    HUMAN_AGENT, which lets them through for longer after the customer's last message)."""

    text: str
    human: bool = False


@dataclass(frozen=True, slots=True)
class OutboundTemplate:
    """A channel-native template (e.g. WhatsApp's approved templates), parameters in order.
    `fields` and `url`: a template whose values are keyed (WeChat's `data`, and the page the
    message opens)."""

    name: str
    language: str
    params: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()
    url: str | None = None


class MenuShape(StrEnum):
    """How the menu engine would like a menu shown; the channel falls back when it cannot."""

    BUTTONS = "buttons"
    LIST = "list"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class MenuChoice:
    id: str  # comes back as InteractiveReply.option_id
    title: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class OutboundMenu:
    """A menu: the prompt, the choices, and the numbered text that every channel can show."""

    prompt: str
    choices: tuple[MenuChoice, ...]
    text: str  # "1. Track my order\n2. Payments\n0. Back"
    shape: MenuShape = MenuShape.TEXT
    button: str | None = None  # label of the button that opens a list

    def as_text(self) -> str:
        """The prompt and the numbered choices: what a channel without widgets sends."""
        return f"{self.prompt}\n\n{self.text}" if self.prompt else self.text


OutboundMessage = OutboundText | OutboundTemplate | OutboundMenu


@dataclass(frozen=True, slots=True)
class SendError:
    """Why a send failed. `permanent`: retrying cannot help. `window_closed`: the channel says
    the messaging window is closed, so only a template can reach the customer now.
    `retry_after`: the provider's own wait before a retry, which the outbox keeps to."""

    code: str
    message: str
    permanent: bool
    window_closed: bool = False
    retry_after: float | None = None  # seconds the provider asked us to wait (429 Retry-After)


@dataclass(frozen=True, slots=True)
class SendResult:
    """The channel's id of what was sent, or why nothing was. A text the channel had to split
    has the id of its first part in `external_id` and the others in `more_ids`."""

    external_id: str | None = None
    error: SendError | None = None
    more_ids: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


# --- what the server offers a channel that brings its own HTTP API ---------------------------


class HostUnavailable(Exception):
    """The server could not store what it was given (database down): answer 503, retry later."""


Handler = Callable[["web.Request"], Awaitable["web.StreamResponse"]]


@dataclass(frozen=True, slots=True)
class Route:
    """An HTTP route a channel adds under `/channels/{channel_id}` (`path` starts with "/")."""

    method: str
    path: str
    handler: Handler


@dataclass(frozen=True, slots=True)
class ChatItem:
    """A message between a customer and the desk, as a chat window shows it."""

    id: str  # the server's message id: unique, and ordered by time
    direction: str  # "in" from the customer, "out" to them
    at: datetime
    text: str  # what the customer reads (a menu as its numbered text)
    payload: Mapping[str, Any]  # the stored message (`menu` choices for buttons, `echo_id`)
    author: str | None = None  # display name of the agent who wrote it
    status: str = "sent"


class ChannelHost(Protocol):
    """The server's side of a channel plugin that serves its own HTTP API (web chat)."""

    async def register_contact(self, channel_id: str, contact: ContactRef) -> None:
        """Create or update the contact behind a channel identity. Raises HostUnavailable."""

    async def deliver(self, events: Sequence[InboundEvent]) -> None:
        """Store events durably and process them, exactly as a webhook's; a duplicate
        (channel, external id) is ignored. Raises HostUnavailable when nothing was stored."""

    async def issue_token(self, channel_id: str, external_user_id: str) -> str:
        """A new secret token for a customer of the channel (stored hashed)."""

    async def token_owner(self, channel_id: str, token: str, idle_ttl: timedelta) -> str | None:
        """The customer a token belongs to, if valid and used within `idle_ttl`; marks the use."""

    async def token_valid(self, channel_id: str, token: str, idle_ttl: timedelta) -> bool:
        """Whether `token_owner` would accept the token now, without marking a use: an open
        stream asks every second and ends when it is no longer so."""

    async def history(self, channel_id: str, external_user_id: str,
                      after: str | None = None) -> list[ChatItem]:
        """The customer's messages on this channel, oldest first, after the id `after`."""

    def watch(self, channel_id: str, external_user_id: str
              ) -> AbstractAsyncContextManager[AsyncIterator[ChatItem]]:
        """Messages to and from the customer as they are stored (outbound ones once sent)."""


# --- the interface ----------------------------------------------------------------------------


class ChannelRuntime(ABC):
    """One configured channel at runtime. Subclasses set `window` and `max_body` as needed and
    implement `verify`, `parse` and `send`; everything else has a sensible default."""

    window: timedelta | None = None
    """Free text is allowed this long after the customer's last message (None: always)."""
    max_body: ClassVar[int] = DEFAULT_MAX_BODY
    """Largest webhook body accepted (the server's `max_body_bytes` caps it too)."""
    human_window: timedelta | None = None
    """An agent's free text is allowed this long (None: as long as `window`); Messenger's
    HUMAN_AGENT tag gives 7 days."""
    send_rate: ClassVar[tuple[float, int] | None] = None
    """(messages per second, burst) the provider allows one account; the outbox keeps to it."""
    has_webhook: ClassVar[bool] = True
    """False for a channel that serves its own API instead (web chat): nothing to register."""
    passive_replies: ClassVar[bool] = False
    """The provider takes a reply in the webhook's HTTP answer (WeChat): the server processes a
    delivery before answering and offers `passive_reply` the first message it queued."""
    reply_deadline: ClassVar[float] = 4.0
    """Seconds the server may spend processing before it must answer without a passive reply."""

    def __init__(self, channel_id: str, config: ChannelConfig, *,
                 http: ClientSession | None = None) -> None:
        self.channel_id = channel_id
        self.config = config
        self.http = http  # shared by the server; `session()` opens one when None
        self._owns_http = False

    def session(self) -> ClientSession:
        """The HTTP session to call the provider with: the server's, or one of the runtime's
        own when it was made without (a plugin used on its own), closed by `close`."""
        if self.http is None:
            import aiohttp

            self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
            self._owns_http = True
        return self.http

    async def post_json(self, url: str, body: Mapping[str, Any], *,
                        params: Mapping[str, str] | None = None,
                        headers: Mapping[str, str] | None = None,
                        timeout: float | None = None,
                        secret: str | None = None) -> tuple[int, dict[str, Any]] | SendError:
        """POST `body` as JSON to the provider: the status and the answer as a JSON object
        (empty when the answer is not one), or a temporary `network` SendError when no answer
        came. `secret` (a token in the URL, which client errors quote) is cut from its text."""
        import aiohttp

        options: dict[str, Any] = {"json": body, "params": params, "headers": headers}
        if timeout is not None:
            options["timeout"] = aiohttp.ClientTimeout(total=timeout)
        try:
            async with self.session().post(url, **options) as reply:
                try:
                    data = as_dict(await reply.json(content_type=None))
                except ValueError:
                    data = {}
                return reply.status, data
        except (TimeoutError, aiohttp.ClientError) as exc:
            detail = str(exc).replace(secret, "<token>") if secret else str(exc)
            return SendError("network", f"{type(exc).__name__}: {detail}", permanent=False)

    def verification(self, request: WebhookRequest) -> WebhookResponse | None:
        """Answer a provider's webhook verification GET, or None when this is not one.
        Raises WebhookRejected for a verification that fails."""
        return None

    @abstractmethod
    def verify(self, request: WebhookRequest) -> None:
        """Check a delivery's signature on the raw body; raise WebhookRejected when it fails."""

    @abstractmethod
    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        """The normalized events of a verified delivery, in the order the channel sent them.
        A delivery that cannot be read whole raises WebhookRejected, or Malformed (reading it
        with `json_values.Node`), and gives no events at all."""

    def acknowledge(self, events: Sequence[InboundEvent]) -> WebhookResponse:
        """The answer once the events are stored durably (and only then)."""
        return WebhookResponse(200, "ok")

    @abstractmethod
    async def send(self, to: ContactRef, message: OutboundMessage) -> SendResult:
        """Send one message; failures are returned as `SendResult.error`, never raised."""

    def window_open(self, last_inbound_at: datetime | None, now: datetime, *,
                    human: bool = False) -> bool:
        """Whether free text may be sent now, given the customer's last message; `human`: the
        text is an agent's (see `human_window`)."""
        window = (self.human_window or self.window) if human else self.window
        if window is None:
            return True
        return last_inbound_at is not None and now - last_inbound_at < window

    def passive_reply(self, request: WebhookRequest, event: InboundMessage | InteractiveReply,
                      message: OutboundMessage) -> WebhookResponse | None:
        """The webhook's answer carrying `message` as the reply to `event` (only called when
        `passive_replies` is set), or None when it cannot be one: it is then sent by `send`."""
        return None

    async def register_webhook(self, url: str) -> str | None:
        """Tell the provider to deliver to `url` (Telegram's setWebhook), for `supportctl
        channels register`: what was done, in a line, or None when the provider has no API for
        it (the URL is entered in its console). Raises RegistrationFailed."""
        return None

    def routes(self, host: ChannelHost) -> Sequence[Route]:
        """HTTP routes of the channel's own API beside its webhook (web chat has several)."""
        return ()

    async def close(self) -> None:
        """Release what the runtime opened itself (the server closes the shared session);
        a subclass that overrides it calls `super().close()`."""
        if self._owns_http and self.http is not None:
            await self.http.close()
            self.http = None
            self._owns_http = False


async def send_in_order(parts: Iterable[T],
                        post: Callable[[T], Awaitable[str | SendError | None]]) -> SendResult:
    """Send the parts of one message (a long text split by the channel's limit) one after the
    other, stopping at the first failure: the ids of what went (None where the provider gives
    none), and the error."""
    ids: list[str | None] = []
    error: SendError | None = None
    for part in parts:
        sent = await post(part)
        if isinstance(sent, SendError):
            error = sent
            break
        ids.append(sent)
    return SendResult(ids[0] if ids else None, error, tuple(i for i in ids[1:] if i))


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    """What a webhook request came to: the response, and events to store before sending it."""

    response: WebhookResponse
    events: tuple[InboundEvent, ...] = ()


def receive(runtime: ChannelRuntime, request: WebhookRequest) -> WebhookOutcome:
    """Run a request through a runtime: verification, or signature check and parsing.
    A rejected request becomes its status, a payload the parser cannot read (`Malformed`) a
    400 naming the field; the caller stores `events` before answering."""
    try:
        method = request.method.upper()
        if method == "GET":
            answer = runtime.verification(request)
            if answer is None:
                raise WebhookRejected(405, "this webhook takes POST deliveries")
            return WebhookOutcome(answer)
        if method != "POST":
            raise WebhookRejected(405, f"method {method} is not allowed")
        runtime.verify(request)
        events = tuple(runtime.parse(request))
    except WebhookRejected as rejected:
        return WebhookOutcome(WebhookResponse(rejected.status, rejected.reason))
    except Malformed as malformed:
        return WebhookOutcome(WebhookResponse(400, str(malformed)))
    return WebhookOutcome(runtime.acknowledge(events), events)
