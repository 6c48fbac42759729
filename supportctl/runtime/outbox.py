"""The delivery worker: sends the messages the runtime queued in the outbox.

The runtime stores every outbound message with `store.add_message(..., outbox=True)`; this worker
claims due outbox rows with a lease, sends each through its channel's runtime and records the
outcome: `outbox_sent` with the provider's id, `outbox_failed` with a retry time (exponential
backoff with full jitter) for a temporary error, or with none for a permanent error, a channel
that no longer exists, a payload that cannot be decoded, or the last allowed attempt.

Items of one claim are sent concurrently (up to `concurrency`), but a conversation's messages one
after the other in claim order (oldest first), and each channel no faster than its rate limit.
A plugin's `send` that raises is a bug there: logged and treated as a temporary error.

On stop, sends in flight finish and are recorded; items of the claim that had not started are
left alone, and their lease lapses so the next worker (or this one after a restart) takes them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random as _random
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
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
from supportctl.runtime.backoff import full_jitter, idle
from supportctl.runtime.clock import Clock
from supportctl.runtime.metrics import Metrics
from supportctl.runtime.payloads import PayloadError, from_payload
from supportctl.runtime.ratelimit import ChannelRateLimiter, Monotonic, Sleep
from supportctl.store.interface import NotFound, Store, StoreError
from supportctl.store.records import Message, MessageStatus, OutboxItem

log = structlog.get_logger("supportctl.outbox")

MIN_RETRY_DELAY = 0.5  # seconds: a retry is never scheduled sooner than this
# an item is not sent when its lease has less than this left: another worker may take it soon
CLAIM_MARGIN = timedelta(seconds=1)

OnSent = Callable[[Message], Awaitable[None]]
OnWindowClosed = Callable[[Message, SendError], Awaitable[None]]


def error_text(error: SendError) -> str:
    """The channel's error as kept on the message: `131047: Re-engagement message`."""
    return f"{error.code}: {error.message}" if error.code else error.message


class _Permanent(Exception):
    """An item that can never be sent (no channel, no message, no identity, bad payload)."""


