"""WhatsApp Cloud API runtime: verification, signatures, payload parsing, request bodies, sending.

The payload fixtures follow the webhook formats Meta documents for the Cloud API.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, ClientTimeout, web
from aiohttp.test_utils import TestServer
from supportctl_plugins.whatsapp import WhatsAppChannel, plugin
from supportctl_plugins.whatsapp_runtime import WhatsAppChannelRuntime, signature, split_text

from supportctl.plugins.channel import (
    ChannelRuntime,
    ContactRef,
    DeliveryState,
    DeliveryStatus,
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
    SendError,
    SendResult,
    SharedContact,
    WebhookOutcome,
    WebhookRejected,
    WebhookRequest,
    WebhookResponse,
    receive,
)
from supportctl.runtime.live import runtime_class

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "payloads" / "whatsapp"
SECRET = "test-app-secret"
SHEENA = ContactRef("16505551234", "Sheena Nelson", "+16505551234")


def config(**changes: str) -> WhatsAppChannel:
    return WhatsAppChannel(**{"type": "whatsapp", "phone_number_id": "1098765432",
                              "access_token": "EAAtoken", "app_secret": SECRET,
                              "verify_token": "verify-me", **changes})


def runtime(**changes: str) -> WhatsAppChannelRuntime:
    return WhatsAppChannelRuntime("wa-main", config(**changes))


def delivery(body: bytes, secret: str = SECRET) -> WebhookRequest:
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return WebhookRequest("POST", "/channels/wa-main/webhook", {},
                          Headers({"X-Hub-Signature-256": f"sha256={mac}"}), body)


def events_of(name: str) -> list[Any]:
    body = (PAYLOADS / name).read_bytes()
    outcome = receive(runtime(), delivery(body))
    assert outcome.response == WebhookResponse(200, "ok")
    return list(outcome.events)


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_the_spec_names_this_runtime() -> None:
    loaded = runtime_class(plugin)
    assert loaded is WhatsAppChannelRuntime
    assert issubclass(loaded, ChannelRuntime)
    assert loaded.window == plugin.window
    assert loaded.max_body >= 3 * 1024 * 1024


# --- verification and signatures -------------------------------------------------------------


def verification(token: str, mode: str = "subscribe") -> WebhookRequest:
    return WebhookRequest("GET", "/channels/wa-main/webhook",
                          {"hub.mode": mode, "hub.verify_token": token,
                           "hub.challenge": "1158201444"})


def test_verification_echoes_the_challenge_for_the_right_token() -> None:
    outcome = receive(runtime(), verification("verify-me"))
    assert outcome.response == WebhookResponse(200, "1158201444")
    assert outcome.events == ()


def test_verification_with_a_wrong_token_is_403() -> None:
    assert receive(runtime(), verification("verify-you")).response.status == 403
    assert receive(runtime(), verification("")).response.status == 403


def test_a_get_that_is_not_a_subscription_is_not_a_verification() -> None:
    assert runtime().verification(verification("verify-me", mode="unsubscribe")) is None
    assert receive(runtime(), WebhookRequest("GET")).response.status == 405


def test_signature_known_answers() -> None:
    # RFC 4231, test case 2: HMAC-SHA256(key "Jefe", "what do ya want for nothing?")
    assert signature("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    # computed with: printf '%s' '{"object":"whatsapp_business_account","entry":[]}' |
    #                openssl dgst -sha256 -hmac test-app-secret
    assert signature(SECRET, b'{"object":"whatsapp_business_account","entry":[]}') == (
        "sha256=c84a394cc475525991e78ff16e430b02e47f953877d2af0ade26956ce6f384dc")
    body = (PAYLOADS / "text.json").read_bytes()
    assert signature(SECRET, body) == (
        "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest())


def test_a_correctly_signed_delivery_passes_under_any_header_case() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    request = WebhookRequest("POST", headers=Headers({"x-hub-signature-256": (
        "sha256=c84a394cc475525991e78ff16e430b02e47f953877d2af0ade26956ce6f384dc")}), body=body)
    runtime().verify(request)
    assert receive(runtime(), request).response.status == 200


@pytest.mark.parametrize(("request_", "status"), [
    (WebhookRequest("POST", body=b"{}"), 401),
    (WebhookRequest("POST", headers=Headers({"X-Hub-Signature-256": ""}), body=b"{}"), 401),
    (delivery(b"{}", secret="another-secret"), 403),
    (WebhookRequest("POST", headers=Headers({"X-Hub-Signature-256": signature(SECRET, b"{}")}),
                    body=b"{} "), 403),  # one byte more than what was signed
    (WebhookRequest("POST", headers=Headers(
        {"X-Hub-Signature-256": signature(SECRET, b"{}").removeprefix("sha256=")}),
        body=b"{}"), 403),
])
def test_bad_signatures(request_: WebhookRequest, status: int) -> None:
    with pytest.raises(WebhookRejected) as caught:
        runtime().verify(request_)
    assert caught.value.status == status
    assert receive(runtime(), request_).response.status == status


# --- parsing ----------------------------------------------------------------------------------


def test_text_message_with_the_profile_name() -> None:
    assert events_of("text.json") == [InboundMessage(
        "wa-main", "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQTdCNTg5RjY0MTk1MjMyRTNBNQA=", SHEENA,
        at(1732363200), text="Where is my order #4471?")]


def test_interactive_button_and_list_replies_and_template_buttons() -> None:
    (button,) = events_of("interactive_button_reply.json")
    assert button == InteractiveReply(
        "wa-main", "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUI2QjI5NkM1QUEyNDc2MkQ4RQA=", SHEENA,
        at(1732363260), "main.1", "Track my order",
        reply_to="wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI1RjQ0QkE5NDc0RTFGQ0E3NTcA")
    (row,) = events_of("interactive_list_reply.json")
    assert isinstance(row, InteractiveReply)
    assert (row.option_id, row.title) == ("refunds", "Refunds")
    (quick,) = events_of("button.json")
    assert isinstance(quick, InteractiveReply)
    assert (quick.option_id, quick.title) == ("csat-5", "Very good")
    assert quick.reply_to == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJCNzE5RjNFQjVBNTYzMDdDQzYA"


def test_media_is_a_placeholder_with_its_id() -> None:
    (image,) = events_of("image.json")
    assert isinstance(image, InboundMessage)
    assert image.media == MediaRef("image", "1003383421387256", "image/jpeg",
                                   "The box arrived like this")
    assert image.text == "The box arrived like this"
    (document,) = events_of("document.json")
    assert isinstance(document, InboundMessage)
    assert document.media == MediaRef("document", "2290148224515013", "application/pdf",
                                      None, "invoice-4471.pdf")
    assert document.text is None


def test_location_contacts_and_unsupported() -> None:
    (location,) = events_of("location.json")
    assert isinstance(location, InboundMessage)
    assert location.location == Location(37.483307, -122.148981, "Main office",
                                         "1 Hacker Way, Menlo Park, CA 94025")
    (cards,) = events_of("contacts.json")
    assert isinstance(cards, InboundMessage)
    assert cards.contacts == (SharedContact("Barbara J. Johnson",
                                            ("+1 (940) 555-1234", "+1 (650) 555-1234")),)
    assert cards.contact == SHEENA  # the sender, not the card
    (unsupported,) = events_of("unsupported.json")
    assert isinstance(unsupported, InboundMessage)
    assert (unsupported.unsupported, unsupported.text) == ("unsupported", None)


def test_statuses_in_delivery_order() -> None:
    wamid = "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI1RjQ0QkE5NDc0RTFGQ0E3NTcA"
    assert events_of("statuses.json") == [
        DeliveryStatus("wa-main", wamid, DeliveryState.READ, at(1732363290), "16505551234"),
        DeliveryStatus("wa-main", wamid, DeliveryState.DELIVERED, at(1732363245),
                       "16505551234"),
        DeliveryStatus("wa-main", wamid, DeliveryState.SENT, at(1732363241), "16505551234")]


def test_a_failed_status_carries_the_error_code_and_details() -> None:
    (failed,) = events_of("status_failed.json")
    assert isinstance(failed, DeliveryStatus)
    assert failed.status is DeliveryState.FAILED
    assert failed.error_code == "131047"
    assert failed.error_text is not None and "more than 24 hours" in failed.error_text


def test_a_batch_keeps_this_numbers_messages_and_statuses_only() -> None:
    events = events_of("batch.json")
    assert [type(e).__name__ for e in events] == [
        "InboundMessage", "DeliveryStatus", "DeliveryStatus", "DeliveryStatus"]
    assert "wamid.OTHERNUMBER" not in {e.external_id for e in events}
    other = WhatsAppChannelRuntime("wa-other", config(phone_number_id="2000000001"))
    body = (PAYLOADS / "batch.json").read_bytes()
    assert [e.external_id for e in other.parse(delivery(body))] == ["wamid.OTHERNUMBER"]


@pytest.mark.parametrize("body", [
    b"not json",
    b"[]",
    b'{"object": "page", "entry": []}',
    json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [
        {"field": "messages", "value": {"messages": [
            {"id": "wamid.X", "timestamp": "1", "type": "text"}]}}]}]}).encode(),  # no from
    json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [
        {"field": "messages", "value": {"statuses": [
            {"id": "wamid.X", "timestamp": "1", "status": "exploded"}]}}]}]}).encode(),
    json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": [
        {"field": "messages", "value": {"messages": [
            {"from": "1", "id": "wamid.X", "timestamp": "yesterday", "type": "text",
             "text": {"body": "hi"}}]}}]}]}).encode(),
])
def test_malformed_deliveries_are_400(body: bytes) -> None:
    outcome = receive(runtime(), delivery(body))
    assert outcome.response.status == 400
    assert outcome.events == ()


def changed(fixture: str, change: Callable[[dict[str, Any]], object]) -> bytes:
    """The fixture with `change` made to its first change's value."""
    body = json.loads((PAYLOADS / fixture).read_text())
    change(body["entry"][0]["changes"][0]["value"])
    return json.dumps(body).encode()


