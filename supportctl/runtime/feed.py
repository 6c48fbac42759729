"""The live feed: what happened, published after it was committed, for every reader at once.

The desk hands the feed each applied transition; the feed turns its typed events into the items
the agents' event stream shows (`/api/v1/events`), the customer's live chat (web chat SSE)
and the metrics. Nothing is published before the transaction that wrote it has committed, so a
reader never sees a change that a failure then undid. In one process the carrier is the
in-process `Bus`; replicas sharing PostgreSQL will carry the same items over LISTEN/NOTIFY.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from supportctl.config.model.people import Agent
from supportctl.plugins.channel import ChatItem
from supportctl.runtime.bus import Bus
from supportctl.runtime.lifecycle.changes import HANDOFF_AT, time_in
from supportctl.runtime.metrics import Metrics
from supportctl.runtime.payloads import display_text
from supportctl.store.records import (
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Event,
    EventKind,
    Message,
)
from supportctl.store.transition import Applied

AGENTS_TOPIC = "agents"


def chat_topic(channel: str, external_user_id: str) -> str:
    return f"chat:{channel}:{external_user_id}"


def chat_item(message: Message, author: str | None) -> ChatItem:
    return ChatItem(message.id, message.direction.value, message.created_at,
                    display_text(message.payload), message.payload, author,
                    message.status.value)


def agent_item(event: Event, conversation: Conversation) -> dict[str, Any] | None:
    """What the agents' stream shows of an event (None: nothing); `team` and `agent` are the
    conversation's after the change, for deciding who may see it."""
    base: dict[str, Any] = {"conversation_id": conversation.id, "team": conversation.team,
                            "agent": conversation.agent}
    data = event.data
    kind = event.kind
    if kind is EventKind.MESSAGE:
        if data.get("direction") != Direction.IN.value:
            return None  # outbound messages show when sent (message_status)
        return {"type": "message", **base, "message_id": data.get("message_id"),
                "direction": Direction.IN.value}
    if kind is EventKind.ASSIGNED:
        return {"type": "assigned" if data.get("agent") else "queued", **base}
    if kind is EventKind.STATUS:
        shown = {ConversationStatus.CLOSED.value: "closed",
                 ConversationStatus.QUEUED.value: "queued"}.get(data.get("to", ""), "status")
        return {"type": shown, **base, "status": data.get("to"), "reason": data.get("reason")}
    if kind is EventKind.NOTIFY:
        return {"type": "notify", "conversation_id": conversation.id, **data}
    if kind is EventKind.DELIVERY:
        return {"type": "message_status", **base, "message_id": data.get("message_id"),
                "status": data.get("status")}
    if kind in (EventKind.NOTE, EventKind.PARKED, EventKind.ESCALATED, EventKind.TRANSFER):
        return {"type": kind.value, **base, **{k: v for k, v in data.items()
                                               if k not in ("team", "agent")}}
    return None


class Feed:
    def __init__(self, bus: Bus, metrics: Metrics) -> None:
        self.bus = bus
        self.metrics = metrics

    def applied(self, applied: Applied, contact: Contact) -> None:
        """A transition was committed: tell the agents, the customer's live chat, the
        metrics."""
        conversation = applied.conversation
        for event in applied.events:
            item = agent_item(event, conversation)
            if item is not None:
                self.bus.publish(AGENTS_TOPIC, item)
            self._observe(event, conversation)
        for message in applied.messages:
            if message.direction is Direction.IN:
                self._to_chat(contact, message, None)

    def sent(self, message: Message, conversation: Conversation, contact: Contact,
             agents: Mapping[str, Agent]) -> None:
        """The outbox sent a message: show it in the customer's live chat and to agents."""
        model = agents.get(message.author) if message.author is not None else None
        author = model.name if model is not None else None
        self._to_chat(contact, message, author)
        self.bus.publish(AGENTS_TOPIC, {"type": "message_status", "conversation_id":
                                        conversation.id, "team": conversation.team,
                                        "agent": conversation.agent, "message_id": message.id,
                                        "status": message.status.value})

    def status(self, message: Message) -> None:
        """A provider's status report changed a message (delivered, read, failed); who may see
        it is looked up by its conversation."""
        self.bus.publish(AGENTS_TOPIC, {"type": "message_status",
                                        "conversation_id": message.conversation_id,
                                        "message_id": message.id,
                                        "status": message.status.value})

    def _to_chat(self, contact: Contact, message: Message, author: str | None) -> None:
        identity = next((i for i in contact.identities if i.channel == message.channel), None)
        if identity is not None:
            self.bus.publish(chat_topic(message.channel, identity.external_user_id),
                             chat_item(message, author))

    def _observe(self, event: Event, conversation: Conversation) -> None:
        if event.kind is EventKind.ASSIGNED and event.data.get("agent"):
            since: datetime | None = time_in(conversation, HANDOFF_AT)
            if since is not None:
                self.metrics.assignment_latency.labels(conversation.team or "").observe(
                    max((event.at - since).total_seconds(), 0.0))
        elif event.kind is EventKind.NOT_SENT:
            self.metrics.outbound.labels(conversation.channel, "not_sent").inc()
