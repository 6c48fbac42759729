"""Decisions that hold when everything arrives at once, sent concurrently to a running server.

The stack is tests/fixtures/stacks/load.yaml served on 127.0.0.1 with a frozen clock; customers
write through the web chat API and signed WhatsApp webhooks, many requests in flight together
(`asyncio.gather` over one client session), and the outcome is read back from the store. Each
case failed before conversations changed only through `Store.apply` (issue 12): simultaneous
handoffs went past `max_open`, two first messages opened two conversations, concurrent queue
drains assigned one conversation twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from load_stack import LIFECYCLE, MONDAY_NOON, STACK, Load, run

from supportctl.store.records import Conversation, ConversationStatus, Direction


def held_by(conversations: list[Conversation]) -> Counter[str | None]:
    return Counter(c.agent for c in conversations if c.status is ConversationStatus.OPEN)


async def all_at_once(load: Load, channel: str, customers: int) -> list[Conversation]:
    """`customers` new customers whose first messages arrive together; their conversations."""
    tokens = await asyncio.gather(*(load.customer(channel, f"C{n}") for n in range(customers)))
    await asyncio.gather(*(load.write(channel, token, "Hello, I need help", "m1")
                           for token in tokens))
    return await load.conversations(channel)


def test_simultaneous_handoffs_never_take_an_agent_past_max_open(tmp_path: Path) -> None:
    async def body(load: Load) -> None:
        conversations = await all_at_once(load, "one", 30)
        assert len(conversations) == 30
        assert held_by(conversations) == {"solo": 6}  # max_open: 6
        queued = [c for c in conversations if c.status is ConversationStatus.QUEUED]
        assert len(queued) == 24 and {c.team for c in queued} == {"solo-desk"}
        assert await load.r.server.store.open_counts() == {"solo": 6}
    run(body, tmp_path)


def test_least_open_fills_both_agents_to_max_open_and_queues_the_rest(tmp_path: Path) -> None:
    async def body(load: Load) -> None:
        conversations = await all_at_once(load, "least", 50)
        assert held_by(conversations) == {"pia": 3, "paul": 3}
        assert sum(c.status is ConversationStatus.QUEUED for c in conversations) == 44
    run(body, tmp_path)


def test_round_robin_takes_turns_for_simultaneous_handoffs(tmp_path: Path) -> None:
    async def body(load: Load) -> None:
        conversations = await all_at_once(load, "turns", 30)
        assert held_by(conversations) == {"tom": 10, "tim": 10, "tara": 10}
    run(body, tmp_path)


async def one_conversation_each(load: Load, channel: str, customers: int) -> None:
    """Each customer has one conversation, with both their messages, in the menu: opened once,
    the welcome menu once, the second message answered as a menu input (a re-prompt)."""
    conversations = await load.conversations(channel)
    assert len(conversations) == customers
    assert len({c.contact_id for c in conversations}) == customers
    store = load.r.server.store
    for conversation in conversations:
        messages = await store.list_messages(conversation.id)
        inbound = [m for m in messages if m.direction is Direction.IN]
        outbound = [m for m in messages if m.direction is Direction.OUT]
        assert len(inbound) == 2, conversation
        assert len(outbound) == 2  # the welcome, and the re-prompt for the other message
        opened = [e for e in await store.list_events(conversation.id) if e.kind == "opened"]
        assert len(opened) == 1
        assert conversation.status is ConversationStatus.WAITING
        assert conversation.context.get("menu") == ["main"]
        assert conversation.context.get("retries") == 1


def test_a_new_customers_first_two_messages_together_make_one_conversation(
        tmp_path: Path) -> None:
    async def body(load: Load) -> None:
        tokens = await asyncio.gather(*(load.customer("menu", f"C{n}") for n in range(20)))
        await asyncio.gather(*(load.write("menu", token, text, echo)
                               for token in tokens
                               for text, echo in (("Hello", "a"), ("Are you there?", "b"))))
        await one_conversation_each(load, "menu", 20)
    run(body, tmp_path)


def test_two_signed_whatsapp_deliveries_of_a_new_customer_make_one_conversation(
        tmp_path: Path) -> None:
    async def body(load: Load) -> None:
        await asyncio.gather(*(load.whatsapp(f"4915100000{n:03d}", f"wamid.L{n}{part}", text)
                               for n in range(20)
                               for part, text in (("a", "Hello"), ("b", "Are you there?"))))
        await one_conversation_each(load, "wa", 20)
    run(body, tmp_path)


def test_concurrent_queue_drains_never_assign_a_conversation_twice(tmp_path: Path) -> None:
    async def body(load: Load) -> None:
        conversations = await all_at_once(load, "least", 20)
        held = [c for c in conversations if c.status is ConversationStatus.OPEN]
        assert len(held) == 6
        headers = {agent: await load.agent_token(agent) for agent in ("pia", "paul")}

        async def close(conversation: Conversation) -> None:
            assert conversation.agent is not None
            url = f"{load.r.url}/api/v1/conversations/{conversation.id}/close"
            async with load.r.http.post(url, headers=headers[conversation.agent]) as answer:
                assert answer.status == 200, await answer.text()

        # every close drains the queue, and so do the shift ticks, all at the same time
        await asyncio.gather(*(close(c) for c in held),
                             *(load.r.server.desk.tick() for _ in range(6)))
        after = await load.conversations("least")
        assert held_by(after) == {"pia": 3, "paul": 3}
        store = load.r.server.store
        drained = 0
        for conversation in after:
            reasons = [a.reason for a in await store.assignment_history(conversation.id)]
            assert reasons.count("queue") <= 1, (conversation.id, reasons)
            drained += reasons.count("queue")
        assert drained == 6
    run(body, tmp_path)


def test_concurrent_ticks_at_a_shift_end_hand_each_conversation_over_once(
        tmp_path: Path) -> None:
    """lifecycle.yaml: support's day shift (bernd, anna) ends at 16:00 with `handover:
    requeue`, and the evening shift (carla, dora, max_open 5 each) takes over."""
    async def body(load: Load) -> None:
        tokens = await asyncio.gather(*(load.customer("chat", f"D{n}") for n in range(10)))
        await asyncio.gather(*(load.write("chat", token, "Hello", "m1") for token in tokens))
        before = await load.conversations("chat")
        assert held_by(before) == {"anna": 5, "bernd": 5}
        load.clock.set(MONDAY_NOON.replace(hour=16, minute=1))
        await asyncio.gather(*(load.r.server.desk.tick() for _ in range(8)))
        after = await load.conversations("chat")
        assert held_by(after) == {"carla": 5, "dora": 5}
        store = load.r.server.store
        for conversation in after:
            handovers = [e for e in await store.list_events(conversation.id)
                         if e.kind == "status" and e.data.get("reason") == "handover"]
            reasons = [a.reason for a in await store.assignment_history(conversation.id)]
            assert len(handovers) == 1 and reasons.count("queue") == 1, (handovers, reasons)
    run(body, tmp_path, LIFECYCLE, MONDAY_NOON.replace(hour=10))



def test_a_reload_with_an_invalid_stack_under_load_keeps_the_old_one_serving(
        tmp_path: Path) -> None:
    edited = tmp_path / "stack.yaml"
    edited.write_text(STACK.read_text())

    async def body(load: Load) -> None:
        version = load.r.server.live().version
        tokens = await asyncio.gather(*(load.customer("turns", f"R{n}") for n in range(30)))
        edited.write_text(edited.read_text().replace("to: trio", "to: no-such-team"))
        writes = [load.write("turns", token, "Hello", "m1") for token in tokens]
        results = await asyncio.gather(load.r.server.reload(), *writes, load.r.server.reload())
        for result in (results[0], results[-1]):
            assert not result.ok and result.version == version
            assert any("no-such-team" in d["message"] for d in result.diagnostics), \
                result.diagnostics
        assert load.r.server.live().version == version
        conversations = await load.conversations("turns")
        assert held_by(conversations) == {"tom": 10, "tim": 10, "tara": 10}
    run(body, tmp_path, edited)
