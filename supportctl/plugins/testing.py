"""Test doubles for the channel interface, for supportctl's tests and plugin authors' alike."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from supportctl.config.plugin_spec import ChannelConfig
from supportctl.plugins.channel import (
    ChannelRuntime,
    ContactRef,
    InboundEvent,
    InboundMessage,
    InteractiveReply,
    OutboundMenu,
    OutboundMessage,
    OutboundTemplate,
    OutboundText,
    SendError,
    SendResult,
    WebhookRejected,
    WebhookRequest,
)
from supportctl.plugins.json_values import Node

TOKEN_HEADER = "X-Collecting-Token"


@dataclass(frozen=True, slots=True)
class Sent:
    """One message the channel would have sent."""

    to: ContactRef
    message: OutboundMessage

    @property
    def text(self) -> str:
        """What a text-only channel would show: the text, the menu as numbered lines, or
        `[template name(params)]`."""
        message = self.message
        if isinstance(message, OutboundText):
            return message.text
        if isinstance(message, OutboundMenu):
            return message.as_text()
        params = ", ".join(message.params)
        return f"[template {message.name}({params})]"


class CollectingChannel(ChannelRuntime):
    """A channel that records what would have been sent instead of sending it.

    Inbound, it takes a JSON object `{"from": ID, "id": MESSAGE_ID, "text": ...}` or
    `{"from": ID, "id": MESSAGE_ID, "option": OPTION_ID, "title": ...}` (or a list of them),
    signed by the header `X-Collecting-Token` when a `token` is given. Outbound results can be
    scripted with `fail_next`; otherwise every send succeeds with ids `collected-1`, `-2`, ...
    """

    def __init__(self, channel_id: str = "test", config: ChannelConfig | None = None, *,
                 window: timedelta | None = None, token: str | None = None,
                 now: datetime | None = None) -> None:
        super().__init__(channel_id, config or ChannelConfig(type="collecting"))
        self.window = window
        self.token = token
        self.now = now
        self.sent: list[Sent] = []
        self.results: list[SendResult] = []
        self._failures: list[SendError] = []

    def fail_next(self, *errors: SendError) -> None:
        """The next sends fail with these errors, one each, in order."""
        self._failures.extend(errors)

    def verify(self, request: WebhookRequest) -> None:
        if self.token is None:
            return
        given = request.headers.get(TOKEN_HEADER)
        if given is None:
            raise WebhookRejected(401, f"missing {TOKEN_HEADER}")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise WebhookRejected(403, f"wrong {TOKEN_HEADER}")

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        body = request.json()
        items = Node(body).each() if isinstance(body, list) else [Node(body)]
        return [self._event(item) for item in items]

    def _event(self, item: Node) -> InboundEvent:
        if not isinstance(item.value, dict):
            raise WebhookRejected(400, 'each event needs string "from" and "id"')
        contact = ContactRef(item["from"].ident(), item["name"].text(), item["phone"].text())
        at = self.now or datetime.now(UTC)
        if item["option"].present:
            return InteractiveReply(self.channel_id, item["id"].ident(), contact, at,
                                    item["option"].text() or "", item["title"].text() or "")
        return InboundMessage(self.channel_id, item["id"].ident(), contact, at,
                              text=item["text"].text())

    async def send(self, to: ContactRef, message: OutboundMessage) -> SendResult:
        if self._failures:
            result = SendResult(error=self._failures.pop(0))
        else:
            self.sent.append(Sent(to, message))
            result = SendResult(f"collected-{len(self.sent)}")
        self.results.append(result)
        return result

    def texts(self, to: str | None = None) -> list[str]:
        """The text of each message sent (to one contact id, if given), in order."""
        return [sent.text for sent in self.sent if to is None or sent.to.external_id == to]

    def templates(self) -> list[OutboundTemplate]:
        """The templates sent, in order."""
        return [s.message for s in self.sent if isinstance(s.message, OutboundTemplate)]
