"""The conversation lifecycle, driven through the real server pieces with a frozen clock.

Events go in through `Desk.receive` (as a channel webhook would hand them over); the outbox,
the timers and the shift ticks are run by hand after moving the clock, and what happened is read
back from the store. The stack is tests/fixtures/stacks/lifecycle.yaml (all times UTC).
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from supportctl.plugins.channel import ContactRef, InboundMessage
from supportctl.runtime.clock import FrozenClock
from supportctl.runtime.payloads import display_text
from supportctl.runtime.server import Server
from supportctl.settings import Settings
from supportctl.store.records import (
    Conversation,
    ConversationStatus,
    Direction,
    Event,
    Message,
    MessageStatus,
)

STACKS = Path(__file__).resolve().parent.parent / "fixtures" / "stacks"
STACK = STACKS / "lifecycle.yaml"
WHATSAPP_STACK = STACKS / "lifecycle-whatsapp.yaml"
ENV = {"SLACK_WEBHOOK_URL": "https://hooks.slack.example/lifecycle"}
# Monday 23 November 2026 in UTC, the workspace's zone
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in the week of MONDAY: day 0 is Monday."""
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


_ids = itertools.count(1)


async def start(tmp: Path, clock: FrozenClock, stack: Path = STACK,
                env: dict[str, str] | None = None) -> Server:
    settings = Settings(database_url=f"sqlite:///{tmp}/s.db")
    return await Server.start(settings, stack, ENV if env is None else env, clock=clock)


def run(body: Callable[[Path], Coroutine[Any, Any, None]], tmp_path: Path) -> None:
    asyncio.run(body(tmp_path))


async def say(server: Server, user: str, text: str, *, channel: str = "chat",
              language: str | None = None, name: str | None = None) -> str:
    event = InboundMessage(channel, f"{user}:{next(_ids)}",
                           ContactRef(user, name=name, language=language),
                           server.clock.now(), text=text)
    return await deliver(server, event)


async def deliver(server: Server, event: InboundMessage) -> str:
    """An event as a channel's webhook hands it over: "stored", or "duplicate"."""
    delivery = await server.receipts.accept(event.channel_id, [event])
    return "stored" if delivery.jobs else "duplicate"


async def conversation_of(server: Server, user: str, channel: str = "chat") -> Conversation:
    contact = await server.store.resolve_contact(channel, user, server.clock.now())
    latest = await server.store.latest_conversation(contact.id)
    assert latest is not None, f"{user} has no conversation"
    return latest


async def events(server: Server, conversation_id: str, kind: str) -> list[Event]:
    return [e for e in await server.store.list_events(conversation_id) if e.kind == kind]


async def sent_texts(server: Server, conversation_id: str) -> list[str]:
    return [display_text(m.payload) for m in await outbound(server, conversation_id)]


async def outbound(server: Server, conversation_id: str) -> list[Message]:
    return [m for m in await server.store.list_messages(conversation_id)
            if m.direction is Direction.OUT]


def holder(conversation: Conversation) -> tuple[str, str | None, str | None]:
    return conversation.status.value, conversation.team, conversation.agent


# --- routing ------------------------------------------------------------------------------------


def test_routing_to_the_team_on_shift_preferring_the_customers_language(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(0, 10))
        server = await start(tmp, clock)
        try:
            # bernd comes first in the day shift, but speaks only German
            assert await say(server, "eve", "Hello there", language="en") == "stored"
            eve = await conversation_of(server, "eve")
            assert holder(eve) == ("open", "support", "anna")
            assert eve.rule == "everyone-else"
            (routed,) = await events(server, eve.id, "routed")
            assert routed.data["outcome"] != "out_of_hours"
            # a German speaker goes to the one of the two with fewer open conversations
            await say(server, "gerd", "Hallo", language="de")
            assert holder(await conversation_of(server, "gerd")) == ("open", "support", "bernd")
            # the evening agents are off shift: never chosen in the morning
            await say(server, "fay", "Hi", language="en")
            assert (await conversation_of(server, "fay")).agent in {"anna", "bernd"}
            # a rule by keyword: the experts team
            await say(server, "ivo", "My espresso machine leaks", language="en")
            ivo = await conversation_of(server, "ivo")
            assert (holder(ivo), ivo.rule) == (("open", "experts", "erik"), "experts")
            # the same message delivered twice is stored once
            event = InboundMessage("chat", "dup-1", ContactRef("eve"), clock.now(), text="x")
            assert await deliver(server, event) == "stored"
            assert await deliver(server, event) == "duplicate"
        finally:
            await server.stop()

    run(body, tmp_path)


