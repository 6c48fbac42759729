"""Slack incoming-webhook notifier: configuration half."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from supportctl.config.model.common import Secret
from supportctl.config.plugin_spec import NotifierConfig, NotifierSpec


class SlackNotifier(NotifierConfig):
    """Posts alerts to a Slack channel through an incoming webhook."""

    type: Literal["slack"]
    """The plugin that delivers these notifications: `slack`."""
    webhook_url: Annotated[Secret, Field(examples=["${SLACK_WEBHOOK_URL}"])]
    """The incoming-webhook URL (it is a credential: keep it in `${ENV}`)."""
    mention: Annotated[str | None, Field(examples=["<!subteam^S012345>", "@here"])] = None
    """Who to mention in each alert."""


plugin = NotifierSpec(type="slack", title="Slack", config_model=SlackNotifier,
                      runtime="supportctl_plugins.slack_runtime:SlackNotifierRuntime")
