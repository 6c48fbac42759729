"""The SQLite store: migrations, dedupe, contacts, conversations, messages, events, csat."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import with_store

from supportctl.store import NotFound, SQLiteStore, StoreError, Unavailable, open_store
from supportctl.store.migrations import MIGRATIONS
from supportctl.store.records import (
    ConversationStatus,
    Direction,
    MessageStatus,
    QueueDepths,
    TimerKind,
)

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)



def test_migrations_create_the_schema_and_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    assert with_store(path, lambda s: s.schema_version()) == MIGRATIONS[-1].version
    assert with_store(path, lambda s: s.schema_version()) == MIGRATIONS[-1].version
    with sqlite3.connect(path) as conn:
        versions = conn.execute("SELECT version FROM schema_version").fetchall()
        assert versions == [(m.version,) for m in MIGRATIONS]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with_store(path, lambda s: s.schema_version())
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (999, 'future', 0)")
    with pytest.raises(StoreError, match="newer than this supportctl knows"):
        with_store(path, lambda s: s.schema_version())


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_text("not a database, just text that is long enough to have a header" * 20)
    with pytest.raises(StoreError, match="not a usable SQLite database"):
        with_store(path, lambda s: s.schema_version())


def test_dedupe_reports_the_second_insert_even_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "s.db"

    async def first(s: SQLiteStore) -> list[bool]:
        return [await s.record_inbound("wa", "wamid.1", T0),
                await s.record_inbound("wa", "wamid.1", T0),
                await s.record_inbound("tg", "wamid.1", T0)]  # another channel: not a duplicate

    assert with_store(path, first) == [True, False, True]
    assert with_store(path, lambda s: s.record_inbound("wa", "wamid.1", T0)) is False


def test_prune_dedupe_forgets_only_old_keys(tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> tuple[int, bool, bool]:
        await s.record_inbound("wa", "old", T0 - timedelta(days=10))
        await s.record_inbound("wa", "new", T0)
        pruned = await s.prune_dedupe(T0 - timedelta(days=8))
        return (pruned, await s.record_inbound("wa", "old", T0),
                await s.record_inbound("wa", "new", T0))

    assert with_store(tmp_path / "s.db", body) == (1, True, False)


def test_contacts_match_across_channels_by_verified_phone(tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        wa = await s.resolve_contact("wa", "4915112345678", T0, name="Anna",
                                     phone="+4915112345678")
        again = await s.resolve_contact("wa", "4915112345678", T0)
        tg = await s.resolve_contact("tg", "77", T0, phone="+4915112345678")
        other = await s.resolve_contact("tg", "78", T0, phone="+4915100000000")
        unverified = await s.resolve_contact("web", "cookie-1", T0)
        assert again.id == wa.id and tg.id == wa.id
        assert other.id != wa.id and unverified.id not in (wa.id, other.id)
        assert {(i.channel, i.external_user_id) for i in tg.identities} == {
            ("wa", "4915112345678"), ("tg", "77")}
        assert tg.name == "Anna"

    with_store(tmp_path / "s.db", body)


def test_contacts_match_by_verified_email_case_insensitively(tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        web = await s.resolve_contact("web", "c1", T0, email="Li@Example.com")
        mail = await s.resolve_contact("email", "li@example.com", T0, email="li@example.com ")
        assert mail.id == web.id
        updated = await s.update_contact(web.id, language="zh", attributes={"tier": "gold"})
        assert (updated.language, updated.attributes) == ("zh", {"tier": "gold"})
        with pytest.raises(NotFound):
            await s.get_contact("nobody")

    with_store(tmp_path / "s.db", body)


def test_conversation_lifecycle_is_recorded_with_an_event_for_each_change(tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        contact = await s.resolve_contact("web", "c1", T0)
        conv = await s.open_conversation(contact.id, "web", T0)
        assert conv.status is ConversationStatus.WAITING
        await s.add_message(conv.id, Direction.IN, "web", {"text": "hi"}, T0 + timedelta(1))
        queued = await s.assign(conv.id, T0 + timedelta(minutes=1), team="general", agent=None,
                                rule="everyone-else", reason="routed")
        assert queued.status is ConversationStatus.QUEUED
        assigned = await s.assign(conv.id, T0 + timedelta(minutes=2), team="general",
                                  agent="anna", rule="everyone-else", reason="drain",
                                  round_robin=True)
        assert (assigned.status, assigned.agent) == (ConversationStatus.OPEN, "anna")
        assert await s.open_counts() == {"anna": 1}
        assert await s.round_robin_positions() == {"general": "anna"}
        closed = await s.set_status(conv.id, ConversationStatus.CLOSED,
                                    T0 + timedelta(hours=1), reason="agent")
        assert closed.closed_at == T0 + timedelta(hours=1)
        assert await s.open_counts() == {}
        with pytest.raises(StoreError, match="closed"):
            await s.assign(conv.id, T0, team="general", agent="li", rule=None, reason="x")
        await s.record_csat(conv.id, 5, T0 + timedelta(hours=2))
        answer = await s.get_csat(conv.id)
        assert answer is not None and answer.score == 5
        reopened = await s.set_status(conv.id, ConversationStatus.QUEUED,
                                      T0 + timedelta(hours=3), reason="reopen")
        assert reopened.closed_at is None
        assert (await s.latest_conversation(contact.id)) == reopened
        history = await s.assignment_history(conv.id)
        assert [(a.agent, a.reason) for a in history] == [(None, "routed"), ("anna", "drain")]
        kinds = [e.kind for e in await s.list_events(conv.id)]
        assert kinds == ["opened", "message", "assigned", "assigned", "status", "csat", "status"]
        events = await s.list_events(conv.id)
        assert events[4].data == {"from": "open", "to": "closed", "reason": "agent"}

    with_store(tmp_path / "s.db", body)


def test_inbound_messages_move_each_channels_window_start_forward_only(tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        contact = await s.resolve_contact("wa", "1", T0)
        conv = await s.open_conversation(contact.id, "wa", T0)
        later = T0 + timedelta(hours=2)
        await s.add_message(conv.id, Direction.IN, "wa", {"text": "a"}, later)
        await s.add_message(conv.id, Direction.IN, "wa", {"text": "late report"}, T0)
        await s.add_message(conv.id, Direction.IN, "tg", {"text": "b"}, T0)
        await s.add_message(conv.id, Direction.OUT, "wa", {"text": "reply"}, later, author="anna")
        got = await s.get_conversation(conv.id)
        assert got.last_customer_message == {"wa": later, "tg": T0}
        texts = [m.payload["text"] for m in await s.list_messages(conv.id)]
        assert texts == ["late report", "b", "a", "reply"]

    with_store(tmp_path / "s.db", body)


def test_delivery_statuses_keep_the_latest_and_every_time(tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        contact = await s.resolve_contact("wa", "1", T0)
        conv = await s.open_conversation(contact.id, "wa", T0)
        sent = await s.add_message(conv.id, Direction.OUT, "wa", {"text": "x"}, T0,
                                   external_id="wamid.9")
        assert sent.status is MessageStatus.SENT
        read = await s.update_message_status("wa", "wamid.9", MessageStatus.READ, T0 + timedelta(2))
        late = await s.update_message_status("wa", "wamid.9", MessageStatus.DELIVERED,
                                             T0 + timedelta(1))
        assert read is not None and late is not None
        assert late.status is MessageStatus.READ
        assert (late.delivered_at, late.read_at) == (T0 + timedelta(1), T0 + timedelta(2))
        assert await s.update_message_status("wa", "nope", MessageStatus.READ, T0) is None

    with_store(tmp_path / "s.db", body)


def test_naive_times_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="naive"):
        with_store(tmp_path / "s.db", lambda s: s.record_inbound("wa", "1", datetime(2026, 1, 1)))


def test_open_store_reads_a_sqlite_url(tmp_path: Path) -> None:
    async def body() -> int:
        store = await open_store(f"sqlite:///{tmp_path / 'u.db'}")
        try:
            return await store.schema_version()
        finally:
            await store.close()

    assert asyncio.run(body()) == MIGRATIONS[-1].version
    assert (tmp_path / "u.db").exists()


def test_add_inbound_stores_a_message_once_per_external_id(tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        contact = await s.resolve_contact("wa", "1", T0)
        conv = await s.open_conversation(contact.id, "wa", T0)
        assert not await s.seen_inbound("wa", "wamid.1")
        first = await s.add_inbound(conv.id, "wa", "wamid.1", {"text": "hi"}, T0)
        assert first is not None and first.external_id == "wamid.1"
        assert await s.seen_inbound("wa", "wamid.1")
        assert await s.add_inbound(conv.id, "wa", "wamid.1", {"text": "hi"}, T0) is None
        assert [m.id for m in await s.list_messages(conv.id)] == [first.id]

    with_store(tmp_path / "s.db", body)


def test_a_failed_inbound_store_keeps_no_dedupe_key_so_redelivery_is_processed(
        tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        with pytest.raises(NotFound):
            await s.add_inbound("no-such-conversation", "wa", "wamid.2", {"text": "x"}, T0)
        assert not await s.seen_inbound("wa", "wamid.2")

    with_store(tmp_path / "s.db", body)


def test_merging_contacts_moves_identities_and_conversations(tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        keep = await s.resolve_contact("wa", "1", T0, name="Anna")
        drop = await s.resolve_contact("web", "cookie", T0, language="de")
        await s.update_contact(drop.id, attributes={"tier": "gold"})
        conv = await s.open_conversation(drop.id, "web", T0)
        merged = await s.merge_contacts(keep.id, drop.id, T0 + timedelta(hours=1))
        assert (merged.name, merged.language, merged.attributes) == ("Anna", "de",
                                                                      {"tier": "gold"})
        assert {i.channel for i in merged.identities} == {"wa", "web"}
        assert (await s.get_conversation(conv.id)).contact_id == keep.id
        assert (await s.resolve_contact("web", "cookie", T0)).id == keep.id
        assert (await s.list_events(conv.id))[-1].data == {"from": drop.id, "into": keep.id}
        with pytest.raises(NotFound):
            await s.get_contact(drop.id)

    with_store(tmp_path / "s.db", body)


def test_waiting_for_a_locked_database_never_blocks_the_event_loop(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with_store(path, lambda s: s.schema_version())
    other = sqlite3.connect(path, isolation_level=None)

    async def main() -> tuple[bool, int]:
        store = await SQLiteStore.open(path)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            write = asyncio.create_task(store.record_inbound("wa", "1", T0))
            ticks = 0
            for _ in range(20):  # the loop keeps running while the store waits for the lock
                await asyncio.sleep(0.01)
                ticks += 1
            assert not write.done()
            other.execute("COMMIT")
            return await write, ticks
        finally:
            await store.close()

    try:
        assert asyncio.run(main()) == (True, 20)
    finally:
        other.close()


def test_a_lock_held_past_the_busy_timeout_is_reported_as_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    other = sqlite3.connect(path, isolation_level=None)

    async def main() -> None:
        store = await SQLiteStore.open(path, busy_timeout=0.1)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(Unavailable, match="locked"):
                await store.record_inbound("wa", "1", T0)
            other.execute("ROLLBACK")
            assert await store.record_inbound("wa", "1", T0) is True  # nothing was kept
        finally:
            await store.close()

    try:
        asyncio.run(main())
    finally:
        other.close()


def test_two_stores_opening_a_fresh_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "s.db"

    async def main() -> list[int]:
        stores = await asyncio.gather(*(SQLiteStore.open(path) for _ in range(4)))
        try:
            return sorted(s.migrated_from for s in stores)
        finally:
            for store in stores:
                await store.close()

    found = asyncio.run(main())
    # one store found the file new and applied the first migration; the others found it
    # migrated (a store may open between two migrations, so not necessarily to the newest)
    assert found[0] == 0 and all(version > 0 for version in found[1:]), found
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone() == (len(MIGRATIONS),)


def test_a_closed_store_refuses_work_and_closing_twice_is_harmless(tmp_path: Path) -> None:
    async def main() -> None:
        store = await SQLiteStore.open(tmp_path / "s.db")
        pending = asyncio.create_task(store.record_inbound("wa", "1", T0))
        await asyncio.sleep(0)  # submitted before close: it still completes
        await store.close()
        assert await pending is True
        await store.close()
        with pytest.raises(StoreError, match="closed"):
            await store.ping()

    asyncio.run(main())


def test_queues_list_oldest_first_and_depths_count_waiting_work(tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        await s.ping()
        ids = []
        for n in range(3):
            contact = await s.resolve_contact("web", f"c{n}", T0)
            conv = await s.open_conversation(contact.id, "web", T0 + timedelta(minutes=3 - n))
            await s.assign(conv.id, T0, team="general" if n else "chinese", agent=None,
                           rule=None, reason="routed")
            ids.append(conv.id)
        await s.add_message(ids[0], Direction.OUT, "web", {"text": "x"}, T0, outbox=True)
        await s.schedule_timer(ids[0], TimerKind.ESCALATION, T0)
        queued = await s.list_conversations(status=ConversationStatus.QUEUED, team="general")
        assert [c.id for c in queued] == [ids[2], ids[1]]
        assert await s.list_conversations(agent="anna") == []
        assert await s.queue_depths() == QueueDepths({"general": 2, "chinese": 1}, 1, 1)

    with_store(tmp_path / "s.db", body)


def test_an_agents_load_counts_open_and_waiting_conversations_not_queued_ones(
        tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        contact = await s.resolve_contact("web", "c1", T0)
        first = await s.open_conversation(contact.id, "web", T0)
        second = await s.open_conversation(contact.id, "web", T0)
        with pytest.raises(StoreError, match="no agent"):
            await s.set_status(first.id, ConversationStatus.OPEN, T0, reason="x")
        for conv in (first, second):
            await s.assign(conv.id, T0, team="general", agent="anna", rule=None, reason="routed")
        await s.set_status(first.id, ConversationStatus.WAITING, T0, reason="asked customer")
        assert await s.open_counts() == {"anna": 2}
        requeued = await s.set_status(second.id, ConversationStatus.QUEUED, T0, reason="handover")
        assert (requeued.agent, requeued.team) == (None, "general")
        assert (await s.list_events(second.id))[-1].data["from_agent"] == "anna"
        assert await s.open_counts() == {"anna": 1}

    with_store(tmp_path / "s.db", body)
