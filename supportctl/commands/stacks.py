"""Loading the stack a command works on: checked first, and refused with diagnostics if broken."""

from __future__ import annotations

import sys
from pathlib import Path

from supportctl.commands import EXIT_INVALID, EXIT_USAGE
from supportctl.config import reporters
from supportctl.config.model.stack import StackBase
from supportctl.config.sources import UnreadableStack
from supportctl.validation import validate_stack


class CommandFailed(Exception):
    """A command cannot go on; what to tell the user has been printed, `code` is the exit."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def checked_stack(path: Path, command: str) -> StackBase:
    """The stack at `path`, or CommandFailed after printing its errors as `validate` would."""
    try:
        result = validate_stack(path)
    except UnreadableStack as exc:
        print(f"supportctl {command}: {exc}", file=sys.stderr)
        raise CommandFailed(EXIT_USAGE) from exc
    errors = result.diagnostics.errors
    if result.stack is None or errors:
        shown = errors or result.diagnostics.sorted()
        print(reporters.text(shown, colour=sys.stderr.isatty()), file=sys.stderr)
        print(f"supportctl {command}: {path} is not a valid stack; fix the errors above "
              "(supportctl validate shows them all)", file=sys.stderr)
        raise CommandFailed(EXIT_INVALID)
    return result.stack
