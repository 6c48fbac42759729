"""Telegram Bot API channel: runtime half (secret-token check, Update parsing, sending).

Wire formats as documented for the Bot API: Telegram POSTs one JSON `Update` per webhook call
with the `secret_token` given to `setWebhook` in `X-Telegram-Bot-Api-Secret-Token`; methods are
called by POSTing JSON to `{api_base_url}/bot{token}/{method}` and answer
`{"ok": true, "result": ...}` or `{"ok": false, "error_code": ..., "description": ...}`.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from supportctl.plugins.channel import (
    ChannelRuntime,
    ContactRef,
    InboundEvent,
    InboundMessage,
    InteractiveReply,
    Location,
    MediaRef,
    OutboundMenu,
    OutboundMessage,
    OutboundTemplate,
    OutboundText,
    RegistrationFailed,
    SendError,
    SendResult,
    SharedContact,
    WebhookRejected,
    WebhookRequest,
    WebhookResponse,
    send_in_order,
)
from supportctl.plugins.json_values import Malformed, Node, as_dict

from .telegram import TelegramChannel
from .whatsapp_runtime import split_text

if TYPE_CHECKING:
    pass

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TEXT_LIMIT = 4096
CALLBACK_DATA_BYTES = 64
ALLOWED_UPDATES = ("message", "callback_query")
# Telegram's kind of attachment -> ours; `animation` comes before `document` because an
# animation message carries a `document` too, for old clients
MEDIA_KINDS = (("photo", "image"), ("animation", "video"), ("video", "video"),
               ("video_note", "video"), ("voice", "audio"), ("audio", "audio"),
               ("document", "document"), ("sticker", "sticker"))
# Message fields that say how or where something was sent, not what: the first field that is
# neither these nor a kind we read names an unsupported message (poll, dice, story, ...)
ENVELOPE = frozenset({
    "message_id", "message_thread_id", "from", "sender_chat", "sender_boost_count",
    "sender_business_bot", "date", "business_connection_id", "chat", "forward_origin",
    "is_topic_message", "is_automatic_forward", "reply_to_message", "external_reply", "quote",
    "reply_to_story", "via_bot", "edit_date", "has_protected_content", "is_from_offline",
    "is_paid_post", "media_group_id", "author_signature", "paid_star_count", "entities",
    "caption", "caption_entities", "show_caption_above_media", "has_media_spoiler",
    "link_preview_options", "effect_id", "reply_markup", "text"})
PRIMARY_LANGUAGE = re.compile(r"[a-z]{2,3}")
BACK_LINE = re.compile(r"^0\. (.+)$", re.MULTILINE)
CALLBACK_SEPARATOR = "/"




def _int(value: Any) -> int | None:
    # bool is an int in Python, never in JSON's sense of an id
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _language(code: str | None) -> str | None:
    """The primary subtag of an IETF tag ("de" of "de-DE"), which every stack knows."""
    if code is None:
        return None
    primary = code.split("-", 1)[0].split("_", 1)[0].lower()
    return primary if PRIMARY_LANGUAGE.fullmatch(primary) else None


def _full_name(person: Node) -> str | None:
    parts = [person["first_name"].text(), person["last_name"].text()]
    name = " ".join(p.strip() for p in parts if p and p.strip())
    return name or None


def _e164(phone: str) -> str:
    return "+" + phone.strip().lstrip("+")


def callback_fits(data: str) -> bool:
    """Whether `data` can be a button's callback_data (1 to 64 bytes of UTF-8)."""
    return 0 < len(data.encode()) <= CALLBACK_DATA_BYTES


