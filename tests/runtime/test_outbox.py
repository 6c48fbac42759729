"""The delivery worker against a real SQLite store, a collecting channel and a frozen clock."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from transitions import open_conversation, send

from supportctl.plugins.channel import (
    ContactRef,
    OutboundMessage,
    OutboundText,
    SendError,
    SendResult,
)
from supportctl.plugins.testing import CollectingChannel
from supportctl.runtime.clock import FrozenClock
from supportctl.runtime.metrics import Metrics
from supportctl.runtime.outbox import OutboxWorker
from supportctl.runtime.payloads import to_payload
from supportctl.store import SQLiteStore
from supportctl.store.records import Job, Message, MessageStatus, Queue
from supportctl.store.transition import Lease

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TEMPORARY = SendError("500", "server error", permanent=False)
REENGAGEMENT = SendError("131047", "Re-engagement message", permanent=True, window_closed=True)


class Env:
    def __init__(self, store: SQLiteStore, channel: CollectingChannel) -> None:
        self.store = store
        self.channel = channel
        self.clock = FrozenClock(T0)
        self.metrics = Metrics()
        self.channels: dict[str, CollectingChannel] = {"wa": channel}

    def worker(self, **kwargs: Any) -> OutboxWorker:
        return OutboxWorker(self.store, lambda: self.channels, self.clock, self.metrics,
                            instance="w1", **kwargs)

    async def conversation(self, user: str = "u1") -> str:
        phone = f"+49151{sum(map(ord, user)):08d}"  # distinct: one contact per user
        contact = await self.store.resolve_contact("wa", user, T0, name=f"Name {user}",
                                                   phone=phone)
        return (await open_conversation(self.store, contact.id, "wa", T0)).id

    async def queue(self, conversation: str, text: str, channel: str = "wa",
                    payload: dict[str, Any] | None = None) -> Message:
        return await send(self.store, await self.store.get_conversation(conversation),
                          payload if payload is not None else to_payload(OutboundText(text)),
                          self.clock.now(), channel=channel)

    async def probe(self, at: datetime, limit: int = 10) -> list[Job]:
        """Claim the outbox as another worker would at `at` (for a second)."""
        return await self.store.claim(Queue.OUTBOX, Lease("probe", "probe",
                                                          at + timedelta(seconds=1)), at, limit)

    def count(self, result: str, channel: str = "wa") -> float:
        value = self.metrics.registry.get_sample_value(
            "supportctl_outbound_messages_total", {"channel": channel, "result": result})
        return value or 0.0


def run(tmp_path: Path, body: Callable[[Env], Awaitable[None]],
        channel: CollectingChannel | None = None) -> None:
    async def main() -> None:
        store = await SQLiteStore.open(tmp_path / "s.db")
        try:
            await body(Env(store, channel or CollectingChannel("wa")))
        finally:
            await store.close()

    asyncio.run(main())


def test_sends_and_marks_sent_with_the_external_id(tmp_path: Path) -> None:
    sent: list[Message] = []

    async def on_sent(message: Message, *_: Any) -> None:
        sent.append(message)

    async def body(env: Env) -> None:
        conv = await env.conversation()
        first = await env.queue(conv, "hello")
        second = await env.queue(conv, "how can we help?")
        worker = env.worker(on_sent=on_sent)
        assert await worker.run_once() == 2
        assert await worker.run_once() == 0
        assert env.channel.texts() == ["hello", "how can we help?"]
        assert env.channel.sent[0].to == ContactRef("u1", name="Name u1", phone="+4915100000166")
        stored = [await env.store.get_message(m.id) for m in (first, second)]
        assert [(m.status, m.external_id) for m in stored] == [
            (MessageStatus.SENT, "collected-1"), (MessageStatus.SENT, "collected-2")]
        assert stored[0].sent_at == T0
        assert [(m.id, m.status, m.external_id) for m in sent] == [
            (first.id, MessageStatus.SENT, "collected-1"),
            (second.id, MessageStatus.SENT, "collected-2")]
        assert env.count("sent") == 2
        assert (await env.store.queue_depths()).pending[Queue.OUTBOX] == 0

    run(tmp_path, body)


def test_temporary_failure_is_retried_after_a_jittered_backoff(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        conv = await env.conversation()
        message = await env.queue(conv, "hello")
        env.channel.fail_next(TEMPORARY, TEMPORARY)
        worker = env.worker(random=random.Random(7).random, base_delay=2.0)
        expected = random.Random(7)
        first_delay = max(0.5, expected.random() * 2.0)  # attempt 1: cap 2 s
        second_delay = max(0.5, expected.random() * 4.0)  # attempt 2: cap 4 s

        assert await worker.run_once() == 1
        item = (await env.probe(T0 + timedelta(hours=1)))[0]
        assert item.key == message.id
        assert item.attempts == 1 and item.last_error == "500: server error"
        assert item.due_at == pytest.approx(T0 + timedelta(seconds=first_delay),
                                                     abs=timedelta(microseconds=1))
        assert 0.5 <= first_delay <= 2.0
        # the probe's claim lapses; not due before the backoff is over
        env.clock.set(T0 + timedelta(hours=1, seconds=2))
        assert (await env.store.get_message(message.id)).status is MessageStatus.QUEUED
        assert env.count("retry") == 1

        t1 = env.clock.now()
        assert await worker.run_once() == 1  # second attempt fails too
        again = await env.store.get_job(item.id)
        assert again.attempts == 2
        assert again.due_at == pytest.approx(t1 + timedelta(seconds=second_delay),
                                                      abs=timedelta(microseconds=1))
        env.clock.set(again.due_at - timedelta(milliseconds=1))
        assert await worker.run_once() == 0
        env.clock.set(again.due_at)
        assert await worker.run_once() == 1
        assert env.channel.texts() == ["hello"]
        assert (await env.store.get_message(message.id)).status is MessageStatus.SENT
        assert env.count("retry") == 2 and env.count("sent") == 1

    run(tmp_path, body)


def test_a_retry_waits_at_least_as_long_as_the_provider_asked(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        conv = await env.conversation()
        await env.queue(conv, "hello")
        env.channel.fail_next(SendError("429", "Too Many Requests", permanent=False,
                                        retry_after=30.0))
        worker = env.worker(random=lambda: 1.0, base_delay=2.0)  # our own backoff: 2 s
        assert await worker.run_once() == 1
        env.clock.set(T0 + timedelta(seconds=29))
        assert await worker.run_once() == 0
        env.clock.set(T0 + timedelta(seconds=30))
        assert await worker.run_once() == 1
        assert env.channel.texts() == ["hello"]

    run(tmp_path, body)


def test_backoff_is_full_jitter_under_an_exponential_cap(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        top = env.worker(random=lambda: 0.999999, base_delay=2.0, max_delay=60.0)
        assert [round(top.retry_delay(n)) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
        bottom = env.worker(random=lambda: 0.0)
        assert bottom.retry_delay(1) == 0.5  # never sooner than half a second
        seeded = env.worker(random=random.Random(42).random, base_delay=2.0, max_delay=900.0)
        for attempts in range(1, 12):
            for _ in range(20):
                delay = seeded.retry_delay(attempts)
                assert 0.5 <= delay <= min(900.0, 2.0 * 2 ** (attempts - 1))

    run(tmp_path, body)


def test_permanent_failure_marks_the_message_failed_and_reports_the_closed_window(
        tmp_path: Path) -> None:
    closed: list[tuple[str, SendError]] = []

    async def on_window_closed(message: Message, error: SendError) -> None:
        closed.append((message.id, error))

    async def body(env: Env) -> None:
        conv = await env.conversation()
        message = await env.queue(conv, "are you still there?")
        env.channel.fail_next(REENGAGEMENT)
        worker = env.worker(on_window_closed=on_window_closed)
        assert await worker.run_once() == 1
        stored = await env.store.get_message(message.id)
        assert stored.status is MessageStatus.FAILED
        assert stored.error == "131047: Re-engagement message"
        assert stored.failed_at == T0
        assert closed == [(message.id, REENGAGEMENT)]
        assert env.count("failed") == 1 and env.count("retry") == 0
        env.clock.advance(timedelta(days=1))
        assert await worker.run_once() == 0  # failed for good
        assert env.channel.sent == []

    run(tmp_path, body)


def test_attempts_are_exhausted_after_max_attempts(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        conv = await env.conversation()
        message = await env.queue(conv, "hello")
        env.channel.fail_next(TEMPORARY, TEMPORARY, TEMPORARY, TEMPORARY)
        worker = env.worker(max_attempts=3)
        for _ in range(3):
            assert await worker.run_once() == 1
            env.clock.advance(timedelta(hours=1))
        assert await worker.run_once() == 0
        stored = await env.store.get_message(message.id)
        assert stored.status is MessageStatus.FAILED
        assert stored.error is not None and stored.error.startswith("500: server error")
        assert "3 attempts" in stored.error
        assert env.count("retry") == 2 and env.count("failed") == 1

    run(tmp_path, body)


class SlowChannel(CollectingChannel):
    """Sends that take a number of event loop turns given by the text's `slow=N` prefix."""

    def __init__(self) -> None:
        super().__init__("wa")
        self.in_flight: dict[str, int] = {}
        self.max_total = 0
        self.max_per_contact = 0
        self.order: list[str] = []

    async def send(self, to: ContactRef, message: OutboundMessage) -> SendResult:
        assert isinstance(message, OutboundText)
        self.in_flight[to.external_id] = self.in_flight.get(to.external_id, 0) + 1
        self.max_total = max(self.max_total, sum(self.in_flight.values()))
        self.max_per_contact = max(self.max_per_contact, *self.in_flight.values())
        for _ in range(int(message.text.split("=")[1].split()[0])):
            await asyncio.sleep(0)
        self.in_flight[to.external_id] -= 1
        self.order.append(message.text)
        return await super().send(to, message)