VALUE = "entry[0].changes[0].value"


@pytest.mark.parametrize(("body", "reason"), [
    (changed("text.json", lambda v: v["messages"][0].update(timestamp=1e20)),
     f"{VALUE}.messages[0].timestamp: 1e+20 is not a time"),
    (changed("text.json", lambda v: v["messages"][0].update(timestamp="-1")),
     f'{VALUE}.messages[0].timestamp: "-1" is not a time'),
    (changed("text.json", lambda v: v["contacts"][0].update(wa_id=["16505551234"])),
     f"{VALUE}.contacts[0].wa_id: expected a string, got a list"),
    (changed("text.json", lambda v: v["messages"][0]["text"].update(body=4471)),
     f"{VALUE}.messages[0].text.body: expected a string, got 4471"),
    (changed("location.json", lambda v: v["messages"][0]["location"].update(latitude=91)),
     f"{VALUE}.messages[0].location.latitude: 91 is not a number from -90 to 90"),
    (changed("statuses.json", lambda v: v["statuses"][2].update(timestamp=2**70)),
     f"{VALUE}.statuses[2].timestamp: 1180591620717411303424 is not a time"),
])
def test_a_field_of_the_wrong_type_or_range_refuses_the_delivery_naming_it(
        body: bytes, reason: str) -> None:
    assert receive(runtime(), delivery(body)) == WebhookOutcome(WebhookResponse(400, reason))


