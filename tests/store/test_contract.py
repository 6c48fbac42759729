"""The store contract: what every `Store` implementation must do, tested unchanged against each.

Each test takes `stores`, which opens a store of the backend under test on one database (call
it twice for two processes sharing it). SQLite is the one backend today; a PostgreSQL store
joins `BACKENDS` and must pass every test here as it is.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from transitions import assign, change, changed, open_conversation, opening, receive, send

from supportctl.store import NotFound, SQLiteStore, Store, StoreError
from supportctl.store.interface import ClaimLost, Conflict
from supportctl.store.records import (
    Conversation,
    ConversationStatus,
    Direction,
    EventKind,
    Instance,
    JobState,
    MessageStatus,
    Queue,
    TimerKind,
    TokenKind,
)
from supportctl.store.tokens import hash_token, new_token
from supportctl.store.transition import (
    Assign,
    CsatScore,
    Lease,
    NewEvent,
    NewMessage,
    NewNotification,
    SetTimer,
)

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

Opener = Callable[[], Awaitable[Store]]


async def _sqlite(path: Path) -> Store:
    return await SQLiteStore.open(path / "contract.db")


BACKENDS: dict[str, Callable[[Path], Awaitable[Store]]] = {"sqlite": _sqlite}


@pytest.fixture(params=sorted(BACKENDS))
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens a store of the backend under test; every call shares one database."""
    backend = BACKENDS[request.param]
    return lambda: backend(tmp_path)


def run(stores: Opener, body: Callable[[Store], Awaitable[None]]) -> None:
    async def main() -> None:
        store = await stores()
        try:
            await body(store)
        finally:
            await store.close()
    asyncio.run(main())


def lease(holder: str = "w1", until: datetime = T0 + HOUR) -> Lease:
    return Lease(holder, holder.split("/")[0], until)


# --- contacts -----------------------------------------------------------------------------------


def test_contacts_match_across_channels_by_verified_phone_or_email(stores: Opener) -> None:
    async def body(s: Store) -> None:
        wa = await s.resolve_contact("wa", "4915112345678", T0, name="Eva",
                                     phone="+4915112345678")
        tg = await s.resolve_contact("tg", "991", T0, phone="+4915112345678")
        assert tg.id == wa.id
        assert {i.channel for i in tg.identities} == {"wa", "tg"}
        web = await s.resolve_contact("web", "cookie-1", T0, email=" Eva@Example.com ")
        shop = await s.resolve_contact("shop", "7", T0, email="eva@example.com")
        assert shop.id == web.id and web.id != wa.id
        again = await s.resolve_contact("wa", "4915112345678", T0)  # no phone this time
        assert again.id == wa.id
        assert (await s.find_identity("wa", "4915112345678")).phone == "+4915112345678"  # type: ignore[union-attr]
        assert await s.find_identity("wa", "nobody") is None
        assert await s.find_identity("wa", "nobody") is None  # looking never creates
        updated = await s.update_contact(wa.id, language="de", attributes={"segment": "vip"})
        updated = await s.update_contact(wa.id, attributes={"tier": 2})
        assert (updated.language, updated.attributes) == ("de", {"segment": "vip", "tier": 2})
        with pytest.raises(NotFound):
            await s.get_contact("nope")
    run(stores, body)


