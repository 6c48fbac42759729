"""Telegram Bot API runtime: the secret token, Update parsing, sendMessage bodies, sending and
setWebhook against a fake Bot API on loopback.

The payload fixtures follow the Update objects the Bot API documents; python-telegram-bot reads
them independently to prove they are real Update shapes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import ClientSession, ClientTimeout, web
from serving import listening
from supportctl_plugins.telegram import TelegramChannel, plugin
from supportctl_plugins.telegram_runtime import TelegramChannelRuntime, inline_keyboard

from supportctl.plugins.channel import (
    ChannelRuntime,
    ContactRef,
    Headers,
    InboundMessage,
    InteractiveReply,
    Location,
    MediaRef,
    MenuChoice,
    MenuShape,
    OutboundMenu,
    OutboundTemplate,
    OutboundText,
    RegistrationFailed,
    SendResult,
    SharedContact,
    WebhookRequest,
    WebhookResponse,
    receive,
)
from supportctl.runtime.live import runtime_class

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "payloads" / "telegram"
TOKEN = "6012345678:AAE-test-token_x"
SECRET = "s3cret-Token_for-tests"
JONAS = ContactRef("532871946", "Jonas Krüger", None, "de")
T = TypeVar("T")


def config(api_base_url: str = "https://api.telegram.org") -> TelegramChannel:
    return TelegramChannel(type="telegram", bot_token=TOKEN, secret_token=SECRET,
                           api_base_url=api_base_url)


def runtime(api_base_url: str = "https://api.telegram.org",
            http: ClientSession | None = None) -> TelegramChannelRuntime:
    return TelegramChannelRuntime("tg", config(api_base_url), http=http)


def delivery(body: bytes, secret: str | None = SECRET) -> WebhookRequest:
    headers = Headers({} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret})
    return WebhookRequest("POST", "/channels/tg/webhook", {}, headers, body)


def payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def events_of(name: str) -> list[Any]:
    outcome = receive(runtime(), delivery(payload(name)))
    assert outcome.response.status == 200
    return list(outcome.events)


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_the_spec_names_this_runtime() -> None:
    loaded = runtime_class(plugin)
    assert loaded is TelegramChannelRuntime and issubclass(loaded, ChannelRuntime)
    assert loaded.window is None and plugin.window is None
    assert loaded.send_rate == (30.0, 30)
    assert runtime().window_open(None, at(0))  # no window: a bot may always write


# --- the fixtures are real Updates ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in PAYLOADS.glob("*.json")))
def test_python_telegram_bot_reads_every_fixture_without_unknown_fields(name: str) -> None:
    telegram = pytest.importorskip("telegram")
    update = telegram.Update.de_json(json.loads(payload(name)), bot=None)
    assert update.update_id == json.loads(payload(name))["update_id"]
    parts = [update, update.effective_message, update.effective_user, update.effective_chat,
             update.callback_query]
    assert [dict(p.api_kwargs) for p in parts if p is not None] == [
        {} for p in parts if p is not None]


def test_python_telegram_bot_agrees_on_what_we_read() -> None:
    telegram = pytest.importorskip("telegram")
    photo = telegram.Update.de_json(json.loads(payload("photo_caption.json")), bot=None)
    (event,) = events_of("photo_caption.json")
    assert event.media.id == photo.message.photo[-1].file_id  # the largest size
    assert event.reply_to == str(photo.message.reply_to_message.message_id)
    tap = telegram.Update.de_json(json.loads(payload("callback_query.json")), bot=None)
    (reply,) = events_of("callback_query.json")
    assert reply.option_id == tap.callback_query.data
    assert reply.contact.external_id == str(tap.effective_chat.id)


# --- the secret token -------------------------------------------------------------------------


def test_the_right_secret_token_passes_under_any_header_case() -> None:
    request = WebhookRequest("POST", "/", {}, Headers({"x-telegram-bot-api-secret-token": SECRET}),
                             payload("text.json"))
    assert receive(runtime(), request).response == WebhookResponse(200, "ok")


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET[:-1]])
def test_a_missing_or_wrong_secret_token_is_403(secret: str | None) -> None:
    outcome = receive(runtime(), delivery(payload("text.json"), secret))
    assert outcome.response.status == 403
    assert outcome.events == ()


def test_an_empty_secret_token_lets_nothing_in() -> None:
    channel = TelegramChannelRuntime("tg", TelegramChannel(type="telegram", bot_token=TOKEN,
                                                           secret_token=""))
    for secret in (None, ""):
        assert receive(channel, delivery(payload("text.json"), secret)).response.status == 403


@pytest.mark.parametrize("body", [b"not json", b"[]", b"{}", b'{"update_id": "7"}',
                                  b'{"update_id": true}', b'{"message": {}}'])
def test_a_body_that_is_not_an_update_is_400(body: bytes) -> None:
    assert receive(runtime(), delivery(body)).response.status == 400


@pytest.mark.parametrize(("message", "reason"), [
    ({"date": -1}, "message.date: -1 is not a time"),
    ({"date": 2**70}, "message.date: 1180591620717411303424 is not a time"),
    ({"chat": {"id": "218800431", "type": "private"}},
     'message.chat.id: expected an integer, got "218800431"'),
    ({"text": 4471}, "message.text: expected a string, got 4471"),
    ({"text": None, "location": {"latitude": "north", "longitude": 9.99}},
     'message.location.latitude: expected a number, got "north"'),
    ({"from": {"id": 1, "first_name": ["Amelia"]}},
     "message.from.first_name: expected a string, got a list"),
])
def test_a_field_of_the_wrong_type_or_range_is_a_400_naming_it(message: dict[str, Any],
                                                               reason: str) -> None:
    update = json.loads(payload("text.json"))
    update["message"].update(message)
    outcome = receive(runtime(), delivery(json.dumps(update).encode()))
    assert (outcome.response, outcome.events) == (WebhookResponse(400, reason), ())


def test_a_message_without_a_chat_id_is_400() -> None:
    body = {"update_id": 5, "message": {"message_id": 1, "date": 1795424400, "text": "hi",
                                        "chat": {"type": "private"}}}
    assert receive(runtime(), delivery(json.dumps(body).encode())).response.status == 400


# --- parsing ----------------------------------------------------------------------------------


def test_text_with_the_name_and_language_of_the_sender() -> None:
    assert events_of("text.json") == [InboundMessage(
        "tg", "735184201", JONAS, at(1795424400), text="Hallo, wo bleibt meine Bestellung?")]


def test_photo_with_caption_is_the_largest_size_and_answers_a_message() -> None:
    (event,) = events_of("photo_caption.json")
    assert event == InboundMessage(
        "tg", "735184202", JONAS, at(1795424460), text="So kam das Paket an",
        media=MediaRef("image", "AgACAgIAAxkBAAIH9mVzc3R1dnd4eXo0AAFsYXJnZS0xMjgw",
                       caption="So kam das Paket an"),
        reply_to="2039")
    assert event.contact.language == "de"  # "de-DE" in the update: its primary subtag


@pytest.mark.parametrize(("name", "media"), [
    ("voice.json", MediaRef("audio", "AwACAgIAAxkBAAIH-2VzdHV2d3h5ejEyMwABdm9pY2U",
                            "audio/ogg")),
    ("document.json", MediaRef("document", "BQACAgIAAxkBAAIH_GVzdHV2d3h5ejEyNAABZG9jdW1lbnQ",
                               "application/pdf", filename="invoice-4711.pdf")),
    ("sticker.json", MediaRef("sticker", "CAACAgIAAxkBAAIH_WVzdHV2d3h5ejEyNQABc3RpY2tlcg")),
])
def test_media_is_a_placeholder_with_its_file_id(name: str, media: MediaRef) -> None:
    (event,) = events_of(name)
    assert (event.media, event.text) == (media, None)
    assert event.contact == ContactRef("218800431", "Amelia", None, "en")


def test_location_and_venue() -> None:
    (location,) = events_of("location.json")
    assert location.location == Location(53.550341, 9.992196)
    (venue,) = events_of("venue.json")
    assert venue.location == Location(53.541213, 9.984123, "Elbphilharmonie",
                                      "Platz der Deutschen Einheit 4, 20457 Hamburg")


def test_a_shared_contact_gives_the_phone_only_when_it_is_the_senders_own() -> None:
    (own,) = events_of("contact.json")
    assert own.contacts == (SharedContact("Jonas Krüger", ("491701234567",)),)
    assert own.contact.phone == "+491701234567"
    (other,) = events_of("contact_other.json")
    assert other.contacts == (SharedContact("Café Elbblick", ("+4940123456",)),)
    assert other.contact.phone is None


def test_other_kinds_are_unsupported_by_name() -> None:
    (event,) = events_of("dice.json")
    assert (event.unsupported, event.text, event.media) == ("dice", None, None)


def test_a_button_tap_is_an_interactive_reply_titled_as_the_button() -> None:
    (event,) = events_of("callback_query.json")
    assert isinstance(event, InteractiveReply)
    assert (event.option_id, event.title, event.reply_to) == (
        "orders.2", "Versandkosten & -dauer", "2050")
    assert event.contact == JONAS
    assert event.external_id.startswith("735184207")


def test_a_tap_on_a_keyboard_the_update_does_not_carry_is_titled_with_its_data() -> None:
    body = json.loads(payload("callback_query.json"))
    del body["callback_query"]["message"]["reply_markup"]
    (event,) = receive(runtime(), delivery(json.dumps(body).encode())).events
    assert isinstance(event, InteractiveReply) and event.title == "orders.2"


@pytest.mark.parametrize("name", ["group_message.json", "edited_message.json",
                                  "my_chat_member.json"])
def test_groups_edits_and_membership_changes_are_skipped(name: str) -> None:
    assert events_of(name) == []


# --- answering button taps --------------------------------------------------------------------


def test_a_button_tap_is_answered_in_the_webhook_response() -> None:
    outcome = receive(runtime(), delivery(payload("callback_query.json")))
    assert outcome.response.status == 200
    assert outcome.response.content_type == "application/json"
    assert json.loads(outcome.response.body) == {
        "method": "answerCallbackQuery", "callback_query_id": "2282816312954312904"}


def test_the_same_update_twice_is_the_same_event() -> None:
    for name in ("text.json", "callback_query.json"):
        first, second = events_of(name), events_of(name)
        assert [e.external_id for e in first] == [e.external_id for e in second]
    assert events_of("text.json")[0].external_id != events_of("venue.json")[0].external_id


def test_a_plain_message_is_answered_ok() -> None:
    assert receive(runtime(), delivery(payload("text.json"))).response == WebhookResponse(
        200, "ok")


# --- request bodies ---------------------------------------------------------------------------


def menu(*choices: MenuChoice, prompt: str = "What about your order?",
         text: str = "1. Where?\n2. Costs") -> OutboundMenu:
    return OutboundMenu(prompt, choices, text, MenuShape.TEXT)


def test_a_menu_is_an_inline_keyboard_one_button_a_row_whatever_its_shape() -> None:
    outbound = menu(MenuChoice("orders.1", "Where is my parcel?", "Tracking"),
                    MenuChoice("orders.2", "Shipping costs"),
                    text="1. Where is my parcel?\n2. Shipping costs\n0. Back")
    (body,) = runtime().request_bodies(JONAS, outbound)
    assert body == {"chat_id": 532871946, "text": "What about your order?", "reply_markup": {
        "inline_keyboard": [[{"text": "Where is my parcel?", "callback_data": "orders.1"}],
                            [{"text": "Shipping costs", "callback_data": "orders.2"}],
                            [{"text": "Back", "callback_data": "0"}]]}}


def test_python_telegram_bot_builds_the_same_keyboard() -> None:
    telegram = pytest.importorskip("telegram")
    outbound = menu(MenuChoice("main.1", "Orders & delivery"),
                    MenuChoice("main.4", "Talk to a person"))
    markup = telegram.InlineKeyboardMarkup([
        [telegram.InlineKeyboardButton("Orders & delivery", callback_data="main.1")],
        [telegram.InlineKeyboardButton("Talk to a person", callback_data="main.4")]])
    (body,) = runtime().request_bodies(JONAS, outbound)
    assert body["reply_markup"] == markup.to_dict()


@pytest.mark.parametrize("outbound", [
    menu(MenuChoice("x" * 65, "Too long an id")),
    menu(MenuChoice("ü" * 33, "66 bytes in 33 characters")),
    menu(MenuChoice("orders.1", "")),
    menu(MenuChoice("orders.1", "Where?"), prompt=""),
    menu(),
])
def test_menus_a_keyboard_cannot_carry_go_as_numbered_text(outbound: OutboundMenu) -> None:
    assert inline_keyboard(outbound) is None
    (body,) = runtime().request_bodies(JONAS, outbound)
    assert body == {"chat_id": 532871946, "text": outbound.as_text()}


def test_64_bytes_of_callback_data_still_fit() -> None:
    assert inline_keyboard(menu(MenuChoice("é" * 32, "Exactly 64 bytes"))) is not None


def test_long_text_is_split_within_4096_characters() -> None:
    text = " ".join(["Kaffee"] * 1500)  # 10,499 characters
    bodies = runtime().request_bodies(JONAS, OutboundText(text))
    assert len(bodies) == 3
    assert all(len(b["text"]) <= 4096 for b in bodies)
    assert " ".join(b["text"] for b in bodies) == text


# --- sending against a fake Bot API -----------------------------------------------------------


Answer = tuple[int, dict[str, Any]]


class FakeBotApi:
    """The Bot API's sendMessage and setWebhook for one bot, answering from a script."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.hold: asyncio.Event | None = None  # when set: hang until released

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/bot{TOKEN}/{{method}}", self.method)
        return app

    async def method(self, request: web.Request) -> web.Response:
        self.calls.append((request.match_info["method"], await request.json()))
        if self.hold is not None:
            await self.hold.wait()
        status, body = self.answers.pop(0) if self.answers else sent(len(self.calls))
        return web.json_response(body, status=status)


