"""SMS through a gateway: the configuration half of a supportctl channel plugin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import Field

from supportctl.config.diagnostics import Finding
from supportctl.config.model.common import Secret
from supportctl.config.model.stack import StackBase
from supportctl.config.plugin_spec import one_channel_per
from supportctl.plugins import ChannelConfig, ChannelSpec, MenuLimits


class SmsChannel(ChannelConfig):
    """A phone number at an SMS gateway."""

    type: Literal["sms"]
    """The plugin that serves this channel: `sms`."""
    phone_number: Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$",
                                       examples=["+4930901820"])]
    """The number customers text, in E.164 form (quote it)."""
    api_key: Annotated[Secret, Field(examples=["${SMS_API_KEY}"])]
    """API key of the gateway."""
    webhook_secret: Annotated[Secret, Field(examples=["${SMS_WEBHOOK_SECRET}"])]
    """Secret the gateway signs webhook deliveries with (`X-Sms-Signature`)."""
    sender_name: Annotated[str | None, Field(max_length=11, examples=["AcmeShop"])] = None
    """Alphanumeric sender shown instead of the number, where carriers allow it."""
    api_base_url: Annotated[str, Field(pattern=r"^https?://")] = \
        "https://api.smsgateway.example/v1"
    """Gateway API base URL (changed only for tests against a local fake)."""


def no_sender_name_in_the_us(channel_id: str, channel: ChannelConfig,
                             stack: StackBase) -> Iterator[Finding]:
    """US carriers drop messages from alphanumeric senders."""
    assert isinstance(channel, SmsChannel)
    if channel.sender_name and channel.phone_number.startswith("+1"):
        yield Finding(("channels", channel_id, "sender_name"), "C805",
                      "US carriers do not deliver messages from an alphanumeric sender",
                      "remove sender_name for a +1 number")


plugin = ChannelSpec(
    type="sms",
    title="SMS gateway",
    config_model=SmsChannel,
    window=None,
    limits=MenuLimits(text_length=1600),
    checks=(one_channel_per("phone_number", "phone number"), no_sender_name_in_the_us),
    runtime="supportctl_sms.runtime:SmsChannelRuntime",
)
