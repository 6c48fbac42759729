"""What the desk sends, decided within the channel's messaging window.

Inside a channel's window free text goes out; outside it only the template's native version for
that channel (e.g. an approved WhatsApp template) may; when there is none the message is not
sent and the reason is recorded as a `not_sent` event, so nothing fails silently at the
provider. Messages are only added to the transition here; the outbox sends them after commit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from supportctl.plugins.channel import OutboundMessage, OutboundTemplate, OutboundText
from supportctl.runtime.lifecycle.changes import WINDOW_CLOSED, Changes
from supportctl.runtime.lifecycle.frame import Frame
from supportctl.runtime.live import LiveStack
from supportctl.runtime.payloads import to_payload
from supportctl.runtime.texts import Variables
from supportctl.store.records import Conversation, EventKind


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


def window_open(live: LiveStack, conversation: Conversation, at: datetime, *,
                human: bool = False) -> bool:
    """Whether free text reaches the customer on the conversation's channel now."""
    runtime = live.channels.get(conversation.channel)
    if runtime is None:
        return False
    last = conversation.last_customer_message.get(conversation.channel)
    closed = conversation.context.get(WINDOW_CLOSED, {}).get(conversation.channel)
    if closed is not None and (last is None or datetime.fromisoformat(closed) >= last):
        return False  # the provider said so, whatever our clock says
    return runtime.window_open(last, at, human=human)


def templates_for(live: LiveStack, channel: str) -> list[str]:
    """Templates that can still be sent on a channel whose window is closed."""
    kind = live.channel_type(channel)
    return sorted(t for t in live.stack.templates if live.texts.has_native(t, kind))


def _can_send(live: LiveStack, conversation: Conversation) -> None:
    if conversation.channel not in live.channels:
        kind = live.channel_type(conversation.channel)
        raise NoRuntime(f"channel {conversation.channel!r} ({kind}) has no runtime in this "
                        "version of supportctl")


def free_text(changes: Changes, frame: Frame, message: OutboundMessage, *,
              author: str | None = None) -> None:
    """A message that is not a template (an agent's reply, a menu, an FAQ answer): refused with
    WindowClosed outside the window."""
    live, conversation = frame.live, changes.state
    _can_send(live, conversation)
    human = author is not None
    if not window_open(live, conversation, frame.now, human=human):
        raise WindowClosed(conversation.channel, live.channel_type(conversation.channel),
                           templates_for(live, conversation.channel))
    if human and isinstance(message, OutboundText):
        message = replace(message, human=True)
    changes.outbound(to_payload(message), author)


def template(changes: Changes, frame: Frame, template_id: str, variables: Variables, *,
             author: str | None = None) -> None:
    """A template: its text inside the window, its native version outside (or when it has no
    text); WindowClosed when neither can go."""
    live, conversation = frame.live, changes.state
    _can_send(live, conversation)
    kind = live.channel_type(conversation.channel)
    language = frame.text_language(conversation)
    text = live.texts.text(template_id, language, variables)
    human = author is not None
    message: OutboundMessage | None
    if text is not None and window_open(live, conversation, frame.now, human=human):
        message = OutboundText(text, human=human)
    else:
        native: OutboundTemplate | None = live.texts.native(template_id, kind, language,
                                                            variables)
        message = native
    if message is None:
        raise WindowClosed(conversation.channel, kind, templates_for(live, conversation.channel))
    changes.outbound({**to_payload(message), "template_id": template_id}, author)


def automatic(changes: Changes, frame: Frame, template_id: str, variables: Variables, *,
              why: str) -> bool:
    """A template the desk sends by itself (out-of-hours reply, CSAT, escalation notice): when
    it cannot go, the reason is recorded instead; whether it went."""
    try:
        template(changes, frame, template_id, variables)
    except (WindowClosed, NoRuntime) as exc:
        not_sent(changes, why=why, reason=str(exc), template=template_id)
        return False
    return True


def automatic_message(changes: Changes, frame: Frame, message: OutboundMessage, *,
                      why: str) -> bool:
    """A menu or an FAQ answer: free text, recorded as not sent outside the window."""
    try:
        free_text(changes, frame, message)
    except (WindowClosed, NoRuntime) as exc:
        not_sent(changes, why=why, reason=str(exc))
        return False
    return True


def not_sent(changes: Changes, *, why: str, reason: str, template: str | None = None) -> None:
    changes.event(EventKind.NOT_SENT, {"what": why, "template": template, "reason": reason,
                                       "channel": changes.state.channel})
