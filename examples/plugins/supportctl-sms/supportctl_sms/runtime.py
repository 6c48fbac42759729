"""SMS through a gateway: the runtime half (webhook signature, parsing, sending).

The gateway's API, as its README documents it:
- deliveries are POSTed as JSON, one event each, signed with `X-Sms-Signature:
  sha256=<hex HMAC-SHA256 of the raw body, keyed with the webhook secret>`: an inbound message
  `{"type": "message", "id", "from", "to", "text", "received_at"}` or a delivery receipt
  `{"type": "receipt", "message_id", "status", "at", "error_code", "error_message"}`;
- messages are sent by POSTing `{"from", "to", "text"}` to `{api_base_url}/messages` with
  `Authorization: Bearer <api key>`, answered `{"id"}`, or `{"error": {"code", "message"}}`.

Only the public plugin interface is imported: `supportctl.plugins.channel`,
`supportctl.plugins.json_values` and this package.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import aiohttp

from supportctl.plugins.channel import (
    ChannelRuntime,
    ContactRef,
    DeliveryState,
    DeliveryStatus,
    InboundEvent,
    InboundMessage,
    OutboundMenu,
    OutboundMessage,
    OutboundText,
    SendError,
    SendResult,
    WebhookRejected,
    WebhookRequest,
    send_in_order,
)
from supportctl.plugins.json_values import Node, describe

from . import SmsChannel

SIGNATURE_HEADER = "X-Sms-Signature"
TEXT_LIMIT = 1600  # the gateway's longest message: ten concatenated SMS parts
STATES = {"sent": DeliveryState.SENT, "delivered": DeliveryState.DELIVERED,
          "failed": DeliveryState.FAILED, "undelivered": DeliveryState.FAILED}


def signature(secret: str, body: bytes) -> str:
    """The `X-Sms-Signature` value the gateway sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Text in parts of at most `limit` characters, cut after the last space or line break of a
    part when there is one in its second half (words stay whole), else hard."""
    parts: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind(" ", 0, limit + 1), text.rfind("\n", 0, limit + 1))
        cut = cut if cut >= limit // 2 else limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*parts, text] if text or not parts else parts


class SmsChannelRuntime(ChannelRuntime):
    """One phone number at the SMS gateway: no messaging window, text only."""

    window = None  # an SMS may be sent at any time
    max_body = 64 * 1024  # one event per delivery, at most 1,600 characters of text
    send_rate = (10.0, 10)  # the gateway's limit per account: 10 messages a second
    config: SmsChannel

    # --- inbound ------------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        given = request.headers.get(SIGNATURE_HEADER)
        if not given:
            raise WebhookRejected(401, f"missing {SIGNATURE_HEADER}")
        expected = signature(self.config.webhook_secret, request.body)
        if not hmac.compare_digest(given.strip().encode(), expected.encode()):
            raise WebhookRejected(403, f"{SIGNATURE_HEADER} does not match the body")

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        """The delivery's event; a message to another number of the same gateway account is
        not this channel's, and is acknowledged without events. A field of the wrong type
        raises Malformed, which `receive` answers with a 400 naming it."""
        body = request.json()
        if not isinstance(body, dict):
            raise WebhookRejected(400, "a delivery is a JSON object")
        delivery = Node(body)
        kind = delivery["type"].text()
        if kind == "message":
            if delivery["to"].ident() != self.config.phone_number:
                return []
            return [self._message(delivery)]
        if kind == "receipt":
            return [self._receipt(delivery)]
        raise WebhookRejected(400, f"unknown delivery type {describe(kind)}")

    def _message(self, body: Node) -> InboundMessage:
        sender = body["from"].ident()
        return InboundMessage(self.channel_id, body["id"].ident(),
                              ContactRef(sender, phone=sender), body["received_at"].iso_time(),
                              text=body["text"].text() or "")

    def _receipt(self, body: Node) -> DeliveryStatus:
        state = STATES.get(body["status"].text() or "")
        if state is None:
            raise WebhookRejected(400, f"unknown status {describe(body['status'].value)}")
        return DeliveryStatus(self.channel_id, body["message_id"].ident(), state,
                              body["at"].iso_time(), body["to"].optional_ident(),
                              body["error_code"].code(), body["error_message"].text())

    # --- outbound -----------------------------------------------------------------------------

    def texts(self, message: OutboundMessage) -> list[str] | None:
        """The texts one message is sent as, or None for one SMS cannot carry (a template)."""
        if isinstance(message, OutboundText):
            return split_text(message.text)
        if isinstance(message, OutboundMenu):
            return split_text(message.as_text())
        return None

    async def send(self, to: ContactRef, message: OutboundMessage) -> SendResult:
        """POST each part in order; stop at the first failure."""
        texts = self.texts(message)
        if texts is None:
            return SendResult(error=SendError("no_templates", "SMS has no native templates",
                                              permanent=True))
        sender = self.config.sender_name or self.config.phone_number
        return await send_in_order(
            ({"from": sender, "to": to.phone or to.external_id, "text": text} for text in texts),
            self._post)

    async def _post(self, body: dict[str, str]) -> str | SendError:
        http = self.session()  # the server's shared session, or one of our own
        url = self.config.api_base_url.rstrip("/") + "/messages"
        headers = {"Authorization": f"Bearer {self.config.api_key}"}
        try:
            async with http.post(url, json=body, headers=headers) as reply:
                status = reply.status
                wait = _seconds(reply.headers.get("Retry-After"))
                try:
                    data = await reply.json(content_type=None)
                except ValueError:
                    data = None
        except (TimeoutError, aiohttp.ClientError) as exc:
            return SendError("network", f"{type(exc).__name__}: {exc}", permanent=False)
        data = data if isinstance(data, dict) else {}
        if 200 <= status < 300:
            message_id = data.get("id")
            if isinstance(message_id, str) and message_id:
                return message_id
            return SendError("bad_response", "2xx answer without an id", permanent=False)
        return send_error(status, data, wait)


def _seconds(value: str | None) -> float | None:
    """A `Retry-After` given in seconds (the gateway never sends an HTTP date)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def send_error(status: int, data: dict[str, Any], retry_after: float | None = None) -> SendError:
    """A gateway error answer as a SendError: throttling and server trouble are worth a retry
    (no sooner than the gateway's `Retry-After`), any other refusal (a bad number, a blocked
    recipient) is not."""
    error = data.get("error")
    error = error if isinstance(error, dict) else {}
    code = str(error.get("code") or f"http_{status}")
    temporary = status == 429 or status >= 500
    return SendError(code, str(error.get("message") or f"HTTP {status}"),
                     permanent=not temporary, retry_after=retry_after if temporary else None)