def test_conversation_order_is_kept_while_conversations_go_in_parallel(
        tmp_path: Path) -> None:
    channel = SlowChannel()

    async def body(env: Env) -> None:
        a = await env.conversation("a")
        b = await env.conversation("b")
        c = await env.conversation("c")
        for i, slow in enumerate((200, 0, 50)):  # the first of each is the slowest
            for conv, name in ((a, "a"), (b, "b"), (c, "c")):
                await env.queue(conv, f"slow={slow} {name}{i}")
        worker = env.worker(concurrency=4)
        assert await worker.run_once() == 9
        for name in "abc":
            assert [t.split()[1] for t in env.channel.texts(name)] == [
                f"{name}0", f"{name}1", f"{name}2"]
        assert channel.max_per_contact == 1

    run(tmp_path, body, channel)


class PairingChannel(CollectingChannel):
    """Each send waits for a partner send, so a worker sending two at a time progresses and
    the most sends in flight at once is measured whatever the store's speed."""

    def __init__(self) -> None:
        super().__init__("wa")
        self.arrivals = 0
        self.in_flight = 0
        self.max_total = 0
        self.turn = asyncio.Condition()

    async def send(self, to: ContactRef, message: OutboundMessage) -> SendResult:
        async with self.turn:
            self.arrivals += 1
            self.in_flight += 1
            self.max_total = max(self.max_total, self.in_flight)
            pair_complete = (self.arrivals + 1) // 2 * 2
            self.turn.notify_all()
            await self.turn.wait_for(lambda: self.arrivals >= pair_complete)
            self.in_flight -= 1
        return await super().send(to, message)