def sent(message_id: int) -> Answer:
    return 200, {"ok": True, "result": {"message_id": message_id, "date": 1795424400,
                                        "chat": {"id": 532871946, "type": "private"}}}


def failed(code: int, description: str, **parameters: int) -> Answer:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


def with_api(fake: FakeBotApi,
             body: Callable[[TelegramChannelRuntime], Awaitable[T]]) -> T:
    async def run() -> T:
        async with listening(fake.app()) as url:
            channel = runtime(url)
            try:
                return await body(channel)
            finally:
                await channel.close()
    return asyncio.run(run())


def send(fake: FakeBotApi, message: Any) -> SendResult:
    async def body(channel: TelegramChannelRuntime) -> SendResult:
        return await channel.send(JONAS, message)
    return with_api(fake, body)


def test_send_posts_send_message_and_returns_the_message_id() -> None:
    fake = FakeBotApi(sent(2060))
    result = send(fake, OutboundText("Hallo Jonas!"))
    assert result == SendResult("2060")
    assert fake.calls == [("sendMessage", {"chat_id": 532871946, "text": "Hallo Jonas!"})]


def test_a_long_text_is_sent_in_parts_with_their_ids() -> None:
    fake = FakeBotApi(sent(1), sent(2), sent(3))
    result = send(fake, OutboundText("x " * 5000))
    assert result == SendResult("1", None, ("2", "3"))
    assert [name for name, _ in fake.calls] == ["sendMessage"] * 3


