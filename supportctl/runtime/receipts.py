"""Webhook receipts: deliveries stored first, answered, then processed, retried, never lost.

A channel's webhook (or the web chat API) hands its events to `Receipts.accept`, which stores
them as jobs of the receipts queue in one transaction (a job's key is the channel and the
provider's id, so a redelivery is recognised and stored once); only then may the provider get
a 2xx. While the desk is quiet the request processes what it stored before answering, for at
most `inline_budget` seconds (a customer's message is routed before the answer, an agent sees
it at once); under load it answers as soon as the events are durable and the receipts worker
processes them, a sender's messages in the order they came.

Processing a receipt is one conversation change (`Desk.receive`) that finishes the receipt's
job in its own transaction: a crash before that commit leaves the receipt pending and nothing
else, so the retry starts from the stored message, and a crash after it leaves nothing to redo.
A receipt that keeps failing is parked after `max_attempts`, and its message is shown to people
anyway: stored in its conversation with a note, queued for its team (`Desk.parked`).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from supportctl.plugins.channel import (
    DeliveryStatus,
    InboundEvent,
    InboundMessage,
    InteractiveReply,
)
from supportctl.runtime.clock import Clock
from supportctl.runtime.desk import Desk
from supportctl.runtime.inbound_json import (
    EventDecodeError,
    event_from_json,
    event_key,
    event_to_json,
)
from supportctl.runtime.metrics import Metrics
from supportctl.runtime.work import Left, Outcome, Park, QueueWorker, Recorded
from supportctl.store.interface import ClaimLost, Store
from supportctl.store.records import Job, Queue

log = structlog.get_logger("supportctl.receipts")


def receipt_key(channel: str, event: InboundEvent) -> str:
    """A receipt's idempotency key: the channel and the provider's id of the event."""
    return f"{channel}:{event_key(event)}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery's new jobs (redeliveries already dropped); `holder` holds them when the
    request processes them itself, None when the worker will."""

    holder: str | None
    jobs: tuple[Job, ...]
    duplicates: int = 0


def _sender(job: Job) -> tuple[str, Any]:
    """Whose message a receipt is: a sender's receipts are processed in order."""
    contact = job.payload.get("contact")
    return job.kind, contact.get("external_id") if isinstance(contact, dict) else job.id


