"""`supportctl contacts merge KEEP DROP`: join two contacts that are one person."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from supportctl.commands import EXIT_INVALID, EXIT_OK
from supportctl.commands._database import add_database_argument, database_url, with_store
from supportctl.store import NotFound, Store, StoreError
from supportctl.store.records import Contact

SUMMARY = "manage contacts: `contacts merge KEEP DROP` joins two contacts into one"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    merge = actions.add_parser(
        "merge", help="move DROP's identities and conversations to KEEP and delete DROP",
        description="merge two contacts: DROP's identities and conversations move to KEEP, "
                    "KEEP's name, language and attributes win and DROP's fill gaps, DROP is "
                    "deleted (event contact_merged on every conversation moved)")
    merge.add_argument("keep", metavar="KEEP", help="id of the contact that stays")
    merge.add_argument("drop", metavar="DROP", help="id of the contact merged into KEEP")
    add_database_argument(merge)


def run(args: argparse.Namespace) -> int:
    command = f"contacts {args.action}"
    url = database_url(args, command)
    keep: str = args.keep
    drop: str = args.drop

    async def work(store: Store) -> Contact:
        return await store.merge_contacts(keep, drop, datetime.now(UTC))
    try:
        kept = with_store(url, command, work)
    except NotFound as exc:
        print(f"supportctl {command}: {exc}: nothing was changed", file=sys.stderr)
        return EXIT_INVALID
    except StoreError as exc:
        print(f"supportctl {command}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(f"contact {kept.id}" + (f" ({kept.name})" if kept.name else ""))
    for identity in kept.identities:
        verified = [v for v in (identity.phone, identity.email) if v]
        print(f"  {identity.channel} {identity.external_user_id}"
              + (f" (verified: {', '.join(verified)})" if verified else ""))
    return EXIT_OK
