"""Conversations made and changed in a store directly, by `Store.apply` with hand-made
transitions: for tests of the store and of the workers that need a conversation, a message in
the outbox or a timer without running the whole desk."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from supportctl.store.ids import new_id
from supportctl.store.interface import Store
from supportctl.store.records import (
    JSON,
    Conversation,
    ConversationStatus,
    Direction,
    EventKind,
    Message,
)
from supportctl.store.transition import (
    Applied,
    Assign,
    Lease,
    LogEntry,
    NewEvent,
    NewMessage,
    SetTimer,
    Transition,
)


def opening(contact_id: str, channel: str, at: datetime,
            status: ConversationStatus = ConversationStatus.WAITING) -> Transition:
    """The transition that opens a conversation (event `opened`)."""
    state = Conversation(new_id(), contact_id, channel, status, None, None, None, at, None, at)
    return Transition(state, 0, at, (NewEvent(EventKind.OPENED, {"channel": channel}),))


async def open_conversation(store: Store, contact_id: str, channel: str,
                            at: datetime) -> Conversation:
    return (await store.apply(opening(contact_id, channel, at))).conversation


def changed(conversation: Conversation, at: datetime, *, log: tuple[LogEntry, ...] = (),
            timers: tuple[SetTimer, ...] = (), **fields: Any) -> Transition:
    """A transition of `conversation` as stored, with new `fields`."""
    after = replace(conversation, updated_at=max(conversation.updated_at, at), **fields)
    return Transition(after, conversation.version, at, log, timers=timers)


async def change(store: Store, conversation: Conversation, at: datetime,
                 **options: Any) -> Applied:
    return await store.apply(changed(conversation, at, **options))


async def assign(store: Store, conversation: Conversation, at: datetime, *, team: str,
                 agent: str | None, **preconditions: Any) -> Applied:
    """Give the conversation to `agent` of `team` (queued without one)."""
    status = ConversationStatus.OPEN if agent else ConversationStatus.QUEUED
    entry = Assign(team, agent, None, "test", {"team": team, "agent": agent}, **preconditions)
    return await change(store, conversation, at, log=(entry,), team=team, agent=agent,
                        status=status, queued_at=None if agent else at)


async def send(store: Store, conversation: Conversation, payload: JSON, at: datetime, *,
               author: str | None = None, hold: Lease | None = None,
               channel: str | None = None) -> Message:
    """An outbound message queued in the outbox (on the conversation's channel, or another)."""
    entry = NewMessage(Direction.OUT, channel or conversation.channel, payload, author=author)
    applied = await store.apply(changed(conversation, at, log=(entry,)), hold=hold)
    return applied.messages[0]


async def receive(store: Store, conversation: Conversation, text: str, at: datetime,
                  external_id: str | None = None) -> Message:
    """A customer's message; its channel's window starts again."""
    entry = NewMessage(Direction.IN, conversation.channel, {"text": text},
                       external_id=external_id or new_id())
    windows = {**conversation.last_customer_message, conversation.channel: at}
    applied = await change(store, conversation, at, log=(entry,),
                           last_customer_message=windows)
    return applied.messages[0]
