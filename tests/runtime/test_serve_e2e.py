"""End to end over HTTP: the bundled shop stack served for real on 127.0.0.1, with a frozen
clock, a SQLite file, the web chat API, a signed WhatsApp webhook and a fake Graph API.

The outbox and timer workers are driven by hand (`run_once`) so each step is deterministic.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from serving import Running, listening
from serving import serving as serve_stack
from supportctl_plugins.whatsapp_runtime import signature

from supportctl.runtime.clock import FrozenClock
from supportctl.runtime.server import Server
from supportctl.store.tokens import hash_token

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
STACK = FIXTURES / "stacks" / "shop.yaml"
# Monday 23 November 2026, 10:00 in Hamburg: the day shift (jana, tobias) is on
MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
APP_SECRET = "e2e-app-secret"
PHONE_ID = "106540352242922"


class FakeGraph:
    """The WhatsApp Cloud API's send endpoint, on loopback."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def messages(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.sent.append(body)
        return web.json_response({"messaging_product": "whatsapp",
                                  "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                                  "messages": [{"id": f"wamid.out{len(self.sent)}"}]})


def environment(graph_url: str) -> dict[str, str]:
    return {"WA_ACCESS_TOKEN": "e2e-access-token", "WA_APP_SECRET": APP_SECRET,
            "WA_VERIFY_TOKEN": "e2e-verify", "WA_API_BASE": graph_url,
            "SLACK_WEBHOOK_URL": "https://hooks.slack.example/e2e"}


@asynccontextmanager
async def serving(database: Path, clock: FrozenClock, graph_url: str) -> AsyncIterator[Running]:
    async with serve_stack(STACK, database, clock, environment(graph_url)) as running:
        yield running


def run(body: Callable[[Path], Awaitable[None]], tmp_path: Path) -> None:
    asyncio.run(body(tmp_path))


async def post_chat(r: Running, token: str, **body: Any) -> int:
    async with r.http.post(f"{r.url}/channels/webchat/messages", json=body,
                           headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status


async def chat_history(r: Running, token: str) -> list[dict[str, Any]]:
    async with r.http.get(f"{r.url}/channels/webchat/messages",
                          headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200
        messages: list[dict[str, Any]] = (await response.json())["messages"]
        return messages


async def new_agent_token(server: Server, agent: str) -> str:
    token = f"sct_e2e_{agent}"
    await server.store.add_token("agent", agent, hash_token(token), server.clock.now())
    return token


def test_a_web_chat_customer_from_menu_to_csat_across_a_restart(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(MONDAY_10)
        database = tmp / "support.db"
        graph = FakeGraph()
        fake = web.Application()
        fake.router.add_post("/v21.0/{phone}/messages", graph.messages)
        async with listening(fake) as graph_url:
            async with serving(database, clock, graph_url) as r:
                async with r.http.post(f"{r.url}/channels/webchat/contacts",
                                       json={"name": "Eva Braun", "language": "en"}) as resp:
                    assert resp.status == 201
                    token = (await resp.json())["token"]
                assert await post_chat(r, token, text="Hello!", echo_id="m1") == 202
                await r.send_all()
                history = await chat_history(r, token)
                assert [m["direction"] for m in history] == ["in", "out"]
                menu = history[1]
                assert menu["text"].startswith("Hi Eva Braun! Welcome to Bergkaffee.")
                assert [c["title"] for c in menu["choices"]] == [
                    "Orders & delivery", "Coffee & brewing", "For cafés & offices",
                    "Talk to a person"]
                # into a submenu by label with a typo, then an FAQ answer by number
                assert await post_chat(r, token, text="orders & delivry", echo_id="m2") == 202
                assert await post_chat(r, token, text="2", echo_id="m3") == 202
                # the same message delivered twice is one message
                assert await post_chat(r, token, text="2", echo_id="m3") == 202
                await r.send_all()
                texts = [m["text"] for m in await chat_history(r, token)]
                assert texts.count("2") == 1
                assert texts[-1].startswith("We roast Monday to Thursday")
                jana = await new_agent_token(r.server, "jana")

            # restart mid-conversation: everything is in the database
            async with serving(database, clock, graph_url) as r:
                before = await chat_history(r, token)
                assert len(before) == 6
                # hand off by tapping the menu button of the submenu
                orders = before[3]
                talk = next(c for c in orders["choices"] if c["title"] == "Talk to a person")
                assert await post_chat(r, token, option_id=talk["id"], echo_id="m4") == 202
                async with r.http.get(f"{r.url}/api/v1/conversations",
                                      headers=r.agent(jana)) as resp:
                    assert resp.status == 200
                    (conversation,) = (await resp.json())["conversations"]
                # English speaker on Monday morning: the English-speaking agent on shift
                assert (conversation["team"], conversation["agent"], conversation["rule"]) == (
                    "service", "jana", "everyone-else")
                cid = conversation["id"]
                async with r.http.post(f"{r.url}/api/v1/conversations/{cid}/reply",
                                       headers=r.agent(jana),
                                       json={"text": "Hi Eva, Jana here. How can I help?"}
                                       ) as resp:
                    assert resp.status == 201
                await r.send_all()
                last = (await chat_history(r, token))[-1]
                assert (last["author"], last["text"]) == ("Jana Becker",
                                                          "Hi Eva, Jana here. How can I help?")
                async with r.http.post(f"{r.url}/api/v1/conversations/{cid}/close",
                                       headers=r.agent(jana)) as resp:
                    assert resp.status == 200
                await r.send_all()
                question = (await chat_history(r, token))[-1]["text"]
                assert question.startswith("How happy were you with Jana's help?")
                clock.advance(timedelta(minutes=5))
                assert await post_chat(r, token, text="5", echo_id="m5") == 202
                await r.send_all()
                assert (await chat_history(r, token))[-1]["text"].startswith("Thank you!")
                async with r.http.get(f"{r.url}/api/v1/conversations/{cid}",
                                      headers=r.agent(jana)) as resp:
                    detail = await resp.json()
                assert detail["status"] == "closed"
                assert detail["csat"]["score"] == 5
                assert graph.sent == []  # nothing of this went to WhatsApp

    run(body, tmp_path)


def whatsapp_delivery(text: str, wamid: str, at: datetime) -> bytes:
    payload = json.loads((FIXTURES / "payloads" / "whatsapp" / "text.json").read_text())
    value = copy.deepcopy(payload)["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = PHONE_ID
    message = value["messages"][0]
    message.update(id=wamid, timestamp=str(int(at.timestamp())), text={"body": text})
    payload["entry"][0]["changes"][0]["value"] = value
    return json.dumps(payload).encode()


def test_whatsapp_webhook_dedupe_and_the_24_hour_window(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(MONDAY_10)
        graph = FakeGraph()
        fake = web.Application()
        fake.router.add_post("/v21.0/{phone}/messages", graph.messages)
        async with listening(fake) as graph_url, serving(tmp / "s.db", clock, graph_url) as r:
            webhook = f"{r.url}/channels/whatsapp/webhook"
            delivery = whatsapp_delivery("Mein Paket ist kaputt, bitte helfen",
                                         "wamid.IN1", MONDAY_10)
            headers = {"X-Hub-Signature-256": signature(APP_SECRET, delivery),
                       "Content-Type": "application/json"}
            for _ in range(2):  # Meta redelivers: one message all the same
                async with r.http.post(webhook, data=delivery, headers=headers) as resp:
                    assert resp.status == 200
            async with r.http.post(webhook, data=delivery,
                                   headers={**headers, "X-Hub-Signature-256": "sha256=00"}
                                   ) as resp:
                assert resp.status == 403
            await r.send_all()
            assert len(graph.sent) == 1  # the menu, once
            assert graph.sent[0]["type"] == "interactive"
            petra = await new_agent_token(r.server, "petra")  # a supervisor sees everything
            async with r.http.get(f"{r.url}/api/v1/conversations",
                                  headers=r.agent(petra)) as resp:
                (conversation,) = (await resp.json())["conversations"]
            cid = conversation["id"]
            async with r.http.get(f"{r.url}/api/v1/conversations/{cid}",
                                  headers=r.agent(petra)) as resp:
                detail = await resp.json()
            assert [m["direction"] for m in detail["messages"]] == ["in", "out"]
            clock.advance(timedelta(hours=25))
            async with r.http.post(f"{r.url}/api/v1/conversations/{cid}/reply",
                                   headers=r.agent(petra), json={"text": "Still there?"}
                                   ) as resp:
                assert resp.status == 409
                refused = await resp.json()
            assert "window" in refused["error"]
            assert refused["templates"] == ["csat", "follow_up", "still_waiting"]
            async with r.http.post(f"{r.url}/api/v1/conversations/{cid}/template",
                                   headers=r.agent(petra), json={"template": "follow_up"}
                                   ) as resp:
                assert resp.status == 201
            await r.send_all()
            template = graph.sent[-1]
            assert template["type"] == "template"
            assert template["template"]["name"] == "order_follow_up"

    run(body, tmp_path)


def test_operations_endpoints_and_bad_requests(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(MONDAY_10)
        async with serving(tmp / "s.db", clock, "http://127.0.0.1:9") as r:
            async with r.http.get(f"{r.url}/healthz") as resp:
                assert (resp.status, await resp.json()) == (200, {"status": "ok"})
            async with r.http.get(f"{r.url}/readyz") as resp:
                ready = await resp.json()
            assert (resp.status, ready["status"], ready["stack"]) == (
                200, "ready", r.server.live().version)
            async with r.http.get(f"{r.url}/metrics") as resp:
                text = await resp.text()
            assert "supportctl_config_last_reload_successful 1.0" in text
            assert "supportctl_work_pending{queue=\"outbox\"} 0.0" in text
            async with r.http.post(f"{r.url}/channels/webchat/contacts", data=b"{nope",
                                   headers={"Content-Type": "application/json"}) as resp:
                assert resp.status == 400
                assert "error" in await resp.json()
            async with r.http.post(f"{r.url}/channels/whatsapp/webhook",
                                   data=b"x" * (5 * 1024 * 1024)) as resp:
                assert resp.status == 413
            async with r.http.post(f"{r.url}/channels/nope/webhook", data=b"{}") as resp:
                assert resp.status == 404
            async with r.http.post(f"{r.url}/-/reload") as resp:
                assert resp.status == 404  # no admin token set: reloading over HTTP is off

    run(body, tmp_path)
