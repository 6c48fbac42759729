"""`supportctl schema`: print the JSON Schema of the stack language."""

from __future__ import annotations

import argparse
import sys

from supportctl.commands import EXIT_OK
from supportctl.config.schema import render_schema
from supportctl.plugins import load_plugins

SUMMARY = "print the JSON Schema of the stack language"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--builtin-only", action="store_true",
                        help="only the plugins shipped with supportctl (as committed in schema/)")
    parser.add_argument("--fragment", action="store_true",
                        help="the schema of files brought in by `include:`")


def run(args: argparse.Namespace) -> int:
    plugins = load_plugins(builtin_only=args.builtin_only)
    sys.stdout.write(render_schema(plugins, fragment=args.fragment))
    return EXIT_OK
