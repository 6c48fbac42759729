"""Webhook receipts (supportctl/runtime/receipts.py): deliveries are stored before the answer,
processed inline within a budget while the desk is quiet, and what is left, failed or abandoned
by a crash is processed later; what keeps failing is parked and shown to people.

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
from supportctl.runtime.inbound_json import event_to_json
from supportctl.store.interface import Unavailable
from supportctl.store.records import ConversationStatus, EventKind, Instance, JobState, Queue
from supportctl.store.transition import Lease

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
        r.server.receipts.inline_budget = 0.0  # nothing inline: everything to the worker
        batch = [{"from": f"u{i}", "id": f"m{i}", "text": "hi"} for i in range(30)]
        assert await post(r, batch) == 200
        assert await received(r) == 0
        assert (await r.server.store.queue_depths()).pending[Queue.RECEIPTS] == 30
        assert await post(r, batch) == 200  # a redelivery before processing: stored once
        r.server.receipts.batch = 100
        assert await r.server.receipts.run_once() == 30
        assert await received(r) == 30
        async with r.http.get(f"{r.url}/metrics") as answer:
            assert 'supportctl_work_pending{queue="receipts"} 0.0' in await answer.text()
        assert await r.server.receipts.run_once() == 0
    run(body, tmp_path)


def test_a_small_delivery_is_processed_before_the_answer(tmp_path: Path) -> None:
    async def body(clock: FrozenClock, r: Running) -> None:
        assert await post(r, [{"from": "ann", "id": "m1", "text": "hi"}]) == 200
        assert await received(r) == 1
        assert await r.server.receipts.run_once() == 0
    run(body, tmp_path)


def test_a_busy_desk_answers_once_stored_and_keeps_each_senders_order(tmp_path: Path) -> None:
    async def body(clock: FrozenClock, r: Running) -> None:
        receipts = r.server.receipts
        receipts.inline_limit = 0  # as when the desk is busy: every request answers at once
        for n, text in enumerate(["first", "second", "third"]):
            assert await post(r, [{"from": "ann", "id": f"a{n}", "text": text}]) == 200
            assert await post(r, [{"from": "bob", "id": f"b{n}", "text": text}]) == 200
        assert await received(r) == 0
        receipts.batch = 10
        assert await receipts.run_once() == 6
        for user in ("ann", "bob"):
            identity = await r.server.store.find_identity("chat", user)
            assert identity is not None
            (conversation,) = await r.server.store.list_conversations(
                contact_id=identity.contact_id)
            texts = [m.payload["text"] for m in await r.server.store.list_messages(
                conversation.id) if m.direction.value == "in"]
            assert texts == ["first", "second", "third"]
    run(body, tmp_path)


def test_processing_that_fails_is_retried_and_a_crashed_holder_is_taken_over(
        tmp_path: Path) -> None:
    async def body(clock: FrozenClock, r: Running) -> None:
        receipts = r.server.receipts
        receipts.random = lambda: 1.0  # the longest backoff: 2 s after the first failure
        receive = r.server.desk.receive
        failures = [Unavailable("database is locked")]

        async def flaky(event: Any, finish: Any = None) -> Any:
            if failures:
                raise failures.pop()
            return await receive(event, finish)

        r.server.desk.receive = flaky  # type: ignore[method-assign]
        assert await post(r, [{"from": "ann", "id": "m1", "text": "hi"}]) == 200
        assert await received(r) == 0  # stored, not processed: the answer is still a 2xx
        assert await receipts.run_once() == 0  # not due yet
        clock.advance(timedelta(seconds=2))
        assert await receipts.run_once() == 1
        assert await received(r) == 1

        # a webhook stored a delivery and died before processing it: its claim lapses
        event = InboundMessage("chat", "m2", ContactRef("bob"), clock.now(), text="hello")
        delivery = await receipts.store_delivery("chat", [event])
        assert await receipts.run_once() == 0
        clock.advance(timedelta(seconds=61))
        assert await receipts.run_once() == 1
        job = await r.server.store.get_job(delivery.jobs[0].id)
        assert job.state is JobState.DONE
        assert await received(r) == 2
    run(body, tmp_path)


def test_the_claims_of_a_dead_process_are_taken_over_at_once(tmp_path: Path) -> None:
    async def body(clock: FrozenClock, r: Running) -> None:
        store, receipts = r.server.store, r.server.receipts
        # a process of this host that was killed: its pid runs no more (the largest pid)
        dead = Instance("dead", r.server.liveness.host, 2 ** 22 + 1, "1", clock.now(),
                        clock.now())
        await store.register_instance(dead)
        event = InboundMessage("chat", "m9", ContactRef("cy"), clock.now(), text="hello")
        (job,) = await store.enqueue(Queue.RECEIPTS, [("chat:m9", "chat", event_to_json(event))],
                                     clock.now(), lease=Lease("dead/webhook", "dead",
                                                              clock.now() + timedelta(hours=1)))
        assert job is not None
        assert await receipts.run_once() == 0  # claimed by the dead process, lease running
        assert await r.server.liveness.reap() == 1
        assert [i.id for i in await store.instances()] == [r.server.instance]
        assert await receipts.run_once() == 1  # at once, not after the hour
        assert await received(r) == 1
    run(body, tmp_path)


def test_a_receipt_that_keeps_failing_is_parked_and_its_message_shown_to_people(
        tmp_path: Path) -> None:
    async def body(clock: FrozenClock, r: Running) -> None:
        receipts = r.server.receipts
        receipts.random = lambda: 0.0  # retry at once (the minimum delay)

        async def broken(event: Any, finish: Any = None) -> Any:
            raise RuntimeError("a bug in processing")

        r.server.desk.receive = broken  # type: ignore[method-assign]
        assert await post(r, [{"from": "dee", "id": "m1", "text": "my order is late"}]) == 200
        for _ in range(receipts.max_attempts):
            clock.advance(timedelta(seconds=1))
            await receipts.run_once()
        (job,) = await r.server.store.list_jobs(Queue.RECEIPTS)
        assert job.state is JobState.PARKED and job.attempts == receipts.max_attempts
        assert "RuntimeError: a bug in processing" in (job.last_error or "")
        assert (await r.server.store.queue_depths()).parked[Queue.RECEIPTS] == 1
        # the message is in its conversation, which waits in its team's queue with a note
        (conversation,) = await r.server.store.list_conversations(channel="chat")
        assert (conversation.status, conversation.team) == (ConversationStatus.QUEUED,
                                                            "support")
        (message,) = await r.server.store.list_messages(conversation.id)
        assert message.payload["text"] == "my order is late"
        kinds = [e.kind for e in await r.server.store.list_events(conversation.id)]
        assert EventKind.PARKED in kinds and EventKind.NOTE in kinds
        async with r.http.get(f"{r.url}/metrics") as answer:
            text = await answer.text()
        assert 'supportctl_work_parked{queue="receipts"} 1.0' in text
        assert 'supportctl_work_processed_total{queue="receipts",result="parked"} 1.0' in text
    run(body, tmp_path)