def test_merging_contacts_moves_identities_and_conversations(stores: Opener) -> None:
    async def body(s: Store) -> None:
        keep = await s.resolve_contact("wa", "+491", T0, name="Ana", phone="+491")
        drop = await s.resolve_contact("web", "cookie", T0, email="ana@example.com")
        other = await s.resolve_contact("wa", "+492", T0)
        kept_chat = await open_conversation(s, keep.id, "web", T0)
        dropped_chat = await open_conversation(s, drop.id, "web", T0)
        dropped_closed = await open_conversation(s, drop.id, "mail", T0)
        await change(s, dropped_closed, T0, status=ConversationStatus.CLOSED, closed_at=T0)
        merged = await s.merge_contacts(keep.id, drop.id, T0 + HOUR)
        assert {i.channel for i in merged.identities} == {"wa", "web"}
        assert merged.name == "Ana"
        moved = await s.list_conversations(contact_id=keep.id)
        assert {c.id for c in moved} == {kept_chat.id, dropped_chat.id, dropped_closed.id}
        # one open conversation per contact and channel: the kept contact's stays open
        assert (await s.get_conversation(kept_chat.id)).status is ConversationStatus.WAITING
        closed = await s.get_conversation(dropped_chat.id)
        assert closed.status is ConversationStatus.CLOSED
        kinds = [(e.kind, e.data.get("reason")) for e in await s.list_events(dropped_chat.id)]
        assert (EventKind.STATUS, "merged") in kinds
        assert (await s.list_events(dropped_closed.id))[-1].data == {"from": drop.id,
                                                                      "into": keep.id}
        assert (await s.resolve_contact("web", "cookie", T0)).id == keep.id
        with pytest.raises(NotFound):
            await s.get_contact(drop.id)
        with pytest.raises(StoreError):
            await s.merge_contacts(other.id, other.id, T0)
    run(stores, body)


# --- apply --------------------------------------------------------------------------------------


def test_apply_writes_a_whole_transition_and_a_snapshot_reads_it_back(stores: Opener) -> None:
    async def body(s: Store) -> None:
        contact = await s.resolve_contact("wa", "+491", T0)
        state = opening(contact.id, "wa", T0).after
        state = replace(state, last_customer_message={"wa": T0}, context={"menu": ["main"]})
        log = (NewEvent(EventKind.OPENED, {"channel": "wa"}),
               NewMessage(Direction.IN, "wa", {"text": "Hello"}, external_id="wamid.1"),
               NewMessage(Direction.OUT, "wa", {"text": "Pick a topic"}),
               NewEvent(EventKind.NOT_SENT, {"what": "x"}))
        applied = await s.apply(changed(state, T0, log=log), hold=lease("hook"))
        conversation = applied.conversation
        assert conversation.id == state.id and conversation.version == 1
        assert [e.kind for e in applied.events] == [
            EventKind.OPENED, EventKind.MESSAGE, EventKind.MESSAGE, EventKind.NOT_SENT]
        inbound, outbound = applied.messages
        assert (inbound.direction, inbound.status, inbound.external_id) == (
            Direction.IN, MessageStatus.RECEIVED, "wamid.1")
        assert outbound.status is MessageStatus.QUEUED
        assert [e.id for e in await s.list_events(conversation.id)] == [
            e.id for e in applied.events]
        stored = await s.get_conversation(conversation.id)
        assert stored == conversation
        assert stored.last_customer_message == {"wa": T0}
        # the outbound message is in the outbox, held by the lease it was queued with
        (job,) = await s.claimed_jobs(Queue.OUTBOX, "hook")
        assert (job.key, job.kind, job.conversation_id) == (outbound.id, "wa", conversation.id)
        assert await s.claim(Queue.OUTBOX, lease("w2"), T0, 10) == []
        snapshot = await s.inbound_snapshot("wa", "+491", T0)
        assert snapshot.conversation == stored and snapshot.contact.id == contact.id
        assert snapshot.inbound_texts == ("Hello",)
        assert (await s.snapshot(conversation.id)).conversation == stored
        assert (await s.inbound_snapshot("wa", "+499", T0)).conversation is None
        with pytest.raises(NotFound):
            await s.snapshot("nope")
    run(stores, body)


def test_a_transition_from_an_old_version_is_refused_and_writes_nothing(stores: Opener) -> None:
    async def body(s: Store) -> None:
        contact = await s.resolve_contact("wa", "+491", T0)
        first = await open_conversation(s, contact.id, "wa", T0)
        await receive(s, first, "one", T0)  # version 2 now
        stale = changed(first, T0, log=(NewMessage(Direction.OUT, "wa", {"text": "late"}),),
                        status=ConversationStatus.CLOSED, closed_at=T0)
        with pytest.raises(Conflict):
            await s.apply(stale)
        now = await s.get_conversation(first.id)
        assert (now.status, now.version) == (ConversationStatus.WAITING, 2)
        assert [m.payload["text"] for m in await s.list_messages(first.id)] == ["one"]
        assert await s.list_jobs(Queue.OUTBOX) == []
        with pytest.raises(NotFound):
            await s.apply(changed(replace(first, id="nope"), T0))
    run(stores, body)


