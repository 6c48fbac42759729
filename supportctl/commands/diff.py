"""`supportctl diff OLD NEW`: what a change does, to the entities and to routing over a week.

Each side is a stack file or folder, or `git:REV:PATH`: the stack as committed in REV (PATH from
the top of the repository, or from the current directory when it starts with `./` or `../`),
read from a copy of that commit's files so that its includes resolve as they did then.

Exit codes: 0 when no sampled conversation lands elsewhere (entities may still have changed),
3 when some do (so CI can require a label), 1 when either side is not a valid stack, 2 for a
usage error or a side that cannot be read.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from contextlib import ExitStack
from dataclasses import replace
from datetime import date
from pathlib import Path

from supportctl.commands import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from supportctl.commands._diff_render import DiffReport, as_json, markdown, text
from supportctl.config import reporters
from supportctl.config.diagnostics import Diagnostic
from supportctl.config.entity_diff import entity_diff
from supportctl.config.model.stack import StackBase
from supportctl.config.sources import UnreadableStack
from supportctl.routing.outcome_diff import outcome_diff
from supportctl.validation import validate_stack

SUMMARY = "what a change does: entities changed, and routing outcomes that change over a week"

EXIT_OUTCOMES_CHANGED = 3
"""Some conversations land elsewhere. The same number as an internal error of any command."""
GIT_PREFIX = "git:"


class _Unreadable(Exception):
    """A side that cannot be read: exit 2 with this message."""


def _week(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", metavar="OLD", help="the stack before: a file or folder, or "
                        "git:REV:PATH (e.g. git:origin/main:stack.yaml)")
    parser.add_argument("new", metavar="NEW", help="the stack after, the same way")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                        help="output format; markdown suits a pull-request comment")
    parser.add_argument("--week", type=_week, metavar="YYYY-MM-DD",
                        help="sample the week (Monday to Sunday) holding this date, in the new "
                             "stack's time zone (default: the fixed reference week that "
                             "coverage uses, so the answer does not change from day to day)")


def _git(args: list[str], cwd: Path) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError as exc:
        raise _Unreadable(f"cannot run git: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise _Unreadable(message[-1] if message else f"git {args[0]} failed")
    return done.stdout


def _revision(spec: str) -> str:
    return spec.removeprefix(GIT_PREFIX).partition(":")[0]


def materialise(spec: str, into: Path) -> Path:
    """Write the files of a `git:REV:PATH` commit below `into`; the path of PATH there."""
    rev, colon, path = spec.removeprefix(GIT_PREFIX).partition(":")
    if not rev or not colon:
        raise _Unreadable(f"{spec}: write git:REV:PATH, e.g. git:HEAD:stack.yaml")
    here = Path.cwd()
    try:
        top = Path(_git(["rev-parse", "--show-toplevel"], here).decode().strip())
        prefix = _git(["rev-parse", "--show-prefix"], here).decode().strip()
    except _Unreadable as exc:
        raise _Unreadable(f"{spec}: {exc}") from exc
    try:
        commit = _git(["rev-parse", "--verify", "--quiet", "--end-of-options",
                       f"{rev}^{{commit}}"], here).decode().strip()
    except _Unreadable as exc:
        raise _Unreadable(f"{spec}: no commit {rev!r} in this repository") from exc
    if path.startswith(("./", "../")) or path in (".", ".."):
        path = os.path.normpath(os.path.join(prefix, path))
    if path == ".." or path.startswith("../"):
        raise _Unreadable(f"{spec}: {path} is outside the repository")
    # from the top: in a subdirectory, git archive would write only that subdirectory
    archive = _git(["archive", "--format=tar", commit], top)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
            tar.extractall(into, filter="data")
        else:  # git archive writes only the commit's own files, below one folder
            tar.extractall(into)
    found = into / (path or ".")
    if not found.exists():
        raise _Unreadable(f"{spec}: {rev} has no {path or '.'} (a PATH after REV: is from the "
                          "top of the repository; start it with ./ for the current directory)")
    return found


def _shown_as(diagnostic: Diagnostic, root: Path, spec: str) -> Diagnostic:
    """A diagnostic in a copied commit, named as `git:REV:FILE`."""
    full = Path(diagnostic.file)
    try:
        inside = (full if full.is_absolute() else Path.cwd() / full).relative_to(root)
    except ValueError:
        return diagnostic
    return replace(diagnostic, file=f"{GIT_PREFIX}{_revision(spec)}:{inside.as_posix()}")


def _load(spec: str, scratch: ExitStack) -> StackBase | None:
    """The checked stack of one side, or None after printing why it is not valid."""
    root = None
    path = Path(spec)
    if spec.startswith(GIT_PREFIX):
        root = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="supportctl-diff-")))
        root = root.absolute()
        path = materialise(spec, root)
    try:
        result = validate_stack(path)
    except UnreadableStack as exc:
        message = str(exc)
        if root is not None:  # name the file as the user did, not by its temporary copy
            message = message.replace(f"{root}{os.sep}", f"{GIT_PREFIX}{_revision(spec)}:")
        raise _Unreadable(message) from exc
    errors = result.diagnostics.errors
    if result.stack is not None and not errors:
        return result.stack
    shown = errors or result.diagnostics.sorted()
    if root is not None:
        shown = [_shown_as(d, root, spec) for d in shown]
    print(reporters.text(shown, colour=sys.stderr.isatty()), file=sys.stderr)
    print(f"supportctl diff: {spec} is not a valid stack; fix the errors above "
          "(supportctl validate shows them all)", file=sys.stderr)
    return None


def run(args: argparse.Namespace) -> int:
    stacks: list[StackBase | None] = []
    unreadable = False
    with ExitStack() as scratch:
        for spec in (args.old, args.new):
            try:
                stacks.append(_load(spec, scratch))
            except _Unreadable as exc:
                print(f"supportctl diff: {exc}", file=sys.stderr)
                unreadable = True
    if unreadable:
        return EXIT_USAGE
    old, new = stacks
    if old is None or new is None:
        return EXIT_INVALID
    report = DiffReport(args.old, args.new, entity_diff(old, new),
                        outcome_diff(old, new, args.week), args.week is None)
    render = {"json": as_json, "markdown": markdown}.get(args.format, text)
    print(render(report))
    return EXIT_OUTCOMES_CHANGED if report.changed else EXIT_OK