def test_one_unreadable_message_refuses_the_whole_batch() -> None:
    batch = json.loads((PAYLOADS / "batch.json").read_text())
    batch["entry"][1]["changes"][0]["value"]["statuses"][1]["id"] = None
    outcome = receive(runtime(), delivery(json.dumps(batch).encode()))
    assert outcome == WebhookOutcome(WebhookResponse(
        400, "entry[1].changes[0].value.statuses[1].id: missing"))


def test_window_is_24_hours_after_the_customers_last_message() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    wa = runtime()
    assert wa.window_open(now - timedelta(hours=23, minutes=59), now)
    assert not wa.window_open(now - timedelta(hours=24), now)
    assert not wa.window_open(None, now)


# --- request bodies ---------------------------------------------------------------------------

HEAD = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234"}


def test_text_body() -> None:
    assert runtime().request_bodies(SHEENA, OutboundText("Hi Sheena!")) == [
        {**HEAD, "type": "text", "text": {"preview_url": False, "body": "Hi Sheena!"}}]


def test_long_text_is_split_at_word_boundaries_within_4096() -> None:
    text = " ".join(f"word{i:04d}" for i in range(1000))  # 8,999 characters
    bodies = runtime().request_bodies(SHEENA, OutboundText(text))
    parts = [body["text"]["body"] for body in bodies]
    assert len(parts) == 3
    assert all(len(part) <= 4096 for part in parts)
    assert " ".join(parts) == text
    assert split_text("x" * 5000) == ["x" * 4096, "x" * 904]  # no space: cut hard
    assert split_text("a" * 4096) == ["a" * 4096]
    assert split_text("") == [""]


