"""Assembling a stack from several files with `include:`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from supportctl.config.sources import UnreadableStack, assemble

ROOT = """\
version: 1
workspace: {name: Acme, timezone: Europe/Berlin}
routing:
  - {name: vip, when: {contact.segment: vip}, to: vip}
include: [teams/*.yaml]
teams:
  general: {shifts: [{schedule: day, agents: [anna]}]}
"""
TEAM_A = """\
teams:
  a-team: {shifts: [{schedule: day, agents: [anna]}]}
routing:
  - {name: a-rule, to: a-team}
"""
TEAM_B = """\
routing:
  - {name: b-rule, to: b-team}
  - {name: b-rule-2, to: b-team}
"""


def write(base: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return base / "stack.yaml"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_included_files_merge_in_place_of_the_include_key(tmp_path: Path) -> None:
    root = write(tmp_path, {"stack.yaml": ROOT, "teams/a.yaml": TEAM_A, "teams/b.yaml": TEAM_B})
    assembled = assemble(root, {})
    assert assembled.findings == []
    assert [r["name"] for r in assembled.data["routing"]] == ["vip", "a-rule", "b-rule",
                                                              "b-rule-2"]
    assert set(assembled.data["teams"]) == {"general", "a-team"}
    sources = assembled.sources
    where = sources.locate(("routing", 3, "to"))
    assert (where.file, where.line, where.column) == (os.path.join("teams", "b.yaml"), 3, 26)
    assert sources.locate(("teams", "a-team"), at_key=True).file == os.path.join("teams",
                                                                                 "a.yaml")
    assert sources.locate(("teams", "general", "shifts")).file == "stack.yaml"


def test_rules_after_the_include_key_come_after_included_rules(tmp_path: Path) -> None:
    root_text = ("version: 1\nworkspace: {name: A, timezone: UTC}\ninclude: teams/*.yaml\n"
                 "routing:\n  - {name: catch-all, to: general}\n")
    root = write(tmp_path, {"stack.yaml": root_text, "teams/a.yaml": TEAM_A})
    names = [r["name"] for r in assemble(root, {}).data["routing"]]
    assert names == ["a-rule", "catch-all"]


def test_an_id_defined_twice_names_both_places(tmp_path: Path) -> None:
    twice = "teams:\n  general: {shifts: []}\n"
    root = write(tmp_path, {"stack.yaml": ROOT, "teams/a.yaml": twice})
    ((where, finding),) = assemble(root, {}).findings
    assert finding.code == "L122"
    # the include is written before `teams:`, so the included definition is read first
    assert (where.file, where.line, where.column) == ("stack.yaml", 7, 3)
    first = os.path.join("teams", "a.yaml")
    assert finding.message == f"teams.general is already defined at {first}:2:3"


def test_pattern_matching_nothing(tmp_path: Path) -> None:
    root = write(tmp_path, {"stack.yaml": ROOT})
    ((where, finding),) = assemble(root, {}).findings
    assert (finding.code, where.line, where.column) == ("L120", 5, 11)


def test_include_cycle(tmp_path: Path) -> None:
    root = write(tmp_path, {"stack.yaml": ROOT, "teams/a.yaml": "include: [../stack.yaml]\n"})
    ((where, finding),) = assemble(root, {}).findings
    assert finding.code == "L121"
    assert where.file == os.path.join("teams", "a.yaml")


def test_root_only_and_unknown_keys_in_included_files(tmp_path: Path) -> None:
    fragment = "workspace: {name: X, timezone: UTC}\nchanels: {}\n"
    root = write(tmp_path, {"stack.yaml": ROOT, "teams/a.yaml": fragment})
    found = [(f.code, w.line, f.hint) for w, f in assemble(root, {}).findings]
    assert found == [("L124", 1, "move it to the file that includes this one"),
                     ("S201", 2, "did you mean 'channels'?")]


def test_problems_inside_included_files_name_that_file(tmp_path: Path) -> None:
    root = write(tmp_path, {"stack.yaml": ROOT, "teams/a.yaml": "teams:\n  x: 1\n  x: 2\n"})
    ((where, finding),) = assemble(root, {}).findings
    assert (finding.code, where.file, where.line) == ("L102", os.path.join("teams", "a.yaml"), 3)


def test_folder_means_its_stack_yaml(tmp_path: Path) -> None:
    write(tmp_path, {"stack.yaml": "version: 1\n"})
    assert assemble(tmp_path, {}).data == {"version": 1}


def test_unreadable_root_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UnreadableStack, match="no such file"):
        assemble(tmp_path / "missing.yaml", {})
