"""The workers of the one work queue: claim due jobs with a lease, handle them, record how it went.

Webhook receipts, the outbox, notifications and timers are rows of one queue (`Store.claim`,
`finish`, `retry`, `park`); each has a worker class that only says how to handle one of its jobs.
What they share lives here:
- a claim names this process (`instance`), so a restarted or replacing process takes over the
  claims of one found dead at once (supportctl/runtime/liveness.py), not after the lease;
- a failed attempt is retried after exponential backoff with full jitter, never sooner than the
  other side asked (`Retry-After`), and parked after `max_attempts`: kept with its error,
  counted in `/metrics` (`supportctl_work_parked`), never silently done;
- a handler that raises is a bug there: logged with its traceback and treated as a failed
  attempt, so it is retried and in the end parked, never lost;
- on stop, attempts in flight finish and are recorded; claimed jobs not started are left for
  their lease to lapse (or for the next process of this host to take at once).
"""

from __future__ import annotations

import asyncio
import random as _random
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

import structlog

from supportctl.runtime.backoff import full_jitter, idle
from supportctl.runtime.clock import Clock
from supportctl.runtime.metrics import Metrics
from supportctl.store.interface import Store, StoreError
from supportctl.store.records import Job, Queue
from supportctl.store.transition import Lease

log = structlog.get_logger("supportctl.work")


@dataclass(frozen=True, slots=True)
class Done:
    """The job is done; the worker marks it so."""


@dataclass(frozen=True, slots=True)
class Retry:
    """The attempt failed and may succeed later, not sooner than `not_before` seconds."""

    error: str
    not_before: float = 0.0


@dataclass(frozen=True, slots=True)
class Park:
    """The job can never succeed (a target gone, a payload that cannot be read)."""

    error: str


@dataclass(frozen=True, slots=True)
class Recorded:
    """The handler recorded the outcome itself, in the same transaction as its work (a
    conversation change that finished its receipt, a send that marked its message)."""

    result: str = "done"


@dataclass(frozen=True, slots=True)
class Left:
    """Not attempted: left to its lease (stopping, a claim about to run out, taken by another)."""

    why: str


Outcome = Done | Retry | Park | Recorded | Left