def test_template_body_with_parameters_in_order() -> None:
    message = OutboundTemplate("support_follow_up", "en_US", ("Sheena", "#4471"))
    assert runtime().request_bodies(SHEENA, message) == [{**HEAD, "type": "template",
        "template": {"name": "support_follow_up", "language": {"code": "en_US"},
                     "components": [{"type": "body", "parameters": [
                         {"type": "text", "text": "Sheena"},
                         {"type": "text", "text": "#4471"}]}]}}]
    bare = runtime().request_bodies(SHEENA, OutboundTemplate("hello_world", "en_US"))
    assert bare[0]["template"] == {"name": "hello_world", "language": {"code": "en_US"}}


def menu(*choices: MenuChoice, shape: MenuShape = MenuShape.BUTTONS,
         prompt: str = "Pick a topic", button: str | None = None) -> OutboundMenu:
    text = "\n".join(f"{i}. {c.title}" for i, c in enumerate(choices, 1))
    return OutboundMenu(prompt, choices, text, shape, button)


THREE = (MenuChoice("main.1", "Track my order"), MenuChoice("main.2", "Payments"),
         MenuChoice("main.3", "Talk to a person"))


def test_menu_as_reply_buttons() -> None:
    (body,) = runtime().request_bodies(SHEENA, menu(*THREE))
    assert body == {**HEAD, "type": "interactive", "interactive": {
        "type": "button", "body": {"text": "Pick a topic"}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": "main.1", "title": "Track my order"}},
            {"type": "reply", "reply": {"id": "main.2", "title": "Payments"}},
            {"type": "reply", "reply": {"id": "main.3", "title": "Talk to a person"}}]}}}


def test_menu_as_a_list_with_descriptions() -> None:
    choices = (*THREE, MenuChoice("refunds", "Refunds", "Money back for a return"))
    (body,) = runtime().request_bodies(SHEENA, menu(*choices, shape=MenuShape.LIST,
                                                    button="Topics"))
    interactive = body["interactive"]
    assert interactive["type"] == "list"
    assert interactive["body"] == {"text": "Pick a topic"}
    assert interactive["action"]["button"] == "Topics"
    assert interactive["action"]["sections"] == [{"rows": [
        {"id": "main.1", "title": "Track my order"},
        {"id": "main.2", "title": "Payments"},
        {"id": "main.3", "title": "Talk to a person"},
        {"id": "refunds", "title": "Refunds", "description": "Money back for a return"}]}]


def test_buttons_asked_for_but_over_the_limits_become_a_list() -> None:
    four = (*THREE, MenuChoice("main.4", "Other"))
    (body,) = runtime().request_bodies(SHEENA, menu(*four))
    assert body["interactive"]["type"] == "list"
    assert body["interactive"]["action"]["button"] == "Options"
    long_title = (MenuChoice("a", "Where is my parcel now?"),)  # 23 > 20, fits a row
    (body,) = runtime().request_bodies(SHEENA, menu(*long_title))
    assert body["interactive"]["type"] == "list"


@pytest.mark.parametrize("outbound", [
    menu(*(MenuChoice(f"m.{i}", f"Topic {i}") for i in range(1, 12)), shape=MenuShape.LIST),
    menu(MenuChoice("a", "A row title that is far too long"), shape=MenuShape.LIST),
    menu(MenuChoice("a", "A", "d" * 73), shape=MenuShape.LIST),
    menu(*THREE, shape=MenuShape.TEXT),
    menu(*THREE, prompt="p" * 1025),
    menu(*THREE, prompt=""),
    menu(*THREE, shape=MenuShape.LIST, button="A list button label that is too long"),
])
def test_menus_beyond_the_limits_go_as_numbered_text(outbound: OutboundMenu) -> None:
    bodies = runtime().request_bodies(SHEENA, outbound)
    assert [body["type"] for body in bodies] == ["text"] * len(bodies)
    assert "\n".join(body["text"]["body"] for body in bodies) == outbound.as_text()