def test_concurrency_caps_sends_in_flight(tmp_path: Path) -> None:
    channel = PairingChannel()

    async def body(env: Env) -> None:
        for i in range(6):
            await env.queue(await env.conversation(f"u{i}"), "x")
        assert await asyncio.wait_for(env.worker(concurrency=2).run_once(), 1) == 6
        assert channel.max_total == 2
        assert len(channel.sent) == 6

    run(tmp_path, body, channel)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        # let every task that is ready run first, as time would not pass before they did
        target = self.now + seconds
        for _ in range(20):
            await asyncio.sleep(0)
        self.now = max(self.now, target)


class TimedChannel(CollectingChannel):
    def __init__(self, time: FakeTime) -> None:
        super().__init__("wa")
        self.time = time
        self.at: list[float] = []

    async def send(self, to: ContactRef, message: OutboundMessage) -> SendResult:
        self.at.append(self.time.now)
        return await super().send(to, message)


def test_sends_keep_to_the_channel_rate(tmp_path: Path) -> None:
    fake = FakeTime()
    channel = TimedChannel(fake)

    async def body(env: Env) -> None:
        for i in range(5):
            await env.queue(await env.conversation(f"u{i}"), f"m{i}")
        worker = env.worker(concurrency=4, rates={"wa": (2.0, 2)}, monotonic=fake.monotonic,
                            sleep=fake.sleep)
        assert await worker.run_once() == 5
        assert channel.at == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.5])
        assert len(env.channel.sent) == 5

    run(tmp_path, body, channel)


