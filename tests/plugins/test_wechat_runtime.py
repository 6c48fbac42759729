"""WeChat Official Account runtime: URL verification, signatures, safe mode, XML parsing, passive
replies, and sending through a fake WeChat API on loopback.

The payload fixtures follow the XML WeChat documents for ordinary messages and event pushes;
wechatpy parses each of them as a second opinion on their shape.
"""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from supportctl_plugins.wechat import WeChatChannel, plugin
from supportctl_plugins.wechat_crypto import aes_key, encrypt, signature
from supportctl_plugins.wechat_runtime import WeChatChannelRuntime, split_text, text_reply

from supportctl.plugins.channel import (
    ChannelRuntime,
    ContactRef,
    DeliveryState,
    DeliveryStatus,
    InboundMessage,
    InteractiveReply,
    Location,
    MediaRef,
    MenuChoice,
    OutboundMenu,
    OutboundTemplate,
    OutboundText,
    SendError,
    SendResult,
    WebhookRejected,
    WebhookRequest,
    WebhookResponse,
    receive,
)
from supportctl.runtime.live import runtime_class

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "payloads" / "wechat"
TOKEN = "supportctl-test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx0123456789abcdef"
OPENID = "oQ2Tw5mAhD3sYk8nWb1cXe7RfJ0g"
ACCOUNT = "gh_5f2d6c3a9b1e"
CUSTOMER = ContactRef(OPENID)
STAMP, NONCE = "1795424400", "1320562132"
T = TypeVar("T")


def config(**changes: str | None) -> WeChatChannel:
    return WeChatChannel(**{"type": "wechat", "app_id": APP_ID, "app_secret": "test-secret",
                            "token": TOKEN, "encoding_aes_key": AES_KEY, **changes})


def runtime(**changes: str | None) -> WeChatChannelRuntime:
    return WeChatChannelRuntime("wechat", config(**changes), wall=lambda: 1795424401.5)


def signed(body: bytes, **query: str) -> WebhookRequest:
    return WebhookRequest("POST", "/channels/wechat/webhook",
                          {"signature": signature(TOKEN, STAMP, NONCE), "timestamp": STAMP,
                           "nonce": NONCE, "openid": OPENID, **query}, body=body)


def safe(plain: bytes, app_id: str = APP_ID) -> WebhookRequest:
    """`plain` as a safe-mode delivery, encrypted and signed the way WeChat does."""
    encrypted = encrypt(aes_key(AES_KEY), app_id, plain)
    body = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
    return signed(body, encrypt_type="aes",
                  msg_signature=signature(TOKEN, STAMP, NONCE, encrypted))


def fixture(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def events_of(name: str) -> list[Any]:
    outcome = receive(runtime(), signed(fixture(name)))
    assert outcome.response == WebhookResponse(200, "success")
    return list(outcome.events)


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_the_spec_names_this_runtime() -> None:
    loaded = runtime_class(plugin)
    assert loaded is WeChatChannelRuntime
    assert issubclass(loaded, ChannelRuntime)
    assert loaded.window == plugin.window == timedelta(hours=48)
    assert loaded.passive_replies


# --- verification and signatures -------------------------------------------------------------


def verification(**query: str) -> WebhookRequest:
    return WebhookRequest("GET", "/channels/wechat/webhook",
                          {"signature": signature(TOKEN, STAMP, NONCE), "timestamp": STAMP,
                           "nonce": NONCE, "echostr": "5837397301622118", **query})


def test_verification_echoes_echostr_as_plain_text() -> None:
    outcome = receive(runtime(), verification())
    assert outcome.response == WebhookResponse(200, "5837397301622118", "text/plain")
    assert outcome.events == ()


@pytest.mark.parametrize("query", [
    {"signature": "77b46b3b30d34df0edb4db42db63756bd278e9f4"},  # last digit changed
    {"timestamp": "1795424401"},  # signed for another moment
    {"signature": ""},
    {"nonce": ""},
])
def test_verification_not_signed_with_our_token_is_403(query: dict[str, str]) -> None:
    assert receive(runtime(), verification(**query)).response.status == 403
    assert receive(runtime(token="another-token"), verification()).response.status == 403


def test_a_get_without_echostr_is_not_a_verification() -> None:
    assert receive(runtime(), WebhookRequest("GET")).response.status == 405


@pytest.mark.parametrize("query", [
    {"signature": signature("another-token", STAMP, NONCE)},
    {"timestamp": "1795424401"},
    {"signature": ""},
])
def test_a_post_with_a_wrong_or_missing_signature_is_403(query: dict[str, str]) -> None:
    outcome = receive(runtime(), signed(fixture("text.xml"), **query))
    assert (outcome.response.status, outcome.events) == (403, ())


# --- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in PAYLOADS.glob("*.xml")
                                        if not p.name.startswith("safe_mode")))
