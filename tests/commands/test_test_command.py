"""`supportctl test`: exit codes, output, discovery, JSON and JUnit reports."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO, CliResult

CASES = FIXTURES / "cases"
Run = Callable[..., CliResult]

PASSING = """\
stack: nights.yaml
cases:
  - name: Sunday night is Nora's
    at: "2026-11-29 22:00"
    message: {channel: hotline}
    expect: {agent: nora}
  - name: Monday night is Otto's
    at: "2026-11-30 23:00"
    message: {channel: web}
    expect: {agent: otto}
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder holding the nights stack, where test files can be written."""
    shutil.copy(CASES / "stacks" / "nights.yaml", tmp_path / "nights.yaml")
    return tmp_path


def test_passing_files_exit_0_with_a_summary(run_cli: Run, workdir: Path) -> None:
    (workdir / "nights.test.yaml").write_text(PASSING, encoding="utf-8")
    result = run_cli("test", "nights.test.yaml", cwd=workdir)
    assert result.code == 0, result.out + result.err
    assert result.out == "nights.test.yaml ..\n\n2 passed in 1 file\n"


def test_a_failing_case_exits_1_with_one_line_per_failure(run_cli: Run) -> None:
    result = run_cli("test", "tests/fixtures/cases/failing.yaml", cwd=REPO)
    assert result.code == 1
    name = "tests/fixtures/cases/failing.yaml"
    assert result.out.splitlines() == [
        f"{name} .FFF",
        "",
        f"{name}:12:14: FAILED Wrong team and agent: team: expected night, got weekend-night",
        f"{name}:12:27: FAILED Wrong team and agent: agent: expected otto, got nora",
        "    routed: rule sunday-hotline -> team weekend-night: assigned nora; on shift: nora",
        f"{name}:17:37: FAILED Wrong next opening: next_open: expected "
        "2026-12-07T22:00:00+01:00, got 2026-12-06T22:00:00+01:00",
        "    routed: rule sunday-hotline -> team weekend-night: out of hours, reply "
        "out_of_hours, next open 2026-12-06T22:00:00+01:00; on shift: nobody",
        f"{name}:23:7: FAILED Escalations nobody configured: escalations: expected 1 step, "
        "got 0 steps: []",
        "    routed: rule everyone-else -> team night: assigned otto; on shift: otto, pia",
        "",
        "1 passed, 3 failed in 1 file",
    ]


def test_verbose_lists_every_case(run_cli: Run) -> None:
    result = run_cli("test", "-v", "tests/fixtures/cases/failing.yaml", cwd=REPO)
    assert result.out.splitlines()[:4] == [
        "tests/fixtures/cases/failing.yaml:4: PASSED Sunday night is Nora's",
        "tests/fixtures/cases/failing.yaml:9: FAILED Wrong team and agent",
        "tests/fixtures/cases/failing.yaml:14: FAILED Wrong next opening",
        "tests/fixtures/cases/failing.yaml:19: FAILED Escalations nobody configured",
    ]
    broken = run_cli("test", "-v", "tests/fixtures/cases/broken/yaml-syntax.yaml", cwd=REPO)
    assert broken.out.splitlines()[0] == ("tests/fixtures/cases/broken/yaml-syntax.yaml: ERROR "
                                          "(nothing run)")


def test_a_broken_test_file_exits_1_with_its_diagnostics(run_cli: Run) -> None:
    result = run_cli("test", "tests/fixtures/cases/broken/unknown-key.yaml", cwd=REPO)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == "tests/fixtures/cases/broken/unknown-key.yaml E"
    assert ("tests/fixtures/cases/broken/unknown-key.yaml:8:5: error[X901]: cases[0].expct: "
            "unknown key 'expct'") in lines
    assert lines[-1] == "0 passed, 1 error in 1 file"


def test_an_invalid_stack_exits_1_and_shows_the_stack_errors(run_cli: Run) -> None:
    result = run_cli("test", "tests/fixtures/cases/broken/invalid-stack.yaml", cwd=REPO)
    assert result.code == 1
    assert ("tests/fixtures/cases/broken/invalid-stack.yaml: the stack "
            "tests/fixtures/cases/stacks/invalid.yaml is not valid") in result.out
    assert ("tests/fixtures/cases/stacks/invalid.yaml:13:26: error[R302]: routing[0].to: "
            "unknown team 'suport'") in result.out


def test_other_files_still_run_when_one_is_broken(run_cli: Run, workdir: Path) -> None:
    (workdir / "a.test.yaml").write_text(PASSING, encoding="utf-8")
    (workdir / "b.test.yaml").write_text("stack: nights.yaml\ncases: []\n", encoding="utf-8")
    result = run_cli("test", cwd=workdir)
    assert result.code == 1
    assert result.out.splitlines()[-1] == "2 passed, 1 error in 2 files"
    assert "b.test.yaml:2:8: error[X902]: cases: must not be empty" in result.out


def test_without_arguments_test_files_are_found_below_the_current_folder(
        run_cli: Run, workdir: Path) -> None:
    (workdir / "deep" / "er").mkdir(parents=True)
    (workdir / ".hidden").mkdir()
    (workdir / "deep" / "er" / "x.test.yaml").write_text(
        PASSING.replace("nights.yaml", "../../nights.yaml"), encoding="utf-8")
    (workdir / "y.test.yml").write_text(PASSING, encoding="utf-8")
    (workdir / ".hidden" / "z.test.yaml").write_text("not even yaml: [", encoding="utf-8")
    (workdir / "ignored.yaml").write_text("not even yaml: [", encoding="utf-8")
    result = run_cli("test", cwd=workdir)
    assert result.code == 0, result.out
    assert result.out.splitlines()[:2] == ["deep/er/x.test.yaml ..", "y.test.yml .."]
    folder = run_cli("test", "deep", cwd=workdir)
    assert folder.code == 0 and folder.out.endswith("2 passed in 1 file\n")


def test_no_test_files_is_a_usage_error(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("test", cwd=tmp_path)
    assert result.code == 2
    assert "no test files (*.test.yaml) under the current directory" in result.err


def test_a_missing_or_unreadable_test_file_is_a_usage_error(run_cli: Run,
                                                            workdir: Path) -> None:
    (workdir / "a.test.yaml").write_text(PASSING, encoding="utf-8")
    missing = run_cli("test", "a.test.yaml", "nope.test.yaml", cwd=workdir)
    assert missing.code == 2
    assert "supportctl test: nope.test.yaml: no such file or directory" in missing.err
    assert "2 passed in 1 file" in missing.out  # the others still ran
    (workdir / "latin1.test.yaml").write_bytes("stack: caf\xe9".encode("latin-1"))
    unreadable = run_cli("test", "latin1.test.yaml", cwd=workdir)
    assert unreadable.code == 2
    assert "latin1.test.yaml: cannot read" in unreadable.err


def test_json_output_has_every_case_and_the_counts(run_cli: Run) -> None:
    result = run_cli("test", "--format", "json", "tests/fixtures/cases/failing.yaml",
                     "tests/fixtures/cases/broken/unknown-names.yaml", cwd=REPO)
    assert result.code == 1
    report = json.loads(result.out)
    assert report["summary"] == {"passed": 1, "failed": 3, "errors": 1, "files": 2}
    failing, broken = report["files"]
    assert failing["status"] == "failed" and broken["status"] == "error"
    assert failing["stack"] == "tests/fixtures/cases/stacks/nights.yaml"
    wrong = failing["cases"][1]
    assert (wrong["name"], wrong["line"], wrong["passed"]) == ("Wrong team and agent", 9, False)
    assert wrong["failures"][1] == {
        "key": "agent", "file": "tests/fixtures/cases/failing.yaml", "line": 12, "column": 27,
        "expected": "otto", "actual": "nora", "message": "agent: expected otto, got nora"}
    assert {d["code"] for d in broken["diagnostics"]} == {"X906"}


def test_junit_report_has_a_suite_per_file_and_a_case_per_case(run_cli: Run,
                                                               tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    result = run_cli("test", "--junit", report, "tests/fixtures/cases/failing.yaml",
                     "tests/fixtures/cases/broken/invalid-stack.yaml",
                     "tests/fixtures/cases/round-robin.test.yaml", cwd=REPO)
    assert result.code == 1
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("13", "3", "1")
    suites = root.findall("testsuite")
    assert [(s.get("name"), s.get("tests"), s.get("failures"), s.get("errors"))
            for s in suites] == [
        ("tests/fixtures/cases/failing.yaml", "4", "3", "0"),
        ("tests/fixtures/cases/broken/invalid-stack.yaml", "1", "0", "1"),
        ("tests/fixtures/cases/round-robin.test.yaml", "8", "0", "0")]
    cases = suites[0].findall("testcase")
    assert [c.get("name") for c in cases] == ["Sunday night is Nora's", "Wrong team and agent",
                                              "Wrong next opening",
                                              "Escalations nobody configured"]
    assert cases[0].find("failure") is None
    assert cases[1].get("classname") == "tests.fixtures.cases.failing"
    assert (cases[1].get("file"), cases[1].get("line")) == ("tests/fixtures/cases/failing.yaml",
                                                            "9")
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("message") == ("team: expected night, got weekend-night; "
                                      "agent: expected otto, got nora")
    assert failure.text is not None and "failing.yaml:12:27: agent: expected otto" in failure.text
    error = suites[1].find("testcase/error")
    assert error is not None
    assert error.get("message", "").startswith("the stack tests/fixtures/cases/stacks/"
                                               "invalid.yaml is not valid (1)")
    assert error.text is not None and "error[R302]" in error.text


def test_junit_is_written_when_everything_passes_too(run_cli: Run, workdir: Path) -> None:
    (workdir / "a.test.yaml").write_text(PASSING, encoding="utf-8")
    result = run_cli("test", "--junit", "out/report.xml", cwd=workdir)
    assert result.code == 2  # the folder `out` does not exist
    assert "cannot write out/report.xml" in result.err
    (workdir / "out").mkdir()
    assert run_cli("test", "--junit", "out/report.xml", cwd=workdir).code == 0
    root = ET.parse(workdir / "out" / "report.xml").getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "0", "0")


def test_the_repository_test_files_pass_from_its_root(run_cli: Run) -> None:
    result = run_cli("test", cwd=REPO)
    assert result.code == 0, result.out
    assert "stack.test.yaml" in result.out and " failed" not in result.out


def test_help_names_the_command(run_cli: Run) -> None:
    result = run_cli("test", "--help")
    assert result.code == 0
    assert "--junit FILE" in result.out and "TESTFILE" in result.out
