"""The timer worker: fires escalation, auto-close and CSAT timers from the database, and watches
shift boundaries (handover at shift end, queues drained when agents come on shift).

Timers live in the store, so a restart loses none: whatever fell due while the server was down
fires when it is back. Claims make sure one replica fires each timer once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta

import structlog

from supportctl.runtime.clock import Clock
from supportctl.runtime.desk import Desk
from supportctl.store.interface import Store

log = structlog.get_logger("supportctl.timers")

# dedupe keys are kept well past the longest redelivery horizon (WhatsApp retries for 7 days)
DEDUPE_KEEP = timedelta(days=30)
PRUNE_EVERY = 3600.0  # seconds


class TimerWorker:
    def __init__(self, store: Store, desk: Desk, clock: Clock, *, worker_id: str,
                 poll_interval: float = 1.0, tick_interval: float = 30.0, batch: int = 50,
                 claim_for: timedelta = timedelta(seconds=60)) -> None:
        self.store = store
        self.desk = desk
        self.clock = clock
        self.worker_id = worker_id
        self.poll_interval = poll_interval
        self.tick_interval = tick_interval
        self.batch = batch
        self.claim_for = claim_for

    async def run_once(self) -> int:
        """Fire every timer due now; how many fired."""
        fired = 0
        while True:
            now = self.clock.now()
            due = await self.store.claim_due_timers(self.worker_id, now, now + self.claim_for,
                                                    self.batch)
            for timer in due:
                try:
                    await self.desk.fire(timer)
                except Exception:
                    # the claim lapses and the timer is tried again, by us or another replica
                    log.exception("timer failed", timer_id=timer.id, kind=timer.kind.value,
                                  conversation_id=timer.conversation_id)
                    continue
                await self.store.complete_timer(timer.id, self.worker_id)
                fired += 1
            if len(due) < self.batch:
                return fired

    async def prune(self) -> int:
        """Forget inbound dedupe keys and processed inbox items older than DEDUPE_KEEP."""
        older_than = self.clock.now() - DEDUPE_KEEP
        pruned = (await self.store.prune_dedupe(older_than)
                  + await self.store.prune_inbox(older_than))
        if pruned:
            log.info("dedupe keys pruned", count=pruned, older_than_days=DEDUPE_KEEP.days)
        return pruned

    async def run(self, stop: asyncio.Event) -> None:
        next_tick = next_prune = 0.0
        while not stop.is_set():
            try:
                await self.run_once()
                if time.monotonic() >= next_tick:
                    await self.desk.tick()
                    next_tick = time.monotonic() + self.tick_interval
                if time.monotonic() >= next_prune:
                    await self.prune()
                    next_prune = time.monotonic() + PRUNE_EVERY
            except Exception:
                log.exception("timer worker pass failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_interval)
