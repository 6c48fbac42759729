"""Notifications in the store: queued with their event, claimed with leases, sent or failed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import with_store

from supportctl.store import SQLiteStore
from supportctl.store.records import NotificationState

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LEASE = T0 + timedelta(seconds=30)
PAYLOAD = {"kind": "conversation.closed", "summary": "Eva on chat: closed"}


async def _conversation(store: SQLiteStore) -> str:
    contact = await store.resolve_contact("wa", "1", T0)
    return (await store.open_conversation(contact.id, "wa", T0)).id


def test_notifications_are_queued_per_target_with_the_notify_event(tmp_path: Path) -> None:
    async def body(store: SQLiteStore) -> None:
        conv = await _conversation(store)
        items = await store.add_notifications(conv, ["crm", "slack"], "conversation.closed",
                                              PAYLOAD, T0, event={"targets": ["crm", "slack"]})
        assert [(i.target, i.kind, i.payload, i.state, i.attempts) for i in items] == [
            ("crm", "conversation.closed", PAYLOAD, NotificationState.PENDING, 0),
            ("slack", "conversation.closed", PAYLOAD, NotificationState.PENDING, 0)]
        assert items[0].id != items[1].id
        assert all(i.next_attempt_at == i.created_at == T0 for i in items)
        (event,) = [e for e in await store.list_events(conv) if e.kind == "notify"]
        assert event.data == {"targets": ["crm", "slack"]}
        # no targets: the event alone, as for a rule whose targets have no runtime
        assert await store.add_notifications(conv, [], "conversation.routed", PAYLOAD, T0,
                                             event={"targets": ["x"]}) == []
        assert len([e for e in await store.list_events(conv) if e.kind == "notify"]) == 2
        assert len(await store.list_notifications()) == 2

    with_store(tmp_path / "s.db", body)


def test_two_stores_never_claim_the_same_notification(tmp_path: Path) -> None:
    async def main() -> None:
        a = await SQLiteStore.open(tmp_path / "s.db")
        b = await SQLiteStore.open(tmp_path / "s.db")
        try:
            conv = await _conversation(a)
            made = {i.id for i in await a.add_notifications(
                conv, [f"t{n}" for n in range(40)], "csat.answered", PAYLOAD, T0)}
            claimed: list[str] = []
            for _ in range(10):
                batches = await asyncio.gather(
                    *(store.claim_notifications(worker, T0, LEASE, 3)
                      for store, worker in ((a, "a1"), (b, "b1"), (a, "a2"), (b, "b2"))))
                claimed.extend(i.id for batch in batches for i in batch)
            assert len(claimed) == len(set(claimed)) == 40
            assert set(claimed) == made
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())


def test_a_retry_waits_for_its_time_and_only_the_claim_holder_records(tmp_path: Path) -> None:
    async def body(store: SQLiteStore) -> None:
        conv = await _conversation(store)
        (item,) = await store.add_notifications(conv, ["crm"], "conversation.closed", PAYLOAD,
                                                T0)
        assert await store.claim_notifications("w1", T0 - timedelta(seconds=1), LEASE, 5) == []
        (claimed,) = await store.claim_notifications("w1", T0, LEASE, 5)
        assert (claimed.claimed_by, claimed.claimed_until) == ("w1", LEASE)
        assert await store.claim_notifications("w2", T0, LEASE, 5) == []  # held
        retry_at = T0 + timedelta(seconds=7)
        assert not await store.notification_failed(item.id, "w2", T0, "HTTP 429", retry_at)
        assert await store.notification_failed(item.id, "w1", T0, "HTTP 429", retry_at)
        again = await store.get_notification(item.id)
        assert (again.state, again.attempts, again.last_error, again.next_attempt_at,
                again.claimed_by) == (NotificationState.PENDING, 1, "HTTP 429", retry_at, None)
        assert await store.claim_notifications("w2", retry_at - timedelta(microseconds=1),
                                               retry_at + timedelta(seconds=30), 5) == []
        assert await store.claim_notifications("w2", retry_at,
                                               retry_at + timedelta(seconds=30), 5) != []
        assert not await store.notification_sent(item.id, "w1", retry_at)  # lost its claim
        assert await store.notification_sent(item.id, "w2", retry_at)
        done = await store.get_notification(item.id)
        assert (done.state, done.attempts, done.sent_at, done.last_error) == (
            NotificationState.SENT, 2, retry_at, None)
        assert await store.claim_notifications("w3", T0 + timedelta(days=1),
                                               T0 + timedelta(days=2), 5) == []

    with_store(tmp_path / "s.db", body)


def test_a_permanent_failure_is_never_claimed_again_and_an_expired_lease_is(
        tmp_path: Path) -> None:
    async def body(store: SQLiteStore) -> None:
        conv = await _conversation(store)
        failed, lapsed = await store.add_notifications(conv, ["slack", "crm"], "x", PAYLOAD, T0)
        await store.claim_notifications("w1", T0, LEASE, 5)
        assert await store.notification_failed(failed.id, "w1", T0, "HTTP 404: no_service",
                                               None)
        gone = await store.get_notification(failed.id)
        assert (gone.state, gone.attempts, gone.last_error) == (
            NotificationState.FAILED, 1, "HTTP 404: no_service")
        # w1 crashed holding `lapsed`: once its lease ends another worker takes it
        (taken,) = await store.claim_notifications("w2", LEASE, LEASE + timedelta(minutes=1), 5)
        assert taken.id == lapsed.id and taken.claimed_by == "w2"
        assert [i.id for i in await store.list_notifications(
            state=NotificationState.FAILED)] == [failed.id]
        assert [i.id for i in await store.list_notifications(target="crm")] == [lapsed.id]

    with_store(tmp_path / "s.db", body)