class OutboxWorker:
    """Claims and sends outbox items; see the module docstring.

    `channels` is called for every claim, so a reload that adds or removes channels takes effect
    at once. `rates` maps channel ids to `(messages per second, burst)`; channels without an
    entry are not limited. `monotonic` and `sleep` drive the rate limits (tests replace them).
    """

    def __init__(self, store: Store, channels: Callable[[], Mapping[str, ChannelRuntime]],
                 clock: Clock, metrics: Metrics, *, worker_id: str, concurrency: int = 4,
                 claim_for: timedelta = timedelta(seconds=60), max_attempts: int = 8,
                 base_delay: float = 2.0, max_delay: float = 900.0,
                 rates: Mapping[str, tuple[float, int]] | None = None,
                 poll_interval: float = 1.0, on_sent: OnSent | None = None,
                 on_window_closed: OnWindowClosed | None = None,
                 random: Callable[[], float] = _random.random,
                 batch_size: int | None = None,
                 monotonic: Monotonic = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if claim_for <= CLAIM_MARGIN:
            raise ValueError(f"claim_for must be longer than {CLAIM_MARGIN}")
        self.store = store
        self.channels = channels
        self.clock = clock
        self.metrics = metrics
        self.worker_id = worker_id
        self.concurrency = concurrency
        self.claim_for = claim_for
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.poll_interval = poll_interval
        self.on_sent = on_sent
        self.on_window_closed = on_window_closed
        self.random = random
        self.batch_size = batch_size if batch_size is not None else concurrency * 4
        self.limits = ChannelRateLimiter(rates, monotonic=monotonic, sleep=sleep)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    # --- public -------------------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the outbox now instead of at the next poll (a message was just queued)."""
        self._wake.set()

    def retry_delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (full jitter)."""
        return max(MIN_RETRY_DELAY, full_jitter(attempts, self.base_delay, self.max_delay,
                                                self.random))

    async def run_once(self) -> int:
        """Claim due items and deliver them; how many were handled (sent, retried or failed)."""
        now = self.clock.now()
        items = await self.store.claim_outbox(self.worker_id, now, now + self.claim_for,
                                              self.batch_size)
        if not items:
            return 0
        chains: dict[str, list[OutboxItem]] = {}
        for item in items:  # claim order: oldest first
            chains.setdefault(item.conversation_id, []).append(item)
        slots = asyncio.Semaphore(self.concurrency)
        counts = await asyncio.gather(*(self._chain(chain, slots) for chain in chains.values()))
        return sum(counts)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, then let the sends in flight finish and return."""
        self._stopping = asyncio.Event()
        watcher = asyncio.create_task(self._watch(stop))
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    handled = await self.run_once()
                except StoreError as exc:
                    log.warning("outbox claim failed", error=str(exc), worker=self.worker_id)
                    handled = 0
                if handled == 0 and not stop.is_set():
                    await idle(self._wake, stop, self.poll_interval)
        finally:
            watcher.cancel()
            self._stopping = asyncio.Event()  # run_once works again after a stop
        log.info("outbox worker stopped", worker=self.worker_id)

    # --- one claim ----------------------------------------------------------------------------

    async def _chain(self, items: list[OutboxItem], slots: asyncio.Semaphore) -> int:
        """A conversation's items of one claim, strictly one after the other."""
        handled = 0
        for item in items:
            if self._stopping.is_set():
                break
            try:
                if await self._deliver(item, slots):
                    handled += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # a store failure: the lease lapses and the item is retried
                log.exception("outbox item not recorded", conversation_id=item.conversation_id,
                              channel=item.channel, message_id=item.message_id,
                              outbox_id=item.id)
        return handled

    async def _deliver(self, item: OutboxItem, slots: asyncio.Semaphore) -> bool:
        """Send one item and record the outcome; False when it was left for a later claim."""
        bound = log.bind(conversation_id=item.conversation_id, channel=item.channel,
                         message_id=item.message_id, outbox_id=item.id,
                         attempt=item.attempts + 1)
        if not await self._unless_stopping(slots.acquire()):
            return False
        try:
            try:
                runtime, message, ref, outbound = await self._prepare(item)
            except _Permanent as exc:
                await self._fail(item, None, str(exc), retry=False, bound=bound)
                return True
            if not await self._unless_stopping(self.limits.acquire(item.channel)):
                return False
            if self.clock.now() >= self._lease_end(item) - CLAIM_MARGIN:
                bound.warning("outbox claim ran out before sending; left for the next claim")
                return False
            try:
                result = await runtime.send(ref, outbound)
            except Exception as exc:
                bound.exception("channel send raised instead of returning an error")
                result = SendResult(error=SendError("exception", repr(exc), permanent=False))
        finally:
            slots.release()
        if result.error is None:
            await self._sent(item, message, result, bound)
        else:
            await self._failed_send(item, message, result.error, bound)
        return True

    async def _prepare(self, item: OutboxItem
                       ) -> tuple[ChannelRuntime, Message, ContactRef, OutboundMessage]:
        runtime = self.channels().get(item.channel)
        if runtime is None:
            raise _Permanent(f"channel {item.channel!r} is not configured any more")
        try:
            message = await self.store.get_message(item.message_id)
            conversation = await self.store.get_conversation(item.conversation_id)
            contact = await self.store.get_contact(conversation.contact_id)
        except NotFound as exc:
            raise _Permanent(f"cannot send: {exc}") from exc
        identity = next((i for i in contact.identities if i.channel == item.channel), None)
        if identity is None:
            raise _Permanent(f"contact {contact.id} has no identity on channel {item.channel!r}")
        try:
            outbound = from_payload(message.payload)
        except PayloadError as exc:
            raise _Permanent(str(exc)) from exc
        ref = ContactRef(identity.external_user_id, name=contact.name, phone=identity.phone)
        return runtime, message, ref, outbound

    def _lease_end(self, item: OutboxItem) -> datetime:
        if item.claimed_until is not None:
            return item.claimed_until
        return item.next_attempt_at + self.claim_for  # a store that does not report leases

    # --- outcomes -----------------------------------------------------------------------------

    async def _sent(self, item: OutboxItem, message: Message, result: SendResult,
                    bound: Any) -> None:
        at = self.clock.now()
        self.metrics.outbound.labels(item.channel, "sent").inc()
        recorded = await self.store.outbox_sent(item.id, self.worker_id, at, result.external_id)
        if not recorded:
            bound.warning("message sent but the outbox claim was lost",
                          external_id=result.external_id)
            return
        bound.info("message sent", external_id=result.external_id)
        if self.on_sent is not None:
            sent = dataclasses.replace(
                message, status=MessageStatus.SENT, sent_at=message.sent_at or at,
                external_id=result.external_id or message.external_id)
            await self._callback("on_sent", self.on_sent(sent), bound)

    async def _failed_send(self, item: OutboxItem, message: Message, error: SendError,
                           bound: Any) -> None:
        attempts = item.attempts + 1
        text = error_text(error)
        if error.permanent:
            await self._fail(item, error, text, retry=False, bound=bound)
        elif attempts >= self.max_attempts:
            await self._fail(item, error, f"{text} (gave up after {attempts} attempts)",
                             retry=False, bound=bound)
        else:
            await self._fail(item, error, text, retry=True, bound=bound)
        if error.window_closed and self.on_window_closed is not None:
            await self._callback("on_window_closed", self.on_window_closed(message, error),
                                 bound)

    async def _fail(self, item: OutboxItem, error: SendError | None, text: str, *, retry: bool,
                    bound: Any) -> None:
        at = self.clock.now()
        retry_at: datetime | None = None
        if retry:
            delay = self.retry_delay(item.attempts + 1)
            if error is not None and error.retry_after is not None:
                delay = max(delay, error.retry_after)  # never sooner than the provider asked
            retry_at = at + timedelta(seconds=delay)
            self.metrics.outbound.labels(item.channel, "retry").inc()
        else:
            self.metrics.outbound.labels(item.channel, "failed").inc()
        recorded = await self.store.outbox_failed(item.id, self.worker_id, at, text, retry_at)
        fields: dict[str, Any] = {"error": text}
        if error is not None:
            fields.update(code=error.code, permanent=error.permanent,
                          window_closed=error.window_closed)
        if not recorded:
            bound.warning("send failed and the outbox claim was lost", **fields)
        elif retry_at is not None:
            bound.warning("send failed, will retry", retry_at=retry_at.isoformat(), **fields)
        else:
            bound.error("send failed for good", **fields)

    async def _callback(self, name: str, call: Awaitable[None], bound: Any) -> None:
        try:
            await call
        except Exception:
            bound.exception(f"outbox {name} callback failed")

    # --- waiting ------------------------------------------------------------------------------

    async def _unless_stopping(self, wait: Coroutine[Any, Any, Any]) -> bool:
        """Await `wait` unless the worker stops first; True when it completed (then what it
        acquired is held, even if the worker began stopping meanwhile)."""
        if self._stopping.is_set():
            wait.close()
            return False
        task = asyncio.ensure_future(wait)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
        except BaseException:
            task.cancel()
            raise
        finally:
            stopping.cancel()
        if task.cancelled():
            return False
        task.result()  # re-raise its error
        return True

    async def _watch(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._stopping.set()
        self._wake.set()
