"""Messenger and Instagram channels (Meta's Messenger Platform): runtime half.

Wire formats as documented by Meta for the Messenger Platform and its Instagram support:
webhook deliveries are `{"object": "page" | "instagram", "entry": [{"id": <page or Instagram
account id>, "time": ..., "messaging": [{"sender": {"id": PSID or IGSID}, "recipient": ...,
"timestamp": <ms>, "message" | "postback" | "delivery" | "read": {...}}]}]}`, signed like
WhatsApp's with `X-Hub-Signature-256`; messages are sent by POSTing to the Send API,
`{api_base_url}/{api_version}/me/messages?access_token=<page token>`.
"""

from __future__ import annotations

import hmac
from abc import abstractmethod
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from supportctl.config.plugin_spec import ChannelConfig
from supportctl.plugins.channel import (
    ChannelRuntime,
    ContactRef,
    DeliveryState,
    DeliveryStatus,
    InboundEvent,
    InboundMessage,
    InteractiveReply,
    MediaRef,
    MenuShape,
    OutboundMenu,
    OutboundMessage,
    OutboundTemplate,
    OutboundText,
    SendError,
    SendResult,
    WebhookRejected,
    WebhookRequest,
    WebhookResponse,
    send_in_order,
)
from supportctl.plugins.json_values import Malformed, Node, as_dict

from .meta import InstagramChannel, MessengerChannel
from .whatsapp_runtime import SIGNATURE_HEADER, signature, split_text

if TYPE_CHECKING:
    from aiohttp import ClientSession

HUMAN_AGENT_WINDOW = timedelta(days=7)
MAX_QUICK_REPLIES, QUICK_REPLY_TITLE, QUICK_REPLY_PAYLOAD = 13, 20, 1000
# attachment types kept as media (the name our MediaRef uses); others are `unsupported`
MEDIA_KINDS = {"image": "image", "video": "video", "audio": "audio", "file": "document"}
# Graph API codes of throttling and temporary trouble: worth a retry later
RETRYABLE_CODES = frozenset({1, 2, 4, 613})
WINDOW_CLOSED = (10, 2018278)  # (code, subcode): "sent outside of allowed window"
USER_UNAVAILABLE_CODE, USER_UNAVAILABLE_SUBCODE = 551, 2018065
MILLIS = 1000  # the Messenger Platform's timestamps are Unix milliseconds



