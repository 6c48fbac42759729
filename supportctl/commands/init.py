"""`supportctl init [DIR]`: write a commented starter stack.yaml and the schema editors read."""

from __future__ import annotations

import argparse
import sys
from importlib.resources import files
from pathlib import Path

from supportctl.commands import EXIT_OK, EXIT_USAGE
from supportctl.config.schema import render_schema
from supportctl.plugins import load_plugins

SUMMARY = "write a commented starter stack.yaml"

SCHEMA_NAME = "stack.schema.json"  # the starter's `$schema` line names it


def starter_text() -> str:
    """The commented starter stack shipped inside the package."""
    return files("supportctl").joinpath("templates/starter.yaml").read_text(encoding="utf-8")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", nargs="?", default=".", metavar="DIR",
                        help="where to write stack.yaml (default: the current directory)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing stack.yaml")


def run(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    target = directory / "stack.yaml"
    if target.exists() and not args.force:
        print(f"supportctl init: {target} already exists (use --force to overwrite)",
              file=sys.stderr)
        return EXIT_USAGE
    if directory.exists() and not directory.is_dir():
        print(f"supportctl init: cannot write {target}: {directory} is not a directory",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        directory.mkdir(parents=True, exist_ok=True)
        target.write_text(starter_text(), encoding="utf-8")
        # generated, so always current: it matches the installed version and plugins
        (directory / SCHEMA_NAME).write_text(render_schema(load_plugins()), encoding="utf-8")
    except OSError as exc:
        print(f"supportctl init: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {target} and {directory / SCHEMA_NAME}; check the stack with: "
          f"supportctl validate {target}")
    return EXIT_OK