def test_out_of_hours_reply_names_the_next_opening_and_queues(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(0, 23))  # Monday 23:00: both shifts are over
        server = await start(tmp, clock)
        try:
            await say(server, "olga", "Anyone there?", language="en")
            olga = await conversation_of(server, "olga")
            assert holder(olga) == ("queued", "support", None)
            (reply,) = await sent_texts(server, olga.id)
            assert reply == "Nobody is in right now; we are back at 2026-11-24 08:00 UTC."
            (routed,) = await events(server, olga.id, "routed")
            assert routed.data["outcome"] == "out_of_hours"
            assert routed.data["next_open"] == at(1, 8).isoformat()
            assert await server.outbox.run_once() == 1
            (message,) = await outbound(server, olga.id)
            assert message.status is MessageStatus.SENT
            # nobody comes on shift before 08:00: the queue stays
            clock.set(at(1, 7, 59))
            await server.desk.tick()
            assert holder(await conversation_of(server, "olga")) == ("queued", "support", None)
        finally:
            await server.stop()

    run(body, tmp_path)


def test_the_queue_is_drained_oldest_first_when_the_shift_starts(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(0, 23))
        server = await start(tmp, clock)
        try:
            await say(server, "first", "Hallo?", language="de")
            clock.advance(timedelta(minutes=5))
            await say(server, "second", "Hello?")  # language unknown
            clock.advance(timedelta(minutes=5))
            # writing again while queued does not lose the customer's place
            await say(server, "first", "Ist jemand da?", language="de")
            for user in ("first", "second"):
                assert (await conversation_of(server, user)).status is ConversationStatus.QUEUED
            clock.set(at(1, 8, 1))
            await server.desk.tick()
            # oldest first: the German speaker to bernd (first in the shift), then the other to
            # anna (fewer open). Newest first would have given "second" to bernd.
            assert holder(await conversation_of(server, "first")) == ("open", "support", "bernd")
            assert holder(await conversation_of(server, "second")) == ("open", "support", "anna")
            first = await conversation_of(server, "first")
            reasons = [r.reason for r in await server.store.assignment_history(first.id)]
            assert reasons[-1] == "queue"
            assert first.rule == "everyone-else"  # the rule that routed it is kept
        finally:
            await server.stop()

    run(body, tmp_path)


def test_handover_at_shift_end_requeue_and_keep(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(0, 10))
        server = await start(tmp, clock)
        try:
            await say(server, "sam", "Where is my order?", language="en")
            await say(server, "kim", "My espresso machine is loud", language="en")
            assert holder(await conversation_of(server, "sam")) == ("open", "support", "anna")
            assert holder(await conversation_of(server, "kim")) == ("open", "experts", "erik")
            await server.desk.reply((await conversation_of(server, "sam")).id, "anna", "Hi!")
            await server.desk.reply((await conversation_of(server, "kim")).id, "erik", "Hi!")
            # 15:30: erik's shift is over, the experts team keeps conversations with their agent
            clock.set(at(0, 15, 30))
            await server.desk.tick()
            assert holder(await conversation_of(server, "kim")) == ("open", "experts", "erik")
            assert holder(await conversation_of(server, "sam")) == ("open", "support", "anna")
            # 16:01: the day shift of support is over: requeued, and the evening takes it
            clock.set(at(0, 16, 1))
            await server.desk.tick()
            sam = await conversation_of(server, "sam")
            assert (sam.status, sam.team) == (ConversationStatus.OPEN, "support")
            assert sam.agent in {"carla", "dora"}
            statuses = await events(server, sam.id, "status")
            assert any(e.data.get("reason") == "handover" for e in statuses), statuses
            reasons = [r.reason for r in await server.store.assignment_history(sam.id)]
            assert reasons[-1] == "queue"
            assert holder(await conversation_of(server, "kim")) == ("open", "experts", "erik")
        finally:
            await server.stop()

    run(body, tmp_path)


def test_handover_requeue_with_nobody_on_the_next_shift_waits_in_the_queue(
        tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(4, 21))  # Friday 21:00, the evening shift
        server = await start(tmp, clock)
        try:
            await say(server, "zoe", "Hello", language="en")
            assert holder(await conversation_of(server, "zoe")) == ("open", "support", "carla")
            clock.set(at(4, 22, 1))
            await server.desk.tick()
            assert holder(await conversation_of(server, "zoe")) == ("queued", "support", None)
            clock.set(at(7, 8, 1))  # Monday morning
            await server.desk.tick()
            assert holder(await conversation_of(server, "zoe")) == ("open", "support", "anna")
        finally:
            await server.stop()

    run(body, tmp_path)


