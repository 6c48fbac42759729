"""The `supportctl` command line: parses arguments, runs one command, returns its exit code."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType

from supportctl import __version__
from supportctl.commands import EXIT_INTERNAL, EXIT_USAGE
from supportctl.commands.stacks import CommandFailed
from supportctl.plugins import PluginError

# the order of `supportctl --help`; commands are found in supportctl/commands by their SUMMARY
_ORDER = ("init", "validate", "schema", "test", "explain", "coverage", "diff", "serve")


def _commands() -> dict[str, ModuleType]:
    """Every module of supportctl.commands that defines a command (SUMMARY, arguments, run)."""
    import supportctl.commands as package

    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"supportctl.commands.{info.name}")
        if hasattr(module, "SUMMARY"):
            found[info.name] = module
    rank = {name: index for index, name in enumerate(_ORDER)}
    return dict(sorted(found.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supportctl", description="Declarative customer "
                                     "support: check and run a stack of channels, teams, "
                                     "shifts, routing, templates and menus.")
    parser.add_argument("--version", action="version", version=f"supportctl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _commands().items():
        sub = commands.add_parser(name, help=module.SUMMARY, description=module.SUMMARY)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
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
        code: int = args.run(args)
        return code
    except CommandFailed as exc:
        return exc.code
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
