"""The pipeline: what is checked after a structural failure, and where findings point."""

from __future__ import annotations

from pathlib import Path

from supportctl.validation import validate_stack


def _found(path: Path) -> list[tuple[int, int, str, str]]:
    result = validate_stack(path, env={})
    return [(d.line, d.column, d.code, d.dotted_path) for d in result.diagnostics.sorted()]


def test_rules_after_a_broken_rule_keep_their_positions(fixtures: Path) -> None:
    assert _found(fixtures / "stacks" / "broken-rule-first.yaml") == [
        (12, 73, "S201", "routing[0].bogus"),
        (13, 62, "R302", "routing[1].to"),
        (15, 5, "U501", "routing[3]"),
    ]


def test_a_broken_rule_silences_the_checks_it_could_answer(fixtures: Path) -> None:
    codes = {code for _, _, code, _ in _found(fixtures / "stacks" / "broken-rule-first.yaml")}
    assert "R311" not in codes  # `pager` is used by the broken rule
