"""WeChat Official Account channel: configuration half."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field

from supportctl.config.model.common import Secret, StackModel
from supportctl.config.plugin_spec import ChannelConfig, ChannelSpec, MenuLimits, one_channel_per


class WeChatChannel(ChannelConfig):
    """A WeChat Official Account (service account) receiving messages by URL callback."""

    type: Literal["wechat"]
    """The plugin that serves this channel: `wechat`."""
    app_id: Annotated[str, Field(pattern=r"^wx[0-9a-f]{16}$", examples=["wx0123456789abcdef"])]
    """AppID of the official account."""
    app_secret: Annotated[Secret, Field(examples=["${WECHAT_APP_SECRET}"])]
    """AppSecret, used to fetch access tokens for the customer-service API."""
    token: Annotated[Secret, Field(examples=["${WECHAT_TOKEN}"])]
    """The Token configured for the callback URL; signs every request."""
    encoding_aes_key: Annotated[str | None, Field(
        pattern=r"^(\$\{.*\}|[A-Za-z0-9]{43})$",
        json_schema_extra={"writeOnly": True, "format": "password"},
        examples=["${WECHAT_AES_KEY}"])] = None
    """EncodingAESKey (43 characters) for safe mode; plaintext mode when absent."""
    api_base_url: Annotated[str, Field(pattern=r"^https?://")] = "https://api.weixin.qq.com"
    """API base URL (changed only for tests against a local fake)."""


class WeChatTemplate(StackModel):
    """A WeChat template message, usable outside the 48-hour customer-service window."""

    template_id: Annotated[str, Field(min_length=1, examples=["ngqIpbwh8bUfcSsECmogfXcV14J0tQ"])]
    """Template id from the official account's template library."""
    data: Annotated[dict[str, str], Field(examples=[{"first": "{{contact.name}}",
                                                     "remark": "Reply to continue"}])] = {}
    """Template fields by keyword, each text may hold placeholders."""
    url: Annotated[str | None, Field(pattern=r"^https?://", examples=[
        "https://shop.acme.example/orders"])] = None
    """Page opened when the customer taps the message."""


plugin = ChannelSpec(
    type="wechat",
    title="WeChat Official Account",
    config_model=WeChatChannel,
    template_model=WeChatTemplate,
    checks=(one_channel_per("app_id", "AppID"),),
    window=timedelta(hours=48),
    limits=MenuLimits(text_length=2048),
    runtime="supportctl_plugins.wechat_runtime:WeChatChannelRuntime",
)
