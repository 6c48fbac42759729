"""The runtime's Prometheus metrics, one registry per server (tests run several in a process).

prometheus_client writes the exposition format (escaping, histogram buckets, `# HELP` lines);
queue depths are read from the store when scraped, so they cannot drift from the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from supportctl.store.records import Queue, QueueDepths

CONTENT_TYPE = CONTENT_TYPE_LATEST


class _QueueDepths(Collector):
    """Queue depths as of the last scrape (refreshed by `Metrics.render` before collecting)."""

    def __init__(self) -> None:
        self.depths = QueueDepths({})

    def collect(self) -> Iterator[GaugeMetricFamily]:
        queued = GaugeMetricFamily("supportctl_queued_conversations",
                                   "Conversations routed to a team and waiting for an agent",
                                   labels=["team"])
        for team, count in sorted(self.depths.queued_conversations.items()):
            queued.add_metric([team], count)
        yield queued
        pending = GaugeMetricFamily(
            "supportctl_work_pending", "Jobs of the work queue not done yet: webhook receipts "
            "not processed, messages not sent, notifications not delivered, timers not fired",
            labels=["queue"])
        parked = GaugeMetricFamily(
            "supportctl_work_parked", "Jobs given up on after too many failures (or that can "
            "never succeed): kept for a person to look at", labels=["queue"])
        for queue in Queue:
            pending.add_metric([queue.value], self.depths.pending.get(queue, 0))
            parked.add_metric([queue.value], self.depths.parked.get(queue, 0))
        yield pending
        yield parked


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.inbound = Counter("supportctl_inbound_events", "Inbound webhook events by result"
                               " (stored, duplicate, rejected, failed)",
                               ["channel", "result"], registry=r)
        self.outbound = Counter("supportctl_outbound_messages", "Send attempts by result"
                                " (sent, retry, failed, not_sent)", ["channel", "result"],
                                registry=r)
        self.notifications = Counter("supportctl_notifications", "Notification delivery"
                                     " attempts by notify target and result (delivered, retry,"
                                     " failed)", ["target", "result"], registry=r)
        self.assignment_latency = Histogram(
            "supportctl_assignment_latency_seconds",
            "From a conversation's handoff to its assignment to an agent",
            ["team"], registry=r,
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600))
        self.work = Counter("supportctl_work_processed", "Work-queue jobs handled by queue and"
                            " result (done, retry, parked)", ["queue", "result"], registry=r)
        self.conflicts = Counter("supportctl_conversation_conflicts", "Conversation changes"
                                 " computed again because the conversation or an agent's load"
                                 " changed meanwhile", registry=r)
        self.reload_successful = Gauge("supportctl_config_last_reload_successful",
                                       "1 when the last stack (re)load succeeded", registry=r)
        self.reload_time = Gauge("supportctl_config_last_reload_success_timestamp_seconds",
                                 "When the stack was last loaded successfully", registry=r)
        self.reloads = Counter("supportctl_config_reloads", "Stack reloads by result",
                               ["result"], registry=r)
        self.stack_info = Gauge("supportctl_stack_info", "The stack being served",
                                ["version"], registry=r)
        self._depths = _QueueDepths()
        r.register(self._depths)

    def loaded(self, version: str, at_seconds: float, *, reload: bool) -> None:
        """A stack was (re)loaded and is now served."""
        self.reload_successful.set(1)
        self.reload_time.set(at_seconds)
        if reload:
            self.reloads.labels("success").inc()
        self.stack_info.clear()
        self.stack_info.labels(version).set(1)

    def reload_failed(self) -> None:
        self.reload_successful.set(0)
        self.reloads.labels("failure").inc()

    async def render(self, depths: Callable[[], Awaitable[QueueDepths]] | None = None) -> bytes:
        """The exposition text; `depths` is asked for the current queue depths first."""
        if depths is not None:
            self._depths.depths = await depths()
        return generate_latest(self.registry)