def test_a_queued_conversation_is_not_closed_for_idleness_before_anyone_answers(
        tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(4, 23))  # Friday 23:00: "we are back at Monday 08:00"
        server = await start(tmp, clock)
        try:
            await say(server, "wes", "Where is my parcel?", language="en")
            wes = await conversation_of(server, "wes")
            assert holder(wes) == ("queued", "support", None)
            assert (await sent_texts(server, wes.id)) == [
                "Nobody is in right now; we are back at 2026-11-30 08:00 UTC."]
            clock.set(at(7, 7, 59))  # far past auto_close_after (2h), nobody on shift yet
            await server.timers.run_once()
            assert holder(await conversation_of(server, "wes")) == ("queued", "support", None)
            clock.set(at(7, 8, 1))
            await server.desk.tick()
            assert holder(await conversation_of(server, "wes")) == ("open", "support", "anna")
            # from the assignment on, the idle clock runs again
            clock.advance(timedelta(hours=1, minutes=59))
            await server.timers.run_once()
            assert (await conversation_of(server, "wes")).status is ConversationStatus.OPEN
            clock.advance(timedelta(minutes=2))
            await server.timers.run_once()
            wes = await conversation_of(server, "wes")
            assert wes.status is ConversationStatus.CLOSED
        finally:
            await server.stop()

    run(body, tmp_path)


# --- escalation ---------------------------------------------------------------------------------


def test_escalation_fires_without_an_agent_reply(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(0, 10))
        server = await start(tmp, clock)
        try:
            await say(server, "uma", "This is urgent!", language="en")
            uma = await conversation_of(server, "uma")
            assert holder(uma) == ("open", "support", "anna")
            clock.advance(timedelta(minutes=9))
            assert await server.timers.run_once() == 0
            assert await events(server, uma.id, "escalated") == []
            clock.advance(timedelta(minutes=1))
            assert await server.timers.run_once() == 1
            uma = await conversation_of(server, "uma")
            assert holder(uma) == ("open", "leads", "lena")
            (escalated,) = await events(server, uma.id, "escalated")
            assert (escalated.data["to"], escalated.data["after"]) == ("leads", 600.0)
            (notified,) = await events(server, uma.id, "notify")
            assert notified.data["targets"] == ["leads-slack"]
            assert notified.data["why"] == "escalation"
            assert await sent_texts(server, uma.id) == [
                "Sorry for the wait: a shift lead is on it now."]
            assert await server.outbox.run_once() == 1
            # fired once: nothing more is due
            clock.advance(timedelta(hours=1))
            await server.timers.run_once()
            assert len(await events(server, uma.id, "escalated")) == 1
        finally:
            await server.stop()

    run(body, tmp_path)


def test_no_escalation_when_an_agent_replied(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(0, 10))
        server = await start(tmp, clock)
        try:
            await say(server, "val", "My parcel is broken", language="en")
            val = await conversation_of(server, "val")
            clock.advance(timedelta(minutes=5))
            await server.desk.reply(val.id, "anna", "Sorry! Sending a new one.")
            clock.advance(timedelta(minutes=10))
            await server.timers.run_once()
            assert await events(server, val.id, "escalated") == []
            assert await events(server, val.id, "notify") == []
            assert holder(await conversation_of(server, "val")) == ("open", "support", "anna")
            assert await sent_texts(server, val.id) == ["Sorry! Sending a new one."]
        finally:
            await server.stop()

    run(body, tmp_path)


def test_escalation_timers_survive_a_restart(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(0, 10))
        server = await start(tmp, clock)
        try:
            await say(server, "rex", "urgent: broken grinder", language="en")
            rex = await conversation_of(server, "rex")
        finally:
            await server.stop()
        clock.advance(timedelta(minutes=30))  # down while the timer fell due
        server = await start(tmp, clock)
        try:
            assert await server.timers.run_once() == 1
            assert holder(await server.store.get_conversation(rex.id)) == (
                "open", "leads", "lena")
            assert len(await events(server, rex.id, "escalated")) == 1
            assert len(await events(server, rex.id, "notify")) == 1
        finally:
            await server.stop()

    run(body, tmp_path)


# --- close, CSAT, reopen ------------------------------------------------------------------------


