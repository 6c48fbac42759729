"""`supportctl token create|list|revoke`: bearer tokens of agents for the API.

A token is printed once, when it is made; the database keeps only its sha256 hash."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from supportctl.commands import EXIT_INVALID, EXIT_OK
from supportctl.commands._database import (
    add_database_argument,
    database_url,
    settings,
    with_store,
)
from supportctl.commands.stacks import CommandFailed, checked_stack
from supportctl.store import Store
from supportctl.store.records import AccessToken, TokenKind
from supportctl.store.tokens import AGENT_PREFIX, hash_token, new_token

SUMMARY = "manage agents' API tokens: `token create AGENT`, `token list`, `token revoke AGENT`"

_KIND = TokenKind.AGENT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser(
        "create", help="make a token for an agent and print it (once)",
        description="make a bearer token for an agent of the API and print it; only its hash "
                    "is stored, so it cannot be shown again")
    create.add_argument("agent", metavar="AGENT", help="the agent's id in the stack")
    create.add_argument("--label", metavar="L", default=None,
                        help="what the token is for (a device, a script), shown by `list`")
    create.add_argument("--stack", metavar="PATH", type=Path, default=None,
                        help="stack whose agents are known (default: SUPPORTCTL_STACK, else "
                             "stack.yaml; not checked when the default does not exist)")
    listing = actions.add_parser(
        "list", help="list tokens (never the tokens themselves)",
        description="list agents' tokens: agent, label, created, last used, revoked")
    listing.add_argument("agent", metavar="AGENT", nargs="?", default=None,
                         help="only this agent's tokens")
    revoke = actions.add_parser("revoke", help="revoke every token of an agent",
                                description="revoke every live token of an agent")
    revoke.add_argument("agent", metavar="AGENT", help="the agent's id")
    for sub in (create, listing, revoke):
        add_database_argument(sub)


def run(args: argparse.Namespace) -> int:
    command = f"token {args.action}"
    url = database_url(args, command)
    action = {"create": _create, "list": _list, "revoke": _revoke}[args.action]
    return action(args, url, command)


def _create(args: argparse.Namespace, url: str, command: str) -> int:
    agent: str = args.agent
    token = new_token(AGENT_PREFIX)

    async def work(store: Store) -> AccessToken:
        # checked once the database is found: in the wrong folder, that is the error to show
        _check_agent(agent, args.stack, command)
        return await store.add_token(_KIND, agent, hash_token(token), _now(), label=args.label)
    with_store(url, command, work)
    print(token)
    print(f"supportctl {command}: token for agent {agent} created; it is shown only this "
          "once (the database keeps its hash)", file=sys.stderr)
    return EXIT_OK


def _list(args: argparse.Namespace, url: str, command: str) -> int:
    agent: str | None = args.agent

    async def work(store: Store) -> list[AccessToken]:
        return await store.list_tokens(_KIND, agent)
    tokens = with_store(url, command, work)
    if not tokens:
        who = f"agent {agent}" if agent else "any agent"
        print(f"supportctl {command}: no tokens for {who}", file=sys.stderr)
        return EXIT_OK
    table = [("AGENT", "LABEL", "CREATED", "LAST USED", "REVOKED")]
    table += [(t.subject, t.label or "-", _when(t.created_at), _when(t.last_used_at),
               _when(t.revoked_at)) for t in tokens]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
              + "  " + row[-1])
    return EXIT_OK


def _revoke(args: argparse.Namespace, url: str, command: str) -> int:
    agent: str = args.agent

    async def work(store: Store) -> int:
        return await store.revoke_tokens(_KIND, agent, _now())
    count = with_store(url, command, work)
    print(f"revoked {count} token{'' if count == 1 else 's'} of agent {agent}")
    return EXIT_OK


def _check_agent(agent: str, path: Path | None, command: str) -> None:
    """Refuse an agent the stack does not know; without --stack, a missing default stack
    skips the check (the database may serve a stack kept elsewhere)."""
    if path is None:
        path = settings(command).stack
        if not path.exists():
            print(f"supportctl {command}: no stack at {path}: agent {agent!r} not checked "
                  "(use --stack PATH)", file=sys.stderr)
            return
    stack = checked_stack(path, command)
    if agent not in stack.agents:
        known = ", ".join(sorted(stack.agents)) or "none"
        print(f"supportctl {command}: {path} has no agent {agent!r} (known agents: {known})",
              file=sys.stderr)
        raise CommandFailed(EXIT_INVALID)


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> datetime:
    return datetime.now(UTC)
