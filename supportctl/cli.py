"""The `supportctl` command line: parses arguments, runs one command, returns its exit code."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType

from supportctl import __version__
from supportctl.commands import EXIT_INTERNAL, EXIT_USAGE
from supportctl.plugins import PluginError

_COMMANDS = {
    "init": "write a commented starter stack.yaml",
    "validate": "check stack files and report every problem at its line",
    "schema": "print the JSON Schema of the stack language",
}


def _command(name: str) -> ModuleType:
    import importlib

    return importlib.import_module(f"supportctl.commands.{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supportctl", description="Declarative customer "
                                     "support: check and run a stack of channels, teams, "
                                     "shifts, routing, templates and menus.")
    parser.add_argument("--version", action="version", version=f"supportctl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in _COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary)
        _command(name).add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 for --help
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = _command(args.command).run(args)
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except PluginError as exc:  # an installed plugin is broken: the setup, not supportctl
        print(f"supportctl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception:
        print("supportctl: internal error (a bug in supportctl, not in your stack); please "
              "report it with this trace:", file=sys.stderr)
        traceback.print_exc()
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
