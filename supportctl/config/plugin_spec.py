"""What a channel or notifier plugin tells the stack language about itself.

This is the configuration half of the plugin interface: the model of the plugin's config (which
feeds the JSON Schema), its native template model, its menu and text limits, its messaging
window and its own checks. It is pure data so that `validate` never imports a network stack; the
runtime half is named by `runtime` ("module:attribute") and imported only by `serve`.
"""

from __future__ import annotations

import builtins
import datetime
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from supportctl.config.model.common import Id, LanguageCode, StackModel

if TYPE_CHECKING:
    from supportctl.config.diagnostics import Finding
    from supportctl.config.model.stack import StackBase


class ChannelConfig(StackModel):
    """Keys every channel has; a plugin's model adds its own and narrows `type`."""

    type: str
    """The plugin that serves this channel."""
    name: Annotated[str | None, Field(examples=["Acme support"])] = None
    """Display name for agents and reports."""
    menu: Annotated[Id | None, Field(examples=["main"])] = None
    """Entry menu shown to a customer who starts a conversation on this channel."""
    language: Annotated[LanguageCode | None, Field(examples=["zh"])] = None
    """Language assumed for contacts of this channel until they tell otherwise."""


class NotifierConfig(StackModel):
    """Keys every notify target has; a plugin's model adds its own and narrows `type`."""

    type: str
    """The plugin that delivers these notifications."""


@dataclass(frozen=True, slots=True)
class MenuLimits:
    """How a channel can show a menu; None means no such limit or no such widget."""

    max_buttons: int | None = None
    button_title: int | None = None
    max_list_rows: int | None = None
    row_title: int | None = None
    row_description: int | None = None
    text_length: int | None = None
    payload_bytes: int | None = None


ChannelCheck = Callable[[str, ChannelConfig, "StackBase"], Iterable["Finding"]]


def one_channel_per(key: str, what: str) -> ChannelCheck:
    """A check that no two channels of a type share `key`: both would get the same webhooks."""

    def check(channel_id: str, channel: ChannelConfig, stack: StackBase) -> Iterator[Finding]:
        from supportctl.config.diagnostics import Finding

        value = getattr(channel, key)
        first = next(other_id for other_id, other in stack.channels.items()
                     if other.type == channel.type and getattr(other, key) == value)
        if first != channel_id:
            yield Finding(("channels", channel_id, key), "C805",
                          f"{what} {value!r} is already the {what} of channel {first!r}; both "
                          "channels would receive the same messages",
                          f"each {channel.type} channel needs its own {what}")

    return check


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """A channel plugin's description of itself to the config layer."""

    type: str
    title: str
    config_model: builtins.type[ChannelConfig]
    template_model: builtins.type[StackModel] | None = None
    window: datetime.timedelta | None = None
    limits: MenuLimits = field(default_factory=MenuLimits)
    checks: tuple[ChannelCheck, ...] = ()
    runtime: str | None = None


@dataclass(frozen=True, slots=True)
class NotifierSpec:
    """A notifier plugin's description of itself to the config layer."""

    type: str
    title: str
    config_model: builtins.type[NotifierConfig]
    runtime: str | None = None


@dataclass(frozen=True, eq=False)
class PluginSet:
    """The plugins a stack is checked against, by type name (hashed by identity)."""

    channels: dict[str, ChannelSpec] = field(default_factory=dict)
    notifiers: dict[str, NotifierSpec] = field(default_factory=dict)
