"""The stack a command works on is checked first; a broken one stops the command."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportctl.commands import EXIT_INVALID, EXIT_USAGE
from supportctl.commands.stacks import CommandFailed, checked_stack


def test_a_valid_stack_is_returned(fixtures: Path) -> None:
    stack = checked_stack(fixtures / "stacks" / "routing-shop.yaml", "explain")
    assert set(stack.teams) == {"general", "chinese", "supervisors"}


def test_a_broken_stack_prints_its_errors_and_fails(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text("version: 1\nworkspace: {name: A, timezone: Mars/Olympus}\n")
    with pytest.raises(CommandFailed) as failed:
        checked_stack(stack, "explain")
    assert failed.value.code == EXIT_INVALID
    err = capsys.readouterr().err
    assert "error[H701]" in err
    assert "supportctl explain: " in err and "is not a valid stack" in err


def test_an_unreadable_stack_is_a_usage_error(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CommandFailed) as failed:
        checked_stack(tmp_path / "missing.yaml", "coverage")
    assert failed.value.code == EXIT_USAGE
    assert capsys.readouterr().err.startswith("supportctl coverage: ")
