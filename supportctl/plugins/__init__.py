"""The plugin interface and plugin discovery.

A plugin is an object exposed through the `supportctl.plugins` entry-point group: a
`ChannelSpec` or a `NotifierSpec`. Built-in plugins are registered exactly like third-party ones.
"""

from supportctl.config.plugin_spec import (
    ChannelConfig,
    ChannelSpec,
    MenuLimits,
    NotifierConfig,
    NotifierSpec,
    PluginSet,
)
from supportctl.plugins.registry import PluginError, load_plugins

__all__ = [
    "ChannelConfig",
    "ChannelSpec",
    "MenuLimits",
    "NotifierConfig",
    "NotifierSpec",
    "PluginError",
    "PluginSet",
    "load_plugins",
]