def test_a_menu_is_sent_with_its_keyboard() -> None:
    fake = FakeBotApi()
    send(fake, menu(MenuChoice("orders.1", "Where?")))
    (_, body), = fake.calls
    assert body["reply_markup"]["inline_keyboard"] == [[{"text": "Where?",
                                                         "callback_data": "orders.1"}]]


@pytest.mark.parametrize(("answer", "code"), [
    (failed(429, "Too Many Requests: retry after 7", retry_after=7), "429"),
    (failed(500, "Internal Server Error"), "500"),
    ((502, {}), "502"),
])
def test_throttling_and_server_trouble_are_temporary(answer: Answer, code: str) -> None:
    result = send(FakeBotApi(answer), OutboundText("hi"))
    assert result.error is not None
    assert (result.error.code, result.error.permanent) == (code, False)
    if code == "429":
        assert "retry after 7 s" in result.error.message
        assert result.error.retry_after == 7.0


@pytest.mark.parametrize("answer", [
    failed(403, "Forbidden: bot was blocked by the user"),
    failed(400, "Bad Request: chat not found"),
])
def test_a_blocked_bot_or_a_bad_request_is_permanent(answer: Answer) -> None:
    result = send(FakeBotApi(answer), OutboundText("hi"))
    assert result.error is not None and result.error.permanent
    assert result.error.message == answer[1]["description"]


