"""`supportctl db upgrade [--database URL]`: create or migrate the database schema."""

from __future__ import annotations

import argparse
import asyncio
import sys

from supportctl.commands import EXIT_OK, EXIT_USAGE
from supportctl.settings import SettingsError, load_settings, redacted_url
from supportctl.store import StoreError, upgrade

SUMMARY = "manage the database: `db upgrade` creates or migrates its schema"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("upgrade", help="apply pending schema migrations (safe to repeat)",
                            description="apply pending schema migrations (safe to repeat)")
    up.add_argument("--database", metavar="URL", default=None,
                    help="database URL (default: SUPPORTCTL_DATABASE_URL, else "
                         "sqlite:///./supportctl.db)")


def run(args: argparse.Namespace) -> int:
    url = args.database
    if url is None:
        try:
            url = load_settings().database_url
        except SettingsError as exc:
            print(f"supportctl db: {exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        before, after = asyncio.run(upgrade(url))
    except StoreError as exc:
        print(f"supportctl db upgrade: {exc}", file=sys.stderr)
        return EXIT_USAGE
    shown = redacted_url(url)
    if before == after:
        print(f"{shown}: schema version {after}, up to date", file=sys.stderr)
    else:
        print(f"{shown}: schema upgraded from version {before} to {after}", file=sys.stderr)
    return EXIT_OK
