"""What only the SQLite store does: migrations, group commits, locks; the rest of what a store
must do is the contract suite (test_contract.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import with_store

from supportctl.store import SQLiteStore, StoreError, Unavailable, open_store
from supportctl.store.migrations import MIGRATIONS
from supportctl.store.records import Contact, ConversationStatus, JobState, Queue

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










def test_open_store_reads_a_sqlite_url(tmp_path: Path) -> None:
    async def body() -> int:
        store = await open_store(f"sqlite:///{tmp_path / 'u.db'}")
        try:
            return await store.schema_version()
        finally:
            await store.close()

    assert asyncio.run(body()) == MIGRATIONS[-1].version
    assert (tmp_path / "u.db").exists()





def test_waiting_for_a_locked_database_never_blocks_the_event_loop(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with_store(path, lambda s: s.schema_version())
    other = sqlite3.connect(path, isolation_level=None)

    async def main() -> tuple[Contact, int]:
        store = await SQLiteStore.open(path)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            write = asyncio.create_task(store.resolve_contact("wa", "1", T0))
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
        contact, ticks = asyncio.run(main())
        assert ticks == 20 and contact.identities[0].external_user_id == "1"
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
                await store.enqueue(Queue.RECEIPTS, [("wa:1", "wa", {})], T0)
            other.execute("ROLLBACK")
            (job,) = await store.enqueue(Queue.RECEIPTS, [("wa:1", "wa", {})], T0)
            assert job is not None  # nothing was kept
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
        pending = asyncio.create_task(store.resolve_contact("wa", "1", T0))
        await asyncio.sleep(0)  # submitted before close: it still completes
        await store.close()
        assert (await pending).identities
        await store.close()
        with pytest.raises(StoreError, match="closed"):
            await store.ping()

    asyncio.run(main())




def test_a_version_1_database_is_upgraded_and_keeps_its_conversations(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY,"
                     " name TEXT NOT NULL, applied_at BIGINT NOT NULL)")
        for statement in MIGRATIONS[0].statements:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version VALUES (1, 'initial schema', 0)")
        conn.execute("INSERT INTO contacts (id, attributes, created_at) VALUES ('c1', '{}', 0)")
        conn.execute("INSERT INTO conversations (id, contact_id, channel, status, opened_at,"
                     " updated_at) VALUES ('v1', 'c1', 'wa', 'waiting', 0, 0)")

    async def body(s: SQLiteStore) -> None:
        assert s.migrated_from == 1
        assert await s.schema_version() == MIGRATIONS[-1].version
        old = await s.get_conversation("v1")
        assert (old.context, old.version) == ({}, 1)
        assert await s.list_tokens("agent") == []
    with_store(path, body)


def test_version_5_moves_the_four_queues_into_the_work_queue(tmp_path: Path) -> None:
    """What a version-4 database waits with (an inbox item, dedupe keys, a pending send, a
    notification, a timer) is still there, as jobs, after the upgrade; two open conversations
    of one contact on one channel (simultaneous first messages) keep only the newest open."""
    path = tmp_path / "s.db"
    micros = 1_700_000_000_000_000
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY,"
                     " name TEXT NOT NULL, applied_at BIGINT NOT NULL)")
        for migration in MIGRATIONS[:4]:
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version VALUES (?, ?, 0)",
                         (migration.version, migration.name))
        conn.execute("INSERT INTO contacts (id, attributes, created_at) VALUES ('c1', '{}', 0)")
        for conversation, opened in (("v1", micros), ("v2", micros + 1)):
            conn.execute("INSERT INTO conversations (id, contact_id, channel, status, opened_at,"
                         " updated_at) VALUES (?, 'c1', 'wa', 'waiting', ?, ?)",
                         (conversation, opened, opened))
        conn.execute("INSERT INTO messages (id, conversation_id, direction, channel, payload,"
                     " status, created_at) VALUES ('m1', 'v2', 'out', 'wa', '{}', 'queued', ?)",
                     (micros,))
        conn.execute("INSERT INTO outbox (id, message_id, state, attempts, next_attempt_at,"
                     " last_error) VALUES ('o1', 'm1', 'pending', 2, ?, '500')", (micros,))
        conn.execute("INSERT INTO inbox (id, channel, key, event, state, received_at,"
                     " next_attempt_at) VALUES ('i1', 'wa', 'wamid.1', '{\"kind\": \"message\"}',"
                     " 'pending', ?, ?)", (micros, micros))
        conn.execute("INSERT INTO inbound_dedupe VALUES ('wa', 'wamid.1', ?)", (micros,))
        conn.execute("INSERT INTO inbound_dedupe VALUES ('wa', 'wamid.0', ?)", (micros,))
        conn.execute("INSERT INTO notifications (id, target, kind, payload, state,"
                     " next_attempt_at, created_at) VALUES ('n1', 'slack', 'x', '{}', 'failed',"
                     " ?, ?)", (micros, micros))
        conn.execute("INSERT INTO timers (id, conversation_id, kind, due_at) VALUES"
                     " ('t1', 'v2', 'auto_close', ?)", (micros,))

    async def body(s: SQLiteStore) -> None:
        assert (s.migrated_from, await s.schema_version()) == (4, 5)
        (send,) = await s.list_jobs(Queue.OUTBOX)
        assert (send.id, send.key, send.kind, send.conversation_id, send.state,
                send.attempts) == ("o1", "m1", "wa", "v2", JobState.PENDING, 2)
        receipts = {j.key: j.state for j in await s.list_jobs(Queue.RECEIPTS)}
        assert receipts == {"wa:wamid.1": JobState.PENDING, "wa:wamid.0": JobState.DONE}
        (notification,) = await s.list_jobs(Queue.NOTIFICATIONS)
        assert (notification.id, notification.kind, notification.state) == (
            "n1", "slack", JobState.PARKED)
        (timer,) = await s.list_jobs(Queue.TIMERS)
        assert (timer.kind, timer.conversation_id) == ("auto_close", "v2")
        assert (await s.get_conversation("v1")).status is ConversationStatus.CLOSED
        assert (await s.get_conversation("v2")).status is ConversationStatus.WAITING
        # a redelivery of a key the old dedupe table knew is still recognised
        assert await s.enqueue(Queue.RECEIPTS, [("wa:wamid.0", "wa", {})], T0) == [None]
    with_store(path, body)


def test_concurrent_writes_share_commits_and_a_failed_one_is_undone_alone(
        tmp_path: Path) -> None:
    async def main() -> None:
        store = await SQLiteStore.open(tmp_path / "s.db")
        try:
            before = (store._db.commits, store._db.writes)

            async def fails() -> None:
                await store.merge_contacts("nobody", "nobody-else", T0)

            results = await asyncio.gather(
                *(store.resolve_contact("wa", f"u{n}", T0) for n in range(50)), fails(),
                *(store.resolve_contact("wa", f"v{n}", T0) for n in range(50)),
                return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            assert len(failures) == 1 and "no contact" in str(failures[0])
            commits = store._db.commits - before[0]
            writes = store._db.writes - before[1]
            assert writes == 101 and commits < writes / 4  # grouped
            for n in range(50):  # everything but the failed write was kept
                assert await store.find_identity("wa", f"u{n}") is not None
                assert await store.find_identity("wa", f"v{n}") is not None
        finally:
            await store.close()
    asyncio.run(main())
