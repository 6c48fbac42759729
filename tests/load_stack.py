"""The load stack (tests/fixtures/stacks/load.yaml) served on 127.0.0.1 with its receipts worker
running as `serve` runs it, and the customers' and agents' side of it: for the tests that send
everything at once (tests/reliability/)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from serving import Running, serving
from supportctl_plugins.whatsapp_runtime import signature

from supportctl.runtime.clock import FrozenClock
from supportctl.store.records import Conversation, Queue
from supportctl.store.tokens import hash_token

FIXTURES = Path(__file__).resolve().parent / "fixtures"
STACK = FIXTURES / "stacks" / "load.yaml"
LIFECYCLE = FIXTURES / "stacks" / "lifecycle.yaml"
WA_PAYLOAD = json.loads((FIXTURES / "payloads" / "whatsapp" / "text.json").read_text())
APP_SECRET = "load-app-secret"
TG_TOKEN = "6012345678:AAE-load-token"
TG_SECRET = "load-telegram-secret"
ENV = {"WA_ACCESS_TOKEN": "t", "WA_APP_SECRET": APP_SECRET, "WA_VERIFY_TOKEN": "v",
       "WA_API_BASE": "http://127.0.0.1:9", "TELEGRAM_BOT_TOKEN": TG_TOKEN,
       "TELEGRAM_SECRET_TOKEN": TG_SECRET, "TG_API_BASE": "http://127.0.0.1:9",
       "SLACK_WEBHOOK_URL": "https://hooks.example/x"}
MONDAY_NOON = datetime(2026, 11, 23, 12, tzinfo=UTC)


@dataclass
class Load:
    r: Running
    clock: FrozenClock
    agents: set[str] = field(default_factory=set)  # those with a token

    async def customer(self, channel: str, name: str) -> str:
        """A new web-chat customer on `channel`; their token."""
        async with self.r.http.post(f"{self.r.url}/channels/{channel}/contacts",
                                    json={"name": name, "language": "en"}) as answer:
            assert answer.status == 201, await answer.text()
            token: str = (await answer.json())["token"]
            return token

    async def write(self, channel: str, token: str, text: str, echo: str) -> None:
        async with self.r.http.post(f"{self.r.url}/channels/{channel}/messages",
                                    headers={"Authorization": f"Bearer {token}"},
                                    json={"text": text, "echo_id": echo}) as answer:
            assert answer.status == 202, await answer.text()

    async def whatsapp(self, wa_id: str, message_id: str, text: str) -> None:
        """A signed WhatsApp delivery of one message from `wa_id`."""
        payload = json.loads(json.dumps(WA_PAYLOAD))
        value = payload["entry"][0]["changes"][0]["value"]
        value["contacts"][0].update(wa_id=wa_id, profile={"name": f"Customer {wa_id}"})
        value["contacts"][0].pop("user_id", None)
        message = value["messages"][0]
        message.pop("from_user_id", None)
        message.update({"from": wa_id, "id": message_id, "text": {"body": text},
                        "timestamp": str(int(self.clock.now().timestamp()))})
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json",
                   "X-Hub-Signature-256": signature(APP_SECRET, body)}
        async with self.r.http.post(f"{self.r.url}/channels/wa/webhook", data=body,
                                    headers=headers) as answer:
            assert answer.status == 200, await answer.text()

    async def telegram(self, user: int, update_id: int, text: str) -> None:
        """A Telegram update: a private message from `user`."""
        person = {"id": user, "is_bot": False, "first_name": f"User{user}"}
        update = {"update_id": update_id, "message": {
            "message_id": update_id, "from": person, "chat": {**person, "type": "private"},
            "date": int(self.clock.now().timestamp()), "text": text}}
        async with self.r.http.post(f"{self.r.url}/channels/tg/webhook", json=update,
                                    headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
                                    ) as answer:
            assert answer.status == 200, await answer.text()

    async def conversations(self, channel: str) -> list[Conversation]:
        """The channel's conversations once every stored receipt has been processed."""
        for _ in range(500):  # bounded: 10 s
            if not (await self.r.server.store.queue_depths()).pending[Queue.RECEIPTS]:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("receipts still pending after 10 s")
        return await self.r.server.store.list_conversations(channel=channel, limit=10_000)

    async def agent_token(self, agent: str) -> dict[str, str]:
        """The headers of an agent's token (made on first use)."""
        token = f"sct_{agent}-load-token"
        if agent not in self.agents:
            self.agents.add(agent)  # before the await: concurrent callers make it once
            await self.r.server.store.add_token("agent", agent, hash_token(token),
                                                self.clock.now())
        return {"Authorization": f"Bearer {token}"}


def run(body: Callable[[Load], Awaitable[None]], tmp_path: Path, stack: Path = STACK,
        at: datetime = MONDAY_NOON, **settings: Any) -> None:
    async def main() -> None:
        async with loaded(tmp_path, stack, at, **settings) as load:
            await body(load)
    asyncio.run(main())


@asynccontextmanager
async def loaded(tmp: Path, stack: Path = STACK, at: datetime = MONDAY_NOON,
                 env: dict[str, str] | None = None, worker: bool = True,
                 **settings: Any) -> AsyncIterator[Load]:
    """The stack served with `ENV` (and `env` over it), its receipts worker running unless
    `worker` is False (then the test runs it by hand)."""
    clock = FrozenClock(at)
    async with serving(stack, tmp / "load.db", clock, {**ENV, **(env or {})},
                       **settings) as running:
        # as serve runs it: what a request does not process before answering, the worker does
        stop = asyncio.Event()
        task = asyncio.create_task(running.server.receipts.run(stop)) if worker else None
        try:
            yield Load(running, clock)
        finally:
            stop.set()
            if task is not None:
                await task
