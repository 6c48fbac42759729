"""Message templates, FAQ menus and conversation policies."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from supportctl.config.model.common import Duration, Id, LocalizedText, StackModel, Text


class TemplateBase(StackModel):
    """A message the runtime sends: text per language, and native templates per channel type.

    Placeholders such as `{{contact.name}}` or `{{next_open}}` are filled in when it is sent.
    Native templates (for example `whatsapp:`) are what is sent when the channel's messaging
    window is closed.
    """

    description: Annotated[str | None, Field(examples=["First message of every conversation"])] \
        = None
    """What the template is for."""
    text: Annotated[str | LocalizedText | None, Field(examples=[
        {"en": "Hi {{contact.name}}! Pick a topic or type your question.",
         "de": "Hallo {{contact.name}}! Wähle ein Thema oder schreib uns deine Frage."}])] = None
    """Free text, per language; a plain string is in the workspace's default language."""


class MenuOption(StackModel):
    """One entry of a menu. It does exactly one thing: answer, template, menu or handoff."""

    label: Text
    """What the customer sees and may type (numbers work too)."""
    id: Annotated[Id | None, Field(examples=["track-order"])] = None
    """Stable id sent back by interactive buttons; derived from the position when absent."""
    description: Annotated[Text | None, Field(examples=["Where is my parcel?"])] = None
    """A second line shown under the label where the channel supports it (list rows)."""
    answer: Annotated[Text | None, Field(examples=[
        {"en": "Refunds take 5 days.", "de": "Erstattungen dauern 5 Tage."}])] = None
    """Reply with this text (an FAQ answer)."""
    template: Annotated[Id | None, Field(examples=["shipping_times"])] = None
    """Reply with this template."""
    menu: Annotated[Id | None, Field(examples=["payments"])] = None
    """Open this submenu."""
    handoff: bool | None = None
    """Hand the conversation to the routing rules and a person."""


class Menu(StackModel):
    """A numbered FAQ menu; channels with buttons or lists show it as those."""

    prompt: Annotated[Id, Field(examples=["welcome"])]
    """Template sent with the options."""
    options: Annotated[list[MenuOption], Field(min_length=1, examples=[[
        {"label": "Track my order", "answer": "Track it at https://acme.example/track"},
        {"label": "Payments", "menu": "payments"},
        {"label": "Talk to a person", "handoff": True}]])]
    """The choices, in order; customers answer with a number or a label. `0` goes back."""
    button: Annotated[Text | None, Field(examples=["Choose a topic"])] = None
    """Label of the button that opens a list on channels that show menus as lists."""


def option_id(menu_id: str, index: int, option: MenuOption) -> str:
    """The id an interactive button or row carries: the option's own, else its position.

    Here rather than in the runtime because `validate` checks it against the channels' payload
    limits, and the config layer never imports the runtime."""
    return option.id or f"{menu_id}.{index + 1}"


class Csat(StackModel):
    """The satisfaction question asked when a conversation closes."""

    template: Annotated[Id, Field(examples=["csat"])]
    """Template with the question, e.g. "How did we do? Reply 1 to 5"."""
    scale: Annotated[int, Field(ge=2, le=10)] = 5
    """Answers are whole numbers from 1 to this."""
    wait: Annotated[Duration, Field(examples=["12h"])] = "24h"
    """How long an answer is accepted after the question."""
    thanks: Annotated[Id | None, Field(examples=["csat_thanks"])] = None
    """Template sent after a valid answer."""


class Conversations(StackModel):
    """Policies of the conversation lifecycle."""

    out_of_hours_reply: Annotated[Id | None, Field(examples=["out_of_hours"])] = None
    """Template sent when a conversation is routed while nobody is on shift;
    `{{next_open}}` tells when someone will be."""
    auto_close_after: Duration = "24h"
    """Close a conversation after this long without messages from either side."""
    reopen_within: Annotated[Duration, Field(examples=["3d"])] = "7d"
    """A customer message this soon after closing reopens the conversation; later ones start
    a new conversation."""
    menu_retries: Annotated[int, Field(ge=0, le=5)] = 1
    """How many times unrecognised input in a menu re-prompts before the conversation is handed
    to a person."""
    csat: Csat | None = None
    """Ask for satisfaction when a conversation closes."""
