"""The timer worker's housekeeping, and the send rates the server takes from channel plugins."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from supportctl.runtime.clock import FrozenClock
from supportctl.runtime.server import Server, send_rates
from supportctl.runtime.timers import DEDUPE_KEEP
from supportctl.settings import Settings
from supportctl.store.records import Queue
from supportctl.store.transition import Lease

STACKS = Path(__file__).resolve().parent.parent / "fixtures" / "stacks"
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
WA_ENV = {"WA_ACCESS_TOKEN": "t", "WA_APP_SECRET": "s", "WA_VERIFY_TOKEN": "v",
          "WA_API_BASE": "http://127.0.0.1:9", "SLACK_WEBHOOK_URL": "https://hooks.example/x"}


async def started(tmp: Path, stack: str) -> Server:
    settings = Settings(database_url=f"sqlite:///{tmp}/s.db")
    return await Server.start(settings, STACKS / stack, WA_ENV, clock=FrozenClock(NOW))


def test_dedupe_keys_are_kept_past_the_redelivery_horizon_then_pruned(tmp_path: Path) -> None:
    async def body() -> None:
        server = await started(tmp_path, "lifecycle.yaml")
        try:
            store = server.store
            old = NOW - DEDUPE_KEEP - timedelta(minutes=1)
            week = NOW - timedelta(days=7, hours=1)  # past WhatsApp's 7 days of retries
            for key, at in (("old", old), ("week", week)):
                (job,) = await store.enqueue(Queue.RECEIPTS, [(f"chat:{key}", "chat", {})], at,
                                             lease=Lease("test", "test", at + timedelta(1)))
                assert job is not None and await store.finish(job.id, "test", at)
            assert await server.timers.prune() == 1
            # a redelivery of the pruned receipt is new; the other is still known
            again = await store.enqueue(Queue.RECEIPTS, [("chat:old", "chat", {}),
                                                         ("chat:week", "chat", {})], NOW)
            assert [job is not None for job in again] == [True, False]
        finally:
            await server.stop()

    asyncio.run(body())


def test_the_outbox_keeps_to_each_channels_declared_send_rate(tmp_path: Path) -> None:
    async def body() -> None:
        server = await started(tmp_path, "shop.yaml")
        try:
            rates = send_rates(server.live())
            assert rates == {"whatsapp": (80.0, 80)}  # web chat has no provider limit
            assert server.outbox.limits.bucket("whatsapp") is not None
            assert server.outbox.limits.bucket("webchat") is None
        finally:
            await server.stop()

    asyncio.run(body())