def test_fixtures_are_what_wechatpy_parses(name: str) -> None:
    from wechatpy import parse_message  # type: ignore[import-untyped]
    from wechatpy.messages import UnknownMessage  # type: ignore[import-untyped]

    parsed = parse_message(fixture(name).decode())
    assert not isinstance(parsed, UnknownMessage)
    assert (parsed.source, parsed.target) == (OPENID, ACCOUNT)


def test_text_message() -> None:
    assert events_of("text.xml") == [InboundMessage(
        "wechat", "24872931874652391", CUSTOMER, at(1795424400),
        text="我的订单 #4471 在哪里？")]


def test_media_is_a_placeholder_with_its_media_id() -> None:
    (image,) = events_of("image.xml")
    assert image == InboundMessage("wechat", "24872931874652392", CUSTOMER, at(1795424460),
                                   media=MediaRef("image", "Kq3zN7vQ1xW9mH4bT2cYf8LrP6sJ0dGa5eU"))
    (voice,) = events_of("voice.xml")
    assert voice.media == MediaRef("audio", "Vb8dR2kW5nX1qL7mC3tH9yFs4pJ6gZ0aE", "audio/amr")
    assert voice.text == "包裹坏了"  # WeChat's speech recognition


def test_location_and_link() -> None:
    (place,) = events_of("location.xml")
    assert place.location == Location(31.230416, 121.473701,
                                      address="上海市黄浦区人民大道200号")
    assert place.text is None
    (link,) = events_of("link.xml")
    assert link.text == "Order 4471\nhttps://shop.bergkaffee.example/orders/4471"


def test_a_new_follower_is_a_message_without_text() -> None:
    (follow,) = events_of("event_subscribe.xml")
    assert follow == InboundMessage("wechat", f"{OPENID}:1795424300:subscribe", CUSTOMER,
                                    at(1795424300))


def test_a_menu_click_is_an_interactive_reply_with_the_event_key() -> None:
    (click,) = events_of("event_click.xml")
    assert click == InteractiveReply("wechat", f"{OPENID}:1795424520:CLICK", CUSTOMER,
                                     at(1795424520), "main.1", "main.1")


def test_unsubscribe_and_link_opens_are_acknowledged_without_events() -> None:
    assert events_of("event_unsubscribe.xml") == []
    assert events_of("event_view.xml") == []


def test_a_template_that_failed_is_a_failed_delivery_status() -> None:
    assert events_of("event_template_finished.xml") == [DeliveryStatus(
        "wechat", "200163836", DeliveryState.FAILED, at(1795431600), OPENID, "failed",
        "failed:user block")]


def test_an_unknown_message_type_is_unsupported() -> None:
    body = fixture("text.xml").replace(b"[text]", b"[miniprogrampage]")
    (event,) = runtime().parse(signed(body))
    assert isinstance(event, InboundMessage)
    assert (event.unsupported, event.text) == ("miniprogrampage", None)


