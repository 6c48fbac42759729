"""Notifications: what the desk tells notify targets, and the worker that delivers it.

Which targets get what: a routing rule's or an escalation step's `notify` targets get
`conversation.routed` / `conversation.escalated` for that conversation; targets whose config has
an `events` key (integrations: the webhook notifier) also get `conversation.closed` and
`csat.answered` for every conversation, as `events` lists them (see
`supportctl.plugins.notifier.lifecycle_kinds`). A target's `wants` filters both.

The desk queues one row per target in the store (`add_notifications`); this worker claims due
rows with a lease, delivers them concurrently through the targets' runtimes and records the
outcome: delivered; retried after exponential backoff with full jitter, never sooner than the
receiver's `Retry-After`; or failed for good (a permanent error, the last allowed attempt, a
target a reload removed, a payload that cannot be read).
"""

from __future__ import annotations

import asyncio
import random as _random
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog

from supportctl.config.model.stack import StackBase
from supportctl.plugins.notifier import (
    CLOSED,
    CSAT_ANSWERED,
    ESCALATED,
    ROUTED,
    DeliveryResult,
    Notification,
    NotifierRuntime,
    lifecycle_kinds,
    spoken_duration,
)
from supportctl.runtime.backoff import full_jitter, idle
from supportctl.runtime.clock import Clock
from supportctl.runtime.metrics import Metrics
from supportctl.store.interface import Store, StoreError
from supportctl.store.records import JSON, Conversation, NotificationItem

log = structlog.get_logger("supportctl.notifications")

ALERTS = {"routed": ROUTED, "escalation": ESCALATED}
"""The kind of an alert, by the `why` the desk gives it."""
MIN_RETRY_DELAY = 1.0  # seconds
CLAIM_MARGIN = timedelta(seconds=1)


def alert_kind(why: str) -> str:
    """The notification kind of a desk alert ("escalation" -> "conversation.escalated")."""
    return ALERTS.get(why, f"conversation.{why}")


def addressed(notifiers: Mapping[str, NotifierRuntime], targets: Iterable[str],
              kind: str) -> list[str]:
    """The named targets that have a runtime and take `kind`, each once, in order."""
    return [t for t in dict.fromkeys(targets) if t in notifiers and notifiers[t].wants(kind)]


def subscribers(notifiers: Mapping[str, NotifierRuntime], kind: str) -> list[str]:
    """The targets that take the lifecycle event `kind` for every conversation."""
    return sorted(t for t, runtime in notifiers.items()
                  if kind in lifecycle_kinds(runtime.config) and runtime.wants(kind))


def _names(stack: StackBase, conversation: Conversation) -> dict[str, str]:
    names: dict[str, str] = {}
    team = stack.teams.get(conversation.team) if conversation.team else None
    if conversation.team is not None:
        names["team_name"] = (team.name if team is not None else None) or conversation.team
    agent = stack.agents.get(conversation.agent) if conversation.agent else None
    if conversation.agent is not None:
        names["agent_name"] = agent.name if agent is not None else conversation.agent
    channel = stack.channels.get(conversation.channel)
    names["channel_name"] = (channel.name if channel is not None else None) or conversation.channel
    return names


def _what(kind: str, names: Mapping[str, str], data: Mapping[str, Any],
          stack: StackBase) -> str:
    """The end of the summary line: what happened."""
    if kind == ROUTED:
        what = f"routed to {names.get('team_name', 'no team')}"
        agent = names.get("agent_name")
        return f"{what}, assigned to {agent}" if agent else f"{what}, waiting in the queue"
    if kind == ESCALATED:
        after = data.get("after")
        what = (f"no answer for {spoken_duration(after)}" if isinstance(after, int | float)
                else "no answer in time")
        to = data.get("to")
        return f"{what}, escalated to {names.get('team_name', to)}" if to else what
    if kind == CLOSED:
        by = data.get("by")
        if by:
            closer = stack.agents.get(by)
            return f"closed by {closer.name if closer is not None else by}"
        return "closed for inactivity" if data.get("reason") == "idle" else "closed"
    if kind == CSAT_ANSWERED:
        return f"rated the conversation {data.get('score')}/{data.get('scale')}"
    return kind


def compose(stack: StackBase, conversation: Conversation, contact_name: str | None, kind: str,
            now: datetime, link: str | None, data: Mapping[str, Any]) -> JSON:
    """The payload of a notification, as queued (`Notification.to_json`; the store adds the
    id): display names and, for alerts, how long the customer has waited, added to `data`."""
    names = _names(stack, conversation)
    extra: dict[str, Any] = {**names, **data}
    if kind in (ROUTED, ESCALATED):
        since = conversation.context.get("handoff_at")
        start = datetime.fromisoformat(since) if isinstance(since, str) else conversation.opened_at
        extra["waited_seconds"] = max(0.0, (now - start).total_seconds())
    who = contact_name or "A customer"
    summary = f"{who} on {names['channel_name']}: {_what(kind, names, data, stack)}"
    return Notification("", kind, now, conversation.id, conversation.channel, conversation.team,
                        conversation.agent, contact_name, summary, link, extra).to_json()


