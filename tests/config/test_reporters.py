"""Reporters: text for people, JSON for tools, GitHub annotations for pull requests."""

from __future__ import annotations

import json

from supportctl.config import reporters
from supportctl.config.diagnostics import Diagnostic, Severity

ERROR = Diagnostic("teams/a.yaml", 4, 21, ("teams", "general", "assign"), "S204",
                   Severity.ERROR, "'round-robin' is not one of round_robin, least_open, manual",
                   "did you mean 'round_robin'?")
WARNING = Diagnostic("stack.yaml", 1, 1, (), "L110", Severity.WARNING,
                     "environment variable A is not set, 100% sure", "")


def test_text_has_position_severity_code_path_and_hint() -> None:
    assert reporters.text([ERROR, WARNING]) == (
        "teams/a.yaml:4:21: error[S204]: teams.general.assign: 'round-robin' is not one of "
        "round_robin, least_open, manual\n"
        "    hint: did you mean 'round_robin'?\n"
        "stack.yaml:1:1: warning[L110]: environment variable A is not set, 100% sure")


def test_colour_only_when_asked() -> None:
    assert "\033[" not in reporters.text([ERROR])
    coloured = reporters.text([ERROR], colour=True)
    assert "\033[31m" in coloured and "error[S204]" in coloured


def test_summary() -> None:
    assert reporters.summary([], ["stack.yaml"]) == "stack.yaml: valid"
    assert reporters.summary([WARNING], ["stack.yaml"]) == "stack.yaml: valid (1 warning)"
    assert reporters.summary([ERROR, ERROR, WARNING], ["a", "b"]) == \
        "a, b: invalid (2 errors, 1 warning)"


def test_json_round_trips() -> None:
    (item,) = json.loads(reporters.as_json([ERROR]))
    assert item == {"file": "teams/a.yaml", "line": 4, "column": 21,
                    "path": "teams.general.assign", "code": "S204", "severity": "error",
                    "message": ERROR.message, "hint": ERROR.hint}


def test_github_annotations_escape_their_special_characters() -> None:
    assert reporters.github([ERROR, WARNING]).splitlines() == [
        "::error file=teams/a.yaml,line=4,col=21,title=S204 teams.general.assign::"
        "teams.general.assign: 'round-robin' is not one of round_robin, least_open, manual"
        "%0Ahint: did you mean 'round_robin'?",
        "::warning file=stack.yaml,line=1,col=1,title=L110::environment variable A is not set, "
        "100%25 sure"]