@pytest.mark.parametrize("body", [
    b"not xml",
    b"<message/>",
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>',
    fixture("text.xml").replace(b"<MsgId>24872931874652391</MsgId>", b""),
    fixture("text.xml").replace(b"1795424400", b"yesterday"),
    fixture("location.xml").replace(b"<Location_X>31.230416</Location_X>", b""),
    fixture("location.xml").replace(b"31.230416", b"nan"),
    fixture("text.xml").replace(b"1795424400", b"99999999999999999999"),
    fixture("text.xml").replace(b"1795424400", b"-1"),
    fixture("text.xml").replace(b"24872931874652391", b"x" * 600),
    b'<?xml version="1.0" encoding="gbk"?>' + fixture("text.xml"),
    b'<?xml version="1.0" encoding="no-such-encoding"?>' + fixture("text.xml"),
])
def test_malformed_deliveries_are_400(body: bytes) -> None:
    outcome = receive(runtime(), signed(body))
    assert (outcome.response.status, outcome.events) == (400, ())


def test_an_element_that_cannot_be_read_is_named() -> None:
    body = fixture("location.xml").replace(b"31.230416", b"91.5")
    assert receive(runtime(), signed(body)).response == WebhookResponse(
        400, 'Location_X: "91.5" is not a number from -90 to 90')
    body = fixture("text.xml").replace(b"1795424400", b"yesterday")
    assert receive(runtime(), safe(body)).response == WebhookResponse(
        400, 'CreateTime: "yesterday" is not a time')


# --- safe mode --------------------------------------------------------------------------------


def test_the_safe_mode_fixture_decrypts_to_the_text_message() -> None:
    query = json.loads(fixture("safe_mode_text.query.json"))
    request = WebhookRequest("POST", "/channels/wechat/webhook", query,
                             body=fixture("safe_mode_text.xml"))
    assert receive(runtime(), request).events == tuple(events_of("text.xml"))


def test_safe_mode_round_trip_of_our_own_encryption() -> None:
    (click,) = receive(runtime(), safe(fixture("event_click.xml"))).events
    assert isinstance(click, InteractiveReply) and click.option_id == "main.1"


def test_safe_mode_refuses_another_app_id_a_wrong_msg_signature_and_a_missing_key() -> None:
    outcome = receive(runtime(), safe(fixture("text.xml"), app_id="wxffffffffffffffff"))
    assert (outcome.response.status, outcome.events) == (403, ())
    assert "AppID" in outcome.response.body
    forged = safe(fixture("text.xml"))
    forged = WebhookRequest("POST", forged.path, {**forged.query, "msg_signature": "0" * 40},
                            body=forged.body)
    assert receive(runtime(), forged).response.status == 403
    assert receive(runtime(encoding_aes_key=None),
                   safe(fixture("text.xml"))).response.status == 400


# --- passive replies --------------------------------------------------------------------------


def reply_fields(xml: str) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ElementTree.fromstring(xml)}


def test_a_passive_reply_goes_from_the_account_to_the_customer() -> None:
    wechat = runtime()
    request = signed(fixture("text.xml"))
    (event,) = wechat.parse(request)
    answer = wechat.passive_reply(request, event, OutboundText("Ihre Bestellung ist unterwegs."))
    assert answer == WebhookResponse(200, text_reply(OPENID, ACCOUNT, 1795424401,
                                                     "Ihre Bestellung ist unterwegs."),
                                     "application/xml")
    from wechatpy import parse_message

    parsed = parse_message(answer.body)
    assert (parsed.type, parsed.source, parsed.target, parsed.content) == (
        "text", ACCOUNT, OPENID, "Ihre Bestellung ist unterwegs.")


def test_a_menu_is_passively_answered_as_numbered_text() -> None:
    wechat = runtime()
    request = signed(fixture("event_subscribe.xml"))
    (event,) = wechat.parse(request)
    menu = OutboundMenu("Willkommen!", (MenuChoice("main.1", "Bestellung"),),
                        "1. Bestellung")
    answer = wechat.passive_reply(request, event, menu)
    assert answer is not None
    assert reply_fields(answer.body)["Content"] == "Willkommen!\n\n1. Bestellung"


