"""WhatsApp Business Cloud API channel: runtime half (webhook verification, parsing, sending).

Wire formats as documented by Meta for the Cloud API: webhook deliveries are
`{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages",
"value": {...}}]}]}`, signed with `X-Hub-Signature-256`; messages are sent by POSTing to
`{api_base_url}/{api_version}/{phone_number_id}/messages`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from supportctl.plugins.channel import (
    ChannelRuntime,
    ContactRef,
    DeliveryState,
    DeliveryStatus,
    InboundEvent,
    InboundMessage,
    InteractiveReply,
    Location,
    MediaRef,
    MenuShape,
    OutboundMenu,
    OutboundMessage,
    OutboundTemplate,
    OutboundText,
    SendError,
    SendResult,
    SharedContact,
    WebhookRejected,
    WebhookRequest,
    WebhookResponse,
    send_in_order,
)
from supportctl.plugins.json_values import Malformed, Node, as_dict, as_list, describe

from .whatsapp import WhatsAppChannel

SIGNATURE_HEADER = "X-Hub-Signature-256"
TEXT_LIMIT = 4096
BODY_LIMIT = 1024  # body text of an interactive message
MAX_BUTTONS, BUTTON_TITLE, BUTTON_ID = 3, 20, 256
MAX_ROWS, ROW_TITLE, ROW_DESCRIPTION, ROW_ID, LIST_BUTTON = 10, 24, 72, 200, 20
MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker"})
# Graph API codes of throttling and temporary trouble: worth a retry later
RETRYABLE_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056, 133004})
WINDOW_CLOSED_CODE = 131047  # "Re-engagement message": more than 24 h since the customer wrote


def signature(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value Meta sends for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sender(message: Node, names: Mapping[str, str | None]) -> ContactRef:
    """Who sent a message: their phone number, or only their business-scoped user id (BSUID)
    when they use a WhatsApp username and Meta leaves the number out. The number stays the id
    when it is there, so customers known from before BSUIDs keep their conversations."""
    phone = message["from"].optional_ident()
    if phone is not None:
        return ContactRef(phone, names.get(phone), "+" + phone.lstrip("+"))
    if not message["from_user_id"].present:
        raise Malformed(message["from"].path, "missing (and so is from_user_id)")
    user_id = message["from_user_id"].ident()
    return ContactRef(user_id, names.get(user_id))


def recipient(to: ContactRef) -> dict[str, str]:
    """Addressing of a send: `to` for a phone number, `recipient` for a BSUID ("US.1349...")."""
    if to.external_id.lstrip("+").isdigit():
        return {"to": to.external_id}
    return {"recipient": to.external_id}


def _fits(text: str, limit: int) -> bool:
    return 0 < len(text) <= limit


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Text in parts of at most `limit` characters, cut at a line break or space when one is
    in the second half of a part (so words stay whole), else hard."""
    parts: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n", 0, limit + 1), text.rfind(" ", 0, limit + 1))
        if cut < limit // 2:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text or not parts:
        parts.append(text)
    return parts


