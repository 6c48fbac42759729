"""Timers and the outbox: claims by several workers on one database, retries, failures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from supportctl.store import SQLiteStore
from supportctl.store.records import Direction, MessageStatus, OutboxState, TimerKind

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LEASE = T0 + timedelta(seconds=30)


async def _conversation(store: SQLiteStore) -> str:
    contact = await store.resolve_contact("wa", "1", T0)
    return (await store.open_conversation(contact.id, "wa", T0)).id


def test_two_stores_on_one_file_never_claim_the_same_timer(tmp_path: Path) -> None:
    async def main() -> None:
        a = await SQLiteStore.open(tmp_path / "s.db")
        b = await SQLiteStore.open(tmp_path / "s.db")
        try:
            conv = await _conversation(a)
            made = {(await a.schedule_timer(conv, TimerKind.ESCALATION, T0 + timedelta(0, i))).id
                    for i in range(60)}
            await a.schedule_timer(conv, TimerKind.AUTO_CLOSE, T0 + timedelta(hours=1))  # not due
            claimed: list[str] = []
            for _ in range(10):
                batches = await asyncio.gather(
                    *(store.claim_due_timers(worker, T0 + timedelta(minutes=5),
                                           T0 + timedelta(minutes=6), 4)
                      for store, worker in ((a, "a1"), (b, "b1"), (a, "a2"), (b, "b2"))))
                claimed.extend(t.id for batch in batches for t in batch)
            assert len(claimed) == len(set(claimed)) == 60
            assert set(claimed) == made
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())


def test_an_expired_timer_claim_can_be_taken_again_and_only_its_holder_completes(
        tmp_path: Path) -> None:
    async def main() -> None:
        store = await SQLiteStore.open(tmp_path / "s.db")
        try:
            conv = await _conversation(store)
            timer = await store.schedule_timer(conv, TimerKind.CSAT_TIMEOUT, T0, {"n": 1})
            first = await store.claim_due_timers("w1", T0, LEASE, 10)
            assert [(t.id, t.payload, t.claimed_by) for t in first] == [(timer.id, {"n": 1}, "w1")]
            assert await store.claim_due_timers("w2", LEASE - timedelta(seconds=1),
                                                LEASE + timedelta(seconds=30), 10) == []
            second = await store.claim_due_timers("w2", LEASE, LEASE + timedelta(seconds=30), 10)
            assert [t.claimed_by for t in second] == ["w2"]
            assert await store.complete_timer(timer.id, "w1") is False  # lost its claim
            assert await store.complete_timer(timer.id, "w2") is True
            assert await store.claim_due_timers("w3", T0 + timedelta(days=1),
                                                T0 + timedelta(days=2), 10) == []
        finally:
            await store.close()

    asyncio.run(main())


def test_cancelled_timers_never_fire(tmp_path: Path) -> None:
    async def main() -> None:
        store = await SQLiteStore.open(tmp_path / "s.db")
        try:
            conv = await _conversation(store)
            await store.schedule_timer(conv, TimerKind.ESCALATION, T0)
            kept = await store.schedule_timer(conv, TimerKind.AUTO_CLOSE, T0)
            assert await store.cancel_timers(conv, [TimerKind.ESCALATION]) == 1
            assert [t.id for t in await store.claim_due_timers("w", T0, LEASE, 10)] == [kept.id]
        finally:
            await store.close()

    asyncio.run(main())


def test_two_stores_never_claim_the_same_outbox_row(tmp_path: Path) -> None:
    async def main() -> None:
        a = await SQLiteStore.open(tmp_path / "s.db")
        b = await SQLiteStore.open(tmp_path / "s.db")
        try:
            conv = await _conversation(a)
            for i in range(30):
                await a.add_message(conv, Direction.OUT, "wa", {"text": str(i)}, T0, outbox=True)
            batches = await asyncio.gather(*(s.claim_outbox(w, T0, LEASE, 7) for s, w in
                                             ((a, "a"), (b, "b"), (a, "c"), (b, "d"), (a, "e"))))
            ids = [item.id for batch in batches for item in batch]
            assert len(ids) == len(set(ids)) == 30
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())


def test_outbox_retries_then_fails_for_good_with_the_channels_error(tmp_path: Path) -> None:
    async def main() -> None:
        store = await SQLiteStore.open(tmp_path / "s.db")
        try:
            conv = await _conversation(store)
            message = await store.add_message(conv, Direction.OUT, "wa", {"text": "x"}, T0,
                                              outbox=True)
            assert message.status is MessageStatus.QUEUED
            [item] = await store.claim_outbox("w", T0, LEASE, 10)
            retry = T0 + timedelta(seconds=8)
            assert await store.outbox_failed(item.id, "w", T0, "429 rate limited", retry)
            again = await store.get_outbox(item.id)
            assert (again.state, again.attempts, again.next_attempt_at, again.last_error,
                    again.claimed_by) == (OutboxState.PENDING, 1, retry, "429 rate limited", None)
            assert await store.claim_outbox("w", retry - timedelta(seconds=1), LEASE, 10) == []
            [item] = await store.claim_outbox("w2", retry, retry + timedelta(seconds=30), 10)
            assert await store.outbox_failed(item.id, "w", retry, "late", None) is False
            assert await store.outbox_failed(item.id, "w2", retry, "131047 window closed", None)
            failed = await store.get_message(message.id)
            assert (failed.status, failed.error) == (MessageStatus.FAILED, "131047 window closed")
            assert (await store.get_outbox(item.id)).attempts == 2
            assert await store.claim_outbox("w", T0 + timedelta(days=1),
                                            T0 + timedelta(days=2), 10) == []
            kinds = [(e.kind, e.data.get("status")) for e in await store.list_events(conv)]
            assert kinds[-1] == ("delivery", "failed")
        finally:
            await store.close()

    asyncio.run(main())


def test_a_sent_outbox_row_marks_its_message_sent_with_the_provider_id(tmp_path: Path) -> None:
    async def main() -> None:
        store = await SQLiteStore.open(tmp_path / "s.db")
        try:
            conv = await _conversation(store)
            message = await store.add_message(conv, Direction.OUT, "wa", {"text": "x"}, T0,
                                              outbox=True)
            [item] = await store.claim_outbox("w", T0, LEASE, 10)
            assert await store.outbox_sent(item.id, "w", T0 + timedelta(seconds=1), "wamid.5")
            assert await store.outbox_sent(item.id, "w", T0, "again") is False
            sent = await store.get_message(message.id)
            assert (sent.status, sent.external_id) == (MessageStatus.SENT, "wamid.5")
            assert sent.sent_at == T0 + timedelta(seconds=1)
            delivered = await store.update_message_status("wa", "wamid.5",
                                                          MessageStatus.DELIVERED, T0)
            assert delivered is not None and delivered.status is MessageStatus.DELIVERED
            assert await store.claim_outbox("w", T0 + timedelta(days=1),
                                            T0 + timedelta(days=2), 10) == []
        finally:
            await store.close()

    asyncio.run(main())


def test_an_expired_outbox_claim_is_taken_again_and_the_first_worker_cannot_finish(
        tmp_path: Path) -> None:
    async def main() -> None:
        store = await SQLiteStore.open(tmp_path / "s.db")
        try:
            conv = await _conversation(store)
            await store.add_message(conv, Direction.OUT, "wa", {"text": "x"}, T0, outbox=True)
            [first] = await store.claim_outbox("slow", T0, LEASE, 10)
            assert await store.claim_outbox("fast", T0, LEASE, 10) == []
            [again] = await store.claim_outbox("fast", LEASE, LEASE + timedelta(seconds=30), 10)
            assert again.id == first.id and again.claimed_by == "fast"
            assert await store.outbox_sent(first.id, "slow", LEASE, "wamid.slow") is False
            assert await store.outbox_sent(first.id, "fast", LEASE, "wamid.fast") is True
            assert (await store.get_message(first.message_id)).external_id == "wamid.fast"
        finally:
            await store.close()

    asyncio.run(main())


def test_a_held_outbox_row_waits_for_its_holder_to_release_it_or_for_the_lease(
        tmp_path: Path) -> None:
    async def main() -> None:
        store = await SQLiteStore.open(tmp_path / "s.db")
        try:
            conv = await _conversation(store)
            kept = await store.add_message(conv, Direction.OUT, "wa", {"text": "a"}, T0,
                                           outbox=True, hold=("webhook", LEASE))
            freed = await store.add_message(conv, Direction.OUT, "wa", {"text": "b"}, T0,
                                            outbox=True, hold=("webhook", LEASE))
            held = await store.claimed_outbox("webhook")
            assert [i.message_id for i in held] == [kept.id, freed.id]
            assert await store.claim_outbox("w", T0, LEASE, 10) == []  # held, not due
            assert await store.outbox_release(held[1].id, "other", T0) is False
            assert await store.outbox_release(held[1].id, "webhook", T0) is True
            [taken] = await store.claim_outbox("w", T0, LEASE, 10)
            assert taken.message_id == freed.id and taken.attempts == 0
            assert await store.outbox_sent(taken.id, "w", T0, None)
            assert [i.message_id for i in await store.claimed_outbox("webhook")] == [kept.id]
            # the holder died: its lease lapses and any worker sends the message
            [lapsed] = await store.claim_outbox("w2", LEASE, LEASE + timedelta(seconds=30), 10)
            assert lapsed.message_id == kept.id
        finally:
            await store.close()

    asyncio.run(main())
