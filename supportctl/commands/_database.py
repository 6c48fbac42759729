"""The `--database URL` option of the commands that open the store, as `db upgrade` has it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from supportctl.commands import EXIT_USAGE
from supportctl.commands.stacks import CommandFailed
from supportctl.settings import Settings, SettingsError, load_settings
from supportctl.store import DatabaseMissing, Store, StoreError, Unavailable, open_store

T = TypeVar("T")


def add_database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", metavar="URL", default=None,
                        help="database URL (default: SUPPORTCTL_DATABASE_URL, else "
                             "sqlite:///./supportctl.db)")


def settings(command: str) -> Settings:
    """The process settings, or CommandFailed (exit 2) after printing what is wrong."""
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"supportctl {command}: {exc}", file=sys.stderr)
        raise CommandFailed(EXIT_USAGE) from exc


def database_url(args: argparse.Namespace, command: str) -> str:
    """`--database`, else the settings' URL (SUPPORTCTL_DATABASE_URL, `.env`, the default)."""
    url: str | None = args.database
    return url if url is not None else settings(command).database_url


def with_store(url: str, command: str, work: Callable[[Store], Awaitable[T]]) -> T:
    """Open (and migrate) the existing store, run `work` on it, close it. A database that does
    not exist, cannot be opened or is unavailable (locked, I/O error) is a usage error (exit 2),
    as for `db upgrade`; other errors of `work` propagate."""
    async def main() -> T:
        try:
            # never created here: an empty database made by running in the wrong folder would
            # hold tokens and merges the server never sees
            store = await open_store(url, create=False)
        except DatabaseMissing as exc:
            print(f"supportctl {command}: {exc}\n"
                  "    hint: `supportctl serve` or `supportctl db upgrade` creates it; run this "
                  "where the server runs, or choose the database with --database URL or "
                  "SUPPORTCTL_DATABASE_URL (in the environment or .env)", file=sys.stderr)
            raise CommandFailed(EXIT_USAGE) from exc
        except StoreError as exc:
            print(f"supportctl {command}: {exc}", file=sys.stderr)
            raise CommandFailed(EXIT_USAGE) from exc
        try:
            return await work(store)
        except Unavailable as exc:
            print(f"supportctl {command}: {exc}", file=sys.stderr)
            raise CommandFailed(EXIT_USAGE) from exc
        finally:
            await store.close()
    return asyncio.run(main())
