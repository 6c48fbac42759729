"""Plugin discovery through the `supportctl.plugins` entry-point group."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest

from supportctl.config.plugin_spec import ChannelSpec, NotifierSpec
from supportctl.plugins import registry
from supportctl.plugins.registry import PluginError, load_plugins

BUILTIN_CHANNELS = {"whatsapp", "wechat", "telegram", "messenger", "instagram", "webchat"}


def test_builtin_plugins_come_through_entry_points_like_any_other() -> None:
    plugins = load_plugins(builtin_only=True)
    assert set(plugins.channels) == BUILTIN_CHANNELS
    assert set(plugins.notifiers) == {"slack", "webhook"}
    for spec in plugins.channels.values():
        assert isinstance(spec, ChannelSpec)
        assert spec.config_model.model_fields["type"].annotation is not str


def test_windows_of_windowed_channels() -> None:
    channels = load_plugins(builtin_only=True).channels
    hours = {name: spec.window.total_seconds() / 3600 if spec.window else None
             for name, spec in channels.items()}
    assert hours == {"whatsapp": 24, "wechat": 48, "telegram": None, "messenger": 24,
                     "instagram": 24, "webchat": None}


def fake_entry_points(monkeypatch: pytest.MonkeyPatch, entries: list[EntryPoint]) -> None:
    registry.load_plugins.cache_clear()
    monkeypatch.setattr(registry, "entry_points", lambda group: entries)


@pytest.fixture(autouse=True)
def fresh_cache() -> Any:
    registry.load_plugins.cache_clear()
    yield
    registry.load_plugins.cache_clear()


def test_a_plugin_that_fails_to_import_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch, [EntryPoint("sms", "no_such_module:plugin",
                                               "supportctl.plugins")])
    with pytest.raises(PluginError, match=r"plugin 'sms' .* failed to load"):
        load_plugins()


def test_an_entry_point_that_is_not_a_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch, [EntryPoint("json", "json:dumps", "supportctl.plugins")])
    with pytest.raises(PluginError, match="not a ChannelSpec or NotifierSpec"):
        load_plugins()


def test_entry_point_name_must_be_the_type(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch, [EntryPoint("chat", "supportctl_plugins.webchat:plugin",
                                               "supportctl.plugins")])
    with pytest.raises(PluginError, match="declares type 'webchat'"):
        load_plugins()


def test_two_plugins_cannot_claim_one_type(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = EntryPoint("slack", "supportctl_plugins.slack:plugin", "supportctl.plugins")
    fake_entry_points(monkeypatch, [entry, entry])
    with pytest.raises(PluginError, match="two plugins provide the type 'slack'"):
        load_plugins()
    assert isinstance(registry._load(entry), NotifierSpec)