def test_one_open_conversation_per_contact_and_channel(stores: Opener) -> None:
    async def body(s: Store) -> None:
        contact = await s.resolve_contact("wa", "+491", T0)
        first = await open_conversation(s, contact.id, "wa", T0)
        with pytest.raises(Conflict):
            await s.apply(opening(contact.id, "wa", T0))  # two first messages at once
        assert len(await s.list_conversations(contact_id=contact.id)) == 1
        other_channel = await open_conversation(s, contact.id, "web", T0)
        closed = (await change(s, first, T0, status=ConversationStatus.CLOSED,
                               closed_at=T0)).conversation
        later = await open_conversation(s, contact.id, "wa", T0 + HOUR)
        # reopening the closed one while another is open is refused too
        with pytest.raises(Conflict):
            await change(s, closed, T0 + HOUR, status=ConversationStatus.WAITING,
                         closed_at=None)
        assert {c.id for c in await s.list_conversations(contact_id=contact.id)} == {
            first.id, other_channel.id, later.id}
    run(stores, body)


def test_an_assignment_holds_only_while_the_agent_has_room(stores: Opener) -> None:
    async def body(s: Store) -> None:
        held = []
        for n in range(3):
            contact = await s.resolve_contact("wa", f"+49{n}", T0)
            held.append(await open_conversation(s, contact.id, "wa", T0))
        await assign(s, held[0], T0, team="general", agent="anna", max_open=2, open_seen=0)
        await assign(s, held[1], T0, team="general", agent="anna", max_open=2, open_seen=1)
        assert await s.open_counts() == {"anna": 2}
        third = await s.get_conversation(held[2].id)
        with pytest.raises(Conflict, match="max_open"):
            await assign(s, third, T0, team="general", agent="anna", max_open=2, open_seen=2)
        # a decision that saw fewer open than there are now is refused as well
        with pytest.raises(Conflict, match="meanwhile"):
            await assign(s, third, T0, team="general", agent="anna", max_open=5, open_seen=1)
        assert (await s.get_conversation(third.id)).agent is None
        await assign(s, third, T0, team="general", agent="bob", max_open=5, open_seen=None)
        # without max_open (a person's choice) it always holds
        again = await s.get_conversation(third.id)
        await assign(s, again, T0, team="general", agent="anna")
        assert await s.open_counts() == {"anna": 3}
        history = await s.assignment_history(third.id)
        assert [(r.agent, r.reason) for r in history] == [("bob", "test"), ("anna", "test")]
    run(stores, body)


def test_round_robin_positions_move_only_from_the_position_the_decision_saw(
        stores: Opener) -> None:
    async def body(s: Store) -> None:
        conversations = []
        for n in range(3):
            contact = await s.resolve_contact("wa", f"+49{n}", T0)
            conversations.append(await open_conversation(s, contact.id, "wa", T0))
        await assign(s, conversations[0], T0, team="general", agent="anna", round_robin=True,
                     last_seen=None)
        assert await s.round_robin_positions() == {"general": "anna"}
        with pytest.raises(Conflict, match="round robin"):
            await assign(s, conversations[1], T0, team="general", agent="anna",
                         round_robin=True, last_seen=None)
        await assign(s, conversations[1], T0, team="general", agent="bob", round_robin=True,
                     last_seen="anna")
        await assign(s, conversations[2], T0, team="general", agent=None)  # queued: no move
        assert await s.round_robin_positions() == {"general": "bob"}
    run(stores, body)


