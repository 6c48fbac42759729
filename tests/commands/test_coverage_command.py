"""`supportctl coverage`: the grid in text, JSON and CSV, the gaps, and the exit codes."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO, CliResult

from supportctl.commands import EXIT_INVALID, EXIT_OK, EXIT_USAGE

Run = Callable[..., CliResult]
STACKS = FIXTURES / "stacks"
SHOP = STACKS / "routing-shop.yaml"
GAP = STACKS / "coverage-language-gap.yaml"
DST = STACKS / "coverage-grid-dst.yaml"


def test_a_grid_that_fits_100_columns(run_cli: Run) -> None:
    result = run_cli("coverage", GAP)
    assert (result.code, result.err) == (EXIT_OK, "")
    lines = result.out.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert lines[:3] == [
        "On duty per hour in Europe/Berlin, reference week (the week H706 checks, from Mon 12 Jan"
        " 2026):",
        "weekly hours only; dates, overrides and holidays are left out (--week DATE shows a real "
        "week).",
        "Cells: the fewest agents on shift at any moment of the hour; . nobody, - an hour the "
        "clock skips."]
    block = lines[lines.index("team chinese: li"):][:9]
    assert block == [
        "team chinese: li",
        "      00 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23",
        *[f"  {day}  .  .  .  .  .  .  .  .  1  1  1  1  1  1  1  1  .  .  .  .  .  .  .  ."
          for day in ("Mon", "Tue", "Wed", "Thu", "Fri")],
        "  Sat  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .",
        "  Sun  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  ."]
    assert "language en (speakers on shift in any team): anna, li" in lines
    assert "  Mon                                                  !  !  !  !  !  !  !  !" in lines
    assert lines[-2:] == [
        "  rule 'chinese-speakers' -> team 'chinese' (no fallback): nobody on shift Mon-Fri "
        "16:00-24:00",
        "      (Europe/Berlin); team 'general' is on shift then"]


def test_fail_on_gaps(run_cli: Run) -> None:
    failing = run_cli("coverage", GAP, "--fail-on-gaps")
    assert failing.code == EXIT_INVALID
    assert failing.err == "supportctl coverage: 1 gap(s) in the week\n"
    clean = run_cli("coverage", SHOP, "--fail-on-gaps")
    assert clean.code == EXIT_OK
    assert clean.out.splitlines()[-2:] == [
        "No gaps: whenever the stack serves customers, every rule's team or one of its "
        "fallbacks has somebody",
        "on shift."]


def test_json(run_cli: Run) -> None:
    result = run_cli("coverage", GAP, "--format", "json")
    assert result.code == EXIT_OK
    data = json.loads(result.out)
    assert list(data) == ["version", "timezone", "week", "cell", "teams", "languages", "gaps"]
    assert data["week"] == {
        "monday": "2026-01-12", "reference": True, "start": "2026-01-12T00:00:00+01:00",
        "end": "2026-01-19T00:00:00+01:00",
        "days": [f"2026-01-{day}" for day in range(12, 19)]}
    assert data["cell"] == "fewest agents on shift at any moment of the hour"
    chinese = data["teams"][1]
    assert (chinese["id"], chinese["name"], chinese["agents"]) == ("chinese", None, ["li"])
    assert chinese["hours"][0] == [0] * 8 + [1] * 8 + [0] * 8
    assert data["languages"][0]["id"] == "en" and "name" not in data["languages"][0]
    (gap,) = data["gaps"]
    assert gap | {"intervals": gap["intervals"][:1]} == {
        "rule": "chinese-speakers", "rule_index": 0, "team": "chinese", "fallback": [],
        "hours": "Mon-Fri 16:00-24:00",
        "intervals": [{"start": "2026-01-12T16:00:00+01:00",
                       "end": "2026-01-13T00:00:00+01:00"}],
        "suggestion": "general"}
    assert len(gap["intervals"]) == 5


def test_csv(run_cli: Run) -> None:
    result = run_cli("coverage", SHOP, "--format", "csv", "--week", "2026-03-29")
    assert result.code == EXIT_OK
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert len(rows) == (3 + 3) * 7 * 24  # three teams, three languages
    assert rows[0] == {"kind": "team", "id": "general", "date": "2026-03-23",
                       "weekday": "mon", "hour": "00", "agents": "0"}
    general_monday = [int(r["agents"]) for r in rows
                      if r["id"] == "general" and r["date"] == "2026-03-23"]
    assert general_monday == [0] * 8 + [3] * 8 + [1] * 8
    skipped = [r for r in rows if r["date"] == "2026-03-29" and r["hour"] == "02"]
    assert {r["agents"] for r in skipped} == {""}  # 02:00-03:00 does not exist that night
    assert {r["id"] for r in rows if r["kind"] == "language"} == {"de", "en", "zh"}


def test_a_dst_week_in_text_and_json(run_cli: Run) -> None:
    text = run_cli("coverage", DST, "--week", "2026-03-25")
    lines = text.out.splitlines()
    nights = lines.index("team nights: nina")
    assert lines[nights + 8] == (
        "  Sun 29 Mar  1  1  -  1  1  1  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  .  1  1")
    data = json.loads(run_cli("coverage", DST, "--week", "2026-03-25", "--format", "json").out)
    assert data["week"]["end"] == "2026-03-30T00:00:00+02:00"
    assert data["teams"][0]["hours"][6][:4] == [1, 1, None, 1]


def test_another_time_zone(run_cli: Run) -> None:
    data = json.loads(run_cli("coverage", SHOP, "--tz", "Asia/Shanghai", "--format",
                              "json").out)
    assert data["timezone"] == "Asia/Shanghai"
    assert data["teams"][1]["hours"][0] == [0] * 9 + [2] * 9 + [0] * 6


@pytest.mark.parametrize("args", [["--tz", "Mars/Olympus"], ["--week", "next week"],
                                  ["--format", "xml"]])
def test_usage_errors(run_cli: Run, args: list[str]) -> None:
    result = run_cli("coverage", SHOP, *args)
    assert (result.code, result.out) == (EXIT_USAGE, "")


def test_an_unknown_zone_says_so(run_cli: Run) -> None:
    result = run_cli("coverage", SHOP, "--tz", "Mars/Olympus")
    assert result.err == "supportctl coverage: --tz: 'Mars/Olympus' is not an IANA time zone\n"


def test_a_broken_or_missing_stack(run_cli: Run, tmp_path: Path) -> None:
    broken = tmp_path / "stack.yaml"
    broken.write_text("version: 1\nworkspace: {name: A, timezone: Mars/Olympus}\n")
    assert run_cli("coverage", broken).code == EXIT_INVALID
    assert run_cli("coverage", tmp_path / "nope.yaml").code == EXIT_USAGE


def test_the_example_stack(run_cli: Run) -> None:
    result = run_cli("coverage", REPO / "stack.yaml", "--week", "2026-12-24", "--fail-on-gaps")
    assert result.code == EXIT_OK
    assert max(len(line) for line in result.out.splitlines()) <= 100
    # Christmas Eve: the day shift's override (08:00-12:00), the evening closed
    assert ("  Thu 24 Dec  .  .  .  .  .  .  .  .  2  2  2  2  .  .  .  .  .  .  .  .  .  .  .  ."
            in result.out.splitlines())
