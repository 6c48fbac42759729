"""End to end over HTTP: the shop stack with its Telegram bot served for real on 127.0.0.1, with
a frozen clock, a SQLite file and a fake Bot API on loopback.

A customer writes, taps through the menu's inline keyboards (each tap answered in the webhook
response), reads an FAQ answer, is handed to an agent who replies through the agent API and
closes. The outbox is driven by hand (`send_all`) so each step is deterministic.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from serving import Running, listening, serving

from supportctl.runtime.clock import FrozenClock
from supportctl.store.tokens import hash_token

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
STACK = FIXTURES / "stacks" / "telegram.yaml"
# Monday 23 November 2026, 10:00 in Hamburg: the day shift (jana, tobias) is on
MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TOKEN = "6012345678:AAE-e2e-token"
SECRET = "e2e-telegram-secret"
CHAT = 218800431
BOT = {"id": 6012345678, "is_bot": True, "first_name": "Bergkaffee Support",
       "username": "bergkaffee_bot"}
AMELIA = {"id": CHAT, "is_bot": False, "first_name": "Amelia", "last_name": "Hart",
          "language_code": "en-GB"}
PRIVATE = {"id": CHAT, "first_name": "Amelia", "last_name": "Hart", "type": "private"}


class FakeBotApi:
    """sendMessage of the Bot API: keeps what was sent; fails with the statuses in `failures`
    first, one per call."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.failures: list[int] = []
        self.calls = 0

    async def send_message(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls += 1
        if self.failures:
            status = self.failures.pop(0)
            return web.json_response({"ok": False, "error_code": status,
                                      "description": "Internal Server Error"}, status=status)
        self.sent.append(body)
        return web.json_response({"ok": True, "result": {
            "message_id": 5000 + len(self.sent), "from": BOT, "chat": PRIVATE,
            "date": int(MONDAY_10.timestamp()), "text": body["text"]}})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/bot{TOKEN}/sendMessage", self.send_message)
        return app

    def message_id(self, body: dict[str, Any]) -> int:
        return 5001 + self.sent.index(body)


def environment(api: str) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_SECRET_TOKEN": SECRET, "TG_API_BASE": api,
            "WA_ACCESS_TOKEN": "e2e-access-token", "WA_APP_SECRET": "e2e-app-secret",
            "WA_VERIFY_TOKEN": "e2e-verify", "WA_API_BASE": "http://127.0.0.1:9",
            "SLACK_WEBHOOK_URL": "https://hooks.slack.example/e2e"}


def text_update(update_id: int, text: str, at: datetime) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id - 900, "from": AMELIA, "chat": PRIVATE,
        "date": int(at.timestamp()), "text": text}}


def tap_update(update_id: int, fake: FakeBotApi, menu: dict[str, Any],
               title: str) -> dict[str, Any]:
    """A tap on the button titled `title` of a menu the bot sent, as Telegram reports it."""
    rows = menu["reply_markup"]["inline_keyboard"]
    data = next(row[0]["callback_data"] for row in rows if row[0]["text"] == title)
    message = {"message_id": fake.message_id(menu), "from": BOT, "chat": PRIVATE,
               "date": int(MONDAY_10.timestamp()), "text": menu["text"],
               "reply_markup": menu["reply_markup"]}
    return {"update_id": update_id, "callback_query": {
        "id": f"40213{update_id}", "from": AMELIA, "message": message,
        "chat_instance": "-4177715305411093861", "data": data}}


async def deliver(r: Running, update: dict[str, Any],
                  secret: str = SECRET) -> tuple[int, str, str]:
    async with r.http.post(f"{r.url}/channels/telegram/webhook", json=update,
                           headers={"X-Telegram-Bot-Api-Secret-Token": secret}) as resp:
        return resp.status, resp.content_type, await resp.text()


def titles(menu: dict[str, Any]) -> list[str]:
    return [row[0]["text"] for row in menu["reply_markup"]["inline_keyboard"]]


async def agent_token(r: Running, agent: str) -> str:
    token = f"sct_e2e_{agent}"
    await r.server.store.add_token("agent", agent, hash_token(token), r.server.clock.now())
    return token