def test_timers_are_armed_moved_cancelled_and_a_moved_timer_cannot_finish(
        stores: Opener) -> None:
    async def body(s: Store) -> None:
        contact = await s.resolve_contact("wa", "+491", T0)
        conversation = await open_conversation(s, contact.id, "wa", T0)
        steps = (SetTimer(TimerKind.ESCALATION, T0 + HOUR, {"to": "leads"}, 0),
                 SetTimer(TimerKind.ESCALATION, T0 + 2 * HOUR, {"to": "boss"}, 1),
                 SetTimer(TimerKind.AUTO_CLOSE, T0 + HOUR))
        conversation = (await change(s, conversation, T0, timers=steps)).conversation
        (due,) = [j for j in await s.claim(Queue.TIMERS, lease("t1", T0 + 3 * HOUR),
                                           T0 + HOUR, 10) if j.kind == "auto_close"]
        # activity re-arms the auto-close: the claimed firing can no longer finish
        moved = SetTimer(TimerKind.AUTO_CLOSE, T0 + 5 * HOUR)
        conversation = (await change(s, conversation, T0 + HOUR, timers=(moved,))).conversation
        assert not await s.finish(due.id, "t1", T0 + HOUR)
        with pytest.raises(ClaimLost):
            await s.apply(changed(conversation, T0 + HOUR, status=ConversationStatus.CLOSED),
                          finish=(due.id, "t1"))
        assert (await s.get_conversation(conversation.id)).status is ConversationStatus.WAITING
        cancel = replace(changed(conversation, T0 + HOUR),
                         cancel_timers=frozenset({TimerKind.ESCALATION}))
        await s.apply(cancel)
        pending = await s.list_jobs(Queue.TIMERS, state=JobState.PENDING)
        assert [(j.kind, j.due_at) for j in pending] == [("auto_close", T0 + 5 * HOUR)]
        assert (await s.queue_depths()).pending[Queue.TIMERS] == 1
    run(stores, body)


def test_a_transition_finishes_its_job_or_is_not_written(stores: Opener) -> None:
    async def body(s: Store) -> None:
        contact = await s.resolve_contact("wa", "+491", T0)
        (receipt,) = await s.enqueue(Queue.RECEIPTS, [("wa:m1", "wa", {"text": "hi"})], T0,
                                     lease=lease("hook"))
        assert receipt is not None
        first = opening(contact.id, "wa", T0)
        with pytest.raises(ClaimLost):  # another holder: nothing at all is written
            await s.apply(first, finish=(receipt.id, "someone else"))
        assert await s.list_conversations(contact_id=contact.id) == []
        applied = await s.apply(first, finish=(receipt.id, "hook"))
        done = await s.get_job(receipt.id)
        assert (done.state, done.attempts, done.claimed_by) == (JobState.DONE, 1, None)
        assert applied.conversation.contact_id == contact.id
    run(stores, body)


def test_notifications_and_csat_are_written_with_the_transition(stores: Opener) -> None:
    async def body(s: Store) -> None:
        contact = await s.resolve_contact("wa", "+491", T0)
        conversation = await open_conversation(s, contact.id, "wa", T0)
        notes = (NewNotification("slack", {"kind": "conversation.routed"}),
                 NewNotification("crm", {"kind": "conversation.routed"}))
        t = replace(changed(conversation, T0, log=(NewEvent(EventKind.NOTIFY, {"x": 1}),)),
                    notifications=notes, csat=CsatScore(4, "quick"))
        applied = await s.apply(t)
        assert applied.notifications == 2
        jobs = await s.list_jobs(Queue.NOTIFICATIONS)
        assert sorted(j.kind for j in jobs) == ["crm", "slack"]
        assert all(j.conversation_id == conversation.id for j in jobs)
        answer = await s.get_csat(conversation.id)
        assert answer is not None and (answer.score, answer.comment) == (4, "quick")
        again = replace(changed(applied.conversation, T0 + HOUR), csat=CsatScore(2, None))
        await s.apply(again)
        assert (await s.get_csat(conversation.id)).score == 2  # type: ignore[union-attr]
    run(stores, body)


