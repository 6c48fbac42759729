"""The database locked by another process past the busy timeout: webhooks answer 503 (the
channel delivers again) and nothing already acknowledged is lost; once the lock goes, the
redeliveries and the receipts stored before are processed, each message once."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from load_stack import APP_SECRET, WA_PAYLOAD, Load, loaded
from supportctl_plugins.whatsapp_runtime import signature

from supportctl.store.interface import Unavailable
from supportctl.store.records import Direction, Queue


def delivery(load: Load, n: int) -> bytes:
    """A WhatsApp delivery of one message from customer `n` (signed by `post`)."""
    payload = json.loads(json.dumps(WA_PAYLOAD))
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update(wa_id=f"4917{n:06d}", profile={"name": f"C{n}"})
    value["contacts"][0].pop("user_id", None)
    value["messages"][0].pop("from_user_id", None)
    value["messages"][0].update({"from": f"4917{n:06d}", "id": f"wamid.LOCK{n}",
                                 "timestamp": str(int(load.clock.now().timestamp()))})
    return json.dumps(payload).encode()


async def post(load: Load, body: bytes) -> tuple[int, str | None]:
    headers = {"Content-Type": "application/json",
               "X-Hub-Signature-256": signature(APP_SECRET, body)}
    async with load.r.http.post(f"{load.r.url}/channels/wa/webhook", data=body,
                                headers=headers) as answer:
        return answer.status, answer.headers.get("Retry-After")


def test_a_locked_database_is_answered_503_and_nothing_acknowledged_is_lost(
        tmp_path: Path) -> None:
    async def main() -> None:
        async with loaded(tmp_path, worker=False, database_busy_timeout=0.2) as load:
            receipts = load.r.server.receipts
            receipts.inline_limit = 0  # acknowledged at once, processed by the worker later
            receipts.batch = 100
            early = [delivery(load, n) for n in range(10)]
            assert {s for s, _ in await asyncio.gather(*(post(load, b) for b in early))} == {200}
            # another process takes the write lock and keeps it
            other = sqlite3.connect(tmp_path / "load.db", isolation_level=None)
            other.execute("BEGIN IMMEDIATE")
            try:
                late = [delivery(load, n) for n in range(10, 30)]
                answers = await asyncio.gather(*(post(load, b) for b in late))
                assert set(answers) == {(503, "5")}
                with pytest.raises(Unavailable):  # the worker cannot even claim meanwhile
                    await receipts.run_once()
                pending = (await load.r.server.store.queue_depths()).pending[Queue.RECEIPTS]
                assert pending == 10  # the acknowledged ones are all still there
            finally:
                other.execute("ROLLBACK")
                other.close()
            # the channel delivers the refused ones again; the worker catches up
            assert {s for s, _ in await asyncio.gather(*(post(load, b) for b in late))} == {200}
            for _ in range(10):
                if not await receipts.run_once():
                    break
            conversations = await load.conversations("wa")
            assert len(conversations) == 30
            store = load.r.server.store
            inbound = [m.external_id for c in conversations for m in
                       await store.list_messages(c.id) if m.direction is Direction.IN]
            assert sorted(inbound) == sorted(f"wamid.LOCK{n}" for n in range(30))
    asyncio.run(main())
