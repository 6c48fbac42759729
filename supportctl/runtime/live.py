"""The stack as the server runs it: checked, compiled, with a runtime per channel and per
notify target.

A `LiveStack` is built whole before it is served and never changed afterwards; a reload builds
a new one and swaps the reference, so every request sees one stack from start to end.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supportctl.config.diagnostics import Diagnostic, Severity
from supportctl.config.model.stack import StackBase
from supportctl.config.plugin_spec import ChannelSpec, NotifierSpec, PluginSet
from supportctl.plugins import load_plugins
from supportctl.plugins.channel import ChannelRuntime
from supportctl.plugins.notifier import NotifierRuntime
from supportctl.routing.engine import Router
from supportctl.runtime.menu_engine import MenuEngine
from supportctl.runtime.texts import Texts
from supportctl.validation import validate_stack

if TYPE_CHECKING:
    from aiohttp import ClientSession


class StackRefused(Exception):
    """The stack cannot be served; `diagnostics` say why (as `validate` prints them)."""

    def __init__(self, path: Path, diagnostics: list[Diagnostic]) -> None:
        super().__init__(f"{path}: {len(diagnostics)} error(s)")
        self.path = path
        self.diagnostics = diagnostics


class PluginRuntimeError(Exception):
    """A plugin names a runtime that cannot be imported or is not of its kind's base class."""


@dataclass(frozen=True, eq=False)
class LiveStack:
    stack: StackBase
    version: str  # sha256 of the stack's files, short: which stack answered
    loaded_at: datetime
    router: Router
    menus: MenuEngine
    texts: Texts
    channels: Mapping[str, ChannelRuntime]  # channels whose plugin has a runtime
    specs: Mapping[str, ChannelSpec]  # every channel's plugin spec, by channel id
    files: tuple[str, ...] = field(default=())
    # values the stack read from the environment: tokens and secrets, never to be logged
    secrets: tuple[str, ...] = field(default=(), repr=False)
    notifiers: Mapping[str, NotifierRuntime] = field(default_factory=dict)  # notify targets

    def channel_type(self, channel_id: str) -> str:
        return self.stack.channels[channel_id].type


def _imported(spec: ChannelSpec | NotifierSpec, base: type[Any]) -> type[Any] | None:
    if spec.runtime is None:
        return None
    module_name, _, attribute = spec.runtime.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise PluginRuntimeError(f"plugin {spec.type!r}: runtime {spec.runtime!r} cannot be "
                                 f"imported: {exc}") from exc
    if not (isinstance(found, type) and issubclass(found, base)):
        raise PluginRuntimeError(f"plugin {spec.type!r}: runtime {spec.runtime!r} is not a "
                                 f"{base.__name__} subclass")
    return found


def runtime_class(spec: ChannelSpec) -> type[ChannelRuntime] | None:
    """The runtime class a channel plugin names, imported now; None when it has none."""
    found: type[ChannelRuntime] | None = _imported(spec, ChannelRuntime)
    return found


def notifier_class(spec: NotifierSpec) -> type[NotifierRuntime] | None:
    """The runtime class a notifier plugin names, imported now; None when it has none."""
    found: type[NotifierRuntime] | None = _imported(spec, NotifierRuntime)
    return found


def stack_version(files: list[str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0")
        try:
            digest.update(Path(name).read_bytes())
        except OSError:
            digest.update(b"<unreadable>")
    return digest.hexdigest()[:12]


def load_live(path: Path, env: Mapping[str, str], now: datetime, *,
              http: ClientSession | None = None,
              plugins: PluginSet | None = None) -> LiveStack:
    """Check the stack as `serve` must (a missing variable is an error) and compile it.
    Raises StackRefused with the diagnostics, or PluginRuntimeError."""
    plugins = plugins or load_plugins()
    result = validate_stack(path, env, missing_env=Severity.ERROR)
    if result.stack is None or result.diagnostics.errors:
        raise StackRefused(path, list(result.diagnostics.errors or result.diagnostics.sorted()))
    stack = result.stack
    specs = {cid: plugins.channels[channel.type] for cid, channel in stack.channels.items()
             if channel.type in plugins.channels}
    channels: dict[str, ChannelRuntime] = {}
    for channel_id, spec in specs.items():
        cls = runtime_class(spec)
        if cls is not None:
            channels[channel_id] = cls(channel_id, stack.channels[channel_id], http=http)
    notifiers: dict[str, NotifierRuntime] = {}
    for target_id, target in stack.notify.items():
        notifier = plugins.notifiers.get(target.type)
        made = notifier_class(notifier) if notifier is not None else None
        if made is not None:
            notifiers[target_id] = made(target_id, target, http=http)
    files = list(result.sources.files)
    return LiveStack(stack, stack_version(files), now, Router(stack), MenuEngine(stack),
                     Texts(stack), channels, specs, tuple(sorted(files)),
                     tuple(env[name] for name in sorted(result.env_used) if name in env),
                     notifiers)