def test_the_queue_and_the_agents_load(stores: Opener) -> None:
    async def body(s: Store) -> None:
        queued = []
        for n, language in enumerate(("de", None, "en")):
            contact = await s.resolve_contact("web", f"c{n}", T0, language=language)
            conversation = await open_conversation(s, contact.id, "web", T0)
            applied = await assign(s, conversation, T0 + timedelta(minutes=3 - n),
                                   team="general", agent=None)
            queued.append(applied.conversation)
        contact = await s.resolve_contact("web", "busy", T0)
        held = await open_conversation(s, contact.id, "web", T0)
        held = (await assign(s, held, T0, team="general", agent="anna")).conversation
        await change(s, held, T0, status=ConversationStatus.WAITING)  # still anna's
        listed, counts, positions = await s.queue_snapshot()
        assert [(c.id, language) for c, language in listed] == [
            (queued[2].id, "en"), (queued[1].id, None), (queued[0].id, "de")]
        assert listed[0][0].queued_at == T0 + timedelta(minutes=1)
        assert counts == {"anna": 1} == await s.open_counts()
        assert positions == {}
        depths = await s.queue_depths()
        assert depths.queued_conversations == {"general": 3}
    run(stores, body)


def test_list_conversations_filters_by_every_field_given(stores: Opener) -> None:
    async def body(s: Store) -> None:
        made = {}
        for name, channel, team, agent in (("a", "wa", "general", "anna"),
                                           ("b", "web", "general", None),
                                           ("c", "wa", "chinese", "li")):
            contact = await s.resolve_contact(channel, name, T0)
            conversation = await open_conversation(s, contact.id, channel, T0)
            made[name] = (await assign(s, conversation, T0, team=team, agent=agent)).conversation
        ids = lambda found: sorted(c.id for c in found)  # noqa: E731
        assert ids(await s.list_conversations(teams=["general"])) == ids([made["a"],
                                                                           made["b"]])
        assert await s.list_conversations(teams=[]) == []
        assert ids(await s.list_conversations(channel="wa")) == ids([made["a"], made["c"]])
        assert ids(await s.list_conversations(agent="li")) == [made["c"].id]
        assert ids(await s.list_conversations(
            statuses=[ConversationStatus.QUEUED])) == [made["b"].id]
        assert ids(await s.list_conversations(status=ConversationStatus.OPEN,
                                              team="general")) == [made["a"].id]
        assert len(await s.list_conversations(limit=2)) == 2
    run(stores, body)


def test_messages_of_an_identity_span_its_contacts_conversations_on_that_channel(
        stores: Opener) -> None:
    async def body(s: Store) -> None:
        contact = await s.resolve_contact("web", "cookie", T0)
        first = await open_conversation(s, contact.id, "web", T0)
        one = await receive(s, first, "one", T0)
        first = await s.get_conversation(first.id)
        await change(s, first, T0, status=ConversationStatus.CLOSED, closed_at=T0)
        second = await open_conversation(s, contact.id, "web", T0 + HOUR)
        two = await send(s, second, {"text": "two"}, T0 + HOUR)
        found = await s.messages_of_identity("web", "cookie")
        assert [m.id for m in found] == [one.id, two.id]
        assert [m.id for m in await s.messages_of_identity("web", "cookie", after=one.id)] == [
            two.id]
        assert await s.messages_of_identity("web", "nobody") == []
    run(stores, body)


# --- messages and the outbox ----------------------------------------------------------------------


def test_delivery_statuses_keep_the_latest_and_every_time(stores: Opener) -> None:
    async def body(s: Store) -> None:
        contact = await s.resolve_contact("wa", "+491", T0)
        conversation = await open_conversation(s, contact.id, "wa", T0)
        message = await send(s, conversation, {"text": "hi"}, T0)
        (job,) = await s.claim(Queue.OUTBOX, lease(), T0, 1)
        sent = await s.outbox_sent(job.id, "w1", T0, "wamid.out")
        assert sent is not None and (sent.status, sent.external_id) == (MessageStatus.SENT,
                                                                          "wamid.out")
        read = await s.update_message_status("wa", "wamid.out", MessageStatus.READ,
                                             T0 + timedelta(seconds=2))
        late = await s.update_message_status("wa", "wamid.out", MessageStatus.DELIVERED,
                                             T0 + timedelta(seconds=1))
        assert read is not None and late is not None
        assert late.status is MessageStatus.READ  # a late report never moves it back
        assert late.delivered_at == T0 + timedelta(seconds=1)
        assert await s.update_message_status("wa", "unknown", MessageStatus.READ, T0) is None
        kinds = [e.data.get("status") for e in await s.list_events(conversation.id)
                 if e.kind is EventKind.DELIVERY]
        assert kinds == ["sent", "read"]
        assert (await s.get_message(message.id)).read_at == T0 + timedelta(seconds=2)
    run(stores, body)