# --- sending against a fake Graph API ----------------------------------------------------------


class FakeGraph:
    """The `/messages` endpoint of the Graph API, answering from a script."""

    def __init__(self, *answers: tuple[int, dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, str, dict[str, Any]]] = []

    async def messages(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, request.headers.get("Authorization", ""),
                              await request.json()))
        status, body = self.answers.pop(0)
        return web.json_response(body, status=status)


def wamid(n: int) -> tuple[int, dict[str, Any]]:
    return 200, {"messaging_product": "whatsapp",
                 "contacts": [{"input": "16505551234", "wa_id": "16505551234"}],
                 "messages": [{"id": f"wamid.SENT{n}"}]}


def graph_error(status: int, code: int, details: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": f"(#{code}) error", "type": "OAuthException",
                              "code": code, "error_data": {"messaging_product": "whatsapp",
                                                           "details": details},
                              "fbtrace_id": "AbCdEf"}}


def send_all(fake: FakeGraph, *messages: Any) -> list[SendResult]:
    async def run() -> list[SendResult]:
        app = web.Application()
        app.router.add_post("/v21.0/1098765432/messages", fake.messages)
        async with TestServer(app) as server, ClientSession() as http:
            wa = WhatsAppChannelRuntime(
                "wa-main", config(api_base_url=str(server.make_url(""))), http=http)
            return [await wa.send(SHEENA, message) for message in messages]

    return asyncio.run(run())


def test_send_posts_each_body_with_the_token_and_returns_the_wamids() -> None:
    fake = FakeGraph(wamid(1), wamid(2), wamid(3))
    long_text = "a " * 2500  # two parts
    results = send_all(fake, OutboundText("Hi"), OutboundText(long_text))
    assert results == [SendResult("wamid.SENT1"), SendResult("wamid.SENT2", None,
                                                             ("wamid.SENT3",))]
    assert [(path, auth) for path, auth, _ in fake.requests] == [
        ("/v21.0/1098765432/messages", "Bearer EAAtoken")] * 3
    assert fake.requests[0][2] == {**HEAD, "type": "text",
                                   "text": {"preview_url": False, "body": "Hi"}}


def test_send_errors_say_whether_to_retry_and_whether_the_window_closed() -> None:
    fake = FakeGraph(
        graph_error(400, 131047, "Message failed to send because more than 24 hours have "
                                 "passed since the customer last replied to this number."),
        graph_error(400, 131056, "Pair rate limit hit"),
        (502, {}),
        graph_error(400, 100, "Invalid parameter"))
    results = send_all(fake, *[OutboundText("Hi")] * 4)
    closed, throttled, bad_gateway, invalid = (r.error for r in results)
    assert closed is not None and closed.window_closed and closed.permanent
    assert closed.code == "131047" and "24 hours" in closed.message
    assert throttled == SendError("131056", "Pair rate limit hit", permanent=False)
    assert bad_gateway == SendError("http_502", "HTTP 502", permanent=False)
    assert invalid == SendError("100", "Invalid parameter", permanent=True)
    assert all(r.external_id is None for r in results)


def test_send_to_an_unreachable_api_is_a_retryable_network_error() -> None:
    async def run() -> SendResult:
        async with ClientSession() as http:
            wa = WhatsAppChannelRuntime("wa-main", config(api_base_url="http://127.0.0.1:9"),
                                        http=http)
            return await wa.send(SHEENA, OutboundText("Hi"))

    error = asyncio.run(run()).error
    assert error is not None
    assert (error.code, error.permanent) == ("network", False)


def test_a_graph_api_that_never_answers_is_a_retryable_network_error() -> None:
    async def run() -> SendResult:
        never = asyncio.Event()  # set only on the way out, so the fake's handler ends

        async def hang(_request: web.Request) -> web.Response:
            await never.wait()
            return web.json_response({})

        app = web.Application()
        app.router.add_post("/v21.0/1098765432/messages", hang)
        async with TestServer(app) as server, ClientSession(
                timeout=ClientTimeout(total=0.2)) as http:
            wa = WhatsAppChannelRuntime(
                "wa-main", config(api_base_url=str(server.make_url(""))), http=http)
            try:
                return await wa.send(SHEENA, OutboundText("Hi"))
            finally:
                never.set()

    error = asyncio.run(run()).error
    assert error is not None
    assert (error.code, error.permanent, error.window_closed) == ("network", False, False)
    assert "Timeout" in error.message