class QueueWorker(ABC):
    """Claims and handles the jobs of one queue; a subclass says how to handle one job."""

    queue: ClassVar[Queue]

    def __init__(self, store: Store, clock: Clock, metrics: Metrics, *, instance: str,
                 concurrency: int = 4, batch: int | None = None,
                 claim_for: timedelta = timedelta(seconds=60), max_attempts: int = 8,
                 base_delay: float = 2.0, max_delay: float = 900.0, min_delay: float = 0.5,
                 poll_interval: float = 1.0,
                 random: Callable[[], float] = _random.random) -> None:
        if concurrency < 1 or max_attempts < 1:
            raise ValueError("concurrency and max_attempts must be at least 1")
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.instance = instance
        self.holder = f"{instance}/{self.queue.value}"
        self.concurrency = concurrency
        self.batch = batch if batch is not None else concurrency * 4
        self.claim_for = claim_for
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.min_delay = min_delay
        self.poll_interval = poll_interval
        self.random = random
        self.stopping = asyncio.Event()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look at the queue now instead of at the next poll (a job was just added)."""
        self._wake.set()

    def lease(self, holder: str | None = None) -> Lease:
        return Lease(holder or self.holder, self.instance, self.clock.now() + self.claim_for)

    def retry_delay(self, attempts: int, not_before: float = 0.0) -> float:
        """Seconds to wait after the `attempts`-th failed attempt: full jitter over an
        exponentially growing cap, but never less than the other side asked for."""
        return max(self.min_delay, not_before,
                   full_jitter(attempts, self.base_delay, self.max_delay, self.random))

    def retry_at(self, job: Job, not_before: float = 0.0) -> datetime | None:
        """When the job's next attempt is due after this failed one; None: give up (park)."""
        attempts = job.attempts + 1
        if attempts >= self.max_attempts:
            return None
        return self.clock.now() + timedelta(seconds=self.retry_delay(attempts, not_before))

    # --- running ----------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim due jobs and handle them; how many were handled."""
        now = self.clock.now()
        jobs = await self.store.claim(self.queue, self.lease(), now, self.batch)
        return await self.work(jobs) if jobs else 0

    async def work(self, jobs: Sequence[Job]) -> int:
        """Handle one claim's jobs, up to `concurrency` at once; how many were handled."""
        slots = asyncio.Semaphore(self.concurrency)

        async def one(job: Job) -> bool:
            async with slots:
                if self.stopping.is_set():
                    return False
                return await self.attempt(job)

        return sum(await asyncio.gather(*(one(job) for job in jobs)))

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; attempts in flight finish."""
        self.stopping = asyncio.Event()
        watcher = asyncio.create_task(self._watch(stop))
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    handled = await self.run_once()
                except StoreError as exc:
                    log.warning("work queue unavailable; trying again", queue=self.queue.value,
                                error=str(exc))
                    handled = 0
                if handled == 0 and not stop.is_set():
                    await idle(self._wake, stop, self.poll_interval)
        finally:
            watcher.cancel()
            self.stopping = asyncio.Event()  # run_once works again after a stop
        log.info("worker stopped", queue=self.queue.value, holder=self.holder)

    async def _watch(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.stopping.set()
        self._wake.set()

    # --- one job ----------------------------------------------------------------------------

    async def attempt(self, job: Job, holder: str | None = None) -> bool:
        """Handle one claimed job and record the outcome; False when it was left alone."""
        holder = holder or self.holder
        try:
            outcome = await self.handle(job, holder)
        except asyncio.CancelledError:
            raise
        except StoreError as exc:
            outcome = Retry(f"database: {exc}")
        except Exception as exc:
            log.exception("job failed", queue=self.queue.value, job_id=job.id, key=job.key,
                          attempt=job.attempts + 1)
            outcome = Retry(f"{type(exc).__name__}: {exc}")
        try:
            return await self.record(job, holder, outcome)
        except StoreError as exc:  # then the lease lapses and the job is taken again
            log.warning("job outcome not recorded", queue=self.queue.value, job_id=job.id,
                        error=str(exc))
            return False

    async def record(self, job: Job, holder: str, outcome: Outcome) -> bool:
        now = self.clock.now()
        if isinstance(outcome, Left):
            return False
        if isinstance(outcome, Recorded):
            self.metrics.work.labels(self.queue.value, outcome.result).inc()
            return True
        if isinstance(outcome, Done):
            if await self.store.finish(job.id, holder, now):
                self.metrics.work.labels(self.queue.value, "done").inc()
            return True
        if isinstance(outcome, Retry):
            retry_at = self.retry_at(job, outcome.not_before)
            if retry_at is not None:
                if await self.store.retry(job.id, holder, now, outcome.error, retry_at):
                    self.metrics.work.labels(self.queue.value, "retry").inc()
                    log.warning("job failed, will retry", queue=self.queue.value,
                                job_id=job.id, error=outcome.error,
                                retry_at=retry_at.isoformat(), attempt=job.attempts + 1)
                return True
            outcome = Park(f"{outcome.error} (gave up after {job.attempts + 1} attempts)")
        if await self.store.park(job.id, holder, now, outcome.error):
            self.metrics.work.labels(self.queue.value, "parked").inc()
            log.error("job parked", queue=self.queue.value, job_id=job.id, key=job.key,
                      error=outcome.error)
            await self.parked(job, outcome.error)
        return True

    async def parked(self, job: Job, error: str) -> None:  # noqa: B027 - most need nothing
        """A job was parked (a subclass makes it visible where people look)."""

    @abstractmethod
    async def handle(self, job: Job, holder: str) -> Outcome:
        """Attempt one job claimed by `holder`."""