class WhatsAppChannelRuntime(ChannelRuntime):
    """One WhatsApp Business phone number on the Cloud API."""

    window = timedelta(hours=24)
    max_body = 8 * 1024 * 1024  # batches of 1,000 updates reach 3 MB
    send_rate = (80.0, 80)  # Cloud API throughput: 80 messages a second per business number
    config: WhatsAppChannel

    # --- inbound ------------------------------------------------------------------------------

    def verification(self, request: WebhookRequest) -> WebhookResponse | None:
        """Meta's subscription check: echo `hub.challenge` when `hub.verify_token` is ours."""
        if request.query.get("hub.mode") != "subscribe":
            return None
        token = request.query.get("hub.verify_token", "")
        if not hmac.compare_digest(token.encode(), self.config.verify_token.encode()):
            raise WebhookRejected(403, "hub.verify_token does not match the channel's "
                                       "verify_token")
        return WebhookResponse(200, request.query.get("hub.challenge", ""))

    def verify(self, request: WebhookRequest) -> None:
        given = request.headers.get(SIGNATURE_HEADER)
        if not given:
            raise WebhookRejected(401, f"missing {SIGNATURE_HEADER}")
        expected = signature(self.config.app_secret, request.body)
        if not hmac.compare_digest(given.strip().encode(), expected.encode()):
            raise WebhookRejected(403, f"{SIGNATURE_HEADER} does not match the body")

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        """Messages and statuses of this channel's phone number. Changes of other fields
        (template reviews, account updates) and of other phone numbers of the same app are
        skipped: they are not this channel's to handle."""
        body = request.json()
        if not isinstance(body, dict) or body.get("object") != "whatsapp_business_account":
            raise WebhookRejected(400, 'not a WhatsApp delivery ("object" is not '
                                       '"whatsapp_business_account")')
        events: list[InboundEvent] = []
        for entry in Node(body)["entry"].each():
            for change in entry["changes"].each():
                if change["field"].value != "messages":
                    continue
                value = change["value"]
                number = value["metadata"]["phone_number_id"].code()
                if number is None or number == self.config.phone_number_id:
                    events.extend(self._value_events(value))
        return events

    def _value_events(self, value: Node) -> list[InboundEvent]:
        names: dict[str, str | None] = {}
        for card in value["contacts"].each():
            name = card["profile"]["name"].text()
            for key in ("wa_id", "user_id"):
                known = card[key].optional_ident()
                if known is not None:
                    names[known] = name
        events: list[InboundEvent] = [self._message(message, sender(message, names))
                                      for message in value["messages"].each()]
        events.extend(self._status(status) for status in value["statuses"].each())
        return events

    def _message(self, message: Node, contact: ContactRef) -> InboundEvent:
        base = (self.channel_id, message["id"].ident(), contact,
                message["timestamp"].unix_time())
        reply_to = message["context"]["id"].optional_ident()
        kind = message["type"].text()
        if kind == "text":
            return InboundMessage(*base, reply_to=reply_to,
                                  text=message["text"]["body"].text() or "")
        if kind == "interactive":
            interactive = message["interactive"]
            reply_kind = interactive["type"].text()
            reply = interactive[reply_kind] if reply_kind in ("button_reply",
                                                              "list_reply") else Node(None)
            if reply.present:
                return InteractiveReply(*base, reply_to=reply_to, option_id=reply["id"].ident(),
                                        title=reply["title"].text() or "")
            return InboundMessage(*base, reply_to=reply_to,
                                  unsupported=f"interactive.{reply_kind}")
        if kind == "button":  # a quick-reply button of a template
            button = message["button"]
            return InteractiveReply(*base, reply_to=reply_to,
                                    option_id=button["payload"].text() or "",
                                    title=button["text"].text() or "")
        if kind in MEDIA_TYPES:
            body = message[kind]
            media = MediaRef(kind, body["id"].ident(), body["mime_type"].text(),
                             body["caption"].text(), body["filename"].text())
            return InboundMessage(*base, reply_to=reply_to, text=media.caption, media=media)
        if kind == "location":
            body = message["location"]
            location = Location(body["latitude"].number(-90, 90),
                                body["longitude"].number(-180, 180),
                                body["name"].text(), body["address"].text())
            return InboundMessage(*base, reply_to=reply_to, location=location)
        if kind == "contacts":
            cards = tuple(SharedContact(
                card["name"]["formatted_name"].text() or "",
                tuple(phone for item in card["phones"].each()
                      if (phone := item["phone"].text()) is not None))
                for card in message["contacts"].each())
            return InboundMessage(*base, reply_to=reply_to, contacts=cards)
        return InboundMessage(*base, reply_to=reply_to, unsupported=kind or "unknown")

    def _status(self, status: Node) -> DeliveryStatus:
        given = status["status"].text() or ""
        try:
            state = DeliveryState(given)
        except ValueError:
            raise Malformed(status["status"].path, f"unknown status {describe(given)}") from None
        error = next(status["errors"].each(), Node(None))
        text = (error["error_data"]["details"].text() or error["message"].text()
                or error["title"].text())
        return DeliveryStatus(self.channel_id, status["id"].ident(), state,
                              status["timestamp"].unix_time(),
                              status["recipient_id"].optional_ident(), error["code"].code(),
                              text or None)

    # --- outbound -----------------------------------------------------------------------------

    def request_bodies(self, to: ContactRef, message: OutboundMessage) -> list[dict[str, Any]]:
        """The JSON bodies POSTed to `/messages` for one message (several for a long text)."""
        head = {"messaging_product": "whatsapp", "recipient_type": "individual",
                **recipient(to)}
        if isinstance(message, OutboundText):
            return [{**head, "type": "text", "text": {"preview_url": False, "body": part}}
                    for part in split_text(message.text)]
        if isinstance(message, OutboundTemplate):
            template: dict[str, Any] = {"name": message.name,
                                        "language": {"code": message.language}}
            if message.params:
                template["components"] = [{"type": "body", "parameters": [
                    {"type": "text", "text": param} for param in message.params]}]
            return [{**head, "type": "template", "template": template}]
        interactive = self.interactive(message)
        if interactive is None:
            return self.request_bodies(to, OutboundText(message.as_text()))
        return [{**head, "type": "interactive", "interactive": interactive}]

    def interactive(self, menu: OutboundMenu) -> dict[str, Any] | None:
        """Reply buttons or a list for the menu, or None when it must go as numbered text.
        Buttons when asked for and within limits; a list when asked for buttons or a list and
        within its limits; the numbered text otherwise."""
        choices = menu.choices
        if not choices or not _fits(menu.prompt, BODY_LIMIT) or menu.shape == MenuShape.TEXT:
            return None
        body = {"text": menu.prompt}
        if (menu.shape == MenuShape.BUTTONS and len(choices) <= MAX_BUTTONS
                and all(_fits(c.title, BUTTON_TITLE) and _fits(c.id, BUTTON_ID)
                        for c in choices)):
            return {"type": "button", "body": body, "action": {"buttons": [
                {"type": "reply", "reply": {"id": c.id, "title": c.title}} for c in choices]}}
        button = menu.button or "Options"
        if (len(choices) <= MAX_ROWS and _fits(button, LIST_BUTTON)
                and all(_fits(c.title, ROW_TITLE) and _fits(c.id, ROW_ID)
                        and len(c.description or "") <= ROW_DESCRIPTION for c in choices)):
            rows = [{"id": c.id, "title": c.title,
                     **({"description": c.description} if c.description else {})}
                    for c in choices]
            return {"type": "list", "body": body,
                    "action": {"button": button, "sections": [{"rows": rows}]}}
        return None

    @property
    def messages_url(self) -> str:
        base = self.config.api_base_url.rstrip("/")
        return f"{base}/{self.config.api_version}/{self.config.phone_number_id}/messages"

    async def send(self, to: ContactRef, message: OutboundMessage) -> SendResult:
        return await send_in_order(self.request_bodies(to, message), self._post)

    async def _post(self, body: dict[str, Any]) -> str | SendError:
        answer = await self.post_json(self.messages_url, body, headers={
            "Authorization": f"Bearer {self.config.access_token}"})
        if isinstance(answer, SendError):
            return answer
        status, data = answer
        if 200 <= status < 300:
            message_id = as_dict(next(iter(as_list(data.get("messages"))), None)).get("id")
            if isinstance(message_id, str):
                return message_id
            return SendError("bad_response", "2xx answer without messages[0].id",
                             permanent=False)
        return send_error(status, data)


def send_error(status: int, data: Mapping[str, Any]) -> SendError:
    """A Graph API error answer as a SendError."""
    error = as_dict(data.get("error"))
    code = error.get("code")
    details = as_dict(error.get("error_data")).get("details")
    message = str(details or error.get("message") or f"HTTP {status}")
    retryable = status >= 500 or status == 429 or code in RETRYABLE_CODES
    return SendError(str(code) if code is not None else f"http_{status}", message,
                     permanent=not retryable, window_closed=code == WINDOW_CLOSED_CODE)