def test_cdata_end_inside_a_reply_is_escaped() -> None:
    xml = text_reply(OPENID, ACCOUNT, 1, "a]]>b <c> & d")
    from wechatpy import parse_message

    assert parse_message(xml).content == "a]]>b <c> & d"


def test_what_cannot_be_a_passive_reply_is_left_to_send() -> None:
    wechat = runtime()
    request = signed(fixture("text.xml"))
    (event,) = wechat.parse(request)
    assert wechat.passive_reply(request, event, OutboundText("汉" * 683)) is None  # 2049 bytes
    assert wechat.passive_reply(request, event, OutboundText("汉" * 682)) is not None
    assert wechat.passive_reply(request, event, OutboundTemplate("tpl", "")) is None
    assert wechat.passive_reply(request, event, OutboundText("")) is None
    stranger = InboundMessage("wechat", "1", ContactRef("oSomeoneElse"), at(0), text="hi")
    assert wechat.passive_reply(request, stranger, OutboundText("hi")) is None


def test_a_safe_mode_passive_reply_is_encrypted_for_wechatpy_to_decrypt() -> None:
    from wechatpy import parse_message
    from wechatpy.crypto import WeChatCrypto  # type: ignore[import-untyped]

    wechat = runtime()
    request = safe(fixture("text.xml"))
    (event,) = wechat.parse(request)
    answer = wechat.passive_reply(request, event, OutboundText("Danke! ]]> 谢谢"))
    assert answer is not None and answer.content_type == "application/xml"
    envelope = reply_fields(answer.body)
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert envelope["TimeStamp"] == "1795424401"
    plain = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(
        answer.body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
    parsed = parse_message(plain)
    assert (parsed.source, parsed.target, parsed.content) == (ACCOUNT, OPENID, "Danke! ]]> 谢谢")


# --- request bodies ---------------------------------------------------------------------------


def test_text_and_menus_go_to_the_customer_service_api() -> None:
    wechat = runtime()
    assert wechat.request_bodies(CUSTOMER, OutboundText("Hallo")) == [
        ("/cgi-bin/message/custom/send",
         {"touser": OPENID, "msgtype": "text", "text": {"content": "Hallo"}})]
    menu = OutboundMenu("Thema?", (MenuChoice("a", "Bestellung"),), "1. Bestellung")
    ((_, body),) = wechat.request_bodies(CUSTOMER, menu)
    assert body["text"]["content"] == "Thema?\n\n1. Bestellung"


def test_long_text_is_split_within_2048_bytes() -> None:
    text = " ".join(["订单号码"] * 400)  # 12 bytes and a space each: 5,199 bytes
    parts = split_text(text)
    assert len(parts) == 3
    assert all(len(part.encode()) <= 2048 for part in parts)
    assert " ".join(parts) == text
    assert split_text("汉" * 1000) == ["汉" * 682, "汉" * 318]  # no space: at a character
    assert split_text("") == [""]


def test_a_template_carries_its_keyed_data_and_url() -> None:
    template = OutboundTemplate("ngqIpbwh8bUfcSsECmogfXcV14J0tQ", "",
                                fields=(("first", "Hallo Li"), ("remark", "Antworten Sie")),
                                url="https://shop.bergkaffee.example/orders")
    assert runtime().request_bodies(CUSTOMER, template) == [("/cgi-bin/message/template/send", {
        "touser": OPENID, "template_id": "ngqIpbwh8bUfcSsECmogfXcV14J0tQ",
        "url": "https://shop.bergkaffee.example/orders",
        "data": {"first": {"value": "Hallo Li"}, "remark": {"value": "Antworten Sie"}}})]


# --- sending against a fake WeChat API ---------------------------------------------------------


class FakeWeChat:
    """`/cgi-bin/token` and the two send APIs, answering sends from a script."""

    def __init__(self, *answers: tuple[int, dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.token_requests: list[dict[str, str]] = []
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.tokens_issued = 0
        self.slow = False

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self.token)
        app.router.add_post("/cgi-bin/message/custom/send", self.send)
        app.router.add_post("/cgi-bin/message/template/send", self.send)
        return app

    async def token(self, request: web.Request) -> web.Response:
        self.token_requests.append(dict(request.query))
        await asyncio.sleep(0)  # let concurrent senders pile up behind the one fetch
        self.tokens_issued += 1
        return web.json_response({"access_token": f"TOKEN{self.tokens_issued}",
                                  "expires_in": 7200})

    async def send(self, request: web.Request) -> web.Response:
        self.sent.append((request.path, request.query["access_token"], await request.json()))
        if self.slow:
            await asyncio.sleep(5)
        status, body = self.answers.pop(0) if self.answers else (200, OK)
        return web.json_response(body, status=status)


OK = {"errcode": 0, "errmsg": "ok"}


def wx_error(code: int, message: str) -> tuple[int, dict[str, Any]]:
    return 200, {"errcode": code, "errmsg": f"{message} rid: 65a1b2c3-1d2e3f4a-5b6c7d8e"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def with_api(fake: FakeWeChat,
             body: Callable[[WeChatChannelRuntime, Clock], Awaitable[T]],
             timeout: float = 30) -> T:
    async def run() -> T:
        import aiohttp

        async with TestServer(fake.app()) as server, ClientSession(
                timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            clock = Clock()
            wechat = WeChatChannelRuntime("wechat", config(api_base_url=str(server.make_url(""))),
                                          http=http, clock=clock)
            return await body(wechat, clock)

    return asyncio.run(run())


def test_concurrent_sends_share_one_token_fetch() -> None:
    fake = FakeWeChat()

    async def body(wechat: WeChatChannelRuntime, _clock: Clock) -> list[SendResult]:
        return list(await asyncio.gather(*(wechat.send(CUSTOMER, OutboundText(f"m{i}"))
                                           for i in range(5))))

    assert with_api(fake, body) == [SendResult()] * 5
    assert fake.token_requests == [{"grant_type": "client_credential", "appid": APP_ID,
                                    "secret": "test-secret"}]
    assert {token for _, token, _ in fake.sent} == {"TOKEN1"}
    assert sorted(b["text"]["content"] for _, _, b in fake.sent) == [f"m{i}" for i in range(5)]


def test_the_token_is_fetched_again_shortly_before_it_expires() -> None:
    fake = FakeWeChat()

    async def body(wechat: WeChatChannelRuntime, clock: Clock) -> None:
        await wechat.send(CUSTOMER, OutboundText("one"))
        clock.now += 7200 - 301  # within the token's life less the 5-minute margin
        await wechat.send(CUSTOMER, OutboundText("two"))
        clock.now += 2
        await wechat.send(CUSTOMER, OutboundText("three"))

    with_api(fake, body)
    assert [token for _, token, _ in fake.sent] == ["TOKEN1", "TOKEN1", "TOKEN2"]


def test_a_refused_token_is_fetched_again_and_the_send_retried_once() -> None:
    fake = FakeWeChat(wx_error(40001, "invalid credential, access_token is invalid"), (200, OK),
                      wx_error(42001, "access_token expired"),
                      wx_error(42001, "access_token expired"))

    async def body(wechat: WeChatChannelRuntime, _clock: Clock) -> list[SendResult]:
        return [await wechat.send(CUSTOMER, OutboundText("hi")) for _ in range(2)]

    first, second = with_api(fake, body)
    assert first == SendResult()
    assert second.error is not None
    assert (second.error.code, second.error.permanent) == ("42001", False)
    assert [token for _, token, _ in fake.sent] == ["TOKEN1", "TOKEN2", "TOKEN2", "TOKEN3"]


def test_send_errors_say_whether_to_retry_and_whether_the_window_closed() -> None:
    fake = FakeWeChat(wx_error(45015, "response out of time limit or subscription is canceled"),
                      wx_error(45047, "out of response count limit"),
                      wx_error(-1, "system error"), wx_error(45009, "api freq out of limit"),
                      (502, {}), wx_error(40003, "invalid openid"))

    async def body(wechat: WeChatChannelRuntime, _clock: Clock) -> list[SendError | None]:
        return [(await wechat.send(CUSTOMER, OutboundText("hi"))).error for _ in range(6)]

    closed, capped, busy, throttled, bad_gateway, invalid = with_api(fake, body)
    assert closed is not None and closed.window_closed and closed.permanent
    assert "48 hours" in closed.message
    assert capped is not None and capped.permanent and not capped.window_closed
    assert "used up" in capped.message
    assert busy is not None and (busy.code, busy.permanent) == ("-1", False)
    assert throttled is not None and (throttled.code, throttled.permanent) == ("45009", False)
    assert bad_gateway == SendError("http_502", "HTTP 502", permanent=False)
    assert invalid is not None and (invalid.code, invalid.permanent) == ("40003", True)


def test_a_template_send_returns_wechats_msgid() -> None:
    fake = FakeWeChat((200, {"errcode": 0, "errmsg": "ok", "msgid": 200228332}))

    async def body(wechat: WeChatChannelRuntime, _clock: Clock) -> SendResult:
        return await wechat.send(CUSTOMER, OutboundTemplate("tpl", "", fields=(("first", "Hi"),)))

    assert with_api(fake, body) == SendResult("200228332")
    assert fake.sent[0][0] == "/cgi-bin/message/template/send"


def test_a_token_wechat_refuses_to_issue_fails_the_send_permanently() -> None:
    async def run() -> SendResult:
        app = web.Application()

        async def refuse(_request: web.Request) -> web.Response:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})

        app.router.add_get("/cgi-bin/token", refuse)
        async with TestServer(app) as server, ClientSession() as http:
            wechat = WeChatChannelRuntime(
                "wechat", config(api_base_url=str(server.make_url(""))), http=http)
            return await wechat.send(CUSTOMER, OutboundText("hi"))

    error = asyncio.run(run()).error
    assert error is not None
    assert (error.code, error.permanent) == ("40125", True)
    assert "invalid appsecret" in error.message


def test_a_timeout_is_temporary() -> None:
    fake = FakeWeChat()
    fake.slow = True

    async def body(wechat: WeChatChannelRuntime, _clock: Clock) -> SendResult:
        return await wechat.send(CUSTOMER, OutboundText("hi"))

    error = with_api(fake, body, timeout=0.5).error
    assert error == SendError("network", "TimeoutError", permanent=False)


def test_an_unreachable_api_is_temporary_and_never_shows_the_secret() -> None:
    async def run() -> SendResult:
        async with ClientSession() as http:
            wechat = WeChatChannelRuntime("wechat", config(api_base_url="http://127.0.0.1:9"),
                                          http=http)
            return await wechat.send(CUSTOMER, OutboundText("hi"))

    error = asyncio.run(run()).error
    assert error is not None
    assert (error.code, error.permanent) == ("network", False)
    assert "test-secret" not in error.message


def test_window_is_48_hours_after_the_customers_last_message() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert runtime().window_open(now - timedelta(hours=47, minutes=59), now)
    assert not runtime().window_open(now - timedelta(hours=48), now)


def test_verify_raises_for_a_wrong_signature() -> None:
    with pytest.raises(WebhookRejected):
        runtime().verify(signed(fixture("text.xml"), signature="0" * 40))


def test_a_keyed_template_survives_the_outbox_storage() -> None:
    from supportctl.runtime.payloads import display_text, from_payload, to_payload

    template = OutboundTemplate("ngqIpbwh8bUfcSsECmogfXcV14J0tQ", "",
                                fields=(("first", "Hallo Li"),), url="https://a.example/")
    assert from_payload(to_payload(template)) == template
    plain = OutboundTemplate("support_follow_up", "en_US", ("Sheena",))
    assert to_payload(plain) == {"template": {"name": "support_follow_up",
                                              "language": "en_US", "params": ["Sheena"]}}
    assert display_text(to_payload(template)) == "[template ngqIpbwh8bUfcSsECmogfXcV14J0tQ ()]"