def test_a_failure_midway_keeps_the_ids_of_the_parts_sent() -> None:
    result = send(FakeBotApi(sent(1), failed(500, "Internal Server Error")),
                  OutboundText("y " * 5000))
    assert (result.external_id, result.more_ids) == ("1", ())
    assert result.error is not None and not result.error.permanent


def test_a_timeout_is_temporary_and_does_not_show_the_token() -> None:
    fake = FakeBotApi()

    async def body(url: str) -> SendResult:
        fake.hold = asyncio.Event()
        async with ClientSession(timeout=ClientTimeout(total=0.2)) as http:
            result = await runtime(url, http).send(JONAS, OutboundText("hi"))
        fake.hold.set()
        return result

    async def run() -> SendResult:
        async with listening(fake.app()) as url:
            return await body(url)
    result = asyncio.run(run())
    assert result.error is not None
    assert (result.error.code, result.error.permanent) == ("network", False)
    assert TOKEN not in result.error.message


def test_an_unreachable_api_is_temporary() -> None:
    async def run() -> SendResult:
        async with listening(web.Application()) as url:
            pass  # the port is closed again
        channel = runtime(url)
        try:
            return await channel.send(JONAS, OutboundText("hi"))
        finally:
            await channel.close()
    result = asyncio.run(run())
    assert result.error is not None and not result.error.permanent
    assert TOKEN not in result.error.message


