"""Generic signed HTTP webhook notifier: configuration half."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from supportctl.config.model.common import Duration, Secret
from supportctl.config.plugin_spec import NotifierConfig, NotifierSpec


class WebhookNotifier(NotifierConfig):
    """POSTs each event as JSON, signed with HMAC-SHA256, to any HTTP endpoint."""

    type: Literal["webhook"]
    """The plugin that delivers these notifications: `webhook`."""
    url: Annotated[str, Field(pattern=r"^(https?://|\$\{)", examples=[
        "https://crm.acme.example/hooks/support"])]
    """Endpoint that receives the events."""
    secret: Annotated[Secret, Field(examples=["${CRM_WEBHOOK_SECRET}"])]
    """Key of the `X-Supportctl-Signature: sha256=...` header."""
    events: Annotated[list[Literal["conversation.routed", "conversation.escalated",
                                   "conversation.closed", "csat.answered"]] | None, Field(
        min_length=1)] = None
    """Events to send; all when absent."""
    timeout: Annotated[Duration, Field(examples=["5s"])] = "10s"
    """How long to wait for the endpoint."""


plugin = NotifierSpec(type="webhook", title="Signed HTTP webhook", config_model=WebhookNotifier,
                      runtime="supportctl_plugins.webhook_runtime:WebhookNotifierRuntime")