def run(body: Callable[[Path], Awaitable[None]], tmp_path: Path) -> None:
    asyncio.run(body(tmp_path))


def test_a_telegram_customer_from_the_menu_to_an_agent_and_back(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(MONDAY_10)
        fake = FakeBotApi()
        async with listening(fake.app()) as api, serving(STACK, tmp / "s.db", clock,
                                                         environment(api)) as r:
            hello = text_update(735190001, "Hello!", MONDAY_10)
            for _ in range(2):  # Telegram delivers again when unsure: one message all the same
                assert await deliver(r, hello) == (200, "text/plain", "ok")
            assert (await deliver(r, hello, secret="guess"))[0] == 403
            assert await r.send_all() == 1
            (main,) = fake.sent
            assert main["chat_id"] == CHAT
            assert main["text"].startswith("Hi Amelia Hart! Welcome to Bergkaffee.")
            assert titles(main) == ["Orders & delivery", "Coffee & brewing",
                                    "For cafés & offices", "Talk to a person"]

            status, kind, answer = await deliver(r, tap_update(735190002, fake, main,
                                                               "Orders & delivery"))
            assert (status, kind) == (200, "application/json")
            assert json.loads(answer) == {"method": "answerCallbackQuery",
                                          "callback_query_id": "40213735190002"}
            await r.send_all()
            orders = fake.sent[-1]
            assert titles(orders) == ["Where is my parcel?", "Shipping costs & times",
                                      "Returns & damage", "Talk to a person", "Back"]
            await deliver(r, tap_update(735190003, fake, orders, "Shipping costs & times"))
            await r.send_all()
            assert fake.sent[-1]["text"].startswith("We roast Monday to Thursday")
            assert "reply_markup" not in fake.sent[-1]

            await deliver(r, tap_update(735190004, fake, orders, "Talk to a person"))
            await r.send_all()
            jana = await agent_token(r, "jana")
            async with r.http.get(f"{r.url}/api/v1/conversations",
                                  headers=r.agent(jana)) as resp:
                (conversation,) = (await resp.json())["conversations"]
            assert (conversation["team"], conversation["agent"]) == ("service", "jana")
            cid = conversation["id"]

            fake.failures = [500]  # the Bot API has a bad moment: the reply is sent later
            async with r.http.post(f"{r.url}/api/v1/conversations/{cid}/reply",
                                   headers=r.agent(jana),
                                   json={"text": "Hi Amelia, Jana here. How can I help?"}
                                   ) as resp:
                assert resp.status == 201
            sent_before, calls_before = len(fake.sent), fake.calls
            await r.send_all()
            assert (fake.calls, len(fake.sent)) == (calls_before + 1, sent_before)
            clock.advance(timedelta(minutes=16))  # past any backoff of a first retry
            await r.send_all()
            assert fake.sent[-1] == {"chat_id": CHAT,
                                     "text": "Hi Amelia, Jana here. How can I help?"}
            assert len(fake.sent) == sent_before + 1

            async with r.http.post(f"{r.url}/api/v1/conversations/{cid}/close",
                                   headers=r.agent(jana)) as resp:
                assert resp.status == 200
            await r.send_all()
            # no templates on Telegram and no window: the CSAT question goes as text
            assert fake.sent[-1]["text"].startswith("How happy were you with Jana's help?")
            clock.advance(timedelta(minutes=5))
            await deliver(r, text_update(735190005, "5", clock.now()))
            await r.send_all()
            assert fake.sent[-1]["text"].startswith("Thank you!")
            async with r.http.get(f"{r.url}/api/v1/conversations/{cid}",
                                  headers=r.agent(jana)) as resp:
                detail = await resp.json()
            assert (detail["status"], detail["csat"]["score"]) == ("closed", 5)
            inbound = [m for m in detail["messages"] if m["direction"] == "in"]
            assert [m["text"] for m in inbound][:4] == [
                "Hello!", "Orders & delivery", "Shipping costs & times", "Talk to a person"]

    run(body, tmp_path)
