"""`supportctl validate [PATH...]`: check stacks and report every problem at its line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from supportctl.commands import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from supportctl.config import reporters
from supportctl.config.diagnostics import Diagnostic, Severity
from supportctl.config.sources import UnreadableStack
from supportctl.envfile import SettingsError, stack_environment
from supportctl.validation import validate_stack

SUMMARY = "check stack files and report every problem at its line"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="stack files or folders holding stack.yaml (default: stack.yaml)")
    parser.add_argument("--format", choices=("text", "json", "github"), default=None,
                        help="output format (default: github under GitHub Actions, else text)")
    parser.add_argument("--strict", action="store_true", help="warnings fail too")


def run(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths] or [Path("stack.yaml")]
    output = args.format or ("github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text")
    try:
        # the variables `serve` starts with: one set only in `.env` is not unset
        env = stack_environment()
    except SettingsError as exc:
        print(f"supportctl validate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    found: list[Diagnostic] = []
    unreadable = False
    for path in paths:
        try:
            result = validate_stack(path, env)
        except UnreadableStack as exc:
            print(f"supportctl validate: {exc}", file=sys.stderr)
            unreadable = True
            continue
        found.extend(result.diagnostics.sorted())
    if output == "json":
        print(reporters.as_json(found))
    elif output == "github":
        if found:
            print(reporters.github(found))
    else:
        if found:
            print(reporters.text(found, colour=sys.stdout.isatty()), flush=True)
        print(reporters.summary(found, [str(p) for p in paths]), file=sys.stderr)
    if unreadable:
        return EXIT_USAGE
    failing = [d for d in found if d.severity is Severity.ERROR or args.strict]
    return EXIT_INVALID if failing else EXIT_OK
