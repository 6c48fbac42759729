"""Channel checks: option ids against a channel's button payload (C801), and literal secrets of
every built-in plugin (C804)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from supportctl.config.diagnostics import Diagnostic, Severity
from supportctl.config.model.messages import option_id
from supportctl.plugins import load_plugins
from supportctl.plugins.channel import MenuShape
from supportctl.runtime.menu_engine import MenuEngine, MenuState
from supportctl.validation import validate_stack

# 63 characters: a valid id, but "<it>.1" is 65 bytes, one over Telegram's 64 for callback_data
LONG_MENU = "questions-about-orders-shipping-returns-and-refunds-in-the-eu-x"
# names of keys that hold credentials, in any plugin
CREDENTIAL = re.compile(r"(^|_)(token|secret|password|api_key|aes_key|webhook_url)$")


def stack_text(menu_id: str, options: list[dict[str, Any]], channel_type: str = "telegram",
               ) -> str:
    channels = {"telegram": {"type": "telegram", "bot_token": "${TG_TOKEN}",
                             "secret_token": "${TG_SECRET}", "menu": menu_id},
                "webchat": {"type": "webchat", "menu": menu_id}}
    stack = {
        "version": 1,
        "workspace": {"name": "Payloads", "timezone": "UTC", "languages": ["en"]},
        "channels": {"bot": channels[channel_type]},
        "schedules": {"always": {"hours": [{"days": "mon-sun", "time": "00:00-24:00"}]}},
        "agents": {"ada": {"name": "Ada", "languages": ["en"]}},
        "teams": {"support": {"shifts": [{"schedule": "always", "agents": ["ada"]}]}},
        "routing": [{"name": "everyone", "to": "support"}],
        "templates": {"hello": {"text": "Pick a topic."}},
        "menus": {menu_id: {"prompt": "hello", "options": options}},
    }
    return yaml.safe_dump(stack, sort_keys=False)


def check(tmp_path: Path, text: str) -> list[Diagnostic]:
    path = tmp_path / "stack.yaml"
    path.write_text(text, encoding="utf-8")
    return validate_stack(path, env={"TG_TOKEN": "t", "TG_SECRET": "s"}).diagnostics.items


def answers(count: int) -> list[dict[str, Any]]:
    return [{"label": f"Topic {n}", "answer": f"About topic {n}."} for n in range(1, count + 1)]


def test_an_id_derived_from_a_long_menu_id_is_too_big_for_telegram(tmp_path: Path) -> None:
    text = stack_text(LONG_MENU, answers(2))
    found = [d for d in check(tmp_path, text) if d.code == "C801"]
    assert len(found) == 1, found
    warning = found[0]
    assert warning.severity is Severity.WARNING
    assert warning.path == ("menus", LONG_MENU, "options", 0)
    assert warning.message == (
        f"option 1 of menu {LONG_MENU!r} carries the id '{LONG_MENU}.1', 65 bytes; Telegram "
        "Bot API buttons carry at most 64, so on channel 'bot' the menu is sent as numbered text")
    assert warning.hint == "give the option a shorter `id`"
    assert text.splitlines()[warning.line - 1].lstrip().startswith("- label: Topic 1")


def test_the_first_option_whose_id_is_too_big_is_named(tmp_path: Path) -> None:
    options = [{"id": "topic-one", **answers(1)[0]}, *answers(3)[1:]]
    found = [d for d in check(tmp_path, stack_text(LONG_MENU, options)) if d.code == "C801"]
    assert [d.path for d in found] == [("menus", LONG_MENU, "options", 1)]


def test_own_short_ids_fit(tmp_path: Path) -> None:
    options = [{"id": f"t{n}", **option} for n, option in enumerate(answers(2))]
    assert not [d for d in check(tmp_path, stack_text(LONG_MENU, options)) if d.code == "C801"]


def test_a_channel_without_a_payload_limit_takes_any_id(tmp_path: Path) -> None:
    text = stack_text(LONG_MENU, answers(2), channel_type="webchat")
    assert not [d for d in check(tmp_path, text) if d.code == "C801"]


def test_a_menu_sent_as_text_anyway_is_reported_once_for_its_size(tmp_path: Path) -> None:
    found = [d for d in check(tmp_path, stack_text(LONG_MENU, answers(101))) if d.code == "C801"]
    assert len(found) == 1 and "has 101 options" in found[0].message


@pytest.mark.parametrize(("options", "shape"), [
    (answers(2), MenuShape.TEXT),
    ([{"id": f"t{n}", **option} for n, option in enumerate(answers(2))], MenuShape.BUTTONS)])
def test_the_runtime_sends_what_the_warning_says(tmp_path: Path, options: list[dict[str, Any]],
                                                 shape: MenuShape) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(stack_text(LONG_MENU, options), encoding="utf-8")
    result = validate_stack(path, env={"TG_TOKEN": "t", "TG_SECRET": "s"})
    assert result.stack is not None
    limits = load_plugins().channels["telegram"].limits
    menu = MenuEngine(result.stack).render(MenuState((LONG_MENU,)), "en", limits)
    assert menu.shape is shape


def test_option_id_is_the_own_id_else_the_position(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(stack_text("main", [{"id": "track", **answers(1)[0]}, answers(2)[1]],
                               channel_type="webchat"), encoding="utf-8")
    stack = validate_stack(path, env={}).stack
    assert stack is not None
    options = stack.menus["main"].options
    assert [option_id("main", i, option) for i, option in enumerate(options)] == [
        "track", "main.2"]


# --- every credential of every built-in plugin is warned about when written literally ---------


def literal(name: str) -> str:
    """A literal credential value: 43 letters and digits pass every credential's pattern (a
    WeChat EncodingAESKey is exactly that)."""
    return f"Literal{name.replace('_', '')}".ljust(43, "0")


def literal_config(kind: str, model: type[BaseModel]) -> dict[str, Any]:
    """A config of the model with each required key at its first example, each credential
    written literally, and no `${VAR}` anywhere."""
    config: dict[str, Any] = {"type": kind}
    for name, info in model.model_fields.items():
        if name == "type":
            continue
        if CREDENTIAL.search(name):
            config[name] = literal(name)
        elif info.is_required():
            assert info.examples, f"{kind}.{name} is required and has no example"
            config[name] = info.examples[0]
    return config


def test_every_credential_of_the_built_in_plugins_is_a_secret(tmp_path: Path) -> None:
    plugins = load_plugins(builtin_only=True)
    stack: dict[str, Any] = {
        "version": 1, "workspace": {"name": "Secrets", "timezone": "UTC", "languages": ["en"]},
        "channels": {kind: literal_config(kind, spec.config_model)
                     for kind, spec in plugins.channels.items()},
        "notify": {kind: literal_config(kind, spec.config_model)
                   for kind, spec in plugins.notifiers.items()}}
    expected = {(section, kind, key) for section in ("channels", "notify")
                for kind, config in stack[section].items() for key in config
                if CREDENTIAL.search(key)}
    # the credentials of every kind of plugin are seen, so the regex is not blind to them
    assert {"bot_token", "app_secret", "encoding_aes_key", "webhook_url", "secret"} <= {
        key for _, _, key in expected}
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(stack, sort_keys=False), encoding="utf-8")
    diagnostics = validate_stack(path, env={}).diagnostics.items
    warned = {d.path for d in diagnostics if d.code == "C804"}
    assert warned == expected
    shown = "\n".join(f"{d.message} {d.hint}" for d in diagnostics)
    assert not [key for _, _, key in expected if literal(key) in shown]  # values never shown