class TelegramChannelRuntime(ChannelRuntime):
    """One Telegram bot, receiving updates by webhook."""

    window = None  # a bot may write to anyone who started it, at any time
    send_rate = (30.0, 30)  # Bot API: about 30 messages a second per bot
    config: TelegramChannel

    # --- inbound ------------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        given = request.headers.get(SECRET_HEADER, "")
        # an empty header must not match a secret that came out empty from its variable
        if not given or not hmac.compare_digest(given.encode(),
                                                self.config.secret_token.encode()):
            raise WebhookRejected(403, f"{SECRET_HEADER} is missing or wrong")

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        """The update's message or button tap. Other updates (edits, membership changes) and
        anything from groups and channels are skipped: the desk serves private chats."""
        body = request.json()
        if not isinstance(body, dict) or _int(body.get("update_id")) is None:
            raise WebhookRejected(400, "not a Telegram Update (no integer update_id)")
        update = Node(body)
        update_id = update["update_id"].integer()
        if update["message"].present:
            if _private(update["message"]):
                return [self._message(str(update_id), update["message"])]
        elif update["callback_query"].present:
            reply = self._callback(str(update_id), update["callback_query"])
            return [] if reply is None else [reply]
        return []

    def _message(self, external_id: str, message: Node) -> InboundMessage:
        contact = self._contact(message["chat"], message["from"], message["contact"])
        replied = message["reply_to_message"]["message_id"].integer()
        base = (self.channel_id, external_id, contact, message["date"].unix_time())
        reply_to = None if replied is None else str(replied)
        caption = message["caption"].text()
        text = message["text"].text()
        if text is not None:
            return InboundMessage(*base, text=text, reply_to=reply_to)
        media = _media(message, caption)
        if media is not None:
            return InboundMessage(*base, text=caption, media=media, reply_to=reply_to)
        if message["location"].present:
            return InboundMessage(*base, location=_location(message), reply_to=reply_to)
        shared = message["contact"]
        phone = shared["phone_number"].text()
        if phone is not None:
            card = SharedContact(_full_name(shared) or "", (phone,))
            return InboundMessage(*base, contacts=(card,), reply_to=reply_to)
        kind = next((key for key in message.names() if key not in ENVELOPE), "unknown")
        return InboundMessage(*base, unsupported=kind, reply_to=reply_to)

    def _contact(self, chat: Node, sender: Node, shared: Node) -> ContactRef:
        chat_id = chat["id"].integer()
        if chat_id is None:
            raise Malformed(chat["id"].path, "missing")
        phone = shared["phone_number"].text()
        user_id = shared["user_id"].integer()
        # a contact card is the customer's own number only when Telegram says it is theirs
        own = phone is not None and user_id is not None and user_id == sender["id"].integer()
        return ContactRef(str(chat_id), _full_name(sender) or _full_name(chat),
                          _e164(phone) if own and phone is not None else None,
                          _language(sender["language_code"].text()))

    def _callback(self, update_id: str, query: Node) -> InteractiveReply | None:
        message = query["message"]
        data, query_id = query["data"].text(), query["id"].optional_ident()
        if data is None or query_id is None or not _private(message):
            return None  # a game, an inline message or a group: no button of ours
        # The callback query id rides in the dedupe key so that `acknowledge` can answer it
        # from the event alone: no state shared between requests, and a redelivered update
        # (same update, same query id) is still one event.
        external_id = f"{update_id}{CALLBACK_SEPARATOR}{query_id}"
        contact = self._contact(message["chat"], query["from"], Node(None))
        sent_id = message["message_id"].integer()
        # Telegram does not say when the button was tapped: now is the closest we know
        return InteractiveReply(self.channel_id, external_id, contact, datetime.now(UTC),
                                option_id=data, title=_button_title(message, data),
                                reply_to=None if sent_id is None else str(sent_id))

    def acknowledge(self, events: Sequence[InboundEvent]) -> WebhookResponse:
        """Answer a button tap in the webhook's response (a Bot API call Telegram makes for
        us), so the customer's client stops its progress spinner at once."""
        for event in events:
            if isinstance(event, InteractiveReply) and CALLBACK_SEPARATOR in event.external_id:
                query_id = event.external_id.split(CALLBACK_SEPARATOR, 1)[1]
                return WebhookResponse(200, json.dumps(
                    {"method": "answerCallbackQuery", "callback_query_id": query_id}),
                    "application/json")
        return WebhookResponse(200, "ok")

    # --- outbound -----------------------------------------------------------------------------

    def request_bodies(self, to: ContactRef,
                       message: OutboundText | OutboundMenu) -> list[dict[str, Any]]:
        """The JSON bodies POSTed to sendMessage for one message (several for a long text)."""
        chat_id: int | str = int(to.external_id) if _int_text(to.external_id) else to.external_id
        if isinstance(message, OutboundMenu):
            keyboard = inline_keyboard(message)
            if keyboard is not None:
                return [{"chat_id": chat_id, "text": message.prompt,
                         "reply_markup": {"inline_keyboard": keyboard}}]
            text = message.as_text()
        else:
            text = message.text
        return [{"chat_id": chat_id, "text": part} for part in split_text(text, TEXT_LIMIT)]

    def method_url(self, method: str) -> str:
        return f"{self.config.api_base_url.rstrip('/')}/bot{self.config.bot_token}/{method}"

    async def send(self, to: ContactRef, message: OutboundMessage) -> SendResult:
        """POST each request body in order; stop at the first failure."""
        if isinstance(message, OutboundTemplate):
            return SendResult(error=SendError(
                "no_templates", "Telegram has no message templates (and no messaging window, "
                "so free text always works)", permanent=True))
        return await send_in_order(self.request_bodies(to, message), self._send_message)

    async def _send_message(self, body: dict[str, Any]) -> str | SendError:
        answer = await self._call("sendMessage", body)
        if isinstance(answer, SendError):
            return answer
        message_id = _int(as_dict(answer.get("result")).get("message_id"))
        if message_id is None:
            return SendError("bad_response", "ok answer without result.message_id",
                             permanent=False)
        return str(message_id)

    async def register_webhook(self, url: str) -> str | None:
        body = {"url": url, "secret_token": self.config.secret_token,
                "allowed_updates": list(ALLOWED_UPDATES)}
        answer = await self._call("setWebhook", body)
        if isinstance(answer, SendError):
            raise RegistrationFailed(f"setWebhook failed: {answer.message}")
        said = answer.get("description")
        return (f"{said or 'webhook set'}: {url} (updates: {', '.join(ALLOWED_UPDATES)}; "
                f"secret token set)")

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any] | SendError:
        """POST a Bot API method: its answer when `ok`, else why not."""
        # the URL carries the bot token, and client errors quote the URL
        answer = await self.post_json(self.method_url(method), body,
                                      secret=self.config.bot_token)
        if isinstance(answer, SendError):
            return answer
        status, data = answer
        if 200 <= status < 300 and data.get("ok") is True:
            return data
        return send_error(status, data)