class Receipts(QueueWorker):
    queue = Queue.RECEIPTS

    def __init__(self, store: Store, desk: Desk, clock: Clock, metrics: Metrics, *,
                 instance: str, inline_budget: float = 2.0, inline_limit: int = 8,
                 concurrency: int = 16, **options: Any) -> None:
        super().__init__(store, clock, metrics, instance=instance, concurrency=concurrency,
                         **options)
        self.desk = desk
        self.inline_budget = inline_budget
        self.inline_limit = inline_limit
        self._inline = 0  # requests processing their own delivery now
        self._working = 0  # receipts the worker is processing now
        # receipts this process left to the worker, by sender: until they are processed, a
        # later message of the same sender must not overtake them by being processed inline
        self._left: dict[str, tuple[str, Any]] = {}
        self._senders_left: Counter[tuple[str, Any]] = Counter()

    def quiet(self, channel: str, events: Sequence[InboundEvent]) -> bool:
        """Whether a request may process its delivery itself before answering: the worker is
        idle, few requests do so already, and no earlier message of these senders waits."""
        return (self._working == 0 and self._inline < self.inline_limit
                and not any(self._senders_left[(channel, e.contact.external_id)]
                            for e in events if isinstance(e, InboundMessage | InteractiveReply)))

    async def accept(self, channel: str, events: Sequence[InboundEvent]) -> Delivery:
        """Store a delivery durably and, while the desk is quiet, process it before returning.
        Raises StoreError when nothing was stored (the provider must deliver again)."""
        delivery = await self.store_delivery(channel, events, hold=self.quiet(channel, events))
        if delivery.holder is not None:
            await self.process(delivery, self.inline_budget)
        return delivery

    async def store_delivery(self, channel: str, events: Sequence[InboundEvent], *,
                             hold: bool = True) -> Delivery:
        """Keep a delivery's events durably; with `hold`, claimed for the caller to process.
        Raises StoreError when nothing was stored."""
        lease = (self.lease(f"{self.instance}/webhook-{uuid.uuid4().hex[:12]}")
                 if hold else None)
        added = await self.store.enqueue(
            Queue.RECEIPTS, [(receipt_key(channel, e), channel, event_to_json(e))
                             for e in events], self.clock.now(), lease=lease)
        jobs = tuple(job for job in added if job is not None)
        duplicates = len(added) - len(jobs)
        if jobs:
            self.metrics.inbound.labels(channel, "stored").inc(len(jobs))
        if duplicates:
            self.metrics.inbound.labels(channel, "duplicate").inc(duplicates)
        if lease is None and jobs:
            self._leave(jobs)
        return Delivery(lease.holder if lease is not None else None, jobs, duplicates)

    def _leave(self, jobs: Sequence[Job]) -> None:
        """Receipts go to the worker: note their senders, and wake it."""
        for job in jobs:
            sender = _sender(job)
            self._left[job.id] = sender
            self._senders_left[sender] += 1
        self.wake()

    async def process(self, delivery: Delivery, budget: float | None = None) -> bool:
        """Process a held delivery in order, for at most `budget` seconds (None: all of it);
        what is left goes to the worker. True when everything was processed here."""
        assert delivery.holder is not None, "only a held delivery is processed by its request"
        deadline = None if budget is None else time.monotonic() + budget
        self._inline += 1
        try:
            for index, job in enumerate(delivery.jobs):
                if deadline is not None and time.monotonic() >= deadline:
                    await self._release(delivery.jobs[index:], delivery.holder)
                    log.info("delivery answered before it was processed whole",
                             left=len(delivery.jobs) - index, channel=job.kind)
                    return False
                await self.attempt(job, delivery.holder)
        finally:
            self._inline -= 1
        return True

    async def _release(self, jobs: Sequence[Job], holder: str) -> None:
        at = self.clock.now()
        for job in jobs:
            await self.store.release(job.id, holder, at)
        self._leave(jobs)

    async def work(self, jobs: Sequence[Job]) -> int:
        """A claim's receipts: different senders at once, each sender's one after another."""
        chains: dict[tuple[str, Any], list[Job]] = {}
        for job in jobs:  # claim order: oldest first
            chains.setdefault(_sender(job), []).append(job)
        slots = asyncio.Semaphore(self.concurrency)

        async def chain(queue: list[Job]) -> int:
            handled = 0
            for job in queue:
                async with slots:
                    if self.stopping.is_set():
                        return handled
                    self._working += 1
                    try:
                        handled += await self.attempt(job)
                    finally:
                        self._working -= 1
                        self._processed(job)
            return handled

        return sum(await asyncio.gather(*(chain(queue) for queue in chains.values())))

    def _processed(self, job: Job) -> None:
        """The worker is through with a receipt (done, retried later or parked)."""
        sender = self._left.pop(job.id, None)
        if sender is not None:
            self._senders_left[sender] -= 1
            if not self._senders_left[sender]:
                del self._senders_left[sender]

    async def handle(self, job: Job, holder: str) -> Outcome:
        try:
            event = event_from_json(job.payload)
        except EventDecodeError as exc:
            return Park(str(exc))
        try:
            await self.desk.receive(event, finish=(job.id, holder))
        except ClaimLost:
            return Left("another holder took the receipt")
        return Recorded()

    async def parked(self, job: Job, error: str) -> None:
        """Show the message of a receipt given up on to people, with a note."""
        try:
            event = event_from_json(job.payload)
        except EventDecodeError:
            return
        if isinstance(event, DeliveryStatus):
            return
        try:
            await self.desk.parked(event, error, job.attempts + 1)
        except Exception:
            log.exception("a parked message could not be shown to agents", job_id=job.id,
                          channel=job.kind)

