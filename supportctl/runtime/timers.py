"""The timer worker: fires escalation, auto-close and CSAT timers from the work queue, and watches
shift boundaries (handover at shift end, queues drained when agents come on shift).

Timers are jobs of the work queue, so a restart loses none: whatever fell due while the server
was down fires when it is back. A timer's firing is a conversation change that finishes the
timer's job in the same transaction; activity that re-arms or cancels the timer meanwhile takes
the claim away, so a stale firing is never applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from typing import Any

import structlog

from supportctl.runtime.clock import Clock
from supportctl.runtime.desk import Desk
from supportctl.runtime.metrics import Metrics
from supportctl.runtime.work import Left, Outcome, QueueWorker, Recorded
from supportctl.store.interface import ClaimLost, NotFound, Store, StoreError
from supportctl.store.records import Job, Queue

log = structlog.get_logger("supportctl.timers")

# receipts (the inbound dedupe keys) and other done jobs are kept well past the longest
# redelivery horizon (WhatsApp retries for 7 days)
DEDUPE_KEEP = timedelta(days=30)
PRUNE_EVERY = 3600.0  # seconds


class TimerWorker(QueueWorker):
    queue = Queue.TIMERS

    def __init__(self, store: Store, desk: Desk, clock: Clock, metrics: Metrics, *,
                 instance: str, tick_interval: float = 30.0, batch: int = 50,
                 **options: Any) -> None:
        super().__init__(store, clock, metrics, instance=instance, batch=batch, **options)
        self.desk = desk
        self.tick_interval = tick_interval

    async def run_once(self) -> int:
        """Fire every timer due now; how many were handled."""
        fired = 0
        while True:
            handled = await super().run_once()
            fired += handled
            if handled < self.batch:
                return fired

    async def handle(self, job: Job, holder: str) -> Outcome:
        try:
            await self.desk.fire(job, holder)
        except ClaimLost:
            return Left("re-armed or cancelled while due")
        except NotFound:
            await self.store.finish(job.id, holder, self.clock.now())
        return Recorded()

    async def prune(self) -> int:
        """Forget done jobs (receipts are the inbound dedupe keys) older than DEDUPE_KEEP."""
        older_than = self.clock.now() - DEDUPE_KEEP
        pruned = await self.store.prune_jobs(older_than)
        if pruned:
            log.info("done jobs pruned", count=pruned, older_than_days=DEDUPE_KEEP.days)
        return pruned

    async def run(self, stop: asyncio.Event) -> None:
        """Fire timers until `stop`, ticking shift boundaries and pruning on the side."""
        ticker = asyncio.create_task(self._tick(stop))
        try:
            await super().run(stop)
        finally:
            await ticker

    async def _tick(self, stop: asyncio.Event) -> None:
        next_tick = next_prune = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_tick:
                    await self.desk.tick()
                    next_tick = time.monotonic() + self.tick_interval
                if time.monotonic() >= next_prune:
                    await self.prune()
                    next_prune = time.monotonic() + PRUNE_EVERY
            except StoreError as exc:
                log.warning("shift tick failed: database unavailable; trying again",
                            error=str(exc))
            except Exception:
                log.exception("shift tick failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(self.tick_interval, 1.0))
