"""`supportctl coverage PATH`: who is on duty each hour of a week, per team and language."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from supportctl.commands import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from supportctl.commands._render_coverage import as_csv, as_json, text
from supportctl.commands.stacks import checked_stack
from supportctl.config.timespec import zone
from supportctl.routing.grid import coverage_grid

SUMMARY = "show who is on duty each hour of the week, per team and language, and the gaps"


def day(value: str) -> date:
    """`--week`: a date `YYYY-MM-DD`."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; write YYYY-MM-DD") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="the stack file, or a folder holding "
                        "stack.yaml")
    parser.add_argument("--tz", metavar="ZONE", help="IANA time zone of the grid (default: "
                        "the workspace time zone)")
    parser.add_argument("--week", type=day, metavar="YYYY-MM-DD",
                        help="show the week (Monday to Sunday) containing this date, with its "
                        "holidays, overrides and clock changes (default: the reference week "
                        "that validate's H706 check uses, weekly hours only)")
    parser.add_argument("--format", choices=("text", "json", "csv"), default="text",
                        help="output format (default: text)")
    parser.add_argument("--fail-on-gaps", action="store_true",
                        help="exit 1 when any gap is listed (for CI)")


def run(args: argparse.Namespace) -> int:
    if args.tz is not None:
        try:
            zone(args.tz)
        except ValueError as exc:
            print(f"supportctl coverage: --tz: {exc}", file=sys.stderr)
            return EXIT_USAGE
    stack = checked_stack(Path(args.path), "coverage")
    grid = coverage_grid(stack, args.tz, args.week)
    if args.format == "json":
        print(json.dumps(as_json(grid), indent=2, ensure_ascii=False))
    elif args.format == "csv":
        sys.stdout.write(as_csv(grid))
    else:
        print(text(grid))
    if args.fail_on_gaps and grid.gaps:
        print(f"supportctl coverage: {len(grid.gaps)} gap(s) in the week", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK
