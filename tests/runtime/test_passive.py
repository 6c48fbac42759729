"""Passive replies (supportctl/runtime/passive.py) through the real webhook route: a channel
that answers in the HTTP response gets the desk's first message there, marked sent, and the
others through the outbox; slow processing is answered in time without a reply.

The "help" web chat of tests/fixtures/stacks/lifecycle.yaml (entry menu `main`) is served with
its runtime swapped for a collecting channel that takes passive replies.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from serving import Running, serving

from supportctl.plugins.channel import (
    InboundMessage,
    InteractiveReply,
    OutboundMenu,
    OutboundMessage,
    WebhookRequest,
    WebhookResponse,
)
from supportctl.plugins.testing import CollectingChannel, Sent
from supportctl.runtime.clock import FrozenClock
from supportctl.store.records import Direction, MessageStatus

STACK = Path(__file__).resolve().parent.parent / "fixtures" / "stacks" / "lifecycle.yaml"
ENV = {"SLACK_WEBHOOK_URL": "https://hooks.slack.example/lifecycle"}
MONDAY_10 = datetime(2026, 11, 23, 10, tzinfo=UTC)


class ReplyingChannel(CollectingChannel):
    """Takes a menu as a passive reply (as `REPLY <text>`), never plain text."""

    passive_replies = True
    reply_deadline = 2.0

    def passive_reply(self, request: WebhookRequest, event: InboundMessage | InteractiveReply,
                      message: OutboundMessage) -> WebhookResponse | None:
        if not isinstance(message, OutboundMenu):
            return None
        return WebhookResponse(200, f"REPLY to {event.contact.external_id}: "
                                    f"{Sent(event.contact, message).text}")


@asynccontextmanager
async def replying(tmp: Path, channel: ReplyingChannel) -> AsyncIterator[Running]:
    async with serving(STACK, tmp / "s.db", FrozenClock(MONDAY_10), ENV) as running:
        running.server.live().channels["help"] = channel  # type: ignore[index]
        yield running


async def deliver(r: Running, message_id: str, text: str) -> tuple[int, str]:
    body = json.dumps({"from": "ann", "id": message_id, "text": text})
    async with r.http.post(f"{r.url}/channels/help/webhook", data=body) as response:
        return response.status, await response.text()


async def outbound_states(r: Running) -> list[tuple[str, MessageStatus]]:
    conversations = await r.server.store.list_conversations(channel="help")
    if not conversations:
        return []
    messages = await r.server.store.list_messages(conversations[-1].id)
    return [(str(m.payload.get("text") or m.payload.get("menu", {}).get("prompt")), m.status)
            for m in messages if m.direction is Direction.OUT]


def run(body: Callable[[Path], Coroutine[Any, Any, None]], tmp_path: Path) -> None:
    asyncio.run(body(tmp_path))


def test_the_first_message_is_the_answer_and_is_not_sent_again(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        channel = ReplyingChannel("help")
        async with replying(tmp, channel) as r:
            status, text = await deliver(r, "m1", "hi")
            assert status == 200
            assert text.startswith("REPLY to ann: Hello ! Pick a topic.\n\n1. Opening hours")
            assert await outbound_states(r) == [("Hello ! Pick a topic.", MessageStatus.SENT)]
            assert await r.send_all() == 0 and channel.sent == []
            # a duplicate delivery queues nothing: the plain acknowledgement
            assert await deliver(r, "m1", "hi") == (200, "ok")
    run(body, tmp_path)


def test_a_message_the_channel_cannot_answer_with_goes_through_the_outbox(
        tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        channel = ReplyingChannel("help")
        async with replying(tmp, channel) as r:
            assert (await deliver(r, "m1", "hi"))[0] == 200
            # the FAQ answer is plain text: not a passive reply here, so acknowledged and sent
            assert await deliver(r, "m2", "1") == (200, "ok")
            assert await r.send_all() == 1
            assert channel.texts() == ["Mon-Fri 8 to 22."]
            assert [s for _, s in await outbound_states(r)][-1] is MessageStatus.SENT
    run(body, tmp_path)


def test_processing_past_the_deadline_is_answered_without_a_reply(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        channel = ReplyingChannel("help")
        channel.reply_deadline = 0.05  # type: ignore[misc]
        async with replying(tmp, channel) as r:
            server = r.server
            receive = server.desk.receive
            gate = asyncio.Event()

            async def slow_receive(event: Any, finish: Any = None) -> Any:
                await gate.wait()
                return await receive(event, finish)

            server.desk.receive = slow_receive  # type: ignore[method-assign]
            assert await deliver(r, "m1", "hi") == (200, "ok")
            gate.set()
            for _ in range(200):  # processing ends in the background; bounded wait
                if await outbound_states(r) and await r.send_all():
                    break
                await asyncio.sleep(0.01)
            assert channel.texts() == [
                "Hello ! Pick a topic.\n\n1. Opening hours\n2. Talk to a person"]
    run(body, tmp_path)
