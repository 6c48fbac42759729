"""The bundled stack.yaml: valid, strictly, and the small business the issue asks for."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, CliResult

from supportctl.commands import EXIT_OK
from supportctl.config.model.common import as_list
from supportctl.config.model.stack import StackBase
from supportctl.validation import validate_stack

Run = Callable[..., CliResult]
STACK = REPO / "stack.yaml"


@pytest.fixture(scope="module")
def variables() -> dict[str, str]:
    """A made-up value for every environment variable the stack reads."""
    return {name: f"test-{name.lower()}" for name in validate_stack(STACK, env={}).env_used}


@pytest.fixture(scope="module")
def stack(variables: dict[str, str]) -> StackBase:
    result = validate_stack(STACK, env=variables)
    assert result.stack is not None
    assert list(result.diagnostics) == []
    return result.stack


def test_it_validates_strictly_with_its_variables_set(
        run_cli: Run, variables: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    result = run_cli("validate", "--strict", STACK)
    assert result.code == EXIT_OK, result.out
    assert result.out == ""


def test_without_its_variables_it_only_warns_about_each_of_them(
        run_cli: Run, variables: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    for name in variables:
        monkeypatch.delenv(name, raising=False)
    # run where no .env sets them (the repository's own, after the README's first line, would)
    result = run_cli("validate", "--format", "json", STACK, cwd=tmp_path)
    assert result.code == EXIT_OK
    diagnostics = json.loads(result.out)
    assert {(d["code"], d["severity"]) for d in diagnostics} == {("L110", "warning")}
    assert len(diagnostics) == len(variables)


def test_every_secret_comes_from_the_environment(variables: dict[str, str]) -> None:
    # six secrets: three of WhatsApp, two of Telegram, the Slack webhook
    assert len(variables) == 6
    result = validate_stack(STACK, env=variables)
    assert not [d for d in result.diagnostics if d.code == "C804"]


def test_it_names_the_committed_schema_for_editors() -> None:
    first = STACK.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=schema/stack.schema.json"
    assert (STACK.parent / "schema" / "stack.schema.json").is_file()


def test_it_has_whatsapp_webchat_and_telegram_with_the_menu(stack: StackBase) -> None:
    types = {channel.type for channel in stack.channels.values()}
    assert {"whatsapp", "webchat", "telegram"} <= types
    assert all(channel.menu for channel in stack.channels.values())


def test_it_speaks_two_languages(stack: StackBase) -> None:
    assert len(stack.workspace.languages) >= 2
    assert {"de", "en"} <= set(stack.workspace.languages)


def test_it_has_teams_with_day_and_evening_shifts(stack: StackBase) -> None:
    assert len(stack.teams) >= 2
    assert any(len({shift.schedule for shift in team.shifts}) >= 2
               for team in stack.teams.values())


def test_teams_close_on_a_holiday_calendar(stack: StackBase) -> None:
    calendars = {schedule_id for team in stack.teams.values() for schedule_id in team.closed_on}
    assert calendars
    for schedule_id in calendars:
        schedule = stack.schedules[schedule_id]
        assert schedule.dates and not schedule.hours


def _depth(stack: StackBase, menu_id: str, trail: tuple[str, ...] = ()) -> int:
    below = [_depth(stack, option.menu, (*trail, menu_id))
             for option in stack.menus[menu_id].options
             if option.menu and option.menu not in trail]
    return 1 + max(below, default=0)


def test_the_faq_menu_is_three_levels_deep_with_a_handoff(stack: StackBase) -> None:
    entry = {channel.menu for channel in stack.channels.values()}
    assert len(entry) == 1
    (main,) = entry
    assert main is not None
    assert _depth(stack, main) >= 3
    assert any(option.handoff for menu in stack.menus.values() for option in menu.options)


def test_out_of_hours_reply_tells_when_someone_is_back(stack: StackBase) -> None:
    template_id = stack.conversations.out_of_hours_reply
    assert template_id is not None
    text = stack.templates[template_id].text
    assert isinstance(text, dict)
    assert set(text) == set(stack.workspace.languages)
    assert all("{{next_open}}" in value for value in text.values())


def test_csat_is_asked(stack: StackBase) -> None:
    assert stack.conversations.csat is not None
    assert stack.conversations.csat.template in stack.templates


def test_routing_ends_in_a_catch_all_and_escalates_to_supervisors_with_slack(
        stack: StackBase) -> None:
    assert stack.routing[-1].when is None
    steps = [step for rule in stack.routing for step in rule.escalate]
    assert any(step.to and any(stack.notify[target].type == "slack"
                               for target in as_list(step.notify))
               for step in steps)
    assert any(agent.supervisor for agent in stack.agents.values())


def test_follow_ups_have_a_native_whatsapp_template(stack: StackBase) -> None:
    assert any(getattr(template, "whatsapp", None) is not None
               for template in stack.templates.values())
