"""Webhook deliveries: stored first, answered, processed in order, retried after a crash.

A channel's webhook hands its events to `Inbox.store`, which keeps them in the database's inbox
(deduplicated by channel and key) in one transaction; only then may the provider get a 2xx. The
webhook processes what it stored for at most `inline_budget` seconds, so a small delivery is
processed before the answer (an agent sees it at once, tests read it back at once), and a large
batch is answered in time while the rest is processed by the inbox worker. Items a crashed
process was holding are taken again when their claim lapses.
"""

from __future__ import annotations

import asyncio
import contextlib
import random as _random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import structlog

from supportctl.plugins.channel import InboundEvent
from supportctl.runtime.backoff import full_jitter, idle
from supportctl.runtime.clock import Clock
from supportctl.runtime.desk import Desk
from supportctl.runtime.inbound_json import (
    EventDecodeError,
    event_from_json,
    event_key,
    event_to_json,
)
from supportctl.store.interface import Store, StoreError
from supportctl.store.records import InboxItem

log = structlog.get_logger("supportctl.inbox")

CLAIM_FOR = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery's new items (duplicates already dropped), claimed by `worker`."""

    worker: str
    items: tuple[InboxItem, ...]


class Inbox:
    def __init__(self, store: Store, desk: Desk, clock: Clock, *, worker_id: str,
                 inline_budget: float = 2.0, max_attempts: int = 8, base_delay: float = 2.0,
                 max_delay: float = 600.0, batch: int = 100, poll_interval: float = 1.0,
                 random: Callable[[], float] = _random.random) -> None:
        self.store = store
        self.desk = desk
        self.clock = clock
        self.worker_id = worker_id
        self.inline_budget = inline_budget
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.batch = batch
        self.poll_interval = poll_interval
        self.random = random
        self._wake = asyncio.Event()

    async def store_delivery(self, channel: str, events: Sequence[InboundEvent]) -> Delivery:
        """Keep a delivery's events durably, claimed for the caller to process.
        Raises StoreError when nothing was stored (the provider must deliver again)."""
        worker = f"{self.worker_id}:webhook-{uuid.uuid4().hex[:12]}"
        now = self.clock.now()
        added = await self.store.enqueue_inbound(
            channel, [(event_key(e), event_to_json(e)) for e in events], now,
            hold=(worker, now + CLAIM_FOR))
        return Delivery(worker, tuple(item for item in added if item is not None))

    async def process(self, delivery: Delivery, budget: float | None = None) -> bool:
        """Process a stored delivery in order, for at most `budget` seconds (None: all of it);
        what is left goes to the worker. True when everything was processed here."""
        deadline = None if budget is None else time.monotonic() + budget
        for index, item in enumerate(delivery.items):
            if deadline is not None and time.monotonic() >= deadline:
                await self.release(delivery.items[index:], delivery.worker)
                log.info("delivery answered before it was processed whole", left=len(
                    delivery.items) - index, channel=item.channel)
                return False
            await self._handle(item, delivery.worker)
        return True

    async def release(self, items: Sequence[InboxItem], worker: str) -> None:
        for item in items:
            await self.store.inbox_release(item.id, worker)
        if items:
            self._wake.set()

    async def run_once(self) -> int:
        """Claim due items and process them oldest first; how many were handled."""
        now = self.clock.now()
        items = await self.store.claim_inbox(self.worker_id, now, now + CLAIM_FOR, self.batch)
        for item in items:
            await self._handle(item, self.worker_id)
        return len(items)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                handled = await self.run_once()
            except StoreError as exc:
                log.warning("inbox unavailable; trying again", error=str(exc))
                handled = 0
            if not handled:
                await idle(self._wake, stop, self.poll_interval)

    def retry_delay(self, attempts: int) -> float:
        return full_jitter(attempts, self.base_delay, self.max_delay, self.random)

    async def _handle(self, item: InboxItem, worker: str) -> None:
        bound = log.bind(channel=item.channel, key=item.key, inbox_id=item.id)
        try:
            event = event_from_json(item.event)
            await self.desk.receive(event)
        except EventDecodeError as exc:
            bound.error("inbox item cannot be decoded; dropped", error=str(exc))
            await self._failed(item, worker, str(exc), retry=False)
            return
        except StoreError as exc:
            bound.warning("processing failed: database unavailable; retrying", error=str(exc))
            await self._failed(item, worker, str(exc), retry=True)
            return
        except Exception as exc:
            bound.exception("processing an inbound event failed")
            await self._failed(item, worker, f"{type(exc).__name__}: {exc}", retry=True)
            return
        try:
            await self.store.inbox_done(item.id, worker, self.clock.now())
        except StoreError as exc:
            # processed but not marked: processing again is harmless, the desk deduplicates
            bound.warning("processed, but not marked done", error=str(exc))

    async def _failed(self, item: InboxItem, worker: str, error: str, *, retry: bool) -> None:
        attempts = item.attempts + 1
        now = self.clock.now()
        retry_at = (now + timedelta(seconds=self.retry_delay(attempts))
                    if retry and attempts < self.max_attempts else None)
        with contextlib.suppress(StoreError):  # then the claim lapses and it is taken again
            await self.store.inbox_failed(item.id, worker, now, error, retry_at)
