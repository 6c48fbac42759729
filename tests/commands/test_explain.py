"""`supportctl explain`: the text a reviewer reads, the JSON structure, and the exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXTURES, CliResult

from supportctl.commands import EXIT_INVALID, EXIT_OK, EXIT_USAGE

Run = Callable[..., CliResult]
SHOP = FIXTURES / "stacks" / "routing-shop.yaml"
HOLIDAY = FIXTURES / "stacks" / "explain-holiday.yaml"


def test_a_fallback_in_text(run_cli: Run) -> None:
    result = run_cli("explain", SHOP, "--at", "2026-11-23T12:00", "--channel", "wechat",
                     "--open", "anna=1", "--last", "general=anna")
    assert (result.code, result.err) == (EXIT_OK, "")
    assert result.out.splitlines() == [
        "At Mon 23 Nov 2026 12:00 CET (Europe/Berlin)",
        "  channel  wechat (type wechat)",
        "  contact  language=zh",
        "  state    open anna=1; last assigned general=anna",
        "",
        "Rules (first match wins; 1 of 3 tried):",
        "  1. chinese-speakers  match     channel 'wechat' is 'wechat'",
        "",
        "Team chinese (assign: least_open) -> nobody on shift: the next fallback is tried",
        "  nobody on shift; next on shift Tue 24 Nov 2026 02:00 CET",
        "    agent  status     open/max  languages  why",
        "    li     off shift  0/2       zh, en     works shanghai-day; next on shift "
        "Tue 24 Nov 2026 02:00 CET",
        "    wei    off shift  0/2       zh         works shanghai-day; next on shift "
        "Tue 24 Nov 2026 02:00 CET",
        "",
        "Fallback general (assign: round_robin) -> takes the conversation",
        "  on shift: anna, ben, carla",
        "    agent  status    open/max  languages  why",
        "    anna   eligible  1/2       de, en     on shift (day) until Mon 23 Nov 2026 16:00 CET",
        "    ben    eligible  0/3       en         on shift (day) until Tue 24 Nov 2026 00:00 CET;"
        " assigned",
        "    carla  eligible  0/2       de         on shift (day) until Mon 23 Nov 2026 16:00 CET",
        "",
        "Agent: ben: round_robin: ben is the next eligible agent in team order (anna, ben, carla)"
        " after anna, the last agent it assigned",
        "Outcome: assigned to ben of team general"]


def test_a_holiday_in_text(run_cli: Run) -> None:
    result = run_cli("explain", SHOP, "--at", "2026-12-25T12:00:00+01:00", "--channel", "web",
                     "--contact", "language=en")
    assert result.code == EXIT_OK
    lines = result.out.splitlines()
    assert lines[4:8] == [
        "Rules (first match wins; 3 of 3 tried):",
        "  1. chinese-speakers  no match  none of: channel 'web' is not 'wechat'; "
        "contact.language 'en' is not 'zh'",
        "  2. vip               no match  contact.segment is not known (wanted 'vip')",
        "  3. everyone-else     match     no condition: matches every conversation"]
    assert lines[9:12] == [
        "Team general (assign: round_robin) -> nobody left to try: out of hours",
        "  closed by closed_on 'holidays' until Sat 26 Dec 2026 00:00 CET",
        "  next on shift Mon 28 Dec 2026 08:00 CET"]
    assert ("    anna   team closed  0/2       de, en     closed_on 'holidays'; works day; "
            "next on shift Mon 28 Dec 2026 08:00 CET") in lines
    assert lines[-7:] == [
        "",
        "Outcome: out of hours: team general is closed (closed_on 'holidays')",
        "Reply: template out_of_hours (en): 'Back at {{next_open}}.'",
        "Next open: Mon 28 Dec 2026 08:00 CET (team general; fills {{next_open}}, and "
        "escalation clocks start then)",
        "Escalations (each unless an agent has replied by then):",
        "  after 15m   Mon 28 Dec 2026 08:15 CET: to team supervisors, notify slack",
        "  after 1h    Mon 28 Dec 2026 09:00 CET: notify slack, reply still_waiting"]


def test_the_json_structure(run_cli: Run) -> None:
    result = run_cli("explain", HOLIDAY, "--at", "2026-05-01T10:00:00Z", "--channel", "shop",
                     "--contact", "language=de", "--format", "json")
    assert result.code == EXIT_OK
    data = json.loads(result.out)
    assert list(data) == ["version", "timezone", "input", "rules", "rules_total", "rule",
                          "outcome", "summary", "team", "teams", "fallbacks_not_tried", "agent",
                          "assignment", "reply", "next_open", "escalations", "notify",
                          "state_after"]
    assert data["input"] == {"at": "2026-05-01T12:00:00+02:00", "channel": "shop",
                             "channel_type": "webchat", "contact": {"language": "de"},
                             "text": "", "state": {"open": {}, "last_assigned": {}}}
    assert data["rules"] == [{
        "index": 0, "name": "shop-in-office-hours", "matched": True,
        "reason": "channel 'shop' is 'shop'; schedule 'office' is open at "
                  "2026-05-01T10:00:00+00:00",
        "to": "office", "fallback": ["late"]}]
    assert (data["rule"], data["outcome"], data["team"], data["agent"]) == (
        "shop-in-office-hours", "assigned", "late", "dan")
    office, late = data["teams"]
    assert {k: office[k] for k in ("team", "name", "role", "assign", "on_shift", "closed_by",
                                   "reopens", "next_on_shift", "took_it", "agent")} == {
        "team": "office", "name": "Office", "role": "team", "assign": "round_robin",
        "on_shift": [], "closed_by": "holidays", "reopens": "2026-05-02T00:00:00+02:00",
        "next_on_shift": "2026-05-04T09:00:00+02:00", "took_it": False, "agent": None}
    assert office["members"][0] == {
        "agent": "ann", "name": "Ann", "status": "team_closed", "open": 0, "max_open": 2,
        "languages": ["en"], "shifts": ["office"], "working": [], "until": None,
        "next_on_shift": "2026-05-04T09:00:00+02:00", "detail": "closed_on 'holidays'"}
    assert late["members"][0] == {
        "agent": "dan", "name": "Dan", "status": "eligible", "open": 0, "max_open": 5,
        "languages": ["en", "de"], "shifts": ["office", "evening"], "working": ["office"],
        "until": "2026-05-01T21:00:00+02:00", "next_on_shift": None, "detail": None}
    assert data["assignment"] == {
        "method": "least_open", "agent": "dan", "language": "de", "speakers_preferred": False,
        "candidates": ["dan"], "order": ["dan", "cat"], "last_assigned": None,
        "open": {"dan": 0},
        "reason": "least_open: dan has the fewest open conversations (dan 0); ties go to the "
                  "first in team order from the start (it has assigned nobody yet)"}
    assert (data["reply"], data["next_open"], data["escalations"], data["notify"]) == (
        None, None, [], ["ops"])
    assert data["state_after"] == {"open": {"dan": 1}, "last_assigned": {"late": "dan"}}


def test_json_of_an_out_of_hours_reply(run_cli: Run) -> None:
    result = run_cli("explain", HOLIDAY, "--at", "2026-05-02T12:00", "--channel", "web",
                     "--contact", "language=de", "--format", "json")
    data = json.loads(result.out)
    assert (data["outcome"], data["assignment"], data["next_open"]) == (
        "out_of_hours", None, "2026-05-04T09:00:00+02:00")
    assert data["reply"] == {"template": "office_closed", "language": "de",
                             "text": "Das Büro öffnet {{next_open}}."}
    assert data["escalations"] == [{"after": "30m", "after_seconds": 1800,
                                    "at": "2026-05-04T09:30:00+02:00", "to": "late",
                                    "notify": ["ops"], "reply": None}]


def test_a_time_without_offset_is_the_workspaces_and_other_offsets_are_converted(
        run_cli: Run) -> None:
    local = run_cli("explain", SHOP, "--at", "2026-07-06T12:00", "--channel", "web")
    assert local.out.splitlines()[0] == "At Mon 06 Jul 2026 12:00 CEST (Europe/Berlin)"
    shanghai = run_cli("explain", SHOP, "--at", "2026-07-06T18:00+08:00", "--channel", "web")
    assert shanghai.out.splitlines()[0] == (
        "At Mon 06 Jul 2026 12:00 CEST (Europe/Berlin, given as 2026-07-06T18:00:00+08:00)")
    # a wall-clock time the clock skips means the moment it jumps, as in schedules
    skipped = run_cli("explain", SHOP, "--at", "2026-03-29T02:30", "--channel", "web")
    assert skipped.out.splitlines()[0] == "At Sun 29 Mar 2026 03:00 CEST (Europe/Berlin)"
    now = run_cli("explain", SHOP, "--at", "now", "--channel", "web", "--format", "json")
    assert now.code == EXIT_OK and json.loads(now.out)["rule"] == "everyone-else"


def test_contact_lists_and_text(run_cli: Run) -> None:
    result = run_cli("explain", SHOP, "--at", "2026-11-23T12:00", "--channel", "wa",
                     "--contact", "segment=gold", "--contact", "segment=vip", "--text",
                     "hello there", "--format", "json")
    data = json.loads(result.out)
    assert data["input"]["contact"] == {"segment": ["gold", "vip"]}
    assert data["input"]["text"] == "hello there"
    assert data["rule"] == "vip"


def test_an_unknown_channel_is_a_usage_error_listing_the_channels(run_cli: Run) -> None:
    result = run_cli("explain", SHOP, "--at", "2026-11-23T12:00", "--channel", "telegram")
    assert (result.code, result.out) == (EXIT_USAGE, "")
    assert result.err == ("supportctl explain: unknown channel 'telegram'; the stack's channels "
                          "are: wa, web, wechat\n")


@pytest.mark.parametrize(("args", "message"), [
    (["--open", "zoe=1"], "--open: unknown agent 'zoe'; the stack's agents are: "),
    (["--last", "night=anna"], "--last: unknown team 'night'; the stack's teams are: "),
    (["--last", "general=zoe"], "--last: unknown agent 'zoe'; the stack's agents are: "),
])
def test_unknown_agents_and_teams_are_usage_errors(run_cli: Run, args: list[str],
                                                   message: str) -> None:
    result = run_cli("explain", SHOP, "--at", "2026-11-23T12:00", "--channel", "web", *args)
    assert result.code == EXIT_USAGE
    assert result.err.startswith("supportctl explain: " + message)


@pytest.mark.parametrize("args", [
    ["--at", "yesterday", "--channel", "web"],
    ["--at", "2026-11-23T12:00", "--channel", "web", "--open", "anna=many"],
    ["--at", "2026-11-23T12:00", "--channel", "web", "--contact", "language"],
    ["--channel", "web"],
    ["--at", "2026-11-23T12:00", "--channel", "web", "--format", "yaml"],
])
def test_malformed_arguments_are_usage_errors(run_cli: Run, args: list[str]) -> None:
    assert run_cli("explain", SHOP, *args).code == EXIT_USAGE


def test_an_undeclared_contact_attribute_is_a_warning(run_cli: Run) -> None:
    result = run_cli("explain", SHOP, "--at", "2026-11-23T12:00", "--channel", "web",
                     "--contact", "langauge=zh")
    assert result.code == EXIT_OK
    assert result.err == ("supportctl explain: warning: contact attribute 'langauge' is not "
                          "declared in workspace.contact_attributes, so no rule tests it\n")


def test_a_broken_or_missing_stack(run_cli: Run, tmp_path: Path) -> None:
    broken = tmp_path / "stack.yaml"
    broken.write_text("version: 1\nworkspace: {name: A, timezone: Mars/Olympus}\n")
    assert run_cli("explain", broken, "--at", "now", "--channel", "web").code == EXIT_INVALID
    missing = run_cli("explain", tmp_path / "nope.yaml", "--at", "now", "--channel", "web")
    assert missing.code == EXIT_USAGE


def test_help_says_how_times_are_read(run_cli: Run) -> None:
    result = run_cli("explain", "--help")
    assert result.code == EXIT_OK
    assert "workspace time zone" in result.out and "now" in result.out
