"""`supportctl diff OLD NEW` on the example stacks with hand-made changes, exactly."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult

Run = Callable[..., CliResult]
REPO = Path(__file__).resolve().parent.parent.parent
EXPECTED = Path(__file__).resolve().parent.parent / "fixtures" / "diff" / "expected"
ROOT_STACK = REPO / "stack.yaml"
SMALL_BUSINESS = REPO / "examples" / "small-business" / "stack.yaml"

EVENING_LATER = ('{days: mon-fri, time: "16:00-22:00"}', '{days: mon-fri, time: "18:00-22:00"}')
"""The root stack's late shift starts two hours later."""
SATURDAY_SHORTER = ('{days: sat, time: "10:00-17:00"}', '{days: sat, time: "10:00-14:00"}')
"""The bicycle workshop closes at 14:00 on Saturdays."""

git_needed = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def pair(tmp_path: Path, source: Path, *edits: tuple[str, str]) -> tuple[str, str]:
    """before.yaml (a copy of `source`) and after.yaml (with the edits) in tmp_path."""
    text = source.read_text(encoding="utf-8")
    (tmp_path / "before.yaml").write_text(text, encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (tmp_path / "after.yaml").write_text(text, encoding="utf-8")
    return "before.yaml", "after.yaml"


def expected(name: str) -> str:
    return (EXPECTED / name).read_text(encoding="utf-8")


def test_a_later_evening_shift_on_the_root_stack(tmp_path: Path, run_cli: Run) -> None:
    result = run_cli("diff", *pair(tmp_path, ROOT_STACK, EVENING_LATER), cwd=tmp_path)
    assert result.code == 3
    assert result.out == expected("root-evening-later.txt")
    assert result.err == ""


def test_a_later_evening_shift_as_a_pull_request_comment(tmp_path: Path, run_cli: Run) -> None:
    old, new = pair(tmp_path, ROOT_STACK, EVENING_LATER)
    result = run_cli("diff", old, new, "--format", "markdown", cwd=tmp_path)
    assert result.code == 3
    assert result.out == expected("root-evening-later.md")


def test_a_rule_sent_to_another_team_on_the_root_stack(tmp_path: Path, run_cli: Run) -> None:
    damaged_to = ("    to: service\n    escalate:\n      - {after: 10m",
                  "    to: supervisors\n    escalate:\n      - {after: 10m")
    result = run_cli("diff", *pair(tmp_path, ROOT_STACK, damaged_to), cwd=tmp_path)
    assert result.code == 3
    assert result.out.splitlines()[2:] == [
        "Entities: 1 change",
        "  routing",
        "    ~ damaged-or-missing: to",
        "",
        "Routing outcomes that change over the reference week of Monday 2026-01-12 "
        "(Europe/Berlin), every 15 minutes, 3 channels × 6 contact classes:",
        '  Mon-Fri 00:00-08:00, 22:00-24:00, Sat 00:00-09:00, 13:00-24:00, Sun all day, '
        'every channel, segment≠wholesale, text="damaged" (+7 more): '
        'out of hours (service) → out of hours (supervisors)',
        '  Mon-Fri 08:00-22:00, Sat 09:00-13:00, every channel, segment≠wholesale, '
        'text="damaged" (+7 more): service → supervisors',
    ]


def test_a_fallback_added_on_the_root_stack(tmp_path: Path, run_cli: Run) -> None:
    fallback = ("  - name: everyone-else\n    to: service\n",
                "  - name: everyone-else\n    to: service\n    fallback: wholesale\n")
    result = run_cli("diff", *pair(tmp_path, ROOT_STACK, fallback), "--format", "json",
                     cwd=tmp_path)
    assert result.code == 3
    report = json.loads(result.out)
    assert report["entities"] == [{"section": "routing", "id": "everyone-else",
                                   "change": "changed", "keys": ["fallback"],
                                   "old_position": 3, "new_position": 3, "moved": False}]
    assert report["outcomes"] == [{
        "window": "Mon-Fri 07:00-08:00",
        "minutes": [[420, 480], [1860, 1920], [3300, 3360], [4740, 4800], [6180, 6240]],
        "channels": ["whatsapp", "webchat", "telegram"], "every_channel": True,
        "contact": {"segment": [None], "text": [None]},
        "label": "every channel, segment≠wholesale, text=other",
        "before": {"kind": "out_of_hours", "team": "service"},
        "after": {"kind": "team", "team": "wholesale"},
    }]
    assert report["outcome_changed"] is True
    assert report["week"] == {"monday": "2026-01-12", "timezone": "Europe/Berlin",
                              "step_minutes": 15, "reference": True}
    assert report["channels"] == ["whatsapp", "webchat", "telegram"]
    assert report["contact_classes"]["segment"] == [
        {"label": "wholesale", "values": ["wholesale"]}, {"label": "other", "values": [None]}]
    assert [c["label"] for c in report["contact_classes"]["text"]] == [
        '"wholesale" (+4 more)', '"damaged" (+7 more)', "other"]
    assert report["every_combination"] is True and report["notes"] == []


def test_a_shorter_saturday_in_the_small_business(tmp_path: Path, run_cli: Run) -> None:
    old, new = pair(tmp_path, SMALL_BUSINESS, SATURDAY_SHORTER)
    text = run_cli("diff", old, new, cwd=tmp_path)
    assert text.code == 3
    assert text.out == expected("small-business-saturday.txt")
    markdown = run_cli("diff", old, new, "--format", "markdown", cwd=tmp_path)
    assert markdown.code == 3
    assert markdown.out == expected("small-business-saturday.md")


def test_markdown_cells_keep_their_pipes_escaped(tmp_path: Path, run_cli: Run) -> None:
    shop = REPO / "tests" / "fixtures" / "stacks" / "routing-shop.yaml"
    segments = ("{contact.segment: vip}", "{contact.segment: [vip, gold]}")
    old, new = pair(tmp_path, shop, segments)
    (tmp_path / old).write_text(shop.read_text(encoding="utf-8").replace(*segments),
                                encoding="utf-8")
    after = (tmp_path / new).read_text(encoding="utf-8")
    (tmp_path / new).write_text(after.replace("    to: supervisors\n    fallback: general\n",
                                              "    to: general\n"), encoding="utf-8")
    result = run_cli("diff", old, new, "--format", "markdown", cwd=tmp_path)
    assert result.code == 3
    rows = [line for line in result.out.splitlines() if line.startswith("| Mon")]
    assert rows == [
        "| Mon-Fri 00:00-08:00, Sat-Sun all day | wa, web | language≠zh, segment=vip\\|gold | "
        "out of hours (supervisors) | out of hours (general) |",
        "| Mon-Fri 08:00-16:00 | wa, web | language≠zh, segment=vip\\|gold | supervisors | "
        "general |",
    ]
    assert "| routing | `vip` | changed | `to`, `fallback` |" in result.out


def test_a_change_that_moves_no_conversation_exits_0(tmp_path: Path, run_cli: Run) -> None:
    keyword = ("puncture]}", "puncture, band]}")  # both rules go to the workshop anyway
    result = run_cli("diff", *pair(tmp_path, SMALL_BUSINESS, keyword), cwd=tmp_path)
    assert result.code == 0
    assert result.out.splitlines()[2:] == [
        "Entities: 1 change",
        "  routing",
        "    ~ breakdowns: when.text.keywords",
        "",
        "Routing outcomes: no change over the reference week of Monday 2026-01-12 "
        "(Europe/Amsterdam), every 15 minutes, 3 channels × 3 contact classes",
    ]


def test_a_stack_against_itself(run_cli: Run) -> None:
    result = run_cli("diff", ROOT_STACK, ROOT_STACK, "--format", "markdown")
    assert result.code == 0
    assert "**No routing outcome changes** over the reference week" in result.out
    assert "No entity changed." in result.out
    minimal = REPO / "tests" / "fixtures" / "stacks" / "minimal.yaml"
    result = run_cli("diff", minimal, minimal)
    assert result.code == 0
    assert result.out.splitlines()[-1] == (
        "Routing outcomes: no change over the reference week of Monday 2026-01-12 "
        "(Europe/Berlin), every 15 minutes, 1 channel × 1 contact class")


def test_another_week_is_sampled_in_the_new_stack_s_time_zone(tmp_path: Path,
                                                              run_cli: Run) -> None:
    old, new = pair(tmp_path, SMALL_BUSINESS, SATURDAY_SHORTER)
    result = run_cli("diff", old, new, "--week", "2026-08-05", cwd=tmp_path)
    # the summer break (3 to 15 August): the workshop is closed all week either way
    assert result.code == 0
    assert ("Routing outcomes: no change over the week of Monday 2026-08-03 (Europe/Amsterdam)"
            in result.out)


def test_an_invalid_side_exits_1_with_its_errors(tmp_path: Path, run_cli: Run) -> None:
    old, new = pair(tmp_path, ROOT_STACK, ("    to: wholesale\n", "    to: wholesal\n"))
    result = run_cli("diff", old, new, cwd=tmp_path)
    assert result.code == 1
    assert result.out == ""
    assert "after.yaml:" in result.err and "error[R302]" in result.err
    assert "supportctl diff: after.yaml is not a valid stack" in result.err


@pytest.mark.parametrize("args", [
    ("missing.yaml", "before.yaml"),
    ("before.yaml", "before.yaml", "--week", "last-monday"),
    ("before.yaml", "before.yaml", "--format", "html"),
    ("git:HEAD", "before.yaml"),
])
def test_usage_errors_and_unreadable_sides_exit_2(tmp_path: Path, run_cli: Run,
                                                  args: tuple[str, ...]) -> None:
    pair(tmp_path, ROOT_STACK)
    result = run_cli("diff", *args, cwd=tmp_path)
    assert result.code == 2
    assert result.out == ""


# --- git:REV:PATH -----------------------------------------------------------------------------

def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.com",
                    "-c", "commit.gpgsign=false", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A throwaway repository with the root stack committed as deploy/stack.yaml."""
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    shutil.copy(ROOT_STACK, repo / "deploy" / "stack.yaml")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "stack")
    return repo


@git_needed
def test_the_committed_stack_against_the_working_copy(repo: Path, run_cli: Run) -> None:
    stack = repo / "deploy" / "stack.yaml"
    stack.write_text(stack.read_text(encoding="utf-8").replace(*EVENING_LATER),
                     encoding="utf-8")
    result = run_cli("diff", "git:HEAD:deploy/stack.yaml", "deploy/stack.yaml", cwd=repo)
    assert result.code == 3
    changed = expected("root-evening-later.txt").replace(
        "before.yaml → after.yaml", "git:HEAD:deploy/stack.yaml → deploy/stack.yaml")
    assert result.out == changed
    # from a subdirectory, ./ means "here", as it does for git show
    inside = run_cli("diff", "git:HEAD:./stack.yaml", "stack.yaml", cwd=repo / "deploy")
    assert inside.code == 3
    assert inside.out.splitlines()[2:] == changed.splitlines()[2:]


@git_needed
def test_includes_are_read_as_committed(repo: Path, run_cli: Run) -> None:
    stack = repo / "deploy" / "stack.yaml"
    text = stack.read_text(encoding="utf-8")
    late = "  evening:\n    description: Late shift, when most home brewers write after work\n"
    start = text.index(late)
    end = text.index("  wholesale-hours:")
    (repo / "deploy" / "shifts").mkdir()
    (repo / "deploy" / "shifts" / "evening.yaml").write_text(
        "schedules:\n" + text[start:end], encoding="utf-8")
    stack.write_text(text[:start] + text[end:].replace("agents:\n", "include: [shifts/*.yaml]\n\n"
                                                      "agents:\n", 1), encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "evening shift in its own file")
    assert run_cli("diff", "git:HEAD~1:deploy/stack.yaml", "git:HEAD:deploy/stack.yaml",
                   cwd=repo).code == 0  # the same stack, split into two files
    shifts = repo / "deploy" / "shifts" / "evening.yaml"
    shifts.write_text(shifts.read_text(encoding="utf-8").replace(*EVENING_LATER),
                      encoding="utf-8")
    result = run_cli("diff", "git:HEAD:deploy/stack.yaml", "deploy/stack.yaml", cwd=repo)
    assert result.code == 3
    assert "    ~ evening: hours" in result.out
    assert ("  Mon-Fri 16:00-18:00, every channel, segment=wholesale: service → "
            "out of hours (wholesale)") in result.out


@git_needed
def test_errors_in_a_committed_stack_are_named_by_revision(repo: Path, run_cli: Run) -> None:
    stack = repo / "deploy" / "stack.yaml"
    good = stack.read_text(encoding="utf-8")
    stack.write_text(good.replace("    to: wholesale\n", "    to: wholesal\n"), encoding="utf-8")
    git(repo, "commit", "-q", "-am", "typo")
    stack.write_text(good, encoding="utf-8")
    result = run_cli("diff", "git:HEAD:deploy/stack.yaml", "deploy/stack.yaml", cwd=repo)
    assert result.code == 1
    line = next(line for line in result.err.splitlines() if "error[R302]" in line)
    assert line.startswith("git:HEAD:deploy/stack.yaml:")
    assert "supportctl diff: git:HEAD:deploy/stack.yaml is not a valid stack" in result.err


@git_needed
@pytest.mark.parametrize(("spec", "message"), [
    ("git:no-such-branch:deploy/stack.yaml", "no commit 'no-such-branch' in this repository"),
    ("git:HEAD:stack.yaml", "HEAD has no stack.yaml (a PATH after REV: is from the top"),
])
def test_a_revision_or_path_git_does_not_have_exits_2(repo: Path, run_cli: Run, spec: str,
                                                      message: str) -> None:
    result = run_cli("diff", spec, "deploy/stack.yaml", cwd=repo)
    assert result.code == 2
    assert message in result.err


@git_needed
def test_git_sides_outside_a_repository_exit_2(tmp_path: Path, run_cli: Run) -> None:
    pair(tmp_path, ROOT_STACK)
    result = run_cli("diff", "git:HEAD:before.yaml", "before.yaml", cwd=tmp_path)
    assert result.code == 2
    assert result.err.startswith("supportctl diff: git:HEAD:before.yaml: ")
