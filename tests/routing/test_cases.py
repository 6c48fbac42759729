"""Routing test files: times, loading with positions, broken files, running cases, examples."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import FIXTURES, REPO

from supportctl.commands.test import StackCache, find_test_files, run_file
from supportctl.config import reporters
from supportctl.config.cases import LoadedCases, TimeError, check_cases, load_cases, parse_time
from supportctl.routing.cases import CaseResult, duration_text, run_case, run_cases, show
from supportctl.routing.engine import Router
from supportctl.validation import validate_stack

CASES = FIXTURES / "cases"
BROKEN = sorted((CASES / "broken").glob("*.yaml"))
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def nights() -> Router:
    result = validate_stack(CASES / "stacks" / "nights.yaml", env={})
    assert result.stack is not None and not result.diagnostics.errors
    return Router(result.stack)


def loaded_against(router: Router, text: str, file: str = "t.test.yaml") -> LoadedCases:
    loaded = load_cases("stack: stacks/nights.yaml\n" + text, file)
    check_cases(loaded, router.stack)
    assert loaded.ok, reporters.text(loaded.diagnostics)
    return loaded


def run_text(router: Router, text: str) -> list[CaseResult]:
    return run_cases(router, loaded_against(router, text))


# --- times ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("2026-11-23T12:00:00+01:00", datetime(2026, 11, 23, 11, tzinfo=UTC)),
    ("2026-11-23T11:00:00Z", datetime(2026, 11, 23, 11, tzinfo=UTC)),
    ("2026-11-23 12:00", datetime(2026, 11, 23, 11, tzinfo=UTC)),      # Berlin, winter
    ("2026-07-01T12:00", datetime(2026, 7, 1, 10, tzinfo=UTC)),        # Berlin, summer
    ("2026-11-23 19:00 Asia/Shanghai", datetime(2026, 11, 23, 11, tzinfo=UTC)),
    ("2026-11-23 12:00:30", datetime(2026, 11, 23, 11, 0, 30, tzinfo=UTC)),
])
def test_times_are_instants_read_in_the_default_zone_unless_they_say(text: str,
                                                                      expected: datetime) -> None:
    assert parse_time(text, BERLIN) == expected


def test_a_wall_clock_time_keeps_its_zone_for_display() -> None:
    assert parse_time("2026-11-23 12:00", BERLIN).isoformat() == "2026-11-23T12:00:00+01:00"
    fixed = parse_time("2026-11-23T12:00:00+05:30", BERLIN)
    assert fixed.utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(("text", "message"), [
    ("2026-03-29 02:30", "does not exist in Europe/Berlin"),
    ("2026-10-25 02:30", "happens twice in Europe/Berlin (the clocks go back); write the "
                         "offset: 2026-10-25T02:30:00+02:00 or 2026-10-25T02:30:00+01:00"),
    ("2026-11-23T12:00+01:00 Europe/Berlin", "gives both an offset and a time zone"),
    ("2026-11-23 12:00 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
    ("2026-11-23", "is not a time such as"),
    ("noon", "is not a time such as"),
    ("2026-02-30 10:00", "is not a real date and time"),
])
def test_times_that_are_not_one_instant_are_refused(text: str, message: str) -> None:
    with pytest.raises(TimeError, match=re.escape(message)):
        parse_time(text, BERLIN)


def test_times_without_clock_changes_never_fail() -> None:
    assert parse_time("2026-03-29 02:30", UTC).hour == 2
    assert parse_time("2026-03-29 02:30", timezone(timedelta(hours=1))).hour == 2


# --- loading --------------------------------------------------------------------------------

def test_a_sound_file_loads_every_case_with_what_it_gave() -> None:
    loaded = load_cases("""\
stack: ../stack.yaml
cases:
  - name: one
    at: "2026-11-23 12:00"
    message: {channel: web, text: "Price: ${AMOUNT} and $${literal}"}
    contact: {language: no, tier: 1, tags: [a, b]}
    expect: {agent: null, team: general}
""", "t.test.yaml")
    assert loaded.ok and loaded.stack == "../stack.yaml"
    [(index, case)] = loaded.cases
    assert index == 0
    assert case.message.text == "Price: ${AMOUNT} and $${literal}"  # no interpolation
    assert case.contact == {"language": "no", "tier": 1, "tags": ["a", "b"]}  # YAML 1.2
    assert case.expect.given("agent") and case.expect.agent is None
    assert not case.expect.given("rule")
    assert case.repeat == 1 and case.state.open == {}


def test_problems_are_positioned_at_the_key_or_value_and_all_reported() -> None:
    loaded = load_cases("""\
