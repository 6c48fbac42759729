"""End to end over HTTP: a WeChat Official Account served for real on 127.0.0.1, with a frozen
clock, a SQLite file, signed (and, in safe mode, encrypted) deliveries, and a fake WeChat API.

Immediate answers (the entry menu, FAQ answers) come back in the webhook's HTTP answer; what an
agent writes later goes through the customer-service API. The outbox is driven by hand.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from serving import Running, listening, serving
from supportctl_plugins.wechat_crypto import aes_key, encrypt, signature

from supportctl.runtime.clock import FrozenClock
from supportctl.store.tokens import hash_token

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
STACK = FIXTURES / "stacks" / "wechat.yaml"
PAYLOADS = FIXTURES / "payloads" / "wechat"
MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TOKEN = "e2e-wechat-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx0123456789abcdef"
OPENID = "oQ2Tw5mAhD3sYk8nWb1cXe7RfJ0g"
ACCOUNT = "gh_5f2d6c3a9b1e"
NONCE = "1320562132"


class FakeWeChat:
    """WeChat's token, customer-service and template APIs, on loopback."""

    def __init__(self) -> None:
        self.tokens = 0
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.script: list[tuple[int, dict[str, Any]]] = []  # answers to give before succeeding

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self.token)
        app.router.add_post("/cgi-bin/message/custom/send", self.send)
        app.router.add_post("/cgi-bin/message/template/send", self.send)
        return app

    async def token(self, request: web.Request) -> web.Response:
        assert request.query["secret"] == "e2e-app-secret"
        self.tokens += 1
        return web.json_response({"access_token": f"TOKEN{self.tokens}", "expires_in": 7200})

    async def send(self, request: web.Request) -> web.Response:
        assert request.query["access_token"] == f"TOKEN{self.tokens}"
        if self.script:
            status, answer = self.script.pop(0)
            return web.json_response(answer, status=status)
        self.sent.append((request.path, await request.json()))
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": 2000 + len(self.sent)})


def run(body: Callable[[Path, FakeWeChat, str], Awaitable[None]], tmp_path: Path) -> None:
    async def main() -> None:
        api = FakeWeChat()
        async with listening(api.app()) as api_url:
            await body(tmp_path, api, api_url)

    asyncio.run(main())


def environment(api_url: str) -> dict[str, str]:
    return {"WECHAT_APP_SECRET": "e2e-app-secret", "WECHAT_TOKEN": TOKEN,
            "WECHAT_AES_KEY": AES_KEY, "WECHAT_API_BASE": api_url}


def cdata(text: str) -> str:
    return f"<![CDATA[{text}]]>"


def message(name: str, at: datetime, **values: str) -> bytes:
    """A fixture with its CreateTime set to `at` and other elements replaced."""
    xml = (PAYLOADS / name).read_text()
    for tag, value in {"CreateTime": str(int(at.timestamp())), **values}.items():
        element = f"<{tag}>{value}</{tag}>"
        xml = re.sub(rf"<{tag}>.*?</{tag}>", lambda _match: element, xml)  # noqa: B023 (used at once)
    return xml.encode()


def query(clock: FrozenClock) -> dict[str, str]:
    stamp = str(int(clock.now().timestamp()))
    return {"signature": signature(TOKEN, stamp, NONCE), "timestamp": stamp, "nonce": NONCE,
            "openid": OPENID}


async def deliver(r: Running, clock: FrozenClock, body: bytes,
                  safe: bool = False) -> tuple[int, str, str]:
    """POST a delivery as WeChat would: (status, body, content type) of the answer."""
    params = query(clock)
    if safe:
        encrypted = encrypt(aes_key(AES_KEY), APP_ID, body)
        body = (f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName>"
                f"<Encrypt>{cdata(encrypted)}</Encrypt></xml>").encode()
        params.update(encrypt_type="aes", msg_signature=signature(
            TOKEN, params["timestamp"], NONCE, encrypted))
    async with r.http.post(f"{r.url}/channels/wechat/webhook", params=params, data=body,
                           headers={"Content-Type": "text/xml"}) as response:
        return response.status, await response.text(), response.content_type


def reply_text(answer: str) -> str:
    """The Content of a passive reply, checked to go from the account to the customer."""
    from wechatpy import parse_message  # type: ignore[import-untyped]

    reply = parse_message(answer)
    assert (reply.type, reply.source, reply.target) == ("text", ACCOUNT, OPENID)
    return str(reply.content)


async def only_conversation(r: Running, token: str) -> dict[str, Any]:
    async with r.http.get(f"{r.url}/api/v1/conversations", headers=r.agent(token)) as resp:
        (conversation,) = (await resp.json())["conversations"]
    async with r.http.get(f"{r.url}/api/v1/conversations/{conversation['id']}",
                          headers=r.agent(token)) as resp:
        detail: dict[str, Any] = await resp.json()
    return detail


async def agent_token(r: Running) -> str:
    token = "sct_e2e_mei"
    await r.server.store.add_token("agent", "mei", hash_token(token), r.server.clock.now())
    return token