def test_a_500_with_a_graph_error_is_retried_later() -> None:
    fake = FakeGraph(graph_error(500, 2, "Service temporarily unavailable"), wamid(1))
    failed, recovered = send_all(fake, OutboundText("Hi"), OutboundText("Hi"))
    assert failed.error == SendError("2", "Service temporarily unavailable", permanent=False)
    assert recovered == SendResult("wamid.SENT1")


# --- customers with a WhatsApp username: only a business-scoped user id (BSUID) ------------

LENA = ContactRef("DE.38201947561029384756", "Lena Vogel")


def test_a_customer_without_a_phone_number_is_known_by_the_bsuid() -> None:
    (message,) = events_of("username.json")
    assert isinstance(message, InboundMessage)
    assert message.contact == LENA
    assert message.text == "Is the Ethiopia roast still in stock?"


def test_the_phone_number_stays_the_id_when_meta_sends_both() -> None:
    (message,) = events_of("text.json")  # carries from_user_id and contacts[].user_id too
    assert message.contact == SHEENA


def test_sends_to_a_bsuid_go_to_recipient_instead_of_to() -> None:
    (body,) = runtime().request_bodies(LENA, OutboundText("Yes, it is."))
    assert body["recipient"] == "DE.38201947561029384756"
    assert "to" not in body


# --- independent checks with pywa (a public WhatsApp Cloud API client) -------------------------


def pywa_client(handler: Any = None) -> Any:
    """A pywa client whose Graph API is an in-process httpx transport: nothing leaves the test,
    and every request pywa would send is handed to `handler`."""
    import httpx
    from pywa.client import WhatsApp

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if handler is not None:
            handler(body)
        who = body.get("to") or body.get("recipient")
        return httpx.Response(200, json={"messaging_product": "whatsapp",
                                         "contacts": [{"input": who, "wa_id": who}],
                                         "messages": [{"id": "wamid.PYWA"}]})

    session = httpx.Client(transport=httpx.MockTransport(answer))
    return WhatsApp(phone_id="1098765432", token="EAAtoken", session=session,
                    api_version="21.0", verify_token="verify-me", app_secret=SECRET)


@pytest.mark.parametrize("name", sorted(p.name for p in PAYLOADS.glob("*.json")))
def test_pywa_accepts_our_signatures_and_rejects_what_we_reject(name: str) -> None:
    body = (PAYLOADS / name).read_bytes()
    wa = pywa_client()
    assert wa.webhook_update_validator(body, signature(SECRET, body)) is None
    assert wa.webhook_update_validator(body, None)[1] == 401
    assert wa.webhook_update_validator(body, signature("another-secret", body))[1] == 403
    assert wa.webhook_challenge_handler("verify-me", "1158201444") == ("1158201444", 200)


def pywa_updates(name: str) -> list[Any]:
    wa = pywa_client()
    updates: list[Any] = []
    for subscribe in (wa.on_message, wa.on_callback_button, wa.on_callback_selection,
                      wa.on_message_status):
        subscribe()(lambda _client, update: updates.append(update))
    assert wa.webhook_update_handler((PAYLOADS / name).read_bytes()) == ("ok", 200)
    return updates


@pytest.mark.parametrize("name", [
    "text.json", "image.json", "document.json", "location.json", "contacts.json",
    "unsupported.json", "username.json", "batch.json"])
def test_pywa_reads_our_message_fixtures_as_we_do(name: str) -> None:
    # pywa reads the first message of a delivery only
    (theirs,) = pywa_updates(name)
    ours = events_of(name)[0]
    assert isinstance(ours, InboundMessage)
    assert (theirs.id, theirs.timestamp, theirs.from_user.name) == (
        ours.external_id, ours.sent_at, ours.contact.name)
    assert (theirs.from_user.wa_id or theirs.from_user.bsuid) == ours.contact.external_id
    assert theirs.type == (ours.media.kind if ours.media else
                           "location" if ours.location else
                           "contacts" if ours.contacts else
                           ours.unsupported or "text")
    if ours.media is not None:
        assert getattr(theirs, ours.media.kind).id == ours.media.id
        assert theirs.caption == ours.media.caption
    if ours.location is not None:
        assert (theirs.location.latitude, theirs.location.longitude) == (
            ours.location.latitude, ours.location.longitude)
    if ours.contacts:
        assert [c.name.formatted_name for c in theirs.contacts] == [
            c.name for c in ours.contacts]
    if ours.text is not None and ours.media is None:
        assert theirs.text == ours.text