def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def split_utf8(text: str, max_bytes: int, limit: int | None = None) -> list[str]:
    """Text in parts of at most `max_bytes` bytes of UTF-8, cut like `split_text` (at most
    `limit` characters a part, `max_bytes` by default). A part still too long in bytes is split
    again under a proportionally smaller character limit, which shrinks every time: this ends."""
    parts: list[str] = []
    for part in split_text(text, max(1, limit or max_bytes)):
        size = len(part.encode())
        if size <= max_bytes or len(part) == 1:
            parts.append(part)
        else:
            parts.extend(split_utf8(part, max_bytes, len(part) * max_bytes // size))
    return parts


class MetaChannelRuntime(ChannelRuntime):
    """What Messenger and Instagram share: one account (a Page, or an Instagram professional
    account linked to a Page) on the Messenger Platform."""

    window = timedelta(hours=24)
    # The Send API allows 300 text calls a second per Page or Instagram account, but a Page
    # sending over 40 messages a second goes into Meta's "high-volume" mode, in which its
    # inbox stops sending (developers.facebook.com/docs/messenger-platform/overview/
    # rate-limiting); half of that leaves room for agents answering in Meta's own inbox.
    send_rate = (20.0, 20)
    request_timeout: float = 30.0
    """Seconds one Send API call may take before it counts as a temporary failure."""
    object_name: ClassVar[str]
    """The delivery's `object`: "page" or "instagram"."""
    config: MessengerChannel | InstagramChannel

    def __init__(self, channel_id: str, config: ChannelConfig, *,
                 http: ClientSession | None = None) -> None:
        super().__init__(channel_id, config, http=http)
        # the 7-day Human Agent window exists only for accounts allowed to use the tag
        self.human_window = HUMAN_AGENT_WINDOW if self.config.human_agent_tag else None

    @property
    @abstractmethod
    def account_id(self) -> str:
        """The id deliveries name in `entry[].id` (and `recipient.id`)."""

    # --- inbound ------------------------------------------------------------------------------

    def verification(self, request: WebhookRequest) -> WebhookResponse | None:
        """Meta's subscription check: echo `hub.challenge` when `hub.verify_token` is ours."""
        if request.query.get("hub.mode") != "subscribe":
            return None
        given = request.query.get("hub.verify_token", "").encode()
        if not hmac.compare_digest(given, self.config.verify_token.encode()):
            raise WebhookRejected(403, "hub.verify_token is not the channel's verify_token")
        return WebhookResponse(200, request.query.get("hub.challenge", ""))

    def verify(self, request: WebhookRequest) -> None:
        given = request.headers.get(SIGNATURE_HEADER, "").strip()
        if not given:
            raise WebhookRejected(401, f"no {SIGNATURE_HEADER} header")
        expected = signature(self.config.app_secret, request.body)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise WebhookRejected(403, f"{SIGNATURE_HEADER} is not the body's signature")

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        """Events of this channel's account, in delivery order. Entries of other accounts of
        the same app are skipped (their own channel gets them), as are `standby` events (another
        app holds the thread) and kinds we do not handle (reactions, referrals, opt-ins)."""
        body = request.json()
        if not isinstance(body, dict) or body.get("object") != self.object_name:
            raise WebhookRejected(400, f'not a {type(self).__name__} delivery ("object" is not '
                                       f'"{self.object_name}")')
        events: list[InboundEvent] = []
        for entry in Node(body)["entry"].each():
            if entry["id"].code() == self.account_id:
                for event in entry["messaging"].each():
                    events.extend(self._event(event))
        return events

    def _event(self, event: Node) -> list[InboundEvent]:
        sender = event["sender"]["id"].ident()
        if event["message"].present:
            return self._message(event["message"], ContactRef(sender), event)
        if event["postback"].present:
            return [self._postback(event["postback"], ContactRef(sender), event)]
        if event["delivery"].present:
            delivery = event["delivery"]
            at = delivery["watermark"].unix_time(MILLIS)
            return [DeliveryStatus(self.channel_id, mid.ident(), DeliveryState.DELIVERED, at,
                                   sender) for mid in delivery["mids"].each()]
        # Instagram's messaging_seen names the message read; Messenger's read event has only a
        # watermark, and marking every earlier message read by time is not worth the guess
        mid = event["read"]["mid"].optional_ident()
        if mid is not None:
            return [DeliveryStatus(self.channel_id, mid, DeliveryState.READ,
                                   event["timestamp"].unix_time(MILLIS), sender)]
        return []

    def _message(self, message: Node, contact: ContactRef, event: Node) -> list[InboundEvent]:
        if message["is_echo"].value or message["is_deleted"].value:
            return []  # our own sends coming back, and unsends: nothing the customer said
        mid = message["mid"].ident()
        at = event["timestamp"].unix_time(MILLIS)
        text = message["text"].text() or None
        reply = message["reply_to"]
        reply_to = reply["mid"].optional_ident()
        payload = message["quick_reply"]["payload"].text()
        if payload:
            return [InteractiveReply(self.channel_id, mid, contact, at, payload, text or "",
                                     reply_to=reply_to)]
        story = reply["story"]
        if story.present:  # a reply to one of the account's Instagram stories
            reference = story["id"].code() or story["url"].text()
            media = MediaRef("story", reference) if reference else None
            return [InboundMessage(self.channel_id, mid, contact, at, text=text, media=media)]
        if message["is_unsupported"].value:
            return [InboundMessage(self.channel_id, mid, contact, at, text=text,
                                   reply_to=reply_to, unsupported="unsupported")]
        attachments = list(message["attachments"].each())
        if not attachments:
            return [InboundMessage(self.channel_id, mid, contact, at, text=text or "",
                                   reply_to=reply_to)]
        # several attachments in one message (Instagram sends up to ten images at once) are one
        # event each; the first keeps the message's id and text, the others get "mid#n"
        return [self._attachment(attachment, f"{mid}#{n}" if n else mid, contact, at,
                                 text if n == 0 else None, reply_to)
                for n, attachment in enumerate(attachments)]

    def _attachment(self, attachment: Node, external_id: str, contact: ContactRef,
                    at: datetime, text: str | None, reply_to: str | None) -> InboundMessage:
        kind = attachment["type"].text() or ""
        payload = attachment["payload"]
        reference = payload["url"].text() or payload["attachment_id"].code()
        if kind in MEDIA_KINDS and reference:
            return InboundMessage(self.channel_id, external_id, contact, at, text=text,
                                  media=MediaRef(MEDIA_KINDS[kind], reference),
                                  reply_to=reply_to)
        return InboundMessage(self.channel_id, external_id, contact, at, text=text,
                              reply_to=reply_to, unsupported=kind or "attachment")

    def _postback(self, postback: Node, contact: ContactRef, event: Node) -> InteractiveReply:
        payload = postback["payload"].text()
        if not payload:
            raise Malformed(postback["payload"].path, "missing")
        at = event["timestamp"].unix_time(MILLIS)
        # postbacks carry a mid only since Graph API v11.0 (Instagram) or not at all (older
        # Messenger versions); sender and millisecond timestamp name a tap just as uniquely
        external_id = postback["mid"].optional_ident() or (
            f"postback:{contact.external_id}:{event['timestamp'].value}")
        return InteractiveReply(self.channel_id, external_id, contact, at, payload,
                                postback["title"].text() or "")

    # --- outbound -----------------------------------------------------------------------------

    @abstractmethod
    def text_parts(self, text: str) -> list[str]:
        """A text in parts the Send API takes."""

    def request_bodies(self, to: ContactRef, message: OutboundText | OutboundMenu
                       ) -> list[dict[str, Any]]:
        """The JSON bodies POSTed to the Send API for one message (several for a long text)."""
        head: dict[str, Any] = {"recipient": {"id": to.external_id},
                                "messaging_type": "RESPONSE"}
        if isinstance(message, OutboundText):
            if message.human and self.config.human_agent_tag:
                # HUMAN_AGENT: an agent's reply, allowed up to 7 days after the customer's
                # last message instead of 24 hours
                head = {**head, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
            return [{**head, "message": {"text": part}} for part in self.text_parts(message.text)]
        quick_replies = self.quick_replies(message)
        if quick_replies is None:
            return self.request_bodies(to, OutboundText(message.as_text()))
        return [{**head, "message": {"text": message.prompt, "quick_replies": quick_replies}}]

    def quick_replies(self, menu: OutboundMenu) -> list[dict[str, str]] | None:
        """The menu's choices as quick replies under its prompt, or None when it must go as
        numbered text (asked for text, too many choices, a title or id too long, or a prompt
        that is empty or needs more than one message)."""
        choices = menu.choices
        if (menu.shape == MenuShape.TEXT or not choices or len(choices) > MAX_QUICK_REPLIES
                or not menu.prompt or self.text_parts(menu.prompt) != [menu.prompt]):
            return None
        if not all(0 < len(c.title) <= QUICK_REPLY_TITLE and 0 < len(c.id) <= QUICK_REPLY_PAYLOAD
                   for c in choices):
            return None
        return [{"content_type": "text", "title": c.title, "payload": c.id} for c in choices]

    @property
    def messages_url(self) -> str:
        # `/me` is the Page the page access token belongs to. For Instagram through Facebook
        # Login the same endpoint with the linked Page's token sends as the Instagram account
        # (Meta's "Send a Message" guide for Instagram POSTs to /me/messages); /{ig-id}/messages
        # belongs to the other API, Instagram Login, with Instagram user tokens
        base = self.config.api_base_url.rstrip("/")
        return f"{base}/{self.config.api_version}/me/messages"

    async def send(self, to: ContactRef, message: OutboundMessage) -> SendResult:
        """POST each request body in order; stop at the first failure."""
        if isinstance(message, OutboundTemplate):
            return SendResult(error=SendError(
                "no_templates", f"{type(self).__name__} has no pre-approved templates: "
                                f"{message.name!r} cannot be sent", permanent=True))
        return await send_in_order(self.request_bodies(to, message), self._post)

    async def _post(self, body: dict[str, Any]) -> str | SendError:
        token = self.config.page_access_token  # rides in the URL: kept out of errors
        answer = await self.post_json(self.messages_url, body, params={"access_token": token},
                                      timeout=self.request_timeout, secret=token)
        if isinstance(answer, SendError):
            return answer
        status, data = answer
        if 200 <= status < 300:
            message_id = _text(data.get("message_id"))
            if message_id is not None:
                return message_id
            return SendError("bad_response", "2xx answer without message_id", permanent=False)
        return send_error(status, data)


def send_error(status: int, data: Mapping[str, Any]) -> SendError:
    """A Send API error answer as a SendError: `code` is "code" or "code/subcode"."""
    error = as_dict(data.get("error"))
    code, subcode = error.get("code"), error.get("error_subcode")
    message = str(error.get("message") or f"HTTP {status}")
    if code is None:
        name = f"http_{status}"
    else:
        name = f"{code}/{subcode}" if subcode is not None else str(code)
    window_closed = (code, subcode) == WINDOW_CLOSED
    unavailable = code == USER_UNAVAILABLE_CODE or subcode == USER_UNAVAILABLE_SUBCODE
    retryable = (not window_closed and not unavailable
                 and (status >= 500 or status == 429 or code in RETRYABLE_CODES))
    return SendError(name, message, permanent=not retryable, window_closed=window_closed)


class MessengerChannelRuntime(MetaChannelRuntime):
    """One Facebook Page receiving Messenger conversations."""

    object_name = "page"
    text_limit = 2000  # characters of a Send API text message
    config: MessengerChannel

    @property
    def account_id(self) -> str:
        return self.config.page_id

    def text_parts(self, text: str) -> list[str]:
        return split_text(text, self.text_limit)


class InstagramChannelRuntime(MetaChannelRuntime):
    """One Instagram professional account, through the Facebook Page linked to it."""

    object_name = "instagram"
    text_limit = 1000  # Instagram counts UTF-8 bytes, not characters
    config: InstagramChannel

    @property
    def account_id(self) -> str:
        return self.config.instagram_account_id

    def text_parts(self, text: str) -> list[str]:
        return split_utf8(text, self.text_limit)
