"""The outbox worker: delivers queued outbound messages through their channel's runtime.

The desk stores every outbound message with its transition, which queues it as an outbox job;
this worker claims due jobs with a lease (supportctl/runtime/work.py), sends each through its
channel's runtime and records the outcome with the message in one transaction: `outbox_sent`
with the provider's id, or `outbox_failed` with a retry time (exponential backoff with full
jitter, never sooner than the provider's `retry_after`) for a temporary error, or with none,
parking the job and failing the message, for a permanent error, a channel that no longer
exists, a payload that cannot be decoded, or the last allowed attempt.

Jobs of one claim are sent concurrently (up to `concurrency`), but a conversation's messages one
after the other in claim order (oldest first), and each channel no faster than its rate limit.
A plugin's `send` that raises is a bug there: logged and treated as a temporary error.

On stop, sends in flight finish and are recorded; jobs of the claim that had not started are
left alone, and their lease lapses so the next worker (or this one after a restart) takes them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog

from supportctl.plugins.channel import (
    ChannelRuntime,
    ContactRef,
    OutboundMessage,
    SendError,
    SendResult,
)
from supportctl.runtime.clock import Clock
from supportctl.runtime.metrics import Metrics
from supportctl.runtime.payloads import PayloadError, from_payload
from supportctl.runtime.ratelimit import ChannelRateLimiter, Monotonic, Sleep
from supportctl.runtime.work import Left, Outcome, QueueWorker, Recorded
from supportctl.store.interface import NotFound, Store
from supportctl.store.records import Contact, Conversation, Job, Message, Queue

log = structlog.get_logger("supportctl.outbox")

# a job is not sent when its lease has less than this left: another worker may take it soon
CLAIM_MARGIN = timedelta(seconds=1)

OnSent = Callable[[Message, Conversation, Contact], Awaitable[None]]
OnWindowClosed = Callable[[Message, SendError], Awaitable[None]]


def error_text(error: SendError) -> str:
    """The channel's error as kept on the message: `131047: Re-engagement message`."""
    return f"{error.code}: {error.message}" if error.code else error.message


class _Permanent(Exception):
    """A job that can never be sent (no channel, no message, no identity, bad payload)."""


