"""Structural errors: every one in a run, each with a message and hint a person can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportctl.validation import validate_stack

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "stacks" / \
    "structure-errors.yaml"


@pytest.fixture
def found(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, str, str, str, str]]:
    monkeypatch.chdir(FIXTURE.parent)
    result = validate_stack(FIXTURE, env={})
    assert result.stack is None
    return [(d.line, d.column, d.code, d.dotted_path, d.message, d.hint)
            for d in result.diagnostics.sorted()]


def test_every_structural_error_in_one_run(
        found: list[tuple[int, int, str, str, str, str]]) -> None:
    assert found == [
        (9, 38, "S203", "teams.t.shifts[0].agents", "expected a list, got text 'ada'",
         "write it as a list: [item] or one `- item` per line"),
        (11, 6, "S202", "notify.n", "missing required key 'webhook_url'", ""),
        (14, 12, "S201", "routing[0].when.foo", "unknown key 'foo'",
         "known keys here: all, any, channel, channel_type, not, schedule, text"),
        (14, 29, "S206", "routing[0].when.channel", "must not be empty", ""),
        (17, 11, "S206", "routing[1].when", "must not be empty", ""),
        (20, 31, "S201", "routing[2].when.contact.language.regx", "unknown key 'regx'",
         "did you mean 'regex'?"),
        (20, 48, "S201", "routing[2].when.text.keyword", "unknown key 'keyword'",
         "did you mean 'keywords'?"),
        (22, 16, "S202", "routing[2].escalate[0]", "needs one of the keys to, notify", ""),
        (25, 13, "S203", "templates.x.text", "expected text or a mapping, got a list", ""),
        (27, 36, "S203", "menus.m.options[0].label", "expected text or a mapping, got a number",
         ""),
        (27, 52, "S203", "menus.m.options[0].answer.en", "expected text, got the number 1",
         'quote it: "1"'),
    ]