def test_an_outbox_job_retries_then_parks_and_fails_its_message(stores: Opener) -> None:
    async def body(s: Store) -> None:
        contact = await s.resolve_contact("wa", "+491", T0)
        conversation = await open_conversation(s, contact.id, "wa", T0)
        message = await send(s, conversation, {"text": "hi"}, T0)
        (job,) = await s.claim(Queue.OUTBOX, lease(), T0, 1)
        assert not await s.outbox_failed(job.id, "w2", T0, "500", T0 + HOUR)  # not its claim
        assert await s.outbox_failed(job.id, "w1", T0, "500: busy", T0 + HOUR)
        assert (await s.get_message(message.id)).status is MessageStatus.QUEUED
        assert await s.claim(Queue.OUTBOX, lease(), T0, 1) == []
        (job,) = await s.claim(Queue.OUTBOX, lease(until=T0 + 2 * HOUR), T0 + HOUR, 1)
        assert (job.attempts, job.last_error) == (1, "500: busy")
        assert await s.outbox_failed(job.id, "w1", T0 + HOUR, "131047: window", None)
        failed = await s.get_message(message.id)
        assert (failed.status, failed.error) == (MessageStatus.FAILED, "131047: window")
        assert (await s.get_job(job.id)).state is JobState.PARKED
        assert (await s.queue_depths()).parked[Queue.OUTBOX] == 1
        assert await s.outbound(message.id) == (failed, await s.get_conversation(
            conversation.id), await s.get_contact(contact.id))
    run(stores, body)


# --- the work queue -----------------------------------------------------------------------------


def test_jobs_are_deduplicated_claimed_oldest_first_and_leased(stores: Opener) -> None:
    async def body(s: Store) -> None:
        first = await s.enqueue(Queue.RECEIPTS, [("wa:1", "wa", {"n": 1}),
                                                 ("wa:2", "wa", {"n": 2})], T0)
        again = await s.enqueue(Queue.RECEIPTS, [("wa:1", "wa", {"n": 1}),
                                                 ("wa:3", "wa", {"n": 3})],
                                T0 + timedelta(seconds=1))
        assert [j is not None for j in first + again] == [True, True, False, True]
        other = await s.enqueue(Queue.NOTIFICATIONS, [("wa:1", "slack", {})], T0)
        assert other[0] is not None  # keys are per queue
        claimed = await s.claim(Queue.RECEIPTS, lease("w1", T0 + timedelta(minutes=1)), T0, 2)
        assert [j.payload["n"] for j in claimed] == [1, 2]
        assert [j.payload["n"] for j in await s.claim(
            Queue.RECEIPTS, lease("w2"), T0 + timedelta(seconds=1), 10)] == [3]
        assert await s.claim(Queue.RECEIPTS, lease("w3"), T0 + timedelta(seconds=1), 10) == []
        # the first claim lapses: its jobs are anyone's; only the new holder finishes them
        late = T0 + timedelta(minutes=2)
        retaken = await s.claim(Queue.RECEIPTS, lease("w3", late + HOUR), late, 10)
        assert [j.payload["n"] for j in retaken] == [1, 2]
        assert not await s.finish(retaken[0].id, "w1", late)
        assert await s.finish(retaken[0].id, "w3", late)
        with pytest.raises(StoreError):
            await s.claim(Queue.RECEIPTS, lease("w4", T0), T0, 1)  # a lease must outlast now
    run(stores, body)


