"""The inbox: deliveries stored before processing, deduplicated, claimed, retried, pruned."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import with_store

from supportctl.store import SQLiteStore
from supportctl.store.records import InboxState

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LEASE = T0 + timedelta(seconds=30)


def test_a_redelivered_key_is_stored_once_and_items_come_out_oldest_first(
        tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        first = await s.enqueue_inbound("wa", [("m1", {"n": 1}), ("m2", {"n": 2})], T0)
        again = await s.enqueue_inbound("wa", [("m2", {"n": 2}), ("m3", {"n": 3})],
                                        T0 + timedelta(seconds=1))
        other = await s.enqueue_inbound("tg", [("m1", {"n": 9})], T0)  # keys are per channel
        assert [i is not None for i in first + again + other] == [True, True, False, True, True]
        claimed = await s.claim_inbox("w", T0 + timedelta(seconds=1), LEASE, 10)
        assert [(i.channel, i.key, i.event) for i in claimed] == [
            ("wa", "m1", {"n": 1}), ("wa", "m2", {"n": 2}), ("tg", "m1", {"n": 9}),
            ("wa", "m3", {"n": 3})]
        assert await s.claim_inbox("w2", T0 + timedelta(seconds=1), LEASE, 10) == []
    with_store(tmp_path / "s.db", body)


def test_held_items_wait_for_their_holder_and_a_lapsed_hold_is_taken(tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        [a, b] = await s.enqueue_inbound("wa", [("m1", {}), ("m2", {})], T0,
                                         hold=("webhook", LEASE))
        assert a is not None and b is not None and a.claimed_by == "webhook"
        assert await s.claim_inbox("w", T0, LEASE, 10) == []
        assert await s.inbox_done(a.id, "webhook", T0)
        assert await s.inbox_done(a.id, "webhook", T0) is False  # once
        assert await s.inbox_release(b.id, "someone") is False
        assert await s.inbox_release(b.id, "webhook")
        [taken] = await s.claim_inbox("w", T0, LEASE, 10)
        assert taken.id == b.id and taken.attempts == 0
        # the worker dies holding it: the lease lapses and another takes it
        [again] = await s.claim_inbox("w2", LEASE, LEASE + timedelta(seconds=30), 10)
        assert again.id == b.id
        assert (await s.get_inbox(a.id)).state is InboxState.DONE
    with_store(tmp_path / "s.db", body)


def test_failures_are_retried_then_kept_as_failed_and_old_items_are_pruned(
        tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        [item] = await s.enqueue_inbound("wa", [("m1", {})], T0)
        assert item is not None
        [claimed] = await s.claim_inbox("w", T0, LEASE, 10)
        retry = T0 + timedelta(seconds=5)
        assert await s.inbox_failed(claimed.id, "w", T0, "database locked", retry)
        assert await s.claim_inbox("w", T0 + timedelta(seconds=4), LEASE, 10) == []
        [again] = await s.claim_inbox("w", retry, LEASE, 10)
        assert (again.attempts, again.last_error) == (1, "database locked")
        assert await s.inbox_failed(again.id, "w", retry, "bug", None)
        failed = await s.get_inbox(item.id)
        assert failed.state is InboxState.FAILED and failed.attempts == 2
        [pending] = await s.enqueue_inbound("wa", [("m2", {})], T0)
        assert await s.prune_inbox(T0 + timedelta(days=31)) == 1  # the failed one only
        assert (await s.get_inbox(pending.id if pending else "")).state is InboxState.PENDING
        # a pruned key is accepted again, like the dedupe keys kept 30 days
        assert (await s.enqueue_inbound("wa", [("m1", {})], T0 + timedelta(days=31)))[0]
    with_store(tmp_path / "s.db", body)


def test_two_stores_on_one_file_never_claim_the_same_item(tmp_path: Path) -> None:
    async def main() -> None:
        a = await SQLiteStore.open(tmp_path / "s.db")
        b = await SQLiteStore.open(tmp_path / "s.db")
        try:
            await a.enqueue_inbound("wa", [(f"m{i}", {}) for i in range(40)], T0)
            claimed: list[str] = []
            for _ in range(6):
                batches = await asyncio.gather(*(
                    store.claim_inbox(worker, T0, LEASE, 4)
                    for store, worker in ((a, "a1"), (b, "b1"), (a, "a2"), (b, "b2"))))
                claimed.extend(i.id for batch in batches for i in batch)
            assert len(claimed) == len(set(claimed)) == 40
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())