def test_a_template_is_refused_for_good_without_a_call() -> None:
    fake = FakeBotApi()
    result = send(fake, OutboundTemplate("support_csat", "en", ("Jana",)))
    assert result.error is not None and result.error.permanent
    assert result.error.code == "no_templates"
    assert fake.calls == []


# --- registering the webhook ------------------------------------------------------------------


def register(fake: FakeBotApi, url: str) -> str | None:
    async def body(channel: TelegramChannelRuntime) -> str | None:
        return await channel.register_webhook(url)
    return with_api(fake, body)


def test_register_sets_the_webhook_with_the_secret_and_the_update_kinds() -> None:
    fake = FakeBotApi((200, {"ok": True, "result": True, "description": "Webhook was set"}))
    line = register(fake, "https://support.example/channels/tg/webhook")
    assert fake.calls == [("setWebhook", {"url": "https://support.example/channels/tg/webhook",
                                          "secret_token": SECRET,
                                          "allowed_updates": ["message", "callback_query"]})]
    assert line is not None and line.startswith("Webhook was set")
    assert "https://support.example/channels/tg/webhook" in line and SECRET not in line


def test_a_refused_registration_says_why() -> None:
    fake = FakeBotApi(failed(400, "Bad Request: bad webhook: HTTPS url must be provided"))
    with pytest.raises(RegistrationFailed, match="HTTPS url must be provided"):
        register(fake, "http://support.example/channels/tg/webhook")


def test_an_unreachable_api_fails_the_registration() -> None:
    async def run() -> None:
        async with listening(web.Application()) as url:
            pass
        channel = runtime(url)
        try:
            await channel.register_webhook("https://support.example/channels/tg/webhook")
        finally:
            await channel.close()
    with pytest.raises(RegistrationFailed) as failure:
        asyncio.run(run())
    assert TOKEN not in str(failure.value)
