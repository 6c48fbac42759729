"""The stack: the root model, built from the core models plus the installed plugins' models."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import Field, create_model

from supportctl.config.model.common import Id, StackModel
from supportctl.config.model.messages import Conversations, Menu, TemplateBase
from supportctl.config.model.people import Agent, Team
from supportctl.config.model.routing import Rule
from supportctl.config.model.schedules import Schedule
from supportctl.config.model.workspace import Workspace
from supportctl.config.plugin_spec import ChannelConfig, NotifierConfig, PluginSet


class StackBase(StackModel):
    """A supportctl stack: channels, people, schedules, routing, templates and menus.

    Built per set of installed plugins: `channels`, `notify` and the native templates accept
    exactly the types that the plugins provide.
    """

    version: Literal[1]
    """Version of the stack language. Always `1`."""
    workspace: Workspace
    """Name, time zone and languages."""
    include: Annotated[list[str], Field(examples=[["teams/*.yaml", "routing/*.yaml"]])] = []
    """Files (globs, relative to this file) merged into the stack, read where this key is
    written: routing rules of included files take its place among this file's rules."""
    channels: dict[Id, ChannelConfig] = {}
    """Messaging channels by id; `type` names the plugin that serves each."""
    notify: dict[Id, NotifierConfig] = {}
    """Where alerts go (Slack, webhooks), by id."""
    schedules: dict[Id, Schedule] = {}
    """Shift calendars and holiday calendars by id."""
    agents: dict[Id, Agent] = {}
    """Agents by id."""
    teams: dict[Id, Team] = {}
    """Teams by id."""
    routing: list[Rule] = []
    """Ordered routing rules; the first that matches wins, and the last must match everything."""
    templates: dict[Id, TemplateBase] = {}
    """Message templates by id."""
    menus: dict[Id, Menu] = {}
    """FAQ menus by id."""
    conversations: Conversations = Conversations()
    """Conversation lifecycle policies."""


def _union(models: list[type[Any]], fallback: type[Any]) -> Any:
    if not models:
        return fallback
    if len(models) == 1:
        return models[0]
    return Annotated[Union[tuple(models)], Field(discriminator="type")]  # noqa: UP007


def _id_map(item: Any, field: str) -> Any:
    """A `dict[Id, item]` field definition for create_model, keeping the base's description."""
    return (dict[Id, item], Field(default={},
                                  description=StackBase.model_fields[field].description))


@cache
def build_stack_model(plugins: PluginSet) -> type[StackBase]:
    """The Stack model for a set of plugins (cached: the same set gives the same class)."""
    channel_models = [spec.config_model for spec in plugins.channels.values()]
    notifier_models = [spec.config_model for spec in plugins.notifiers.values()]
    native: dict[str, Any] = {
        kind: (Annotated[Optional[spec.template_model], Field(  # noqa: UP045
            description=f"Native {spec.title} template, sent when the window is closed.")], None)
        for kind, spec in sorted(plugins.channels.items()) if spec.template_model is not None}
    template = create_model("Template", __base__=TemplateBase, __doc__=TemplateBase.__doc__,
                            **native)
    return create_model(
        "Stack", __base__=StackBase, __doc__=StackBase.__doc__,
        channels=_id_map(_union(channel_models, ChannelConfig), "channels"),
        notify=_id_map(_union(notifier_models, NotifierConfig), "notify"),
        templates=_id_map(template, "templates"),
    )
