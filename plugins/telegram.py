"""Telegram Bot API channel: configuration half."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from supportctl.config.model.common import Secret
from supportctl.config.plugin_spec import ChannelConfig, ChannelSpec, MenuLimits


class TelegramChannel(ChannelConfig):
    """A Telegram bot receiving updates by webhook."""

    type: Literal["telegram"]
    """The plugin that serves this channel: `telegram`."""
    bot_token: Annotated[Secret, Field(examples=["${TELEGRAM_BOT_TOKEN}"])]
    """Token from @BotFather."""
    secret_token: Annotated[Secret, Field(examples=["${TELEGRAM_SECRET_TOKEN}"])]
    """Sent by Telegram in `X-Telegram-Bot-Api-Secret-Token` on every webhook call."""
    bot_username: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_]{5,32}$",
                                              examples=["acme_support_bot"])] = None
    """The bot's username, for links."""
    api_base_url: Annotated[str, Field(pattern=r"^https?://")] = "https://api.telegram.org"
    """Bot API base URL (a local Bot API server, or a fake in tests)."""


plugin = ChannelSpec(
    type="telegram",
    title="Telegram Bot API",
    config_model=TelegramChannel,
    window=None,
    limits=MenuLimits(max_buttons=100, button_title=64, text_length=4096, payload_bytes=64),
    runtime="supportctl_plugins.telegram_runtime:TelegramChannelRuntime",
)
