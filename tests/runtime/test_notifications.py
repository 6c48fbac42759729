"""Notifications: what the desk queues for which target, the worker's retries, and the whole
path over HTTP (tests/fixtures/stacks/notify.yaml served with fakes of Slack and of webhook
receivers on loopback, the workers driven by hand with a frozen clock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from notifier_fakes import SLACK_PATH, FakeReceiver, FakeSlack, slack_problem
from serving import Running, listening, serving
from supportctl_plugins.slack import SlackNotifier
from supportctl_plugins.slack_runtime import SlackNotifierRuntime
from supportctl_plugins.webhook import WebhookNotifier
from supportctl_plugins.webhook_runtime import WebhookNotifierRuntime

from supportctl.plugins.notifier import (
    DeliveryResult,
    Notification,
    NotifierRuntime,
    lifecycle_kinds,
)
from supportctl.runtime.clock import FrozenClock
from supportctl.runtime.metrics import Metrics
from supportctl.runtime.notifications import NotificationWorker, addressed, subscribers
from supportctl.store import SQLiteStore
from supportctl.store.ids import new_id
from supportctl.store.records import JobState, Queue
from supportctl.store.tokens import hash_token
from supportctl.validation import validate_stack

STACK = Path(__file__).resolve().parent.parent / "fixtures" / "stacks" / "notify.yaml"
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
SECRETS = {"crm": "crm-secret", "warehouse": "warehouse-secret"}
PAYLOAD = Notification("", "conversation.escalated", MONDAY_10, "C1", "chat", "leads", None,
                       "Eva", "Eva on Shop chat: no answer for 10 min", None).to_json()


class Scripted(NotifierRuntime):
    """A notifier answering from a script (then delivered), recording what it was given."""

    def __init__(self, *results: DeliveryResult | Exception) -> None:
        super().__init__("scripted", SlackNotifier(type="slack", webhook_url="x"))
        self.script = list(results)
        self.given: list[Notification] = []

    async def deliver(self, notification: Notification) -> DeliveryResult:
        self.given.append(notification)
        result = self.script.pop(0) if self.script else DeliveryResult.delivered()
        if isinstance(result, Exception):
            raise result
        return result


@dataclass
class Rig:
    store: SQLiteStore
    clock: FrozenClock
    worker: NotificationWorker
    targets: dict[str, NotifierRuntime]
    metrics: Metrics

    async def queue(self, target: str = "t") -> str:
        (job,) = await self.store.enqueue(Queue.NOTIFICATIONS, [(new_id(), target, PAYLOAD)],
                                          self.clock.now())
        assert job is not None
        return job.id

    def count(self, target: str, result: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "supportctl_notifications_total", {"target": target, "result": result})
        return value or 0.0


@asynccontextmanager
async def rig(tmp: Path, targets: dict[str, NotifierRuntime], **kwargs: Any
              ) -> AsyncIterator[Rig]:
    store = await SQLiteStore.open(tmp / "s.db")
    clock = FrozenClock(MONDAY_10)
    metrics = Metrics()
    worker = NotificationWorker(store, lambda: targets, clock, metrics, instance="w",
                                random=lambda: 0.0, **kwargs)
    try:
        yield Rig(store, clock, worker, targets, metrics)
    finally:
        await store.close()


def test_429_with_retry_after_is_tried_again_not_before_it_asked(tmp_path: Path) -> None:
    async def body() -> None:
        slack = FakeSlack()
        slack.answer(429, "rate_limited", **{"Retry-After": "7"})
        async with listening(slack.app()) as base, ClientSession() as http:
            runtime = SlackNotifierRuntime("leads", SlackNotifier(
                type="slack", webhook_url=base + SLACK_PATH), http=http)
            async with rig(tmp_path, {"leads": runtime}) as r:
                item = await r.queue("leads")
                assert await r.worker.run_once() == 1
                waiting = await r.store.get_job(item)
                assert waiting.due_at == MONDAY_10 + timedelta(seconds=7)
                assert waiting.last_error == "HTTP 429: rate_limited"
                assert (await r.store.queue_depths()).pending[Queue.NOTIFICATIONS] == 1
                r.clock.advance(timedelta(seconds=6))
                assert await r.worker.run_once() == 0
                r.clock.advance(timedelta(seconds=1))
                assert await r.worker.run_once() == 1
                done = await r.store.get_job(item)
                assert (done.state, done.attempts) == (JobState.DONE, 2)
                assert (await r.store.queue_depths()).pending[Queue.NOTIFICATIONS] == 0
                assert len(slack.received) == 2
                assert (r.count("leads", "retry"), r.count("leads", "delivered")) == (1, 1)

    asyncio.run(body())


def test_a_500_then_a_200_is_delivered_once(tmp_path: Path) -> None:
    async def body() -> None:
        target = Scripted(DeliveryResult.temporary("HTTP 500: rollup_error"))
        async with rig(tmp_path, {"t": target}) as r:
            item = await r.queue()
            assert await r.worker.run_once() == 1
            r.clock.advance(timedelta(seconds=1))  # the shortest retry delay
            assert await r.worker.run_once() == 1
            r.clock.advance(timedelta(hours=1))
            assert await r.worker.run_once() == 0
            assert [n.id for n in target.given] == [item, item]  # the idempotency key
            assert (await r.store.get_job(item)).state is JobState.DONE
            assert r.count("t", "delivered") == 1

    asyncio.run(body())


def test_a_permanent_error_fails_at_once(tmp_path: Path) -> None:
    async def body() -> None:
        target = Scripted(DeliveryResult.failed("HTTP 404: no_service"))
        async with rig(tmp_path, {"t": target}) as r:
            item = await r.queue()
            assert await r.worker.run_once() == 1
            r.clock.advance(timedelta(days=1))
            assert await r.worker.run_once() == 0
            failed = await r.store.get_job(item)
            assert (failed.state, failed.last_error) == (JobState.PARKED,
                                                         "HTTP 404: no_service")
            assert r.count("t", "failed") == 1

    asyncio.run(body())


def test_temporary_errors_give_up_after_max_attempts(tmp_path: Path) -> None:
    async def body() -> None:
        target = Scripted(*[RuntimeError("bug in a plugin")] * 3)
        async with rig(tmp_path, {"t": target}, max_attempts=3) as r:
            item = await r.queue()
            for _ in range(5):
                await r.worker.run_once()
                r.clock.advance(timedelta(hours=1))
            assert len(target.given) == 3
            failed = await r.store.get_job(item)
            assert failed.state is JobState.PARKED
            assert failed.last_error == ("exception: RuntimeError('bug in a plugin') "
                                         "(gave up after 3 attempts)")

    asyncio.run(body())


def test_a_target_removed_by_a_reload_fails_with_a_clear_error(tmp_path: Path) -> None:
    async def body() -> None:
        async with rig(tmp_path, {}) as r:
            item = await r.queue("old-slack")
            assert await r.worker.run_once() == 1
            failed = await r.store.get_job(item)
            assert (failed.state, failed.last_error) == (
                JobState.PARKED, "notify target 'old-slack' is not configured any more")

    asyncio.run(body())


def test_the_running_worker_delivers_when_woken_and_stops(tmp_path: Path) -> None:
    async def body() -> None:
        target = Scripted()
        async with rig(tmp_path, {"t": target}, poll_interval=3600.0) as r:
            stop = asyncio.Event()
            running = asyncio.create_task(r.worker.run(stop))
            item = await r.queue()
            r.worker.wake()  # the poll is an hour away: only the wake-up delivers it
            for _ in range(500):
                if (await r.store.get_job(item)).state is JobState.DONE:
                    break
                await asyncio.sleep(0.01)
            assert [n.id for n in target.given] == [item]
            stop.set()
            await asyncio.wait_for(running, timeout=10)

    asyncio.run(body())


def test_the_retry_delay_grows_with_jitter_and_keeps_to_retry_after(tmp_path: Path) -> None:
    async def body() -> None:
        async with rig(tmp_path, {}, base_delay=5.0, max_delay=60.0) as r:
            worker = r.worker
            worker.random = lambda: 1.0
            assert [worker.retry_delay(n) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]
            worker.random = lambda: 0.0
            assert worker.retry_delay(4) == 1.0  # never sooner than the minimum
            assert worker.retry_delay(4, not_before=30) == 30
            assert worker.retry_delay(1, not_before=10 ** 6) == 3600  # a broken header

    asyncio.run(body())


def test_only_integrations_take_lifecycle_events_as_their_events_key_says() -> None:
    slack = SlackNotifier(type="slack", webhook_url="x")
    every = WebhookNotifier(type="webhook", url="https://x.example", secret="s")
    csat = WebhookNotifier(type="webhook", url="https://x.example", secret="s",
                           events=["csat.answered", "conversation.routed"])
    alerts = WebhookNotifier(type="webhook", url="https://x.example", secret="s",
                             events=["conversation.escalated"])
    assert lifecycle_kinds(slack) == frozenset()
    assert lifecycle_kinds(every) == {"conversation.closed", "csat.answered"}
    assert lifecycle_kinds(csat) == {"csat.answered"}
    assert lifecycle_kinds(alerts) == frozenset()


def test_named_targets_get_an_alert_once_when_they_take_its_kind() -> None:
    def webhook(events: list[Any] | None) -> NotifierRuntime:
        return WebhookNotifierRuntime("x", WebhookNotifier(
            type="webhook", url="https://x.example", secret="s", events=events))

    targets: dict[str, NotifierRuntime] = {
        "slack": SlackNotifierRuntime("slack", SlackNotifier(type="slack", webhook_url="x")),
        "crm": webhook(None), "warehouse": webhook(["csat.answered"])}
    assert addressed(targets, ["crm", "slack", "warehouse", "crm", "gone"],
                     "conversation.escalated") == ["crm", "slack"]
    assert subscribers(targets, "csat.answered") == ["crm", "warehouse"]
    assert subscribers(targets, "conversation.closed") == ["crm"]


def test_validate_counts_a_subscribed_webhook_as_used() -> None:
    env = {"SLACK_WEBHOOK_URL": "https://hooks.example/x", "CRM_URL": "https://crm.example",
           "CRM_SECRET": "s", "WAREHOUSE_URL": "https://wh.example", "WAREHOUSE_SECRET": "s"}
    result = validate_stack(STACK, env)
    assert [d.code for d in result.diagnostics.sorted()] == []


# --- end to end -------------------------------------------------------------------------------


@dataclass
class Fakes:
    slack: FakeSlack
    receiver: FakeReceiver
    env: dict[str, str]


@asynccontextmanager
async def fakes() -> AsyncIterator[Fakes]:
    slack, receiver = FakeSlack(), FakeReceiver(SECRETS)
    async with listening(slack.app()) as slack_url, listening(receiver.app()) as hooks:
        yield Fakes(slack, receiver, {
            "SLACK_WEBHOOK_URL": slack_url + SLACK_PATH, "CRM_URL": f"{hooks}/hooks/crm",
            "CRM_SECRET": SECRETS["crm"], "WAREHOUSE_URL": f"{hooks}/hooks/warehouse",
            "WAREHOUSE_SECRET": SECRETS["warehouse"]})


async def chat(r: Running, token: str, text: str, echo: str) -> None:
    async with r.http.post(f"{r.url}/channels/chat/messages", json={"text": text,
                                                                    "echo_id": echo},
                           headers={"Authorization": f"Bearer {token}"}) as reply:
        assert reply.status == 202


async def close_as(r: Running, agent: str, conversation_id: str) -> None:
    token = f"sct_notify_{agent}"
    await r.server.store.add_token("agent", agent, hash_token(token), r.server.clock.now())
    async with r.http.post(f"{r.url}/api/v1/conversations/{conversation_id}/close",
                           headers=r.agent(token)) as reply:
        assert reply.status == 200


def test_escalation_close_and_csat_reach_slack_and_the_webhooks_across_a_restart(
        tmp_path: Path) -> None:
    async def body() -> None:
        clock = FrozenClock(MONDAY_10)
        database = tmp_path / "s.db"
        async with AsyncExitStack() as stack:
            f = await stack.enter_async_context(fakes())
            async with serving(STACK, database, clock, f.env) as r:
                async with r.http.post(f"{r.url}/channels/chat/contacts",
                                       json={"name": "Eva <Braun>"}) as reply:
                    token = (await reply.json())["token"]
                await chat(r, token, "urgent: my grinder is broken", "m1")
                (conversation,) = await r.server.store.list_conversations()
                # routed by a rule without notify: nothing for anyone yet
                assert await r.server.notifications.run_once() == 0
                clock.advance(timedelta(minutes=10))
                assert await r.server.timers.run_once() == 1
                assert await r.server.notifications.run_once() == 2
                (alert,) = f.slack.received
                assert slack_problem(alert) is None
                link = f"https://support.notify.example/api/v1/conversations/{conversation.id}"
                assert alert["text"] == ("<!here> Eva &lt;Braun&gt; on Shop chat: no answer for "
                                         f"10 min, escalated to Shift leads {link}")
                section = alert["blocks"][0]
                assert section["text"]["text"] == ("<!here> *Eva &lt;Braun&gt; on Shop chat: "
                                                   "no answer for 10 min, escalated to "
                                                   "Shift leads*")
                assert {"type": "mrkdwn", "text": "*Agent*\nLena Lang"} in section["fields"]
                assert {"type": "mrkdwn", "text": "*Waiting*\n10 min"} in section["fields"]
                assert alert["blocks"][1]["elements"][0]["text"] == f"<{link}|Open conversation>"
                (escalated,) = f.receiver.received["crm"]
                assert escalated.body["type"] == "conversation.escalated"
                assert escalated.body["conversation"]["team"] == "leads"
                assert escalated.body["data"]["after"] == 600.0
                assert escalated.headers["X-Supportctl-Delivery"] == escalated.body["id"]
                await close_as(r, "lena", conversation.id)
                # the server stops before the worker ran: the queue is in the database
            assert f.receiver.kinds("crm") == ["conversation.escalated"]
            async with serving(STACK, database, clock, f.env) as r:
                assert await r.server.notifications.run_once() == 1
                assert f.receiver.kinds("crm") == ["conversation.escalated",
                                                   "conversation.closed"]
                closed = f.receiver.received["crm"][1].body
                assert closed["summary"] == "Eva <Braun> on Shop chat: closed by Lena Lang"
                assert closed["data"]["by"] == "lena"
                assert f.receiver.kinds("warehouse") == []  # it takes only CSAT answers
                await r.send_all()  # the CSAT question
                clock.advance(timedelta(minutes=3))
                await chat(r, token, "5", "m2")
                assert await r.server.notifications.run_once() == 2
                assert f.receiver.kinds("crm")[-1] == "csat.answered"
                (rated,) = f.receiver.received["warehouse"]
                assert (rated.body["type"], rated.body["data"]["score"],
                        rated.body["data"]["scale"]) == ("csat.answered", 5, 5)
                assert rated.body["summary"] == ("Eva <Braun> on Shop chat: rated the "
                                                 "conversation 5/5")
                assert f.receiver.refused == 0  # every signature checked out
                assert len(f.slack.received) == 1  # Slack hears only what rules name it for
                events = await r.server.store.list_events(conversation.id)
                assert [e.data["why"] for e in events if e.kind == "notify"] == [
                    "escalation", "conversation.closed", "csat.answered"]

    asyncio.run(body())

