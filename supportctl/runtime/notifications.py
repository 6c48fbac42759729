"""Notifications: what the desk tells notify targets, and the worker that delivers it.

Which targets get what: a routing rule's or an escalation step's `notify` targets get
`conversation.routed` / `conversation.escalated` for that conversation; targets whose config has
an `events` key (integrations: the webhook notifier) also get `conversation.closed` and
`csat.answered` for every conversation, as `events` lists them (see
`supportctl.plugins.notifier.lifecycle_kinds`). A target's `wants` filters both.

A conversation's transition queues one job per target in the notifications queue (its id is the
receivers' idempotency key); this worker claims due jobs with a lease, delivers them
concurrently through the targets' runtimes and records the outcome: delivered; retried after
exponential backoff with full jitter, never sooner than the receiver's `Retry-After`; or parked
(a permanent error, the last allowed attempt, a target a reload removed, a payload that cannot
be read).
"""

from __future__ import annotations

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
from supportctl.runtime.clock import Clock
from supportctl.runtime.metrics import Metrics
from supportctl.runtime.work import Done, Left, Outcome, Park, QueueWorker, Retry
from supportctl.store.interface import Store
from supportctl.store.records import JSON, Conversation, Job, Queue

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


class NotificationWorker(QueueWorker):
    """Claims and delivers queued notifications; see the module docstring.

    `notifiers` is called for every claim, so a reload that adds or removes targets takes
    effect at once. Retry-After is honoured up to `max_retry_after` seconds (a broken header
    must not park a notification for days)."""

    queue = Queue.NOTIFICATIONS

    def __init__(self, store: Store, notifiers: Callable[[], Mapping[str, NotifierRuntime]],
                 clock: Clock, metrics: Metrics, *, instance: str, concurrency: int = 4,
                 claim_for: timedelta = timedelta(minutes=5), max_attempts: int = 10,
                 base_delay: float = 5.0, max_delay: float = 1800.0,
                 max_retry_after: float = 3600.0, poll_interval: float = 1.0,
                 random: Callable[[], float] = _random.random,
                 batch_size: int | None = None) -> None:
        if claim_for <= CLAIM_MARGIN:
            raise ValueError(f"claim_for must be longer than {CLAIM_MARGIN}")
        super().__init__(store, clock, metrics, instance=instance, concurrency=concurrency,
                         batch=batch_size, claim_for=claim_for, max_attempts=max_attempts,
                         base_delay=base_delay, max_delay=max_delay,
                         min_delay=MIN_RETRY_DELAY, poll_interval=poll_interval, random=random)
        self.notifiers = notifiers
        self.max_retry_after = max_retry_after

    def retry_delay(self, attempts: int, not_before: float = 0.0) -> float:
        """As every worker's, with the receiver's Retry-After capped at `max_retry_after`."""
        return super().retry_delay(attempts, min(not_before, self.max_retry_after))

    async def handle(self, job: Job, holder: str) -> Outcome:
        bound = log.bind(notification_id=job.id, target=job.kind,
                         kind=job.payload.get("kind"), attempt=job.attempts + 1)
        runtime = self.notifiers().get(job.kind)
        if runtime is None:
            return self._failed(job, f"notify target {job.kind!r} is not configured any more")
        try:
            notification = Notification.from_json(job.id, job.payload)
        except (KeyError, TypeError, ValueError) as exc:
            return self._failed(job, f"the queued notification cannot be read: {exc!r}")
        if not runtime.wants(notification.kind):
            return self._failed(job, f"notify target {job.kind!r} no longer takes "
                                     f"{notification.kind}")
        lease_end = job.claimed_until or job.due_at + self.claim_for
        if self.clock.now() >= lease_end - CLAIM_MARGIN:
            bound.warning("notification claim ran out before delivery; left for later")
            return Left("lease running out")
        try:
            result = await runtime.deliver(notification)
        except Exception as exc:
            bound.exception("notifier deliver raised instead of returning an error")
            result = DeliveryResult.temporary(f"exception: {exc!r}")
        if result.error is None:
            self.metrics.notifications.labels(job.kind, "delivered").inc()
            bound.info("notification delivered")
            return Done()
        if result.permanent:
            return self._failed(job, result.error)
        last = job.attempts + 1 >= self.max_attempts
        self.metrics.notifications.labels(job.kind, "failed" if last else "retry").inc()
        return Retry(result.error, result.retry_after or 0.0)

    def _failed(self, job: Job, error: str) -> Park:
        self.metrics.notifications.labels(job.kind, "failed").inc()
        return Park(error)