def test_jobs_retry_later_park_for_good_release_at_once_and_are_pruned(stores: Opener) -> None:
    async def body(s: Store) -> None:
        jobs = await s.enqueue(Queue.NOTIFICATIONS, [(k, "slack", {}) for k in "abc"], T0)
        a, b, c = (job.id for job in jobs if job is not None)
        assert len(await s.claim(Queue.NOTIFICATIONS, lease(), T0, 10)) == 3
        assert await s.retry(a, "w1", T0, "429", T0 + HOUR)
        assert await s.park(b, "w1", T0, "410 gone")
        assert await s.release(c, "w1", T0)
        assert not await s.release(c, "w1", T0)  # no longer held
        (again,) = await s.claim(Queue.NOTIFICATIONS, lease("w2"), T0, 10)
        assert again.id == c
        assert await s.finish(c, "w2", T0)
        (retried,) = await s.claim(Queue.NOTIFICATIONS, lease("w2", T0 + 2 * HOUR),
                                   T0 + HOUR, 10)
        assert (retried.id, retried.attempts, retried.last_error) == (a, 1, "429")
        parked = await s.get_job(b)
        assert (parked.state, parked.last_error) == (JobState.PARKED, "410 gone")
        assert [j.id for j in await s.list_jobs(Queue.NOTIFICATIONS,
                                                state=JobState.PARKED)] == [b]
        assert await s.prune_jobs(T0 + timedelta(seconds=1)) == 1  # done c; parked b stays
        assert {j.id for j in await s.list_jobs(Queue.NOTIFICATIONS)} == {a, b}
        with pytest.raises(NotFound):
            await s.get_job(c)
    run(stores, body)


def test_two_processes_never_claim_the_same_job(stores: Opener) -> None:
    async def main() -> None:
        first, second = await stores(), await stores()
        try:
            await first.enqueue(Queue.OUTBOX, [(f"m{n}", "wa", {}) for n in range(60)], T0)

            async def drain(store: Store, name: str) -> list[str]:
                taken: list[str] = []
                while batch := await store.claim(Queue.OUTBOX, lease(name), T0, 7):
                    taken += [job.key for job in batch]
                return taken

            mine, theirs = await asyncio.gather(drain(first, "p1"), drain(second, "p2"))
            assert len(mine) + len(theirs) == 60
            assert not set(mine) & set(theirs)
        finally:
            await first.close()
            await second.close()
    asyncio.run(main())


def test_retiring_a_process_releases_its_claims_at_once(stores: Opener) -> None:
    async def body(s: Store) -> None:
        gone = Instance("gone", "host-a", 41, "9", T0, T0)
        alive = Instance("alive", "host-a", 42, "9", T0, T0)
        await s.register_instance(gone)
        await s.register_instance(alive)
        await s.enqueue(Queue.RECEIPTS, [("wa:1", "wa", {}), ("wa:2", "wa", {})], T0)
        await s.claim(Queue.RECEIPTS, Lease("gone/receipts", "gone", T0 + HOUR), T0, 1)
        await s.claim(Queue.RECEIPTS, Lease("alive/receipts", "alive", T0 + HOUR), T0, 1)
        assert await s.heartbeat("alive", T0 + timedelta(seconds=5))
        assert await s.retire_instance("gone") == 1
        assert not await s.heartbeat("gone", T0)
        assert [i.id for i in await s.instances()] == ["alive"]
        (taken,) = await s.claim(Queue.RECEIPTS, lease("new"), T0, 10)  # at once
        assert taken.key == "wa:1"
        assert (await s.instances())[0].heartbeat_at == T0 + timedelta(seconds=5)
    run(stores, body)


# --- tokens and times ---------------------------------------------------------------------------


