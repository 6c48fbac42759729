"""Web chat channel for a site or app: configuration half."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from supportctl.config.model.common import Duration
from supportctl.config.plugin_spec import ChannelConfig, ChannelSpec, MenuLimits


class WebChatChannel(ChannelConfig):
    """Chat on your own website or app, through supportctl's HTTP API."""

    type: Literal["webchat"]
    """The plugin that serves this channel: `webchat`."""
    allowed_origins: Annotated[list[Annotated[str, Field(pattern=r"^(\*|https?://[^/]+)$")]],
                               Field(examples=[["https://shop.acme.example"]])] = []
    """Origins allowed to call the chat API from a browser (CORS); none means same-origin."""
    token_ttl: Annotated[Duration, Field(examples=["7d"])] = "30d"
    """How long a contact's chat token stays valid without use."""


plugin = ChannelSpec(
    type="webchat",
    title="Web chat",
    config_model=WebChatChannel,
    window=None,
    limits=MenuLimits(max_buttons=10, button_title=40, text_length=10000),
    runtime="supportctl_plugins.webchat_runtime:WebChatRuntime",
)
