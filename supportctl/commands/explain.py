"""`supportctl explain PATH --at TIME --channel ID`: why routing decides what it does."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from supportctl.commands import EXIT_OK, EXIT_USAGE
from supportctl.commands._render_explain import as_json, text
from supportctl.commands.stacks import checked_stack
from supportctl.config.model.stack import StackBase
from supportctl.config.model.workspace import BUILTIN_CONTACT_ATTRIBUTES
from supportctl.config.timespec import zone
from supportctl.routing.assignment import RoutingState
from supportctl.routing.engine import Router
from supportctl.routing.explanation import explain
from supportctl.routing.schedules import first_instant

SUMMARY = "show which rule matches a message, who is on shift and who would be assigned"


def moment(value: str) -> datetime:
    """`--at`: `now`, or ISO 8601; a time without an offset stays naive (the workspace's)."""
    if value.strip().lower() == "now":
        return datetime.now(UTC)
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a time; write ISO 8601 such as 2026-11-23T12:00:00+01:00, "
            "2026-11-23T12:00 (workspace time zone) or now") from None


def pair(value: str) -> tuple[str, str]:
    """`KEY=VALUE` -> (key, value)."""
    key, sep, rest = value.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{value!r}: write KEY=VALUE")
    return key.strip(), rest.strip()


def count(value: str) -> tuple[str, int]:
    """`AGENT=N` -> (agent, N)."""
    agent, number = pair(value)
    if not number.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r}: write AGENT=N with N a whole number")
    return agent, int(number)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="the stack file, or a folder holding "
                        "stack.yaml")
    parser.add_argument("--at", required=True, type=moment, metavar="TIME",
                        help="when the message arrives: ISO 8601 with an offset "
                        "(2026-11-23T12:00:00+01:00), without one for wall-clock time in the "
                        "workspace time zone (2026-11-23T12:00), or `now`")
    parser.add_argument("--channel", required=True, metavar="ID",
                        help="the channel id the message arrives on")
    parser.add_argument("--contact", action="append", type=pair, default=[],
                        metavar="KEY=VALUE", help="a contact attribute, e.g. language=zh; "
                        "repeat for more; the same key twice makes a list (tags)")
    parser.add_argument("--text", default="", metavar="TEXT",
                        help="the text of the message that opens the conversation")
    parser.add_argument("--open", action="append", type=count, default=[], metavar="AGENT=N",
                        help="open conversations an agent has now (default 0); repeatable")
    parser.add_argument("--last", action="append", type=pair, default=[], metavar="TEAM=AGENT",
                        help="the agent a team assigned last (the round-robin position); "
                        "repeatable")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="output format (default: text)")


def _usage(message: str) -> int:
    print(f"supportctl explain: {message}", file=sys.stderr)
    return EXIT_USAGE


def _ids(ids: Any) -> str:
    return ", ".join(sorted(ids)) or "(none)"


def _contact(pairs: list[tuple[str, str]]) -> dict[str, object]:
    contact: dict[str, object] = {}
    for key, value in pairs:
        if key in contact:
            earlier = contact[key]
            contact[key] = [*earlier, value] if isinstance(earlier, list) else [earlier, value]
        else:
            contact[key] = value
    return contact


def _instant(at: datetime, stack: StackBase) -> datetime:
    """An aware instant; wall-clock time in the workspace zone as schedules read it."""
    where = zone(stack.workspace.timezone)
    if at.tzinfo is None or at.utcoffset() is None:
        return datetime.fromtimestamp(first_instant(where, at.replace(tzinfo=None)), where)
    return at


def _problems(args: argparse.Namespace, stack: StackBase) -> str | None:
    if args.channel not in stack.channels:
        return (f"unknown channel {args.channel!r}; the stack's channels are: "
                f"{_ids(stack.channels)}")
    for agent, _ in args.open:
        if agent not in stack.agents:
            return f"--open: unknown agent {agent!r}; the stack's agents are: {_ids(stack.agents)}"
    for team, agent in args.last:
        if team not in stack.teams:
            return f"--last: unknown team {team!r}; the stack's teams are: {_ids(stack.teams)}"
        if agent not in stack.agents:
            return f"--last: unknown agent {agent!r}; the stack's agents are: {_ids(stack.agents)}"
    return None


def run(args: argparse.Namespace) -> int:
    stack = checked_stack(Path(args.path), "explain")
    problem = _problems(args, stack)
    if problem is not None:
        return _usage(problem)
    contact = _contact(args.contact)
    known = {*BUILTIN_CONTACT_ATTRIBUTES, *stack.workspace.contact_attributes}
    for key in contact:
        if key not in known:
            print(f"supportctl explain: warning: contact attribute {key!r} is not declared in "
                  "workspace.contact_attributes, so no rule tests it", file=sys.stderr)
    router = Router(stack)
    inquiry = router.inquiry(_instant(args.at, stack), args.channel, contact, args.text)
    state = RoutingState(dict(args.open), dict(args.last))
    explanation = explain(router, inquiry, state)
    if args.format == "json":
        print(json.dumps(as_json(explanation), indent=2, ensure_ascii=False))
    else:
        print(text(explanation))
    return EXIT_OK