def test_unknown_channel_bad_payload_and_missing_identity_fail_for_good(
        tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        env.channels["sms"] = CollectingChannel("sms")
        conv = await env.conversation()
        gone = await env.queue(conv, "to a removed channel", channel="gone")
        bad = await env.queue(conv, "", payload={"bogus": True})
        no_identity = await env.queue(conv, "by sms", channel="sms")
        assert await env.worker().run_once() == 3
        stored = {m.id: await env.store.get_message(m.id) for m in (gone, bad, no_identity)}
        assert all(m.status is MessageStatus.FAILED for m in stored.values())
        assert "'gone' is not configured" in (stored[gone.id].error or "")
        assert "not an outbound message" in (stored[bad.id].error or "")
        assert "no identity on channel 'sms'" in (stored[no_identity.id].error or "")
        assert env.channel.sent == [] and env.count("failed", "gone") == 1

    run(tmp_path, body)


class BuggyChannel(CollectingChannel):
    async def send(self, to: ContactRef, message: OutboundMessage) -> SendResult:
        raise RuntimeError("plugin bug")


def test_a_send_that_raises_is_a_temporary_error(tmp_path: Path) -> None:
    async def body(env: Env) -> None:
        conv = await env.conversation()
        message = await env.queue(conv, "hello")
        assert await env.worker().run_once() == 1
        stored = await env.store.get_message(message.id)
        assert stored.status is MessageStatus.QUEUED
        assert env.count("retry") == 1
        item = (await env.probe(T0 + timedelta(hours=1), 1))[0]
        assert item.last_error is not None and "RuntimeError('plugin bug')" in item.last_error

    run(tmp_path, body, BuggyChannel("wa"))


class GatedChannel(CollectingChannel):
    def __init__(self) -> None:
        super().__init__("wa")
        self.started = asyncio.Event()
        self.gate = asyncio.Event()

    async def send(self, to: ContactRef, message: OutboundMessage) -> SendResult:
        self.started.set()
        await self.gate.wait()
        return await super().send(to, message)


def test_run_stops_after_draining_sends_in_flight(tmp_path: Path) -> None:
    channel = GatedChannel()

    async def body(env: Env) -> None:
        first = await env.queue(await env.conversation("u1"), "in flight")
        second = await env.queue(await env.conversation("u2"), "not started")
        worker = env.worker(concurrency=1, poll_interval=30)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await asyncio.wait_for(channel.started.wait(), 1)
        stop.set()
        for _ in range(5):
            await asyncio.sleep(0)
        assert not task.done()  # waits for the send in flight
        channel.gate.set()
        await asyncio.wait_for(task, 1)
        assert (await env.store.get_message(first.id)).status is MessageStatus.SENT
        # the item that had not started is left for the next claim once its lease lapses
        assert (await env.store.get_message(second.id)).status is MessageStatus.QUEUED
        env.clock.advance(timedelta(minutes=2))
        assert await worker.run_once() == 1
        assert (await env.store.get_message(second.id)).status is MessageStatus.SENT

    run(tmp_path, body, channel)


def test_wake_makes_an_idle_worker_send_at_once(tmp_path: Path) -> None:
    sent = asyncio.Event()

    async def on_sent(message: Message, *_: Any) -> None:
        sent.set()

    async def body(env: Env) -> None:
        conv = await env.conversation()
        worker = env.worker(poll_interval=30, on_sent=on_sent)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        for _ in range(10):
            await asyncio.sleep(0)  # the worker found nothing and is idle now
        message = await env.queue(conv, "hello")
        worker.wake()
        await asyncio.wait_for(sent.wait(), 1)
        stop.set()
        await asyncio.wait_for(task, 1)  # an idle worker stops at once
        assert (await env.store.get_message(message.id)).status is MessageStatus.SENT
        assert (await env.store.queue_depths()).pending[Queue.OUTBOX] == 0

    run(tmp_path, body)
