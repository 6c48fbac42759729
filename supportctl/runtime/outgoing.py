"""Everything the desk sends goes through here: into the outbox, within the channel's window.

Inside a channel's messaging window free text goes out; outside it only the template's native
version for that channel (e.g. an approved WhatsApp template) may; when there is none the
message is not sent and the reason is recorded as a `not_sent` event, so nothing fails silently
at the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import structlog

from supportctl.plugins.channel import OutboundMessage, OutboundTemplate, OutboundText
from supportctl.runtime.bus import Bus
from supportctl.runtime.live import LiveStack
from supportctl.runtime.metrics import Metrics
from supportctl.runtime.passive import HOLD
from supportctl.runtime.payloads import to_payload
from supportctl.runtime.texts import Variables
from supportctl.store.interface import Store
from supportctl.store.records import Conversation, Direction, Message

log = structlog.get_logger("supportctl.runtime")


# conversation context: {channel: when the provider last refused a message as out of window}
WINDOW_CLOSED = "window_closed"


class WindowClosed(Exception):
    """Free text cannot reach the customer now; `templates` can (ids of the stack's templates
    with a native version for the channel)."""

    def __init__(self, channel: str, channel_type: str, templates: list[str]) -> None:
        hint = (f"send a template instead: {', '.join(templates)}" if templates else
                f"no template of this stack has a {channel_type} version; add one")
        super().__init__(f"the {channel_type} messaging window of channel {channel!r} is "
                         f"closed: the customer last wrote too long ago; {hint}")
        self.channel = channel
        self.templates = templates


class NoRuntime(Exception):
    """The channel's plugin cannot send in this version."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    store: Store
    metrics: Metrics
    bus: Bus
    wake: Callable[[], None]

    def window_open(self, live: LiveStack, conversation: Conversation, at: datetime, *,
                    human: bool = False) -> bool:
        runtime = live.channels.get(conversation.channel)
        if runtime is None:
            return False
        last = conversation.last_customer_message.get(conversation.channel)
        closed = conversation.context.get(WINDOW_CLOSED, {}).get(conversation.channel)
        if closed is not None and (last is None or datetime.fromisoformat(closed) >= last):
            return False  # the provider said so, whatever our clock says
        return runtime.window_open(last, at, human=human)

    async def window_closed(self, message: Message, code: str, error: str, at: datetime) -> None:
        """The provider refused a message because its window has closed: record it, and treat
        the window as closed until the customer writes again."""
        await self.store.append_event(message.conversation_id, "window_closed", {
            "message_id": message.id, "channel": message.channel, "code": code,
            "error": error}, at)
        conversation = await self.store.get_conversation(message.conversation_id)
        closed = {**conversation.context.get(WINDOW_CLOSED, {}), message.channel: at.isoformat()}
        await self.store.set_context(conversation.id,
                                     {**conversation.context, WINDOW_CLOSED: closed}, at)

    def templates_for(self, live: LiveStack, channel: str) -> list[str]:
        """Templates that can still be sent on a channel whose window is closed."""
        kind = live.channel_type(channel)
        return sorted(t for t in live.stack.templates if live.texts.has_native(t, kind))

    async def queue(self, conversation: Conversation, message: OutboundMessage, at: datetime,
                    *, author: str | None = None, extra: dict[str, object] | None = None
                    ) -> Message:
        """Store an outbound message and queue it for sending."""
        payload = {**to_payload(message), **(extra or {})}
        hold = HOLD.get()
        stored = await self.store.add_message(
            conversation.id, Direction.OUT, conversation.channel, payload, at, author=author,
            outbox=True, hold=hold.claim if hold and hold.channel == conversation.channel else None)
        self.wake()
        return stored

    @staticmethod
    def _can_send(live: LiveStack, conversation: Conversation) -> None:
        if conversation.channel not in live.channels:
            kind = live.channel_type(conversation.channel)
            raise NoRuntime(f"channel {conversation.channel!r} ({kind}) has no runtime in this "
                            "version of supportctl")

    async def free_text(self, live: LiveStack, conversation: Conversation,
                        message: OutboundMessage, at: datetime, *, author: str | None = None
                        ) -> Message:
        """A message that is not a template (an agent's reply, a menu, an FAQ answer): refused
        with WindowClosed outside the window."""
        self._can_send(live, conversation)
        human = author is not None
        if not self.window_open(live, conversation, at, human=human):
            raise WindowClosed(conversation.channel, live.channel_type(conversation.channel),
                               self.templates_for(live, conversation.channel))
        if human and isinstance(message, OutboundText):
            message = replace(message, human=True)
        return await self.queue(conversation, message, at, author=author)

    async def template(self, live: LiveStack, conversation: Conversation, template_id: str,
                       language: str | None, variables: Variables, at: datetime, *,
                       author: str | None = None) -> Message:
        """A template: its text inside the window, its native version outside (or when it has
        no text); WindowClosed when neither can go."""
        self._can_send(live, conversation)
        kind = live.channel_type(conversation.channel)
        text = live.texts.text(template_id, language, variables)
        message: OutboundMessage | None = None
        human = author is not None
        if text is not None and self.window_open(live, conversation, at, human=human):
            message = OutboundText(text, human=human)
        else:
            native: OutboundTemplate | None = live.texts.native(template_id, kind, language,
                                                                variables)
            message = native
        if message is None:
            raise WindowClosed(conversation.channel, kind,
                               self.templates_for(live, conversation.channel))
        return await self.queue(conversation, message, at, author=author,
                                extra={"template_id": template_id})

    async def automatic(self, live: LiveStack, conversation: Conversation, template_id: str,
                        language: str | None, variables: Variables, at: datetime, *,
                        why: str) -> Message | None:
        """A message the desk sends by itself (out-of-hours reply, CSAT, escalation notice):
        when it cannot go, the reason is recorded instead."""
        try:
            return await self.template(live, conversation, template_id, language, variables, at)
        except (WindowClosed, NoRuntime) as exc:
            await self.not_sent(conversation, at, why=why, reason=str(exc), template=template_id)
            return None

    async def automatic_message(self, live: LiveStack, conversation: Conversation,
                                message: OutboundMessage, at: datetime, *, why: str
                                ) -> Message | None:
        """A menu or an FAQ answer: free text, recorded as not sent outside the window."""
        try:
            return await self.free_text(live, conversation, message, at)
        except (WindowClosed, NoRuntime) as exc:
            await self.not_sent(conversation, at, why=why, reason=str(exc))
            return None

    async def not_sent(self, conversation: Conversation, at: datetime, *, why: str, reason: str,
                       template: str | None = None) -> None:
        await self.store.append_event(conversation.id, "not_sent",
                                      {"what": why, "template": template, "reason": reason}, at)
        self.metrics.outbound.labels(conversation.channel, "not_sent").inc()
        log.warning("automatic message not sent", what=why, reason=reason,
                    conversation_id=conversation.id, channel=conversation.channel)
