"""Migration 2: conversation context, identity lookups, filtered lists, messages of an identity,
access tokens (stored by hash only)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import with_store

from supportctl.store import NotFound, SQLiteStore, StoreError
from supportctl.store.migrations import MIGRATIONS
from supportctl.store.records import ConversationStatus, Direction, TokenKind
from supportctl.store.tokens import hash_token, new_token

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)



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
        assert old.context == {}
        assert await s.list_tokens("agent") == []
    with_store(path, body)


def test_set_context_replaces_it_whole_without_an_event(tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        contact = await s.resolve_contact("wa", "+491", T0)
        conv = await s.open_conversation(contact.id, "wa", T0)
        assert conv.context == {}
        events = len(await s.list_events(conv.id))
        first = await s.set_context(conv.id, {"menu": ["root", "billing"], "csat_asked": False},
                                    T0 + timedelta(minutes=1))
        assert first.context == {"menu": ["root", "billing"], "csat_asked": False}
        assert first.updated_at == T0 + timedelta(minutes=1)
        second = await s.set_context(conv.id, {"csat_asked": True}, T0)
        assert second.context == {"csat_asked": True}  # replaced, not merged
        assert second.updated_at == T0 + timedelta(minutes=1)  # never moves back
        assert (await s.get_conversation(conv.id)).context == {"csat_asked": True}
        assert len(await s.list_events(conv.id)) == events
        with pytest.raises(NotFound):
            await s.set_context("nope", {}, T0)
    with_store(tmp_path / "s.db", body)


def test_find_identity_looks_up_without_creating(tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        assert await s.find_identity("wa", "+491") is None
        contact = await s.resolve_contact("wa", "+491", T0, phone="+491")
        found = await s.find_identity("wa", "+491")
        assert found is not None
        assert (found.contact_id, found.phone, found.created_at) == (contact.id, "+491", T0)
        assert await s.find_identity("tg", "+491") is None
        assert (await s.get_contact(contact.id)).identities == (found,)
    with_store(tmp_path / "s.db", body)


def test_list_conversations_filters_by_teams_contact_channel_and_statuses(tmp_path: Path
                                                                          ) -> None:
    async def body(s: SQLiteStore) -> None:
        anna = await s.resolve_contact("wa", "anna", T0)
        ben = await s.resolve_contact("tg", "ben", T0)
        a1 = await s.open_conversation(anna.id, "wa", T0)
        a2 = await s.open_conversation(anna.id, "wa", T0 + timedelta(minutes=2))
        b1 = await s.open_conversation(ben.id, "tg", T0 + timedelta(minutes=1))
        b2 = await s.open_conversation(ben.id, "tg", T0 + timedelta(minutes=3))
        await s.assign(a1.id, T0, team="billing", agent="eva", rule="r", reason="routed")
        await s.assign(a2.id, T0, team="general", agent=None, rule="r", reason="routed")
        await s.assign(b1.id, T0, team="sales", agent=None, rule="r", reason="routed")
        await s.set_status(b2.id, ConversationStatus.CLOSED, T0, reason="done")

        async def ids(**filters: object) -> list[str]:
            return [c.id for c in await s.list_conversations(**filters)]  # type: ignore[arg-type]
        assert await ids() == [a1.id, b1.id, a2.id, b2.id]  # oldest opened first
        assert await ids(teams=["general", "billing"]) == [a1.id, a2.id]
        assert await ids(teams=[]) == []
        assert await ids(contact_id=ben.id) == [b1.id, b2.id]
        assert await ids(channel="wa") == [a1.id, a2.id]
        assert await ids(statuses=[ConversationStatus.QUEUED, ConversationStatus.CLOSED]) == [
            b1.id, a2.id, b2.id]
        assert await ids(statuses=[ConversationStatus.QUEUED], teams=["sales", "general"],
                         channel="tg") == [b1.id]
        assert await ids(status=ConversationStatus.OPEN, agent="eva", teams=["billing"],
                         contact_id=anna.id) == [a1.id]
        assert await ids(team="general", statuses=[ConversationStatus.OPEN]) == []
        assert await ids(limit=1, contact_id=anna.id) == [a1.id]
    with_store(tmp_path / "s.db", body)


def test_messages_of_identity_span_the_contacts_conversations_on_that_channel(tmp_path: Path
                                                                              ) -> None:
    async def body(s: SQLiteStore) -> None:
        visitor = await s.resolve_contact("webchat", "v-1", T0, email="a@example.com")
        other = await s.resolve_contact("webchat", "v-2", T0)
        # the same person on WhatsApp (verified email): a different channel's messages stay out
        await s.resolve_contact("wa", "+491", T0, email="a@example.com")
        first = await s.open_conversation(visitor.id, "webchat", T0)
        m1 = await s.add_message(first.id, Direction.IN, "webchat", {"text": "hi"}, T0)
        m2 = await s.add_message(first.id, Direction.OUT, "webchat", {"text": "hello"}, T0,
                                 author="eva", outbox=True)
        await s.add_message(first.id, Direction.OUT, "wa", {"template": "t"}, T0)
        await s.set_status(first.id, ConversationStatus.CLOSED, T0, reason="done")
        second = await s.open_conversation(visitor.id, "webchat", T0 + timedelta(hours=1))
        m3 = await s.add_message(second.id, Direction.IN, "webchat", {"text": "again"},
                                 T0 + timedelta(hours=1))
        theirs = await s.open_conversation(other.id, "webchat", T0)
        await s.add_message(theirs.id, Direction.IN, "webchat", {"text": "not yours"}, T0)

        got = await s.messages_of_identity("webchat", "v-1")
        assert [m.id for m in got] == [m1.id, m2.id, m3.id]
        assert [m.direction for m in got] == [Direction.IN, Direction.OUT, Direction.IN]
        assert [m.id for m in await s.messages_of_identity("webchat", "v-1", after=m1.id)] == [
            m2.id, m3.id]
        assert await s.messages_of_identity("webchat", "v-1", after=m3.id) == []
        assert [m.id for m in await s.messages_of_identity("webchat", "v-1", limit=2)] == [
            m1.id, m2.id]
        assert await s.messages_of_identity("webchat", "unknown") == []
        assert await s.messages_of_identity("wa", "v-1") == []
    with_store(tmp_path / "s.db", body)


def test_tokens_are_made_with_a_prefix_and_stored_only_by_hash(tmp_path: Path) -> None:
    token = new_token("sct_")
    assert token.startswith("sct_") and len(token) > 40
    assert new_token("sct_") != token
    assert hash_token(token) == hash_token(token) and len(hash_token(token)) == 64

    async def body(s: SQLiteStore) -> None:
        added = await s.add_token("agent", "eva", hash_token(token), T0, label="laptop")
        assert (added.kind, added.subject, added.label, added.channel) == (
            TokenKind.AGENT, "eva", "laptop", None)
        assert (added.created_at, added.last_used_at, added.revoked_at) == (T0, None, None)
        with pytest.raises(StoreError, match="already stored"):
            await s.add_token("agent", "otto", hash_token(token), T0)
        with pytest.raises(StoreError, match="unknown token kind"):
            await s.add_token("admin", "eva", hash_token("x"), T0)
    path = tmp_path / "s.db"
    with_store(path, body)
    dump = "\n".join(sqlite3.connect(path).iterdump())
    assert token not in dump and hash_token(token) in dump


def test_use_token_checks_kind_channel_revocation_and_idle_time(tmp_path: Path) -> None:
    async def body(s: SQLiteStore) -> None:
        await s.add_token("agent", "eva", "h-agent", T0)
        await s.add_token("contact", "v-1", "h-chat", T0, channel="webchat")
        assert await s.use_token("agent", "unknown", T0) is None
        assert await s.use_token("contact", "h-agent", T0) is None  # another kind
        assert await s.use_token("contact", "h-chat", T0, channel="wa") is None
        used = await s.use_token("contact", "h-chat", T0 + timedelta(minutes=5),
                                 channel="webchat")
        assert used is not None and used.last_used_at == T0 + timedelta(minutes=5)
        # idle time counts from the last use, else from creation
        ttl = timedelta(minutes=30)
        assert await s.use_token("agent", "h-agent", T0 + timedelta(minutes=31),
                                 idle_ttl=ttl) is None
        assert await s.use_token("contact", "h-chat", T0 + timedelta(minutes=35),
                                 idle_ttl=ttl) is not None
        assert await s.use_token("contact", "h-chat", T0 + timedelta(minutes=66),
                                 idle_ttl=ttl) is None
        # a refused use changes nothing
        listed = await s.list_tokens("contact", "v-1")
        assert [t.last_used_at for t in listed] == [T0 + timedelta(minutes=35)]
        assert await s.use_token("agent", "h-agent", T0 + timedelta(days=9)) is not None
    with_store(tmp_path / "s.db", body)


def test_revoking_counts_live_tokens_and_revoked_ones_are_listed_but_refused(tmp_path: Path
                                                                          ) -> None:
    async def body(s: SQLiteStore) -> None:
        await s.add_token("agent", "eva", "h1", T0, label="laptop")
        await s.add_token("agent", "eva", "h2", T0 + timedelta(seconds=1), label="phone")
        await s.add_token("agent", "otto", "h3", T0)
        await s.add_token("contact", "eva", "h4", T0, channel="webchat")
        assert await s.revoke_tokens("agent", "eva", T0 + timedelta(hours=1)) == 2
        assert await s.revoke_tokens("agent", "eva", T0 + timedelta(hours=2)) == 0
        assert await s.use_token("agent", "h1", T0 + timedelta(hours=3)) is None
        assert await s.use_token("contact", "h4", T0 + timedelta(hours=3)) is not None
        eva = await s.list_tokens("agent", "eva")
        assert [(t.label, t.revoked_at) for t in eva] == [
            ("laptop", T0 + timedelta(hours=1)), ("phone", T0 + timedelta(hours=1))]
        assert [t.subject for t in await s.list_tokens("agent")] == ["eva", "otto", "eva"]
        assert await s.list_tokens("contact", "nobody") == []
    with_store(tmp_path / "s.db", body)
