"""Messenger and Instagram channels (Meta's Messenger Platform): configuration half."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field

from supportctl.config.model.common import Secret
from supportctl.config.plugin_spec import ChannelConfig, ChannelSpec, MenuLimits, one_channel_per


class _MetaChannel(ChannelConfig):
    page_access_token: Annotated[Secret, Field(examples=["${META_PAGE_TOKEN}"])]
    """Page access token with messaging permissions."""
    app_secret: Annotated[Secret, Field(examples=["${META_APP_SECRET}"])]
    """App secret that signs webhook deliveries (`X-Hub-Signature-256`)."""
    verify_token: Annotated[Secret, Field(examples=["${META_VERIFY_TOKEN}"])]
    """Token you type in the webhook settings; checked on the verification request."""
    human_agent_tag: bool = True
    """Send agent replies with the HUMAN_AGENT tag, allowed up to 7 days after the customer's
    last message (needs the Human Agent permission)."""
    api_base_url: Annotated[str, Field(pattern=r"^https?://")] = "https://graph.facebook.com"
    """Graph API base URL (changed only for tests against a local fake)."""
    api_version: Annotated[str, Field(pattern=r"^v[0-9]+\.[0-9]+$")] = "v21.0"
    """Graph API version."""


class MessengerChannel(_MetaChannel):
    """A Facebook Page receiving Messenger conversations."""

    type: Literal["messenger"]
    """The plugin that serves this channel: `messenger`."""
    page_id: Annotated[str, Field(pattern=r"^[0-9]{5,20}$", examples=["104857600000000"])]
    """The Facebook Page id (digits; quote it)."""


class InstagramChannel(_MetaChannel):
    """An Instagram professional account receiving direct messages."""

    type: Literal["instagram"]
    """The plugin that serves this channel: `instagram`."""
    instagram_account_id: Annotated[str, Field(pattern=r"^[0-9]{5,20}$",
                                               examples=["17841400000000000"])]
    """The Instagram professional account id (digits; quote it)."""


_LIMITS = MenuLimits(max_buttons=13, button_title=20, text_length=2000, payload_bytes=1000)

messenger = ChannelSpec(type="messenger", title="Facebook Messenger",
                        config_model=MessengerChannel,
                        checks=(one_channel_per("page_id", "page id"),),
                        window=timedelta(hours=24),
                        limits=_LIMITS,
                        runtime="supportctl_plugins.meta_runtime:MessengerChannelRuntime")
instagram = ChannelSpec(type="instagram", title="Instagram Direct",
                        config_model=InstagramChannel,
                        checks=(one_channel_per("instagram_account_id", "account id"),),
                        window=timedelta(hours=24),
                        limits=_LIMITS,
                        runtime="supportctl_plugins.meta_runtime:InstagramChannelRuntime")
