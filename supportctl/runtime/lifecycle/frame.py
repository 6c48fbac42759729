"""What a transition reads: the stack served, a snapshot of the store, and the time; with the
questions about them every transition asks (the contact's language, template variables)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from supportctl.routing.assignment import RoutingState
from supportctl.runtime.live import LiveStack
from supportctl.runtime.texts import Variables
from supportctl.store.records import Contact, Conversation
from supportctl.store.transition import Snapshot


def conversation_url(base: str | None, conversation_id: str) -> str | None:
    """Where people open a conversation (templates' `conversation.url`, notification links);
    None without a public URL."""
    return f"{base.rstrip('/')}/api/v1/conversations/{conversation_id}" if base else None


def contact_attributes(contact: Contact) -> dict[str, Any]:
    """The contact as routing rules and templates see it (`contact.<attribute>`)."""
    identities = contact.identities
    phone = next((i.phone for i in identities if i.phone), None)
    email = next((i.email for i in identities if i.email), None)
    first = contact.name.split()[0] if contact.name else None
    return {**contact.attributes, "id": contact.id, "name": contact.name,
            "first_name": first, "language": contact.language, "phone": phone, "email": email}


class LoadNeeded(Exception):
    """The transition routes, and the snapshot was read without the agents' load."""


@dataclass(frozen=True, slots=True)
class Frame:
    live: LiveStack
    snapshot: Snapshot
    now: datetime
    public_url: str | None = None
    fresh_id: str = ""  # the id a conversation this input opens gets (made by the caller)

    @property
    def contact(self) -> Contact:
        return self.snapshot.contact

    @property
    def routing_state(self) -> RoutingState:
        """The agents' load; LoadNeeded when the snapshot was read without it (most inputs do
        not route: the caller reads again with it only when one does)."""
        counts, positions = self.snapshot.open_counts, self.snapshot.last_assigned
        if counts is None or positions is None:
            raise LoadNeeded
        return RoutingState(counts, positions)

    def language(self, conversation: Conversation) -> str | None:
        """The contact's language, else the one their channel assumes until they tell
        otherwise (`channels.<id>.language`, as routing assumes it too)."""
        if self.contact.language is not None:
            return self.contact.language
        channel = self.live.stack.channels.get(conversation.channel)
        return channel.language if channel is not None else None

    def text_language(self, conversation: Conversation) -> str:
        """The language the desk writes to the contact in: theirs when the workspace serves
        it, else the workspace's default."""
        return self.live.texts.language_for(self.language(conversation))

    def link(self, conversation_id: str) -> str | None:
        return conversation_url(self.public_url or self.live.stack.workspace.public_url,
                                conversation_id)

    def variables(self, conversation: Conversation, *, agent: str | None = None,
                  next_open: str | None = None) -> Variables:
        stack = self.live.stack
        agent_id = agent or conversation.agent
        agent_model = stack.agents.get(agent_id) if agent_id else None
        team = stack.teams.get(conversation.team) if conversation.team else None
        channel = stack.channels.get(conversation.channel)
        return Variables(
            contact_attributes(self.contact),
            agent_name=agent_model.name if agent_model else None,
            team_name=(team.name or conversation.team) if team else None,
            channel_name=(channel.name or conversation.channel) if channel else None,
            conversation_id=conversation.id or None,
            conversation_url=self.link(conversation.id) if conversation.id else None,
            next_open=next_open)