def _private(message: Node) -> bool:
    return message["chat"]["type"].text() == "private"


def _int_text(value: str) -> bool:
    return value.removeprefix("-").isdigit()


def _media(message: Node, caption: str | None) -> MediaRef | None:
    for field, kind in MEDIA_KINDS:
        body = message[field]
        if not body.present:
            continue
        if field == "photo":  # the sizes of one picture, smallest first
            body = max(body.each(), default=Node(None, f"{body.path}[0]"),
                       key=lambda s: (s["width"].integer() or 0) * (s["height"].integer() or 0))
        return MediaRef(kind, body["file_id"].ident(), body["mime_type"].text(), caption,
                        body["file_name"].text())
    return None


def _location(message: Node) -> Location:
    point, venue = message["location"], message["venue"]  # a venue comes with its location
    return Location(point["latitude"].number(-90, 90), point["longitude"].number(-180, 180),
                    venue["title"].text(), venue["address"].text())


def _button_title(message: Node, data: str) -> str:
    """The label of the pressed button in the message it belongs to (the data if not found:
    an old message may come without its keyboard)."""
    for row in message["reply_markup"]["inline_keyboard"].each():
        for button in row.each():
            title = button["text"].text()
            if button["callback_data"].value == data and title is not None:
                return title
    return data


def inline_keyboard(menu: OutboundMenu) -> list[list[dict[str, str]]] | None:
    """One button per row for the menu's choices (and its back line, "0. Back"), or None when
    it must go as numbered text: a choice id over 64 bytes, an empty title or prompt."""
    buttons = [(choice.title, choice.id) for choice in menu.choices]
    back = BACK_LINE.search(menu.text)
    if back is not None:
        buttons.append((back.group(1), "0"))  # "0" is what the menu engine takes as back
    if (not menu.choices or not 0 < len(menu.prompt) <= TEXT_LIMIT
            or not all(title and callback_fits(data) for title, data in buttons)):
        return None
    return [[{"text": title, "callback_data": data}] for title, data in buttons]


def send_error(status: int, data: Mapping[str, Any]) -> SendError:
    """A Bot API error answer as a SendError: throttling and server trouble are temporary,
    the rest (bad request, bot blocked by the user, bad token) permanent."""
    code = _int(data.get("error_code")) or status
    description = str(data.get("description") or f"HTTP {status}")
    retry_after = _int(as_dict(data.get("parameters")).get("retry_after"))
    if retry_after is not None:
        description += f" (retry after {retry_after} s)"
    temporary = code == 429 or code >= 500 or status == 429 or status >= 500
    return SendError(str(code), description, permanent=not temporary,
                     retry_after=float(retry_after) if retry_after is not None else None)