class NotificationWorker:
    """Claims and delivers queued notifications; see the module docstring.

    `notifiers` is called for every claim, so a reload that adds or removes targets takes
    effect at once. Retry-After is honoured up to `max_retry_after` seconds (a broken header
    must not park a notification for days)."""

    def __init__(self, store: Store, notifiers: Callable[[], Mapping[str, NotifierRuntime]],
                 clock: Clock, metrics: Metrics, *, worker_id: str, concurrency: int = 4,
                 claim_for: timedelta = timedelta(minutes=5), max_attempts: int = 10,
                 base_delay: float = 5.0, max_delay: float = 1800.0,
                 max_retry_after: float = 3600.0, poll_interval: float = 1.0,
                 random: Callable[[], float] = _random.random,
                 batch_size: int | None = None) -> None:
        if concurrency < 1 or max_attempts < 1:
            raise ValueError("concurrency and max_attempts must be at least 1")
        if claim_for <= CLAIM_MARGIN:
            raise ValueError(f"claim_for must be longer than {CLAIM_MARGIN}")
        self.store = store
        self.notifiers = notifiers
        self.clock = clock
        self.metrics = metrics
        self.worker_id = worker_id
        self.concurrency = concurrency
        self.claim_for = claim_for
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after
        self.poll_interval = poll_interval
        self.random = random
        self.batch_size = batch_size if batch_size is not None else concurrency * 4
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """Look at the queue now instead of at the next poll (a notification was queued)."""
        self._wake.set()

    def retry_delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the `attempts`-th failed attempt: full jitter over an
        exponentially growing cap, but never less than the receiver asked for."""
        asked = min(retry_after, self.max_retry_after) if retry_after is not None else 0.0
        return max(MIN_RETRY_DELAY, asked,
                   full_jitter(attempts, self.base_delay, self.max_delay, self.random))

    async def run_once(self) -> int:
        """Claim due notifications and deliver them; how many were handled."""
        now = self.clock.now()
        items = await self.store.claim_notifications(self.worker_id, now, now + self.claim_for,
                                                     self.batch_size)
        if not items:
            return 0
        slots = asyncio.Semaphore(self.concurrency)
        handled = await asyncio.gather(*(self._guarded(item, slots) for item in items))
        return sum(handled)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; deliveries in flight finish, the rest of a claim is
        left to lapse and is taken again after a restart."""
        watcher = asyncio.create_task(self._watch(stop))
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    handled = await self.run_once()
                except StoreError as exc:
                    log.warning("notification claim failed", error=str(exc))
                    handled = 0
                if handled == 0 and not stop.is_set():
                    await idle(self._wake, stop, self.poll_interval)
        finally:
            watcher.cancel()
            self._stopping = False
        log.info("notification worker stopped", worker=self.worker_id)

    # --- one item -----------------------------------------------------------------------------

    async def _guarded(self, item: NotificationItem, slots: asyncio.Semaphore) -> int:
        try:
            return await self._deliver(item, slots)
        except asyncio.CancelledError:
            raise
        except Exception:  # a store failure: the lease lapses and the item is tried again
            log.exception("notification not recorded", notification_id=item.id,
                          target=item.target)
            return 0

    async def _deliver(self, item: NotificationItem, slots: asyncio.Semaphore) -> int:
        bound = log.bind(notification_id=item.id, target=item.target, kind=item.kind,
                         attempt=item.attempts + 1)
        runtime = self.notifiers().get(item.target)
        if runtime is None:
            await self._record(item, DeliveryResult.failed(
                f"notify target {item.target!r} is not configured any more"), bound)
            return 1
        try:
            notification = Notification.from_json(item.id, item.payload)
        except (KeyError, TypeError, ValueError) as exc:
            await self._record(item, DeliveryResult.failed(
                f"the queued notification cannot be read: {exc!r}"), bound)
            return 1
        if not runtime.wants(item.kind):
            await self._record(item, DeliveryResult.failed(
                f"notify target {item.target!r} no longer takes {item.kind}"), bound)
            return 1
        async with slots:
            if self._stopping:
                return 0
            lease_end = item.claimed_until or item.next_attempt_at + self.claim_for
            if self.clock.now() >= lease_end - CLAIM_MARGIN:
                bound.warning("notification claim ran out before delivery; left for later")
                return 0
            try:
                result = await runtime.deliver(notification)
            except Exception as exc:
                bound.exception("notifier deliver raised instead of returning an error")
                result = DeliveryResult.temporary(f"exception: {exc!r}")
        await self._record(item, result, bound)
        return 1

    async def _record(self, item: NotificationItem, result: DeliveryResult, bound: Any) -> None:
        at = self.clock.now()
        if result.error is None:
            self.metrics.notifications.labels(item.target, "delivered").inc()
            if await self.store.notification_sent(item.id, self.worker_id, at):
                bound.info("notification delivered")
            else:
                bound.warning("notification delivered but its claim was lost")
            return
        attempts = item.attempts + 1
        error = result.error
        retry_at: datetime | None = None
        if not result.permanent and attempts < self.max_attempts:
            retry_at = at + timedelta(seconds=self.retry_delay(attempts, result.retry_after))
        elif not result.permanent:
            error = f"{error} (gave up after {attempts} attempts)"
        self.metrics.notifications.labels(item.target,
                                          "retry" if retry_at else "failed").inc()
        recorded = await self.store.notification_failed(item.id, self.worker_id, at, error,
                                                        retry_at)
        if not recorded:
            bound.warning("notification failed and its claim was lost", error=error)
        elif retry_at is not None:
            bound.warning("notification failed, will retry", error=error,
                          retry_at=retry_at.isoformat())
        else:
            bound.error("notification failed for good", error=error)

    # --- waiting ------------------------------------------------------------------------------

    async def _watch(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._stopping = True
        self._wake.set()
