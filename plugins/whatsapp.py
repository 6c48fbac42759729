"""WhatsApp Business Cloud API channel: configuration half."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field

from supportctl.config.model.common import Secret, StackModel
from supportctl.config.plugin_spec import ChannelConfig, ChannelSpec, MenuLimits, one_channel_per

WA_LANGUAGE = r"^[a-z]{2,3}(_[A-Z]{2})?$"


class WhatsAppChannel(ChannelConfig):
    """A WhatsApp Business phone number on the Cloud API."""

    type: Literal["whatsapp"]
    """The plugin that serves this channel: `whatsapp`."""
    phone_number_id: Annotated[str, Field(pattern=r"^[0-9]{5,20}$", examples=["1098765432"])]
    """The phone number id from the WhatsApp Manager (digits; quote it)."""
    access_token: Annotated[Secret, Field(examples=["${WA_TOKEN}"])]
    """System-user access token with `whatsapp_business_messaging` permission."""
    app_secret: Annotated[Secret, Field(examples=["${WA_APP_SECRET}"])]
    """App secret that signs webhook deliveries (`X-Hub-Signature-256`)."""
    verify_token: Annotated[Secret, Field(examples=["${WA_VERIFY_TOKEN}"])]
    """Token you type in the webhook settings; checked on the verification request."""
    business_account_id: Annotated[str | None, Field(pattern=r"^[0-9]{5,20}$",
                                                     examples=["102290129340398"])] = None
    """WhatsApp Business Account id, for template management."""
    api_base_url: Annotated[str, Field(pattern=r"^https?://")] = "https://graph.facebook.com"
    """Graph API base URL (changed only for tests against a local fake)."""
    api_version: Annotated[str, Field(pattern=r"^v[0-9]+\.[0-9]+$")] = "v21.0"
    """Graph API version."""


class WhatsAppTemplate(StackModel):
    """A pre-approved WhatsApp message template, usable outside the 24-hour window."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,512}$", examples=["support_follow_up"])]
    """Template name as approved in the WhatsApp Manager."""
    language: Annotated[str | dict[str, Annotated[str, Field(pattern=WA_LANGUAGE)]], Field(
        examples=["en_US", {"en": "en_US", "de": "de"}])]
    """WhatsApp language code, or a mapping from workspace language to WhatsApp language code."""
    category: Literal["utility", "marketing", "authentication"] = "utility"
    """Template category as approved by Meta."""
    params: Annotated[list[str], Field(examples=[["contact.name"]])] = []
    """Variables filling the body parameters `{{1}}`, `{{2}}`, ... in order."""


plugin = ChannelSpec(
    type="whatsapp",
    title="WhatsApp Business Cloud API",
    config_model=WhatsAppChannel,
    template_model=WhatsAppTemplate,
    checks=(one_channel_per("phone_number_id", "phone number id"),),
    window=timedelta(hours=24),
    limits=MenuLimits(max_buttons=3, button_title=20, max_list_rows=10, row_title=24,
                      row_description=72, text_length=4096, payload_bytes=256),
    runtime="supportctl_plugins.whatsapp_runtime:WhatsAppChannelRuntime",
)