stack: x.yaml
cases:
  - name: a
    at: "2026-11-23 12:00"
    message: {channel: web}
    expect: {agnet: li, outcome: done}
  - name: b
    at: 12
    message: {channel: web}
    expect: {agent: li}
""", "t.test.yaml")
    found = {(d.line, d.column, d.code, d.dotted_path) for d in loaded.diagnostics}
    assert found == {(6, 14, "X901", "cases[0].expect.agnet"),
                     (6, 34, "X902", "cases[0].expect.outcome"),
                     (8, 9, "X902", "cases[1].at")}
    assert loaded.cases == []  # a case with a problem is not run


def test_sound_cases_of_a_broken_file_are_still_checked_against_the_stack(
        nights: Router) -> None:
    loaded = load_cases("""\
stack: stacks/nights.yaml
cases:
  - {name: broken, at: "2026-11-29 22:00", message: {channel: hotline}, expect: {agnt: x}}
  - {name: sound, at: "2026-11-29 22:00", message: {channel: hotlin}, expect: {agent: nora}}
""", "t.test.yaml")
    check_cases(loaded, nights.stack)
    assert [(d.line, d.code) for d in loaded.diagnostics] == [(3, "X901"), (4, "X906")]


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_test_files_give_exactly_the_expected_diagnostics(
        path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # paths in diagnostics are relative to the working directory
    relative = path.relative_to(REPO)
    run = run_file(relative, relative.read_text(encoding="utf-8"), StackCache())
    assert run.broken and not run.results
    expected = path.with_suffix(".expected").read_text(encoding="utf-8")
    assert reporters.text(run.diagnostics) + "\n" == expected


# --- running --------------------------------------------------------------------------------

def test_a_passing_case_has_no_failures_and_says_what_routing_did(nights: Router) -> None:
    [result] = run_text(nights, """\
cases:
  - name: sunday
    at: "2026-11-29 22:00"
    message: {channel: hotline}
    expect: {rule: sunday-hotline, team: weekend-night, agent: nora, outcome: assigned,
             on_shift: nora, reply: null, next_open: null, notify: [], escalations: [],
             tried: weekend-night}
""")
    assert result.passed and result.name == "sunday"
    assert (result.location.line, result.location.column) == (3, 5)
    assert result.routed == ("rule sunday-hotline -> team weekend-night: assigned nora; "
                             "on shift: nora")


def test_each_failing_key_is_one_failure_at_its_position(nights: Router) -> None:
    [result] = run_text(nights, """\
cases:
  - name: monday morning
    at: "2026-11-30 06:00"
    message: {channel: hotline}
    expect:
      agent: nora
      on_shift: [nora]
      next_open: "2026-12-07 22:00"
      rule: sunday-hotline
""")
    assert [(f.location.line, f.location.column, f.message) for f in result.failures] == [
        (7, 7, "agent: expected nora, got null"),
        (8, 7, "on_shift: expected [nora], got []"),
        (9, 7, "next_open: expected 2026-12-07T22:00:00+01:00, got 2026-12-06T22:00:00+01:00"),
    ]
    assert result.routed.startswith("rule sunday-hotline -> team weekend-night: out of hours, "
                                    "reply out_of_hours, next open 2026-12-06T22:00:00+01:00")


def test_times_in_failures_are_shown_in_the_zone_the_expectation_was_written_in(
        nights: Router) -> None:
    [result] = run_text(nights, """\
cases:
  - name: utc
    at: "2026-11-30 06:00"
    message: {channel: hotline}
    expect: {next_open: "2026-12-06 20:00 Etc/UTC"}
""")
    assert result.failures[0].actual == "2026-12-06T21:00:00+00:00"


def test_unordered_lists_compare_as_sets(nights: Router) -> None:
    [result] = run_text(nights, """\
cases:
  - name: both on shift
    at: "2026-11-30 23:00"
    message: {channel: web}
    expect: {on_shift: [pia, otto]}
""")
    assert result.passed


def test_escalation_steps_compare_count_then_the_keys_given(repo: Path) -> None:
    result = validate_stack(repo / "stack.yaml", env={})
    assert result.stack is not None
    router = Router(result.stack)
    loaded = load_cases("""\
stack: stack.yaml
cases:
  - name: too few
    at: "2026-11-23 10:00"
    message: {channel: webchat}
    expect: {escalations: [{after: 20m}]}
  - name: wrong keys
    at: "2026-11-23 10:00"
    message: {channel: webchat}
    expect:
      escalations:
        - {after: 20m, to: null, notify: [slack-shift-leads]}
        - {after: 1h, at: "2026-11-23 10:45", to: service, reply: still_waiting}
