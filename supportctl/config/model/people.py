"""Agents, teams and their shifts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from supportctl.config.model.common import Id, IdList, LanguageCode, StackModel

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Agent(StackModel):
    """A person who answers conversations."""

    name: Annotated[str, Field(min_length=1, examples=["Anna Schmidt"])]
    """Display name, shown to colleagues and in reports."""
    email: Annotated[str | None, Field(pattern=EMAIL_PATTERN, examples=["anna@acme.example"])] \
        = None
    """Work email address; identifies the agent to the web inbox."""
    languages: Annotated[list[LanguageCode], Field(examples=[["de", "en"]])] = []
    """Languages the agent answers in; assignment prefers agents who speak the contact's."""
    max_open: Annotated[int, Field(ge=1, le=1000, examples=[6])] = 5
    """Most conversations assigned to the agent at once; beyond it they wait in the queue."""
    supervisor: bool = False
    """A supervisor sees and may act on every conversation, not only those of their teams."""


class Shift(StackModel):
    """Who of the team works when a schedule is open."""

    schedule: Annotated[Id, Field(examples=["day"])]
    """The schedule (under `schedules`) that says when this shift works."""
    agents: Annotated[IdList, Field(examples=[["anna", "li"]])]
    """Agents on duty while the schedule is open."""


class Team(StackModel):
    """A group of agents that conversations are routed to."""

    name: Annotated[str | None, Field(examples=["General support"])] = None
    """Display name; the id is used when absent."""
    members: Annotated[IdList | None, Field(examples=[["anna", "li"]])] = None
    """The team's agents. When given, every shift agent must be one of them."""
    assign: Literal["round_robin", "least_open", "manual"] = "round_robin"
    """How an agent is chosen: `round_robin` takes turns, `least_open` picks whoever has fewest
    open conversations, `manual` leaves conversations in the team queue for agents to pick."""
    shifts: list[Shift] = []
    """When which agents are on duty."""
    closed_on: Annotated[list[Id], Field(examples=[["holidays"]])] = []
    """Schedules (typically of holiday dates) during which the team is closed, shifts or not."""
    handover: Literal["keep", "requeue"] = "requeue"
    """At the end of an agent's shift their open conversations stay with them (`keep`) or go
    back to the team queue for the next shift (`requeue`), so customers are not left with
    someone who went home."""
    out_of_hours_reply: Annotated[Id | None, Field(examples=["out_of_hours"])] = None
    """Template sent when a conversation reaches this team while nobody is on shift; overrides
    `conversations.out_of_hours_reply`."""