class OutboxWorker(QueueWorker):
    """Claims and sends outbox jobs; see the module docstring.

    `channels` is called for every claim, so a reload that adds or removes channels takes effect
    at once. `rates` maps channel ids to `(messages per second, burst)`; channels without an
    entry are not limited. `monotonic` and `sleep` drive the rate limits (tests replace them).
    """

    queue = Queue.OUTBOX

    def __init__(self, store: Store, channels: Callable[[], Mapping[str, ChannelRuntime]],
                 clock: Clock, metrics: Metrics, *, instance: str, concurrency: int = 4,
                 claim_for: timedelta = timedelta(seconds=60), max_attempts: int = 8,
                 base_delay: float = 2.0, max_delay: float = 900.0,
                 rates: Mapping[str, tuple[float, int]] | None = None,
                 poll_interval: float = 1.0, on_sent: OnSent | None = None,
                 on_window_closed: OnWindowClosed | None = None,
                 random: Callable[[], float] | None = None,
                 batch_size: int | None = None,
                 monotonic: Monotonic = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        if claim_for <= CLAIM_MARGIN:
            raise ValueError(f"claim_for must be longer than {CLAIM_MARGIN}")
        extra: dict[str, Any] = {"random": random} if random is not None else {}
        super().__init__(store, clock, metrics, instance=instance, concurrency=concurrency,
                         batch=batch_size, claim_for=claim_for, max_attempts=max_attempts,
                         base_delay=base_delay, max_delay=max_delay, min_delay=0.5,
                         poll_interval=poll_interval, **extra)
        self.channels = channels
        self.on_sent = on_sent
        self.on_window_closed = on_window_closed
        self.limits = ChannelRateLimiter(rates, monotonic=monotonic, sleep=sleep)

    # --- one claim ----------------------------------------------------------------------------

    async def work(self, jobs: Sequence[Job]) -> int:
        chains: dict[str | None, list[Job]] = {}
        for job in jobs:  # claim order: oldest first
            chains.setdefault(job.conversation_id, []).append(job)
        slots = asyncio.Semaphore(self.concurrency)
        counts = await asyncio.gather(*(self._chain(chain, slots) for chain in chains.values()))
        return sum(counts)

    async def _chain(self, jobs: list[Job], slots: asyncio.Semaphore) -> int:
        """A conversation's jobs of one claim, strictly one after the other."""
        handled = 0
        for job in jobs:
            if self.stopping.is_set():
                break
            if not await self._unless_stopping(slots.acquire()):
                break
            try:
                handled += await self.attempt(job)
            finally:
                slots.release()
        return handled

    async def handle(self, job: Job, holder: str) -> Outcome:
        """Send one job and record the outcome with its message."""
        bound = log.bind(conversation_id=job.conversation_id, channel=job.kind,
                         message_id=job.key, outbox_id=job.id, attempt=job.attempts + 1)
        try:
            runtime, message, conversation, contact, ref, outbound = await self._prepare(job)
        except _Permanent as exc:
            return await self._failed(job, holder, None, str(exc), retry=False, bound=bound)
        if not await self._unless_stopping(self.limits.acquire(job.kind)):
            return Left("stopping")
        if self.clock.now() >= self._lease_end(job) - CLAIM_MARGIN:
            bound.warning("outbox claim ran out before sending; left for the next claim")
            return Left("lease running out")
        try:
            result = await runtime.send(ref, outbound)
        except Exception as exc:
            bound.exception("channel send raised instead of returning an error")
            result = SendResult(error=SendError("exception", repr(exc), permanent=False))
        if result.error is None:
            return await self._sent(job, holder, conversation, contact, result, bound)
        return await self._failed_send(job, holder, message, result.error, bound)

    async def _prepare(self, job: Job) -> tuple[ChannelRuntime, Message, Conversation, Contact,
                                                ContactRef, OutboundMessage]:
        runtime = self.channels().get(job.kind)
        if runtime is None:
            raise _Permanent(f"channel {job.kind!r} is not configured any more")
        try:
            message, conversation, contact = await self.store.outbound(job.key)
        except NotFound as exc:
            raise _Permanent(f"cannot send: {exc}") from exc
        identity = next((i for i in contact.identities if i.channel == job.kind), None)
        if identity is None:
            raise _Permanent(f"contact {contact.id} has no identity on channel {job.kind!r}")
        try:
            outbound = from_payload(message.payload)
        except PayloadError as exc:
            raise _Permanent(str(exc)) from exc
        ref = ContactRef(identity.external_user_id, name=contact.name, phone=identity.phone)
        return runtime, message, conversation, contact, ref, outbound

    def _lease_end(self, job: Job) -> datetime:
        if job.claimed_until is not None:
            return job.claimed_until
        return job.due_at + self.claim_for  # a store that does not report leases

    # --- outcomes -----------------------------------------------------------------------------

    async def _sent(self, job: Job, holder: str, conversation: Conversation, contact: Contact,
                    result: SendResult, bound: Any) -> Outcome:
        self.metrics.outbound.labels(job.kind, "sent").inc()
        sent = await self.store.outbox_sent(job.id, holder, self.clock.now(), result.external_id)
        if sent is None:
            bound.warning("message sent but the outbox claim was lost",
                          external_id=result.external_id)
            return Left("claim lost")
        bound.info("message sent", external_id=result.external_id)
        if self.on_sent is not None:
            await self._callback("on_sent", self.on_sent(sent, conversation, contact), bound)
        return Recorded()

    async def _failed_send(self, job: Job, holder: str, message: Message, error: SendError,
                           bound: Any) -> Outcome:
        outcome = await self._failed(job, holder, error, error_text(error),
                                     retry=not error.permanent, bound=bound)
        if error.window_closed and self.on_window_closed is not None:
            await self._callback("on_window_closed", self.on_window_closed(message, error),
                                 bound)
        return outcome

    async def _failed(self, job: Job, holder: str, error: SendError | None, text: str, *,
                      retry: bool, bound: Any) -> Outcome:
        not_before = (error.retry_after or 0.0) if error is not None else 0.0
        retry_at = self.retry_at(job, not_before) if retry else None
        if retry and retry_at is None:
            text = f"{text} (gave up after {job.attempts + 1} attempts)"
        self.metrics.outbound.labels(job.kind, "retry" if retry_at else "failed").inc()
        recorded = await self.store.outbox_failed(job.id, holder, self.clock.now(), text,
                                                  retry_at)
        fields: dict[str, Any] = {"error": text}
        if error is not None:
            fields.update(code=error.code, permanent=error.permanent,
                          window_closed=error.window_closed)
        if not recorded:
            bound.warning("send failed and the outbox claim was lost", **fields)
            return Left("claim lost")
        if retry_at is not None:
            bound.warning("send failed, will retry", retry_at=retry_at.isoformat(), **fields)
            return Recorded("retry")
        bound.error("send failed for good", **fields)
        return Recorded("parked")

    async def _callback(self, name: str, call: Awaitable[None], bound: Any) -> None:
        try:
            await call
        except Exception:
            bound.exception(f"outbox {name} callback failed")

    # --- waiting ------------------------------------------------------------------------------

    async def _unless_stopping(self, wait: Coroutine[Any, Any, Any]) -> bool:
        """Await `wait` unless the worker stops first; True when it completed (then what it
        acquired is held, even if the worker began stopping meanwhile)."""
        stopping = self.stopping
        if stopping.is_set():
            wait.close()
            return False
        task = asyncio.ensure_future(wait)
        stopped = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
        except BaseException:
            task.cancel()
            raise
        finally:
            stopped.cancel()
        if task.cancelled():
            return False
        task.result()  # re-raise its error
        return True
