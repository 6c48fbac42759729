"""Messenger and Instagram runtimes: verification, signatures, payload parsing, windows, request
bodies and sending against a fake Send API.

The payload fixtures follow the webhook examples Meta documents for the Messenger Platform and
its Instagram support.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from supportctl_plugins.meta import InstagramChannel, MessengerChannel, instagram, messenger
from supportctl_plugins.meta_runtime import (
    InstagramChannelRuntime,
    MessengerChannelRuntime,
    MetaChannelRuntime,
    send_error,
    split_utf8,
)
from supportctl_plugins.whatsapp_runtime import signature

from supportctl.plugins.channel import (
    ChannelRuntime,
    ContactRef,
    DeliveryState,
    DeliveryStatus,
    Headers,
    InboundMessage,
    InteractiveReply,
    MediaRef,
    MenuChoice,
    MenuShape,
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

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "payloads"
SECRET = "meta-app-secret"
PAGE_ID, IG_ID = "112233445566778", "17841405822304914"
PSID, IGSID = ContactRef("7044512345678901"), ContactRef("1256432178901234")


def messenger_runtime(**changes: Any) -> MessengerChannelRuntime:
    config = MessengerChannel(**{"type": "messenger", "page_id": PAGE_ID,
                                 "page_access_token": "EAAGpage", "app_secret": SECRET,
                                 "verify_token": "verify-me", **changes})
    return MessengerChannelRuntime("fb", config)


def instagram_runtime(**changes: Any) -> InstagramChannelRuntime:
    config = InstagramChannel(**{"type": "instagram", "instagram_account_id": IG_ID,
                                 "page_access_token": "EAAGinsta", "app_secret": SECRET,
                                 "verify_token": "verify-me", **changes})
    return InstagramChannelRuntime("ig", config)


def delivery(body: bytes, secret: str = SECRET) -> WebhookRequest:
    return WebhookRequest("POST", "/channels/fb/webhook", {},
                          Headers({"X-Hub-Signature-256": signature(secret, body)}), body)


def events_of(name: str, runtime: MetaChannelRuntime | None = None) -> list[Any]:
    body = (PAYLOADS / name).read_bytes()
    outcome = receive(runtime or messenger_runtime(), delivery(body))
    assert outcome.response == WebhookResponse(200, "ok")
    return list(outcome.events)


def at(millis: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)


@pytest.mark.parametrize(("spec", "cls"), [(messenger, MessengerChannelRuntime),
                                           (instagram, InstagramChannelRuntime)])
def test_the_specs_name_these_runtimes(spec: Any, cls: type[ChannelRuntime]) -> None:
    loaded = runtime_class(spec)
    assert loaded is cls
    assert loaded.window == spec.window == timedelta(hours=24)


# --- verification and signatures -------------------------------------------------------------


def verification(token: str, mode: str = "subscribe") -> WebhookRequest:
    return WebhookRequest("GET", "/channels/fb/webhook",
                          {"hub.mode": mode, "hub.verify_token": token,
                           "hub.challenge": "1158201444"})


def test_verification_echoes_the_challenge_for_the_right_token() -> None:
    for runtime in (messenger_runtime(), instagram_runtime()):
        assert receive(runtime, verification("verify-me")).response == WebhookResponse(
            200, "1158201444")


def test_verification_with_a_wrong_token_is_403() -> None:
    assert receive(messenger_runtime(), verification("verify-you")).response.status == 403
    assert receive(instagram_runtime(), verification("")).response.status == 403
    assert messenger_runtime().verification(verification("verify-me", "unsubscribe")) is None


def test_signature_known_answers() -> None:
    # computed with: printf '%s' '{"object":"page","entry":[]}' |
    #                openssl dgst -sha256 -hmac meta-app-secret
    assert signature(SECRET, b'{"object":"page","entry":[]}') == (
        "sha256=5dcb51eb590634700c8d9cc1fde4d2d5981ca7bb83f250eb3fb71bfd849057ed")
    body = b'{"object":"instagram","entry":[]}'
    request = WebhookRequest("POST", headers=Headers({"x-hub-signature-256": (
        "sha256=d633c4eb0863d58b731cf2a933b3ddf34336b5ee7717c1aa179f1dc82f47485b")}), body=body)
    instagram_runtime().verify(request)
    assert receive(instagram_runtime(), request).response.status == 200


def test_pywa_accepts_our_signature_of_a_messenger_delivery() -> None:
    # Meta signs every product's webhooks the same way; pywa checks WhatsApp's independently
    from pywa.utils import webhook_updates_validator

    body = (PAYLOADS / "messenger" / "text.json").read_bytes()
    assert webhook_updates_validator(SECRET, body, signature(SECRET, body))
    assert not webhook_updates_validator(SECRET, body + b" ", signature(SECRET, body))


@pytest.mark.parametrize(("request_", "status"), [
    (WebhookRequest("POST", body=b"{}"), 401),
    (WebhookRequest("POST", headers=Headers({"X-Hub-Signature-256": " "}), body=b"{}"), 401),
    (delivery(b"{}", secret="another-secret"), 403),
    (WebhookRequest("POST", headers=Headers({"X-Hub-Signature-256": signature(SECRET, b"{}")}),
                    body=b"{} "), 403),
])
def test_bad_signatures(request_: WebhookRequest, status: int) -> None:
    with pytest.raises(WebhookRejected) as caught:
        messenger_runtime().verify(request_)
    assert caught.value.status == status
    assert receive(messenger_runtime(), request_).response.status == status


# --- parsing: Messenger -----------------------------------------------------------------------


def test_text_with_millisecond_timestamp() -> None:
    assert events_of("messenger/text.json") == [InboundMessage(
        "fb", "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP", PSID,
        datetime(2026, 11, 23, 9, 0, 0, 123000, tzinfo=UTC), text="Where is my order #4471?")]


def test_reply_to_names_the_quoted_message() -> None:
    (reply,) = events_of("messenger/reply.json")
    assert isinstance(reply, InboundMessage)
    assert (reply.text, reply.reply_to) == ("This one, please",
                                            "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU")


def test_quick_reply_and_postback_are_interactive_replies() -> None:
    assert events_of("messenger/quick_reply.json") == [InteractiveReply(
        "fb", "m_Kc8Qv1S0XbgPvJcdp3YbTKx9cW5m7wqLsk1QpV8HrQ", PSID, at(1795424520000),
        "main.1", "Track my order")]
    assert events_of("messenger/postback.json") == [InteractiveReply(
        "fb", "m_2Tg5fr3XnMdHvyJ9bAQ0X7l8sV6KuPzR1WcYqEoIaNb", PSID, at(1795424580777),
        "main.3", "Talk to a person")]


def test_a_postback_without_mid_gets_a_stable_id_from_sender_and_time() -> None:
    first = events_of("messenger/postback_without_mid.json")
    assert first == [InteractiveReply("fb", "postback:7044512345678901:1795424581000", PSID,
                                      at(1795424581000), "GET_STARTED", "Get Started")]
    assert events_of("messenger/postback_without_mid.json") == first  # redelivered: same id


def test_an_image_is_a_placeholder_with_its_url_and_a_link_share_is_unsupported() -> None:
    (image,) = events_of("messenger/image.json")
    assert isinstance(image, InboundMessage)
    assert image.media is not None and image.media.kind == "image"
    assert image.media.id.startswith("https://scontent.xx.fbcdn.net/")
    assert image.text is None
    (link,) = events_of("messenger/fallback.json")
    assert isinstance(link, InboundMessage)
    assert (link.unsupported, link.text, link.media) == ("fallback",
                                                         "https://acme.example/track", None)


def test_echoes_of_our_own_sends_are_skipped() -> None:
    (thanks,) = events_of("messenger/echo.json")
    assert isinstance(thanks, InboundMessage)
    assert (thanks.text, thanks.contact) == ("Thanks!", PSID)


def test_delivery_marks_each_mid_delivered_at_the_watermark_and_read_is_skipped() -> None:
    assert events_of("messenger/delivery.json") == [
        DeliveryStatus("fb", mid, DeliveryState.DELIVERED, at(1795424819500), PSID.external_id)
        for mid in ("m_EchoQv1S0XbgPvJcdp3YbTKx9cW5m7wqLsk1QpV8Hr",
                    "m_Out2Qv1S0XbgPvJcdp3YbTKx9cW5m7wqLsk1QpV8H")]
    assert events_of("messenger/read.json") == []


def test_a_batch_keeps_this_pages_messaging_events_only() -> None:
    events = events_of("messenger/batch.json")
    assert [(type(e).__name__, e.external_id) for e in events] == [
        ("InboundMessage", "m_Batch1v1S0XbgPvJcdp3YbTKx9cW5m7wqLsk1QpV8"),
        ("DeliveryStatus", "m_Out3Qv1S0XbgPvJcdp3YbTKx9cW5m7wqLsk1QpV8H")]
    other = messenger_runtime(page_id="998877665544332")
    assert [e.external_id for e in events_of("messenger/batch.json", other)] == ["m_OTHERPAGE"]


# --- parsing: Instagram -----------------------------------------------------------------------


def test_instagram_text_and_quick_reply() -> None:
    (text,) = events_of("instagram/text.json", instagram_runtime())
    assert isinstance(text, InboundMessage)
    assert (text.channel_id, text.contact, text.text) == ("ig", IGSID, "Do you ship to Austria?")
    assert text.sent_at == at(1795425000321)
    (tap,) = events_of("instagram/quick_reply.json", instagram_runtime())
    assert isinstance(tap, InteractiveReply)
    assert (tap.option_id, tap.title) == ("main.3", "Talk to a person")


def test_instagram_story_reply_keeps_the_text_and_the_story() -> None:
    (reply,) = events_of("instagram/story_reply.json", instagram_runtime())
    assert isinstance(reply, InboundMessage)
    assert reply.text == "Is this blend back in stock?"
    assert reply.media == MediaRef("story", "17995271023456789")
    assert reply.reply_to is None  # a story is not a message of ours


def test_instagram_story_mentions_and_unsupported_media() -> None:
    (mention,) = events_of("instagram/story_mention.json", instagram_runtime())
    assert isinstance(mention, InboundMessage)
    assert (mention.unsupported, mention.media) == ("story_mention", None)
    (unsupported,) = events_of("instagram/unsupported.json", instagram_runtime())
    assert isinstance(unsupported, InboundMessage)
    assert (unsupported.unsupported, unsupported.text) == ("unsupported", None)


def test_instagram_images_sent_together_are_one_event_each() -> None:
    first, second = events_of("instagram/images.json", instagram_runtime())
    assert isinstance(first, InboundMessage) and isinstance(second, InboundMessage)
    assert second.external_id == first.external_id + "#1"
    assert first.media is not None and second.media is not None
    assert "asset_id=18012345678901234" in first.media.id
    assert "asset_id=18012345678901235" in second.media.id


def test_instagram_seen_names_the_message_read() -> None:
    assert events_of("instagram/seen.json", instagram_runtime()) == [DeliveryStatus(
        "ig", "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1ODIyMzA0OTE0OjM0OUTBOUNDZD",
        DeliveryState.READ, at(1795425360000), IGSID.external_id)]


def test_an_instagram_delivery_is_not_a_messenger_one_and_the_reverse() -> None:
    body = (PAYLOADS / "instagram" / "text.json").read_bytes()
    assert receive(messenger_runtime(), delivery(body)).response.status == 400
    body = (PAYLOADS / "messenger" / "text.json").read_bytes()
    assert receive(instagram_runtime(), delivery(body)).response.status == 400


def messaging(event: dict[str, Any]) -> bytes:
    return json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "messaging": [
        {"sender": {"id": "7044512345678901"}, "timestamp": 1795424400123, **event}]}]}).encode()


@pytest.mark.parametrize("body", [
    b"not json",
    b"[]",
    b'{"object": "whatsapp_business_account", "entry": []}',
    json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "messaging": [
        {"timestamp": 1, "message": {"mid": "m_1", "text": "hi"}}]}]}).encode(),  # no sender
    messaging({"message": {"text": "no mid"}}),
    messaging({"message": {"mid": "m_1", "text": "hi"}, "timestamp": "yesterday"}),
    messaging({"postback": {"title": "No payload"}}),
    messaging({"delivery": {"mids": ["m_1"]}}),  # no watermark
])
def test_malformed_deliveries_are_400(body: bytes) -> None:
    outcome = receive(messenger_runtime(), delivery(body))
    assert outcome.response.status == 400
    assert outcome.events == ()


@pytest.mark.parametrize(("event", "reason"), [
    ({"message": {"mid": "m_1", "text": "hi"}, "timestamp": 1e20},
     "entry[0].messaging[0].timestamp: 1e+20 is not a time"),
    ({"message": {"mid": "m_1", "text": "hi"}, "timestamp": -1},
     "entry[0].messaging[0].timestamp: -1 is not a time"),
    ({"message": {"mid": "m_1", "text": "hi"}, "sender": {"id": 7044512345678901}},
     "entry[0].messaging[0].sender.id: expected a string, got 7044512345678901"),
    ({"message": {"mid": "m_1", "text": ["hi"]}},
     "entry[0].messaging[0].message.text: expected a string, got a list"),
    ({"message": {"mid": "m_1", "attachments": {"type": "image"}}},
     "entry[0].messaging[0].message.attachments: expected a list, got an object"),
    ({"delivery": {"mids": ["m_1", None], "watermark": 1795424400123}},
     "entry[0].messaging[0].delivery.mids[1]: missing"),
])
def test_a_field_of_the_wrong_type_or_range_is_a_400_naming_it(event: dict[str, Any],
                                                               reason: str) -> None:
    outcome = receive(messenger_runtime(), delivery(messaging(event)))
    assert (outcome.response, outcome.events) == (WebhookResponse(400, reason), ())


def test_other_kinds_of_events_are_skipped() -> None:
    body = messaging({"reaction": {"mid": "m_1", "action": "react", "emoji": "\u2764"}})
    assert receive(messenger_runtime(), delivery(body)).events == ()


# --- windows ----------------------------------------------------------------------------------

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("make", [messenger_runtime, instagram_runtime])
def test_standard_window_is_24_hours_and_human_agent_7_days(make: Any) -> None:
    tagged = make()
    assert tagged.window_open(NOW - timedelta(hours=23, minutes=59), NOW)
    assert not tagged.window_open(NOW - timedelta(hours=24), NOW)
    assert tagged.window_open(NOW - timedelta(days=6), NOW, human=True)
    assert not tagged.window_open(NOW - timedelta(days=7), NOW, human=True)
    assert not tagged.window_open(None, NOW, human=True)
    untagged = make(human_agent_tag=False)
    assert untagged.human_window is None
    assert not untagged.window_open(NOW - timedelta(days=6), NOW, human=True)
    assert untagged.window_open(NOW - timedelta(hours=23), NOW, human=True)


def test_the_human_window_is_per_instance() -> None:
    assert messenger_runtime().human_window == timedelta(days=7)
    assert messenger_runtime(human_agent_tag=False).human_window is None
    assert messenger_runtime().human_window == timedelta(days=7)


# --- request bodies ---------------------------------------------------------------------------


def test_text_is_a_response_and_an_agents_text_is_tagged_human_agent() -> None:
    fb = messenger_runtime()
    assert fb.request_bodies(PSID, OutboundText("Hi!")) == [{
        "recipient": {"id": "7044512345678901"}, "messaging_type": "RESPONSE",
        "message": {"text": "Hi!"}}]
    assert fb.request_bodies(PSID, OutboundText("Jana here.", human=True)) == [{
        "recipient": {"id": "7044512345678901"}, "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT", "message": {"text": "Jana here."}}]
    untagged = messenger_runtime(human_agent_tag=False)
    (body,) = untagged.request_bodies(PSID, OutboundText("Jana here.", human=True))
    assert body["messaging_type"] == "RESPONSE" and "tag" not in body


def test_long_texts_are_split_within_2000_characters_or_1000_instagram_bytes() -> None:
    text = " ".join(f"word{i:04d}" for i in range(500))  # 4,499 characters
    parts = [b["message"]["text"]
             for b in messenger_runtime().request_bodies(PSID, OutboundText(text, human=True))]
    assert len(parts) == 3 and all(len(p) <= 2000 for p in parts)
    assert " ".join(parts) == text
    parts = [b["message"]["text"]
             for b in instagram_runtime().request_bodies(IGSID, OutboundText(text))]
    assert len(parts) == 5 and all(len(p.encode()) <= 1000 for p in parts)
    assert " ".join(parts) == text


def test_utf8_splitting_counts_bytes() -> None:
    umlauts = "ä" * 1500  # 3,000 bytes, no spaces: cut hard
    assert [len(p) for p in split_utf8(umlauts, 1000)] == [500, 500, 500]
    mixed = "Grüße " * 300 + "咖啡" * 400
    parts = split_utf8(mixed, 1000)
    assert all(len(p.encode()) <= 1000 for p in parts)
    assert "".join(parts).replace(" ", "") == mixed.replace(" ", "")
    assert split_utf8("", 1000) == [""]
    assert split_utf8("\U0001F600" * 3, 4) == ["\U0001F600"] * 3


def menu(*choices: MenuChoice, shape: MenuShape = MenuShape.BUTTONS,
         prompt: str = "Pick a topic") -> OutboundMenu:
    text = "\n".join(f"{i}. {c.title}" for i, c in enumerate(choices, 1))
    return OutboundMenu(prompt, choices, text, shape)


THREE = (MenuChoice("main.1", "Track my order"), MenuChoice("main.2", "Payments"),
         MenuChoice("main.3", "Talk to a person"))


def test_menu_as_quick_replies() -> None:
    (body,) = messenger_runtime().request_bodies(PSID, menu(*THREE))
    assert body == {"recipient": {"id": "7044512345678901"}, "messaging_type": "RESPONSE",
                    "message": {"text": "Pick a topic", "quick_replies": [
                        {"content_type": "text", "title": "Track my order", "payload": "main.1"},
                        {"content_type": "text", "title": "Payments", "payload": "main.2"},
                        {"content_type": "text", "title": "Talk to a person",
                         "payload": "main.3"}]}}
    thirteen = tuple(MenuChoice(f"m.{i}", f"Topic {i}") for i in range(13))
    (body,) = instagram_runtime().request_bodies(IGSID, menu(*thirteen, shape=MenuShape.LIST))
    assert len(body["message"]["quick_replies"]) == 13


@pytest.mark.parametrize("outbound", [
    menu(*(MenuChoice(f"m.{i}", f"Topic {i}") for i in range(14))),
    menu(MenuChoice("a", "Where is my parcel now?")),  # 23 > 20
    menu(MenuChoice("x" * 1001, "Refunds")),
    menu(*THREE, shape=MenuShape.TEXT),
    menu(*THREE, prompt=""),
    menu(*THREE, prompt="p" * 2001),
])
def test_menus_beyond_the_limits_go_as_numbered_text(outbound: OutboundMenu) -> None:
    bodies = messenger_runtime().request_bodies(PSID, outbound)
    assert all("quick_replies" not in body["message"] for body in bodies)
    sent_text = "".join(body["message"]["text"] for body in bodies)
    assert "".join(sent_text.split()) == "".join(outbound.as_text().split())  # cut at spaces


# --- sending against a fake Send API ------------------------------------------------------------


class FakeSendApi:
    """`/me/messages` of the Graph API, answering from a script; `None` never answers."""

    def __init__(self, *answers: tuple[int, dict[str, Any]] | None) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, str, dict[str, Any]]] = []

    async def messages(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, request.query.get("access_token", ""),
                              await request.json()))
        answer = self.answers.pop(0)
        if answer is None:
            await asyncio.sleep(30)  # past the runtime's timeout; cancelled at shutdown
            answer = (200, {})
        status, body = answer
        return web.json_response(body, status=status)


def sent(n: int) -> tuple[int, dict[str, Any]]:
    return 200, {"recipient_id": "7044512345678901", "message_id": f"m_SENT{n}"}


def graph_error(status: int, code: int, subcode: int | None, message: str
                ) -> tuple[int, dict[str, Any]]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                             "fbtrace_id": "BLBz/WZt8dN"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return status, {"error": error}


def send_all(fake: FakeSendApi, *messages: Any, instagram_channel: bool = False,
             timeout: float = 30.0) -> list[SendResult]:
    async def run() -> list[SendResult]:
        app = web.Application()
        app.router.add_post("/v21.0/me/messages", fake.messages)
        async with TestServer(app, host="127.0.0.1") as server, ClientSession() as http:
            make = instagram_runtime if instagram_channel else messenger_runtime
            runtime = make(api_base_url=str(server.make_url("")))
            runtime.http = http
            runtime.request_timeout = timeout
            return [await runtime.send(PSID, message) for message in messages]

    return asyncio.run(run())


def test_send_posts_with_the_page_token_and_returns_the_mids() -> None:
    fake = FakeSendApi(sent(1), sent(2), sent(3), sent(4))
    results = send_all(fake, OutboundText("Hi"), OutboundText("a " * 1500, human=True),
                       menu(*THREE))
    assert results == [SendResult("m_SENT1"), SendResult("m_SENT2", None, ("m_SENT3",)),
                       SendResult("m_SENT4")]
    assert [(path, token) for path, token, _ in fake.requests] == [
        ("/v21.0/me/messages", "EAAGpage")] * 4
    assert [body["messaging_type"] for _, _, body in fake.requests] == [
        "RESPONSE", "MESSAGE_TAG", "MESSAGE_TAG", "RESPONSE"]
    assert fake.requests[1][2]["tag"] == "HUMAN_AGENT"
    assert "quick_replies" in fake.requests[3][2]["message"]


def test_instagram_sends_through_the_same_endpoint_with_its_pages_token() -> None:
    fake = FakeSendApi(sent(1))
    assert send_all(fake, OutboundText("Hallo"), instagram_channel=True) == [
        SendResult("m_SENT1")]
    assert fake.requests[0][:2] == ("/v21.0/me/messages", "EAAGinsta")


def test_send_errors_say_whether_to_retry_and_whether_the_window_closed() -> None:
    fake = FakeSendApi(
        graph_error(400, 10, 2018278, "(#10) This message is sent outside of allowed window."),
        graph_error(400, 551, None, "This person isn't available right now."),
        graph_error(400, 613, None, "Calls to this API have exceeded the rate limit."),
        (500, {}),
        graph_error(400, 100, 2018001, "No matching user found"))
    closed, unavailable, throttled, broken, invalid = (
        r.error for r in send_all(fake, *[OutboundText("Hi")] * 5))
    assert closed == SendError("10/2018278",
                               "(#10) This message is sent outside of allowed window.",
                               permanent=True, window_closed=True)
    assert unavailable is not None and unavailable.permanent and not unavailable.window_closed
    assert throttled is not None and not throttled.permanent
    assert broken == SendError("http_500", "HTTP 500", permanent=False)
    assert invalid is not None and invalid.permanent and invalid.code == "100/2018001"


def test_error_classification_without_a_server() -> None:
    unavailable = send_error(400, {"error": {"code": 10, "error_subcode": 2018065}})
    assert (unavailable.permanent, unavailable.window_closed) == (True, False)
    assert not send_error(429, {}).permanent
    assert not send_error(400, {"error": {"code": 4}}).permanent
    assert not send_error(503, {"error": {"code": 2, "message": "Service unavailable"}}).permanent
    assert send_error(400, {"error": {"code": 190, "message": "Invalid token"}}).permanent


def test_a_send_api_that_does_not_answer_in_time_is_a_temporary_error() -> None:
    (result,) = send_all(FakeSendApi(None), OutboundText("Hi"), timeout=0.2)
    assert result.error is not None
    assert (result.error.code, result.error.permanent) == ("network", False)


def test_an_unreachable_api_is_retryable_and_the_token_stays_out_of_the_message() -> None:
    async def run() -> SendResult:
        async with ClientSession() as http:
            runtime = messenger_runtime(api_base_url="http://127.0.0.1:9")
            runtime.http = http
            result: SendResult = await runtime.send(PSID, OutboundText("Hi"))
            return result

    error = asyncio.run(run()).error
    assert error is not None
    assert (error.code, error.permanent) == ("network", False)
    assert "EAAGpage" not in error.message


def test_templates_cannot_be_sent() -> None:
    result = asyncio.run(messenger_runtime().send(PSID, OutboundTemplate("follow_up", "en")))
    assert result.error is not None
    assert (result.error.code, result.error.permanent) == ("no_templates", True)
