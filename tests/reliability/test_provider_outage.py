"""The channel APIs failing for a while: 500s, timeouts, 429 with the provider's wait. Every
queued message is delivered once the API recovers, none twice, and the failures are counted in
`/metrics`. Fakes of the WhatsApp Graph API and the Telegram Bot API on 127.0.0.1 answer from a
script; the outbox is driven by hand on a frozen clock, so backoff is exact and quick."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from load_stack import TG_TOKEN, Load, loaded
from serving import listening

from supportctl.store.records import Direction, MessageStatus, Queue

ROUNDS = 80  # outbox passes at most, the clock moved past any backoff between them


@dataclass
class FakeApi:
    """One provider's send endpoint: answers from `script` (a status, "hang" to never answer,
    or ("429", seconds) for Telegram's flood control), then 200, recording what it accepted."""

    script: list[Any] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def whatsapp(self, request: web.Request) -> web.Response:
        body = await request.json()
        failure = await self._scripted()
        if failure is not None:
            return web.json_response({"error": {"message": "(#2) Service temporarily "
                                                "unavailable", "code": 2}}, status=failure)
        self.accepted.append(body)
        return web.json_response({"messaging_product": "whatsapp",
                                  "messages": [{"id": f"wamid.OUT{len(self.accepted)}"}]})

    async def telegram(self, request: web.Request) -> web.Response:
        body = await request.json()
        failure = await self._scripted()
        if failure is not None:
            return web.json_response({"ok": False, "error_code": 429, "description":
                                      f"Too Many Requests: retry after {failure}",
                                      "parameters": {"retry_after": failure}}, status=429)
        self.accepted.append(body)
        return web.json_response({"ok": True, "result": {"message_id": len(self.accepted),
                                                         "date": 0, "chat": {"id": 1}}})

    async def _scripted(self) -> int | None:
        self.calls += 1
        if not self.script:
            return None
        step = self.script.pop(0)
        if step == "hang":
            await self.release.wait()  # the client gives up first
            return 503
        return int(step)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{version}/{phone}/messages", self.whatsapp)
        app.router.add_post(f"/bot{TG_TOKEN}/sendMessage", self.telegram)
        return app


@asynccontextmanager
async def outage(tmp: Path, api: FakeApi) -> AsyncIterator[Load]:
    async with listening(api.app()) as url, \
            loaded(tmp, env={"WA_API_BASE": url, "TG_API_BASE": url}) as load, \
            ClientSession(timeout=ClientTimeout(total=0.5)) as impatient:
        for runtime in load.r.server.live().channels.values():
            runtime.http = impatient  # the server's session waits 30 s before giving up
        try:
            yield load
        finally:
            api.release.set()


async def send_until_done(load: Load, step: timedelta) -> int:
    """Run the outbox, moving the clock by `step` between passes, until nothing is pending."""
    for rounds in range(ROUNDS):
        await load.r.server.outbox.run_once()
        if not (await load.r.server.store.queue_depths()).pending[Queue.OUTBOX]:
            return rounds
        load.clock.advance(step)
    raise AssertionError(f"the outbox still had work after {ROUNDS} passes")


def counted(load: Load, channel: str, result: str) -> float:
    value = load.r.server.metrics.registry.get_sample_value(
        "supportctl_outbound_messages_total", {"channel": channel, "result": result})
    return value or 0.0


async def outbound(load: Load, channel: str) -> list[MessageStatus]:
    store = load.r.server.store
    return [m.status for c in await load.conversations(channel)
            for m in await store.list_messages(c.id) if m.direction is Direction.OUT]


def test_500s_and_timeouts_then_every_menu_is_delivered_once(tmp_path: Path) -> None:
    api = FakeApi(script=["500"] * 30 + ["hang"] * 8)

    async def main() -> None:
        async with outage(tmp_path, api) as load:
            await asyncio.gather(*(load.whatsapp(f"4915100001{n:03d}", f"wamid.O{n}", "Hello")
                                   for n in range(40)))
            await send_until_done(load, timedelta(minutes=16))  # past the 15-minute cap
            assert Counter(body["to"] for body in api.accepted) == {
                f"4915100001{n:03d}": 1 for n in range(40)}
            assert set(await outbound(load, "wa")) == {MessageStatus.SENT}
            assert counted(load, "wa", "sent") == 40
            assert counted(load, "wa", "retry") == 38  # each failure once, none gave up
            assert counted(load, "wa", "failed") == 0
            async with load.r.http.get(f"{load.r.url}/metrics") as answer:
                text = await answer.text()
            assert 'supportctl_work_pending{queue="outbox"} 0.0' in text
            assert 'supportctl_work_parked{queue="outbox"} 0.0' in text
            assert 'supportctl_outbound_messages_total{channel="wa",result="retry"} 38.0' in text
    asyncio.run(main())


def test_a_429_is_retried_not_before_the_provider_asked(tmp_path: Path) -> None:
    api = FakeApi(script=[7] * 20)

    async def main() -> None:
        async with outage(tmp_path, api) as load:
            await asyncio.gather(*(load.telegram(5000 + n, 100 + n, "Hello") for n in range(20)))
            for _ in range(5):  # a pass claims a batch: all twenty fail within a few
                if not api.script:
                    break
                await load.r.server.outbox.run_once()
            assert api.accepted == [] and not api.script
            load.clock.advance(timedelta(seconds=6.5))
            assert await load.r.server.outbox.run_once() == 0  # 7 s were asked for
            load.clock.advance(timedelta(seconds=1))
            await send_until_done(load, timedelta(seconds=8))
            assert sorted(body["chat_id"] for body in api.accepted) == [5000 + n
                                                                       for n in range(20)]
            assert set(await outbound(load, "tg")) == {MessageStatus.SENT}
            assert counted(load, "tg", "retry") == 20 and counted(load, "tg", "failed") == 0
    asyncio.run(main())