async def closed_for_idleness(server: Server, clock: FrozenClock, user: str) -> Conversation:
    """A conversation anna answered at 10:01 and that closed at 12:02 for being idle."""
    await say(server, user, "Hello", language="en")
    conversation = await conversation_of(server, user)
    clock.advance(timedelta(minutes=1))
    await server.desk.reply(conversation.id, "anna", "Hi, how can I help?")
    clock.advance(timedelta(hours=1, minutes=59))
    await server.timers.run_once()
    assert (await server.store.get_conversation(conversation.id)).status \
        is ConversationStatus.OPEN
    clock.advance(timedelta(minutes=2))
    assert await server.timers.run_once() == 1
    return await server.store.get_conversation(conversation.id)


def test_idle_auto_close_asks_csat_and_records_the_answer(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(0, 10))
        server = await start(tmp, clock)
        try:
            ann = await closed_for_idleness(server, clock, "ann")
            assert ann.status is ConversationStatus.CLOSED
            assert ann.closed_at == at(0, 12, 2)
            statuses = await events(server, ann.id, "status")
            assert statuses[-1].data.get("reason") == "idle"
            assert (await sent_texts(server, ann.id))[-1] == "How did Anna do? Reply 1 to 5."
            assert "csat_asked_at" in ann.context
            assert await server.outbox.run_once() == 2
            clock.advance(timedelta(minutes=10))
            assert await say(server, "ann", "4 - quick and friendly") == "stored"
            csat = await server.store.get_csat(ann.id)
            assert csat is not None
            assert (csat.score, csat.comment) == (4, "4 - quick and friendly")
            ann = await server.store.get_conversation(ann.id)
            assert ann.status is ConversationStatus.CLOSED  # an answer does not reopen
            assert "csat_asked_at" not in ann.context
            assert (await sent_texts(server, ann.id))[-1] == "Thanks for rating us!"
            # no more CSAT: a later digit is a new message that reopens
            clock.advance(timedelta(minutes=1))
            await say(server, "ann", "5")
            assert (await conversation_of(server, "ann")).id == ann.id
            assert (await server.store.get_csat(ann.id)).score == 4  # type: ignore[union-attr]
            assert holder(await conversation_of(server, "ann")) == ("open", "support", "anna")
        finally:
            await server.stop()

    run(body, tmp_path)


def test_a_message_after_close_reopens_within_reopen_within(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(0, 10))
        server = await start(tmp, clock)
        try:
            bea = await closed_for_idleness(server, clock, "bea")
            clock.advance(timedelta(minutes=20))
            await say(server, "bea", "One more thing about my order")
            reopened = await conversation_of(server, "bea")
            assert reopened.id == bea.id
            # back to the previous agent, on shift with room
            assert holder(reopened) == ("open", "support", "anna")
            assert reopened.closed_at is None
            assert await server.store.get_csat(bea.id) is None
            assert "csat_asked_at" not in reopened.context
            # closed again, and the customer writes more than a day later: a new conversation
            await server.desk.close(bea.id, "anna")
            clock.advance(timedelta(days=1, minutes=1))
            await say(server, "bea", "Hello again")
            later = await conversation_of(server, "bea")
            assert later.id != bea.id
            assert holder(later) == ("open", "support", "anna")
            assert (await server.store.get_conversation(bea.id)).status \
                is ConversationStatus.CLOSED
        finally:
            await server.stop()

    run(body, tmp_path)


def test_a_reopened_conversation_is_routed_again_when_its_agent_is_off_shift(
        tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(0, 10))
        server = await start(tmp, clock)
        try:
            cat = await closed_for_idleness(server, clock, "cat")
            assert cat.agent == "anna"
            clock.set(at(0, 17))  # anna went home at 16:00
            await say(server, "cat", "The parcel still has not come")
            reopened = await conversation_of(server, "cat")
            assert reopened.id == cat.id
            assert (reopened.status, reopened.team) == (ConversationStatus.OPEN, "support")
            assert reopened.agent in {"carla", "dora"}
            reasons = [r.reason for r in await server.store.assignment_history(cat.id)]
            assert reasons[-1] == "reopen"
        finally:
            await server.stop()

    run(body, tmp_path)


