"""The server's side of `ChannelHost`: what a channel with its own HTTP API (web chat) may ask."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

from supportctl.plugins.channel import (
    ChannelHost,
    ChatItem,
    ContactRef,
    HostUnavailable,
    InboundEvent,
)
from supportctl.runtime.bus import Bus
from supportctl.runtime.clock import Clock
from supportctl.runtime.feed import chat_item, chat_topic
from supportctl.runtime.receipts import Receipts
from supportctl.store.interface import Store, StoreError
from supportctl.store.records import Direction, MessageStatus
from supportctl.store.tokens import hash_token, new_token

CONTACT_TOKEN_PREFIX = "wct_"


class Host(ChannelHost):
    def __init__(self, store: Store, receipts: Receipts, bus: Bus, clock: Clock) -> None:
        self.store = store
        self.receipts = receipts
        self.bus = bus
        self.clock = clock

    async def register_contact(self, channel_id: str, contact: ContactRef) -> None:
        try:
            await self.store.resolve_contact(channel_id, contact.external_id, self.clock.now(),
                                             name=contact.name, language=contact.language,
                                             phone=contact.phone, email=contact.email)
        except StoreError as exc:
            raise HostUnavailable(str(exc)) from exc

    async def deliver(self, events: Sequence[InboundEvent]) -> None:
        by_channel: dict[str, list[InboundEvent]] = {}
        for event in events:
            by_channel.setdefault(event.channel_id, []).append(event)
        for channel, delivered in by_channel.items():
            try:
                await self.receipts.accept(channel, delivered)
            except StoreError as exc:
                raise HostUnavailable(str(exc)) from exc

    async def issue_token(self, channel_id: str, external_user_id: str) -> str:
        token = new_token(CONTACT_TOKEN_PREFIX)
        try:
            await self.store.add_token("contact", external_user_id, hash_token(token),
                                       self.clock.now(), channel=channel_id)
        except StoreError as exc:
            raise HostUnavailable(str(exc)) from exc
        return token

    async def token_owner(self, channel_id: str, token: str, idle_ttl: timedelta) -> str | None:
        try:
            found = await self.store.use_token("contact", hash_token(token), self.clock.now(),
                                               channel=channel_id, idle_ttl=idle_ttl)
        except StoreError as exc:
            raise HostUnavailable(str(exc)) from exc
        return found.subject if found is not None else None

    async def token_valid(self, channel_id: str, token: str, idle_ttl: timedelta) -> bool:
        try:
            return await self.store.token_valid("contact", hash_token(token), self.clock.now(),
                                                channel=channel_id, idle_ttl=idle_ttl)
        except StoreError as exc:
            raise HostUnavailable(str(exc)) from exc

    async def history(self, channel_id: str, external_user_id: str,
                      after: str | None = None) -> list[ChatItem]:
        try:
            messages = await self.store.messages_of_identity(channel_id, external_user_id, after)
        except StoreError as exc:
            raise HostUnavailable(str(exc)) from exc
        agents = self.receipts.desk.live().stack.agents
        # outbound messages appear once sent, as they do live
        return [chat_item(m, agents[m.author].name if m.author in agents else None)
                for m in messages
                if m.direction is Direction.IN
                or m.status not in (MessageStatus.QUEUED, MessageStatus.FAILED)]

    def watch(self, channel_id: str, external_user_id: str
              ) -> AbstractAsyncContextManager[AsyncIterator[ChatItem]]:
        return self.bus.subscribe(chat_topic(channel_id, external_user_id))
