"""Find plugins through the `supportctl.plugins` entry-point group."""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

from supportctl.config.plugin_spec import ChannelSpec, NotifierSpec, PluginSet

GROUP = "supportctl.plugins"
DISTRIBUTION = "supportctl"


class PluginError(Exception):
    """A plugin is installed but broken: it cannot be imported or is not a plugin spec."""


def _load(entry: EntryPoint) -> ChannelSpec | NotifierSpec:
    try:
        spec = entry.load()
    except Exception as exc:  # a third-party plugin may fail in any way on import
        raise PluginError(f"plugin {entry.name!r} ({entry.value}) failed to load: {exc}") from exc
    if not isinstance(spec, ChannelSpec | NotifierSpec):
        raise PluginError(f"plugin {entry.name!r} ({entry.value}) is not a ChannelSpec or "
                          f"NotifierSpec but {type(spec).__name__}")
    if spec.type != entry.name:
        raise PluginError(f"plugin {entry.name!r} ({entry.value}) declares type {spec.type!r}; "
                          "the entry-point name and the type must be the same")
    return spec


@cache
def load_plugins(builtin_only: bool = False) -> PluginSet:
    """Every installed plugin, or only those shipped with supportctl itself."""
    plugins = PluginSet()
    for entry in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        if builtin_only and (entry.dist is None or entry.dist.name != DISTRIBUTION):
            continue
        spec = _load(entry)
        if spec.type in plugins.channels or spec.type in plugins.notifiers:
            raise PluginError(f"two plugins provide the type {spec.type!r}")
        if isinstance(spec, ChannelSpec):
            plugins.channels[spec.type] = spec
        else:
            plugins.notifiers[spec.type] = spec
    return plugins
