"""The inbox (supportctl/runtime/inbox.py): deliveries are stored before the answer, processed
inline within a budget, and what is left, failed or abandoned by a crash is processed later.

The "chat" web chat of tests/fixtures/stacks/lifecycle.yaml (no menu: a message hands off at
once) with its runtime swapped for a collecting channel; the clock is frozen on a Monday.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from serving import Running, serving

from supportctl.plugins.channel import ContactRef, InboundMessage
from supportctl.plugins.testing import CollectingChannel
from supportctl.runtime.clock import FrozenClock
from supportctl.store.interface import Unavailable
from supportctl.store.records import InboxState

STACK = Path(__file__).resolve().parent.parent / "fixtures" / "stacks" / "lifecycle.yaml"
ENV = {"SLACK_WEBHOOK_URL": "https://hooks.slack.example/lifecycle"}
MONDAY_10 = datetime(2026, 11, 23, 10, tzinfo=UTC)


def run(body: Callable[[FrozenClock, Running], Coroutine[Any, Any, None]],
        tmp_path: Path) -> None:
    async def main() -> None:
        clock = FrozenClock(MONDAY_10)
        async with serving(STACK, tmp_path / "s.db", clock, ENV) as running:
            running.server.live().channels["chat"] = CollectingChannel("chat")  # type: ignore
            await body(clock, running)
    asyncio.run(main())


async def post(r: Running, events: list[dict[str, str]]) -> int:
    async with r.http.post(f"{r.url}/channels/chat/webhook", data=json.dumps(events)) as answer:
        return answer.status


async def received(r: Running) -> int:
    """How many customers' messages reached a conversation."""
    return len(await r.server.store.list_conversations(channel="chat"))


def test_a_big_delivery_is_answered_once_stored_and_processed_by_the_worker(
        tmp_path: Path) -> None:
    async def body(clock: FrozenClock, r: Running) -> None:
        r.server.inbox.inline_budget = 0.0  # nothing inline: everything to the worker
        batch = [{"from": f"u{i}", "id": f"m{i}", "text": "hi"} for i in range(30)]
        assert await post(r, batch) == 200
        assert await received(r) == 0
        assert (await r.server.store.queue_depths()).inbox_pending == 30
        assert await post(r, batch) == 200  # a redelivery before processing: stored once
        assert await r.server.inbox.run_once() == 30
        assert await received(r) == 30
        async with r.http.get(f"{r.url}/metrics") as answer:
            assert "supportctl_inbox_pending 0.0" in await answer.text()
        assert await r.server.inbox.run_once() == 0
    run(body, tmp_path)


def test_a_small_delivery_is_processed_before_the_answer(tmp_path: Path) -> None:
    async def body(clock: FrozenClock, r: Running) -> None:
        assert await post(r, [{"from": "ann", "id": "m1", "text": "hi"}]) == 200
        assert await received(r) == 1
        assert await r.server.inbox.run_once() == 0
    run(body, tmp_path)


def test_processing_that_fails_is_retried_and_a_crashed_holder_is_taken_over(
        tmp_path: Path) -> None:
    async def body(clock: FrozenClock, r: Running) -> None:
        inbox = r.server.inbox
        inbox.random = lambda: 1.0  # the longest backoff: 2 s after the first failure
        receive = r.server.desk.receive
        failures = [Unavailable("database is locked")]

        async def flaky(event: Any) -> str:
            if failures:
                raise failures.pop()
            return await receive(event)

        r.server.desk.receive = flaky  # type: ignore[method-assign]
        assert await post(r, [{"from": "ann", "id": "m1", "text": "hi"}]) == 200
        assert await received(r) == 0  # stored, not processed: the answer is still a 2xx
        assert await inbox.run_once() == 0  # not due yet
        clock.advance(timedelta(seconds=2))
        assert await inbox.run_once() == 1
        assert await received(r) == 1

        # a webhook stored a delivery and died before processing it: its claim lapses
        event = InboundMessage("chat", "m2", ContactRef("bob"), clock.now(), text="hello")
        delivery = await inbox.store_delivery("chat", [event])
        assert await inbox.run_once() == 0
        clock.advance(timedelta(seconds=61))
        assert await inbox.run_once() == 1
        item = await r.server.store.get_inbox(delivery.items[0].id)
        assert item.state is InboxState.DONE
        assert await received(r) == 2
    run(body, tmp_path)