@pytest.mark.parametrize("name", [
    "interactive_button_reply.json", "interactive_list_reply.json", "button.json"])
def test_pywa_reads_our_button_and_list_replies_as_we_do(name: str) -> None:
    (theirs,) = pywa_updates(name)
    (ours,) = events_of(name)
    assert isinstance(ours, InteractiveReply)
    assert (theirs.id, theirs.data, theirs.title, theirs.reply_to_message.id) == (
        ours.external_id, ours.option_id, ours.title, ours.reply_to)


def test_pywa_reads_the_first_status_as_we_do() -> None:
    # status_failed.json is left out: Meta omits `contacts` from failed statuses and pywa
    # 4.5 cannot read a status without it
    (theirs,) = pywa_updates("statuses.json")
    ours = events_of("statuses.json")[0]
    assert isinstance(ours, DeliveryStatus)
    assert (theirs.id, theirs.status.value, theirs.timestamp) == (
        ours.external_id, ours.status.value, ours.at)


def pywa_body(send: Any) -> dict[str, Any]:
    bodies: list[dict[str, Any]] = []
    send(pywa_client(bodies.append))
    (body,) = bodies
    return body


def test_our_text_and_bsuid_bodies_are_what_pywa_sends() -> None:
    assert runtime().request_bodies(SHEENA, OutboundText("Hi Sheena!")) == [pywa_body(
        lambda wa: wa.send_message(to="16505551234", text="Hi Sheena!"))]
    theirs = pywa_body(lambda wa: wa.send_message(to=LENA.external_id, text="Yes"))
    assert runtime().request_bodies(LENA, OutboundText("Yes")) == [
        {k: v for k, v in theirs.items() if v is not None}]  # pywa writes "to": null


def test_our_reply_buttons_are_what_pywa_sends() -> None:
    from pywa.types.callback import Button

    theirs = pywa_body(lambda wa: wa.send_message(
        to="16505551234", text="Pick a topic",
        buttons=[Button(title=c.title, callback_data=c.id) for c in THREE]))
    assert runtime().request_bodies(SHEENA, menu(*THREE)) == [theirs]


def test_our_list_is_what_pywa_sends_but_for_the_section_title() -> None:
    from pywa.types.callback import Section, SectionList, SectionRow

    choices = (*THREE, MenuChoice("refunds", "Refunds", "Money back for a return"))
    rows = [SectionRow(title=c.title, callback_data=c.id, description=c.description)
            for c in choices]
    theirs = pywa_body(lambda wa: wa.send_message(
        to="16505551234", text="Pick a topic",
        buttons=SectionList(button_title="Topics", sections=[Section(title="T", rows=rows)])))
    # pywa insists on a section title; Meta requires one only when a list has several sections
    del theirs["interactive"]["action"]["sections"][0]["title"]
    (ours,) = runtime().request_bodies(SHEENA, menu(*choices, shape=MenuShape.LIST,
                                                     button="Topics"))
    assert ours == theirs


def test_our_template_is_what_pywa_sends() -> None:
    from pywa.types.templates import BodyText, TemplateLanguage

    theirs = pywa_body(lambda wa: wa.send_template(
        to="16505551234", name="support_follow_up", language=TemplateLanguage.ENGLISH_US,
        # pywa declares `params` without `self`, so mypy takes the first argument for it
        params=[BodyText.params("Sheena", "#4471")]))  # type: ignore[arg-type]
    # the component type is case-insensitive at Meta: pywa writes "BODY", the docs "body"
    for component in theirs["template"]["components"]:
        component["type"] = component["type"].lower()
    message = OutboundTemplate("support_follow_up", "en_US", ("Sheena", "#4471"))
    assert runtime().request_bodies(SHEENA, message) == [theirs]
