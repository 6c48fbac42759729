"""`supportctl init [DIR]`: write a commented starter stack.yaml."""

from __future__ import annotations

import argparse
import sys
from importlib.resources import files
from pathlib import Path

from supportctl.commands import EXIT_OK, EXIT_USAGE


def starter_text() -> str:
    """The commented starter stack shipped inside the package."""
    return files("supportctl").joinpath("templates/starter.yaml").read_text(encoding="utf-8")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", nargs="?", default=".", metavar="DIR",
                        help="where to write stack.yaml (default: the current directory)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing stack.yaml")


def run(args: argparse.Namespace) -> int:
    target = Path(args.directory) / "stack.yaml"
    if target.exists() and not args.force:
        print(f"supportctl init: {target} already exists (use --force to overwrite)",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(starter_text(), encoding="utf-8")
    except OSError as exc:
        print(f"supportctl init: cannot write {target}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {target}; check it with: supportctl validate {target}")
    return EXIT_OK
