"""Messenger and Instagram end to end over HTTP: a stack served for real on 127.0.0.1 with a
frozen clock, signed webhooks built from the payload fixtures, the agent API, and a fake Send API
on loopback. The outbox is driven by hand (`send_all`) so that each step is deterministic.
"""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from serving import Running, listening, serving
from supportctl_plugins.whatsapp_runtime import signature

from supportctl.runtime.clock import FrozenClock
from supportctl.store.tokens import hash_token

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
STACK = FIXTURES / "stacks" / "meta.yaml"
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
APP_SECRET = "e2e-meta-app-secret"
TOKENS = {"messenger": "e2e-fb-page-token", "instagram": "e2e-ig-page-token"}


class FakeSendApi:
    """The Graph API's `/me/messages`, on loopback: records every call, answers 500 to the
    next `failures` calls and a new message id to the others."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures = 0

    async def messages(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append((request.query.get("access_token", ""), body))
        if self.failures:
            self.failures -= 1
            return web.json_response({"error": {"message": "An unexpected error has occurred.",
                                                 "type": "OAuthException", "code": 2,
                                                 "fbtrace_id": "AbCdEf"}}, status=500)
        return web.json_response({"recipient_id": body["recipient"]["id"],
                                  "message_id": f"m_out{len(self.calls)}"})


def customer_event(channel: str, mid: str, at: datetime, text: str,
                   payload: str | None = None) -> bytes:
    """A signed-to-be delivery from the fixtures: the customer's text, or a tapped quick reply."""
    name = "quick_reply.json" if payload is not None else "text.json"
    delivery = json.loads((FIXTURES / "payloads" / channel / name).read_text())
    event = copy.deepcopy(delivery["entry"][0]["messaging"][0])
    event["timestamp"] = int(at.timestamp() * 1000)
    event["message"].update(mid=mid, text=text)
    if payload is not None:
        event["message"]["quick_reply"] = {"payload": payload}
    delivery["entry"][0]["messaging"] = [event]
    return json.dumps(delivery).encode()


async def post_webhook(r: Running, channel: str, body: bytes) -> int:
    headers = {"X-Hub-Signature-256": signature(APP_SECRET, body),
               "Content-Type": "application/json"}
    async with r.http.post(f"{r.url}/channels/{channel}/webhook", data=body,
                           headers=headers) as response:
        status: int = response.status
    return status


async def reply(r: Running, token: str, conversation: str, text: str) -> int:
    async with r.http.post(f"{r.url}/api/v1/conversations/{conversation}/reply",
                           headers=r.agent(token), json={"text": text}) as response:
        status: int = response.status
    return status


async def scenario(channel: str, tmp: Path) -> None:
    clock = FrozenClock(MONDAY_9)
    api = FakeSendApi()
    fake = web.Application()
    fake.router.add_post("/v21.0/me/messages", api.messages)
    async with listening(fake) as api_url:
        environment = {"FB_PAGE_TOKEN": TOKENS["messenger"], "IG_PAGE_TOKEN": TOKENS["instagram"],
                       "META_APP_SECRET": APP_SECRET, "META_VERIFY_TOKEN": "e2e-verify",
                       "META_API_BASE": api_url}
        async with serving(STACK, tmp / "support.db", clock, environment) as r:
            await walk_through(r, channel, clock, api)


async def walk_through(r: Running, channel: str, clock: FrozenClock, api: FakeSendApi) -> None:
    async with r.http.get(f"{r.url}/channels/{channel}/webhook", params={
            "hub.mode": "subscribe", "hub.verify_token": "e2e-verify",
            "hub.challenge": "31337"}) as response:
        assert (response.status, await response.text()) == (200, "31337")

    # the customer writes and gets the menu as quick replies
    assert await post_webhook(r, channel, customer_event(channel, "m_in1", clock.now(),
                                                         "Hello!")) == 200
    await r.send_all()
    (token, menu), = api.calls
    assert token == TOKENS[channel]
    assert menu["messaging_type"] == "RESPONSE"
    assert menu["message"]["text"] == "Hi! Pick a topic or type your question."
    track, person = menu["message"]["quick_replies"]
    assert (track["title"], person["title"]) == ("Track my order", "Talk to a person")
    customer = menu["recipient"]["id"]

    # a tap on a quick reply answers from the FAQ
    clock.advance(timedelta(minutes=1))
    assert await post_webhook(r, channel, customer_event(
        channel, "m_in2", clock.now(), track["title"], track["payload"])) == 200
    await r.send_all()
    texts = [body["message"]["text"] for _, body in api.calls[1:]]
    assert "Track it at https://acme.example/track" in texts

    # the next tap hands the conversation to the agent on shift
    clock.advance(timedelta(minutes=1))
    assert await post_webhook(r, channel, customer_event(
        channel, "m_in3", clock.now(), person["title"], person["payload"])) == 200
    await r.send_all()
    jana = "sct_e2e_jana"
    await r.server.store.add_token("agent", "jana", hash_token(jana), clock.now())
    async with r.http.get(f"{r.url}/api/v1/conversations", headers=r.agent(jana)) as response:
        (conversation,) = (await response.json())["conversations"]
    assert (conversation["channel"], conversation["agent"]) == (channel, "jana")
    cid = conversation["id"]

    # three days later the agent replies: tagged HUMAN_AGENT; a first 500 is retried
    clock.advance(timedelta(days=3))
    before = len(api.calls)
    api.failures = 1
    assert await reply(r, jana, cid, "Jana here: your parcel left today.") == 201
    await r.send_all()
    assert len(api.calls) == before + 1  # the 500
    clock.advance(timedelta(minutes=5))  # past the first retry's backoff
    await r.send_all()
    assert len(api.calls) == before + 2
    first, second = (body for _, body in api.calls[before:])
    assert first == second == {"recipient": {"id": customer}, "messaging_type": "MESSAGE_TAG",
                               "tag": "HUMAN_AGENT",
                               "message": {"text": "Jana here: your parcel left today."}}
    async with r.http.get(f"{r.url}/api/v1/conversations/{cid}",
                          headers=r.agent(jana)) as response:
        messages = (await response.json())["messages"]
    assert messages[-1]["status"] == "sent"

    # eight days after the customer's last message even an agent may not write
    clock.advance(timedelta(days=5))
    assert await reply(r, jana, cid, "Still there?") == 409
    await r.send_all()
    assert len(api.calls) == before + 2


@pytest.mark.parametrize("channel", ["messenger", "instagram"])
def test_menu_faq_handoff_and_a_human_agent_reply_days_later(channel: str,
                                                             tmp_path: Path) -> None:
    asyncio.run(scenario(channel, tmp_path))