""", "t.test.yaml")
    check_cases(loaded, router.stack)
    assert loaded.ok, reporters.text(loaded.diagnostics)
    few, wrong = run_cases(router, loaded)
    assert [f.message for f in few.failures] == [
        "escalations: expected 1 step, got 2 steps: [{after: 20m, to: null, notify: "
        "[slack-shift-leads]}, {after: 45m, to: supervisors, notify: [slack-shift-leads]}]"]
    assert [f.message for f in wrong.failures] == [
        "escalations[1].after: expected 1h, got 45m",
        "escalations[1].to: expected service, got supervisors"]


def test_repeat_carries_the_state_from_one_decision_to_the_next(nights: Router) -> None:
    [result] = run_text(nights, """\
cases:
  - name: burst
    at: "2026-11-30 23:00"
    message: {channel: web}
    state: {open: {otto: 1}, last_assigned: {night: pia}}
    repeat: 3
    expect: {agents: [otto, pia, otto], assigned: {otto: 2, pia: 1, nora: 0}, agent: otto}
""")
    assert result.passed, [f.message for f in result.failures]
    assert len(result.decisions) == 3
    assert result.decision.state.open_conversations == {"otto": 3, "pia": 1}
    assert result.routed.endswith("agents of the 3 conversations: [otto, pia, otto]")


def test_a_wrong_distribution_shows_both_counts(nights: Router) -> None:
    [result] = run_text(nights, """\
cases:
  - name: burst
    at: "2026-11-30 23:00"
    message: {channel: web}
    repeat: 4
    expect: {assigned: {otto: 4}}
""")
    assert [f.message for f in result.failures] == [
        "assigned: expected {otto: 4}, got {otto: 2, pia: 2}"]


def test_run_case_is_pure(nights: Router) -> None:
    loaded = loaded_against(nights, """\
cases:
  - name: again
    at: "2026-11-30 23:00"
    message: {channel: web}
    expect: {agent: otto}
""")
    index, case = loaded.cases[0]
    assert run_case(nights, loaded, index, case) == run_case(nights, loaded, index, case)


@pytest.mark.parametrize(("value", "text"), [
    (None, "null"), ("li", "li"), ("two words", '"two words"'), ("", '""'),
    (["a", None], "[a, null]"), ({"a": 1}, "{a: 1}"), (timedelta(minutes=90), "1h30m"),
    (datetime(2026, 1, 1, tzinfo=UTC), "2026-01-01T00:00:00+00:00"), ("你好", "你好"),
])
def test_values_are_shown_the_way_a_test_file_writes_them(value: object, text: str) -> None:
    assert show(value) == text


def test_durations_are_compact() -> None:
    assert duration_text(timedelta(days=1, seconds=30)) == "1d30s"
    assert duration_text(timedelta(0)) == "0s"


# --- the example test files (these are the examples' routing tests) -------------------------

EXAMPLE_TESTS = find_test_files([REPO])[0]


def test_the_example_test_files_are_found() -> None:
    names = {str(p.relative_to(REPO)) for p in EXAMPLE_TESTS}
    assert {"stack.test.yaml", "examples/small-business/stack.test.yaml",
            "tests/fixtures/cases/night-shifts.test.yaml",
            "tests/fixtures/cases/round-robin.test.yaml",
            "examples/creator-support/stack.test.yaml"} <= names
    assert not any(part.startswith(".") for p in EXAMPLE_TESTS
                   for part in p.relative_to(REPO).parts)


@pytest.mark.parametrize("path", EXAMPLE_TESTS, ids=[str(p.relative_to(REPO))
                                                      for p in EXAMPLE_TESTS])
def test_every_example_test_file_passes(path: Path) -> None:
    run = run_file(path, path.read_text(encoding="utf-8"), StackCache())
    assert not run.diagnostics, reporters.text(run.diagnostics)
    failures = [f"{result.name}: {f.message}" for result, _ in run.results
                for f in result.failures]
    assert not failures, "\n".join(failures)
    assert len(run.results) >= 5


def test_every_test_file_code_is_documented(repo: Path) -> None:
    from supportctl.config import cases

    codes = {value for name, value in vars(cases).items()
             if name.isupper() and isinstance(value, str) and re.fullmatch(r"X9\d\d", value)}
    assert codes == {f"X90{n}" for n in range(1, 8)}
    documented = (repo / "docs" / "testing.md").read_text(encoding="utf-8")
    assert all(f"| {code} |" in documented for code in codes)