def test_a_rating_after_the_csat_wait_is_an_ordinary_message(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(0, 10))
        server = await start(tmp, clock)
        try:
            dan = await closed_for_idleness(server, clock, "dan")
            assert "csat_asked_at" in dan.context
            clock.advance(timedelta(hours=1, minutes=1))  # csat.wait is 1h
            assert await server.timers.run_once() == 1  # the CSAT timeout
            assert "csat_asked_at" not in (
                await server.store.get_conversation(dan.id)).context
            await say(server, "dan", "5")
            assert await server.store.get_csat(dan.id) is None
            assert holder(await conversation_of(server, "dan")) == ("open", "support", "anna")
        finally:
            await server.stop()

    run(body, tmp_path)


# --- menus --------------------------------------------------------------------------------------


def test_the_menu_reprompts_once_then_hands_off(tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(0, 10))
        server = await start(tmp, clock)
        try:
            await say(server, "mo", "Hi", channel="help", language="en", name="Mo")
            mo = await conversation_of(server, "mo", "help")
            assert (mo.status, mo.team, mo.context.get("menu")) == (
                ConversationStatus.WAITING, None, ["main"])
            assert (await sent_texts(server, mo.id))[0].startswith("Hello Mo! Pick a topic.")
            await say(server, "mo", "1", channel="help")
            assert (await sent_texts(server, mo.id))[-1] == "Mon-Fri 8 to 22."
            await say(server, "mo", "what about pancakes", channel="help")
            mo = await conversation_of(server, "mo", "help")
            assert (mo.status, mo.context.get("retries")) == (ConversationStatus.WAITING, 1)
            texts = await sent_texts(server, mo.id)
            assert len(texts) == 3 and texts[-1].startswith("Hello Mo! Pick a topic.")
            await say(server, "mo", "still pancakes", channel="help")
            mo = await conversation_of(server, "mo", "help")
            assert holder(mo) == ("open", "support", "anna")
            assert "menu" not in mo.context
            (menu,) = await events(server, mo.id, "menu")
            assert menu.data == {"handoff": True, "reprompts_exhausted": True}
            assert len(await sent_texts(server, mo.id)) == 3  # no third menu
        finally:
            await server.stop()

    run(body, tmp_path)


def test_the_channel_language_holds_for_contacts_who_did_not_say_theirs(
        tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(0, 23))
        server = await start(tmp, clock)
        try:
            await say(server, "hans", "Hallo", channel="hallo", name="Hans")
            hans = await conversation_of(server, "hans", "hallo")
            assert (await sent_texts(server, hans.id))[0].startswith(
                "Hallo Hans! Wähle ein Thema.")
            await say(server, "hans", "Mit jemandem sprechen", channel="hallo")
            assert (await sent_texts(server, hans.id))[-1] == (
                "Gerade ist niemand da; wir sind ab 2026-11-24 08:00 UTC zurück.")
            # queued out of hours on the English channel: drained to the English speaker
            await say(server, "jim", "Hi", channel="english")
            clock.set(at(1, 8, 1))
            await server.desk.tick()
            assert holder(await conversation_of(server, "jim", "english")) == (
                "open", "support", "anna")
        finally:
            await server.stop()

    run(body, tmp_path)


# --- windowed channels --------------------------------------------------------------------------


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_automatic_message_outside_the_window_without_native_template_is_not_sent(
        tmp_path: Path) -> None:
    async def body(tmp: Path) -> None:
        clock = FrozenClock(at(0, 10))
        env = {"WA_ACCESS_TOKEN": "t", "WA_APP_SECRET": "s", "WA_VERIFY_TOKEN": "v",
               "WA_API_BASE": f"http://127.0.0.1:{unused_port()}"}
        server = await start(tmp, clock, WHATSAPP_STACK, env)
        try:
            event = InboundMessage("whatsapp", "wamid.1", ContactRef("4915112345678"),
                                   clock.now(), text="Hello")
            assert await deliver(server, event) == "stored"
            contact = await server.store.resolve_contact("whatsapp", "4915112345678",
                                                         clock.now())
            conversation = await server.store.latest_conversation(contact.id)
            assert conversation is not None
            assert holder(conversation) == ("open", "support", "ada")
            clock.advance(timedelta(hours=25))  # the 24-hour window is closed
            await server.desk.close(conversation.id, "ada")
            (not_sent,) = await events(server, conversation.id, "not_sent")
            data: dict[str, Any] = not_sent.data
            assert (data["what"], data["template"]) == ("csat question", "csat")
            assert "window" in data["reason"]
            assert await outbound(server, conversation.id) == []
            assert await server.outbox.run_once() == 0
            closed = await server.store.get_conversation(conversation.id)
            assert "csat_asked_at" not in closed.context
        finally:
            await server.stop()

    run(body, tmp_path)
