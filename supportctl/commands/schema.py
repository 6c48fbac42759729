"""`supportctl schema`: print the JSON Schema of the stack language."""

from __future__ import annotations

import argparse
import sys

from supportctl.commands import EXIT_OK
from supportctl.config.schema import render_schema
from supportctl.plugins import load_plugins


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--builtin-only", action="store_true",
                        help="only the plugins shipped with supportctl (as committed in schema/)")


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(render_schema(load_plugins(builtin_only=args.builtin_only)))
    return EXIT_OK