def test_tokens_are_stored_by_hash_and_checked(stores: Opener) -> None:
    async def body(s: Store) -> None:
        token = new_token("sct_")
        assert token.startswith("sct_") and len(token) > 30
        digest = hash_token(token)
        added = await s.add_token("agent", "anna", digest, T0, label="laptop")
        assert (added.kind, added.subject, added.label) == (TokenKind.AGENT, "anna", "laptop")
        with pytest.raises(StoreError):
            await s.add_token("agent", "anna", digest, T0)
        with pytest.raises(StoreError):
            await s.add_token("robot", "x", hash_token("y"), T0)
        assert await s.use_token("contact", digest, T0) is None  # another kind
        used = await s.use_token("agent", digest, T0 + HOUR)
        assert used is not None and used.last_used_at == T0 + HOUR
        # a validity check does not count as a use
        assert await s.token_valid("agent", digest, T0 + 3 * HOUR, idle_ttl=2 * HOUR)
        assert not await s.token_valid("agent", digest, T0 + 4 * HOUR, idle_ttl=2 * HOUR)
        web = hash_token("wct_1")
        await s.add_token("contact", "visitor", web, T0, channel="web")
        assert await s.use_token("contact", web, T0, channel="other") is None
        assert await s.use_token("contact", web, T0, channel="web") is not None
        assert await s.revoke_tokens("agent", "anna", T0) == 1
        assert await s.revoke_tokens("agent", "anna", T0) == 0
        assert await s.use_token("agent", digest, T0) is None
        assert not await s.token_valid("agent", digest, T0)
        (listed,) = await s.list_tokens("agent", "anna")
        assert listed.revoked_at == T0
    run(stores, body)


def test_naive_times_are_refused(stores: Opener) -> None:
    async def body(s: Store) -> None:
        with pytest.raises(ValueError, match="naive"):
            await s.resolve_contact("wa", "x", datetime(2026, 1, 1))
    run(stores, body)


def test_an_assign_entry_records_its_event_data(stores: Opener) -> None:
    async def body(s: Store) -> None:
        contact = await s.resolve_contact("wa", "+491", T0)
        conversation = await open_conversation(s, contact.id, "wa", T0)
        entry = Assign("general", "anna", "everyone", "routed", {"team": "general", "x": 1})
        applied = await change(s, conversation, T0, log=(entry,), team="general",
                               agent="anna", status=ConversationStatus.OPEN)
        (event,) = applied.events
        assert (event.kind, event.data) == (EventKind.ASSIGNED, {"team": "general", "x": 1})
        (record,) = await s.assignment_history(conversation.id)
        assert (record.team, record.agent, record.rule, record.reason) == (
            "general", "anna", "everyone", "routed")
    run(stores, body)


def test_the_agents_load_follows_every_change_of_who_holds_what(stores: Opener) -> None:
    async def body(s: Store) -> None:
        def counted(found: list[Conversation]) -> dict[str, int]:
            held = Counter(c.agent for c in found if c.agent is not None and c.status in (
                ConversationStatus.OPEN, ConversationStatus.WAITING))
            return dict(held)

        made = []
        for n in range(6):
            contact = await s.resolve_contact("web", f"c{n}", T0)
            made.append(await open_conversation(s, contact.id, "web", T0))
        for n, conversation in enumerate(made):  # anna 3, bob 2, one queued
            agent = "anna" if n < 3 else "bob" if n < 5 else None
            made[n] = (await assign(s, conversation, T0, team="general",
                                    agent=agent)).conversation
        made[0] = (await change(s, made[0], T0, status=ConversationStatus.WAITING)).conversation
        made[1] = (await change(s, made[1], T0, status=ConversationStatus.CLOSED,
                                closed_at=T0)).conversation
        made[2] = (await assign(s, made[2], T0, team="general", agent="bob")).conversation
        made[3] = (await change(s, made[3], T0, status=ConversationStatus.QUEUED,
                                agent=None)).conversation
        keep = await s.resolve_contact("web", "keeper", T0)
        kept = await open_conversation(s, keep.id, "web", T0)
        await assign(s, kept, T0, team="general", agent="anna")
        await s.merge_contacts(keep.id, made[4].contact_id, T0)  # closes bob's open one
        everything = await s.list_conversations(limit=100)
        assert await s.open_counts() == counted(everything) == {"anna": 2, "bob": 1}
    run(stores, body)
