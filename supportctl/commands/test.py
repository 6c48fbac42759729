"""`supportctl test [TESTFILE...]`: run routing test cases and report like pytest."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supportctl.commands import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from supportctl.config import reporters
from supportctl.config.cases import STACK_NOT_FOUND, LoadedCases, check_cases, load_cases
from supportctl.config.diagnostics import Diagnostic
from supportctl.config.sources import UnreadableStack, display_path
from supportctl.reports.junit import JunitCase, JunitSuite, junit_xml
from supportctl.routing.cases import CaseResult, run_case
from supportctl.routing.engine import Router
from supportctl.validation import validate_stack

SUMMARY = "run routing test cases written in YAML"

SUFFIXES = (".test.yaml", ".test.yml")
_RED, _GREEN, _BOLD, _RESET = "\033[31m", "\033[32m", "\033[1m", "\033[0m"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="TESTFILE",
                        help="test files, or folders searched for *.test.yaml "
                             "(default: the current directory)")
    parser.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report to FILE")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="output format (default: text)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="list every case, not only the failing ones")


@dataclass
class FileRun:
    """One test file: its problems, or the results of its cases."""

    file: str
    stack: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    invalid_stack: bool = False
    results: list[tuple[CaseResult, float]] = field(default_factory=list)  # with seconds

    @property
    def broken(self) -> bool:
        return bool(self.diagnostics)

    @property
    def failed(self) -> int:
        return sum(not result.passed for result, _ in self.results)

    @property
    def passed(self) -> int:
        return len(self.results) - self.failed


def find_test_files(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """The test files named or found under the folders named, and the paths that don't exist.

    Folders are searched recursively for `*.test.yaml` and `*.test.yml`, skipping folders whose
    name starts with `.` (`.git`, `.venv`, ...).
    """
    found: list[Path] = []
    missing: list[Path] = []
    for path in paths or [Path(".")]:
        if path.is_dir():
            below: list[Path] = []
            for folder, subfolders, names in os.walk(path):
                subfolders[:] = [d for d in subfolders if not d.startswith(".")]
                below.extend(Path(folder) / n for n in names if n.endswith(SUFFIXES))
            found.extend(sorted(below, key=lambda p: p.parts))
        elif path.exists():
            found.append(path)
        else:
            missing.append(path)
    return list(dict.fromkeys(found)), missing


class StackCache:
    """Each stack loaded and compiled once, however many test files name it."""

    def __init__(self) -> None:
        self.cache: dict[Path, tuple[Router | None, list[Diagnostic]]] = {}

    def get(self, path: Path) -> tuple[Router | None, list[Diagnostic]]:
        key = path.resolve()
        if key not in self.cache:
            result = validate_stack(path)  # raises UnreadableStack
            errors = result.diagnostics.errors
            router = Router(result.stack) if result.stack is not None and not errors else None
            self.cache[key] = (router, errors or ([] if router else result.diagnostics.sorted()))
        return self.cache[key]


def run_file(path: Path, text: str, stacks: StackCache) -> FileRun:
    """Load, check and run one test file."""
    loaded = load_cases(text, display_path(path))
    run = FileRun(loaded.file)
    router = None
    if loaded.stack is not None:
        stack_path = path.parent / loaded.stack
        run.stack = display_path(stack_path)
        try:
            router, stack_errors = stacks.get(stack_path)
        except UnreadableStack as exc:
            loaded.error(("stack",), STACK_NOT_FOUND, f"cannot use the stack: {exc}",
                         "`stack:` is a path relative to the test file")
        else:
            if router is None:
                run.invalid_stack = True
                run.diagnostics.extend(stack_errors)
            else:
                check_cases(loaded, router.stack)
    run.diagnostics.extend(sorted(loaded.diagnostics, key=Diagnostic.sort_key))
    if router is not None and not run.diagnostics:
        _run_cases(run, router, loaded)
    return run


def _run_cases(run: FileRun, router: Router, loaded: LoadedCases) -> None:
    for index, case in loaded.cases:
        started = time.perf_counter()
        result = run_case(router, loaded, index, case)
        run.results.append((result, time.perf_counter() - started))


def run(args: argparse.Namespace) -> int:
    files, missing = find_test_files([Path(p) for p in args.paths])
    for path in missing:
        print(f"supportctl test: {path}: no such file or directory", file=sys.stderr)
    if not files and not missing:
        where = ", ".join(args.paths) or "the current directory"
        print(f"supportctl test: no test files (*.test.yaml) under {where}", file=sys.stderr)
        return EXIT_USAGE
    stacks, runs, unreadable = StackCache(), [], bool(missing)
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            print(f"supportctl test: {path}: cannot read: {reason}", file=sys.stderr)
            unreadable = True
            continue
        runs.append(run_file(path, text, stacks))
    if args.junit:  # before the output, so that a closed pipe cannot lose the report
        try:
            Path(args.junit).write_text(junit_xml(as_junit(runs), "supportctl test"),
                                        encoding="utf-8")
        except OSError as exc:
            print(f"supportctl test: cannot write {args.junit}: {exc.strerror or exc}",
                  file=sys.stderr)
            unreadable = True
    if args.format == "json":
        print(json.dumps(as_json(runs), indent=2, ensure_ascii=False))
    else:
        print(as_text(runs, args.verbose, colour=sys.stdout.isatty()))
    if unreadable:
        return EXIT_USAGE
    return EXIT_INVALID if any(r.broken or r.failed for r in runs) else EXIT_OK


def summary_line(runs: list[FileRun]) -> str:
    """`12 passed, 1 failed, 1 error in 3 files`."""
    passed, failed = sum(r.passed for r in runs), sum(r.failed for r in runs)
    errors = sum(r.broken for r in runs)
    parts = [f"{passed} passed"]
    if failed:
        parts.append(f"{failed} failed")
    if errors:
        parts.append(f"{errors} error{'s' * (errors != 1)}")
    return f"{', '.join(parts)} in {len(runs)} file{'s' * (len(runs) != 1)}"


def as_text(runs: list[FileRun], verbose: bool = False, colour: bool = False) -> str:
    """Progress per file, then one line per failure and every problem, then the summary."""
    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    lines, details = [], []
    for run in runs:
        if verbose:
            if run.broken:
                lines.append(f"{run.file}: {paint('ERROR', _RED)} (nothing run)")
            for result, _ in run.results:
                word = paint("PASSED", _GREEN) if result.passed else paint("FAILED", _RED)
                lines.append(f"{result.location.file}:{result.location.line}: {word} "
                             f"{result.name}")
        else:
            marks = "".join("." if result.passed else paint("F", _RED)
                            for result, _ in run.results)
            lines.append(f"{run.file} {marks or paint('E', _RED)}")
        if run.invalid_stack:
            details.append(f"{run.file}: the stack {run.stack} is not valid; fix its errors "
                           "(supportctl validate shows them all):")
        if run.diagnostics:
            details.append(reporters.text(run.diagnostics, colour=colour))
        for result, _ in run.results:
            for failure in result.failures:
                where = failure.location
                details.append(f"{where.file}:{where.line}:{where.column}: "
                               f"{paint('FAILED', _RED)} {result.name}: {failure.message}")
            if result.failures:
                details.append(f"    routed: {result.routed}")
    if details:
        lines += ["", *details]
    failing = any(r.broken or r.failed for r in runs)
    lines += ["", paint(summary_line(runs), _BOLD + (_RED if failing else _GREEN))]
    return "\n".join(lines)


def as_json(runs: list[FileRun]) -> dict[str, Any]:
    """Every file with its problems and cases, and the counts."""
    files = []
    for run in runs:
        cases = [{"name": result.name, "file": result.location.file,
                  "line": result.location.line, "column": result.location.column,
                  "passed": result.passed, "routed": result.routed, "seconds": round(spent, 6),
                  "failures": [{"key": f.key, "file": f.location.file, "line": f.location.line,
                                "column": f.location.column, "expected": f.expected,
                                "actual": f.actual, "message": f.message}
                               for f in result.failures]}
                 for result, spent in run.results]
        files.append({"file": run.file, "stack": run.stack,
                      "status": "error" if run.broken else "failed" if run.failed else "passed",
                      "diagnostics": [d.as_dict() for d in run.diagnostics], "cases": cases})
    return {"files": files,
            "summary": {"passed": sum(r.passed for r in runs),
                        "failed": sum(r.failed for r in runs),
                        "errors": sum(r.broken for r in runs), "files": len(runs)}}


def _classname(file: str) -> str:
    for suffix in (*SUFFIXES, ".yaml", ".yml"):
        if file.endswith(suffix):
            file = file.removesuffix(suffix)
            break
    return file.replace("\\", "/").strip("./").replace("/", ".") or file


def as_junit(runs: list[FileRun]) -> list[JunitSuite]:
    """One suite per file, one case per test case; a broken file is one case in error."""
    suites = []
    for run in runs:
        classname = _classname(run.file)
        cases: list[JunitCase] = []
        if run.broken:
            what = (f"the stack {run.stack} is not valid" if run.invalid_stack
                    else "the test file has errors")
            first = run.diagnostics[0]
            cases.append(JunitCase(
                "(loading)", classname, first.file, first.line,
                error=f"{what} ({len(run.diagnostics)}): {first.message}",
                details=reporters.text(run.diagnostics)))
        for result, spent in run.results:
            message = "; ".join(f.message for f in result.failures) or None
            details = "\n".join(
                [f"{f.location.file}:{f.location.line}:{f.location.column}: {f.message}"
                 for f in result.failures] + [f"routed: {result.routed}"])
            cases.append(JunitCase(result.name, classname, result.location.file,
                                   result.location.line, spent, failure=message,
                                   details=details if message else ""))
        suites.append(JunitSuite(run.file, cases))
    return suites