def test_menu_and_faq_answers_go_back_in_the_webhook_answer(tmp_path: Path) -> None:
    async def body(tmp: Path, api: FakeWeChat, api_url: str) -> None:
        clock = FrozenClock(MONDAY_10)
        async with serving(STACK, tmp / "s.db", clock, environment(api_url)) as r:
            status, answer, kind = await deliver(
                r, clock, message("event_subscribe.xml", MONDAY_10))
            assert (status, kind) == (200, "application/xml")
            menu = reply_text(answer)
            assert menu.startswith("Welcome to Bergkaffee!")
            assert "1. Shipping times" in menu and "2. Talk to a person" in menu

            clock.advance(timedelta(seconds=30))
            choice = message("text.xml", clock.now(), Content=cdata("1"),
                             MsgId="24872931874652501")
            status, answer, _ = await deliver(r, clock, choice)
            assert status == 200
            assert reply_text(answer).startswith("We roast Monday to Thursday")
            # WeChat delivers again when it did not hear back in time: one message all the same
            assert await deliver(r, clock, choice) == (200, "success", "text/plain")

            clock.advance(timedelta(seconds=30))
            human = message("text.xml", clock.now(), Content=cdata("2"),
                            MsgId="24872931874652502")
            assert await deliver(r, clock, human) == (200, "success", "text/plain")
            await r.send_all()
            assert api.sent == []  # everything so far went back in the webhook's answers

            mei = await agent_token(r)
            detail = await only_conversation(r, mei)
            assert [m["direction"] for m in detail["messages"]] == [
                "in", "out", "in", "out", "in"]
            assert detail["agent"] == "mei"
            async with r.http.post(f"{r.url}/api/v1/conversations/{detail['id']}/reply",
                                   headers=r.agent(mei),
                                   json={"text": "Hi, Mei here. How can I help?"}) as resp:
                assert resp.status == 201
            await r.send_all()
            assert api.sent == [("/cgi-bin/message/custom/send", {
                "touser": OPENID, "msgtype": "text",
                "text": {"content": "Hi, Mei here. How can I help?"}})]

            clock.advance(timedelta(hours=49))
            async with r.http.post(f"{r.url}/api/v1/conversations/{detail['id']}/reply",
                                   headers=r.agent(mei), json={"text": "Still there?"}) as resp:
                assert resp.status == 409
                assert (await resp.json())["templates"] == ["follow_up"]
            async with r.http.post(f"{r.url}/api/v1/conversations/{detail['id']}/template",
                                   headers=r.agent(mei), json={"template": "follow_up"}
                                   ) as resp:
                assert resp.status == 201
            await r.send_all()
            assert api.sent[-1] == ("/cgi-bin/message/template/send", {
                "touser": OPENID, "template_id": "ngqIpbwh8bUfcSsECmogfXcV14J0tQ",
                "url": "https://shop.bergkaffee.example/orders",
                "data": {"first": {"value": "Mei from Bergkaffee"},
                         "remark": {"value": "Reply to continue"}}})
            assert api.tokens == 1  # one access token for both sends

    run(body, tmp_path)


def test_safe_mode_answers_are_encrypted_and_forgeries_refused(tmp_path: Path) -> None:
    async def body(tmp: Path, _api: FakeWeChat, api_url: str) -> None:
        from wechatpy.crypto import WeChatCrypto  # type: ignore[import-untyped]

        clock = FrozenClock(MONDAY_10)
        async with serving(STACK, tmp / "s.db", clock, environment(api_url)) as r:
            webhook = f"{r.url}/channels/wechat/webhook"
            async with r.http.get(webhook, params={**query(clock), "echostr": "8321"}) as resp:
                assert (resp.status, await resp.text()) == (200, "8321")
            forged = {**query(clock), "echostr": "8321", "signature": "0" * 40}
            async with r.http.get(webhook, params=forged) as resp:
                assert resp.status == 403

            status, answer, kind = await deliver(
                r, clock, message("event_subscribe.xml", MONDAY_10), safe=True)
            assert (status, kind) == (200, "application/xml")
            envelope = dict(re.findall(r"<(MsgSignature|TimeStamp|Nonce)>(?:<!\[CDATA\[)?"
                                       r"([^<\]]*)", answer))
            plain = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(
                answer, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"])
            assert reply_text(plain).startswith("Welcome to Bergkaffee!")

            async with r.http.post(webhook, params={**query(clock), "encrypt_type": "aes",
                                                    "msg_signature": "0" * 40},
                                   data=b"<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>"
                                   ) as resp:
                assert resp.status == 403

    run(body, tmp_path)


def test_an_api_outage_is_retried_and_45015_closes_the_window(tmp_path: Path) -> None:
    async def body(tmp: Path, api: FakeWeChat, api_url: str) -> None:
        clock = FrozenClock(MONDAY_10)
        async with serving(STACK, tmp / "s.db", clock, environment(api_url)) as r:
            await deliver(r, clock, message("event_subscribe.xml", MONDAY_10))
            human = message("text.xml", clock.now(), Content=cdata("2"), MsgId="2487293187465")
            assert (await deliver(r, clock, human))[1] == "success"
            mei = await agent_token(r)
            conversation = (await only_conversation(r, mei))["id"]

            async def reply(text: str) -> int:
                async with r.http.post(f"{r.url}/api/v1/conversations/{conversation}/reply",
                                       headers=r.agent(mei), json={"text": text}) as resp:
                    return resp.status

            api.script = [(502, {}), (200, {"errcode": -1, "errmsg": "system error"})]
            assert await reply("One moment, please.") == 201
            await r.send_all()
            clock.advance(timedelta(minutes=1))  # past the backoff after one attempt
            await r.send_all()
            assert api.sent == []  # a 502, then WeChat busy: both temporary
            clock.advance(timedelta(minutes=20))  # past the backoff after two
            await r.send_all()
            assert [body["text"]["content"] for _, body in api.sent] == ["One moment, please."]

            api.script = [(200, {"errcode": 45015, "errmsg": "response out of time limit"})]
            assert await reply("Still there?") == 201
            await r.send_all()
            detail = await only_conversation(r, mei)
            assert detail["window_open"] is False  # WeChat said so, 20 minutes in
            assert detail["messages"][-1]["status"] == "failed"
            assert await reply("Hello?") == 409

    run(body, tmp_path)
