"""Turn diagnostics into text for people, JSON for tools, or GitHub workflow annotations."""

from __future__ import annotations

import json
from collections.abc import Sequence

from supportctl.config.diagnostics import Diagnostic, Severity

_COLOURS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"


def _where(d: Diagnostic) -> str:
    return f"{d.file}:{d.line}:{d.column}"


def _message(d: Diagnostic) -> str:
    return f"{d.dotted_path}: {d.message}" if d.path else d.message


def text(diagnostics: Sequence[Diagnostic], colour: bool = False) -> str:
    """`FILE:LINE:COL: error[CODE]: path: message`, then an indented hint line."""
    lines = []
    for d in diagnostics:
        label = f"{d.severity.value}[{d.code}]"
        if colour:
            label = f"{_COLOURS[d.severity]}{_BOLD}{label}{_RESET}"
            where = f"{_BOLD}{_where(d)}{_RESET}"
        else:
            where = _where(d)
        lines.append(f"{where}: {label}: {_message(d)}")
        if d.hint:
            lines.append(f"    {_DIM}hint: {d.hint}{_RESET}" if colour else f"    hint: {d.hint}")
    return "\n".join(lines)


def summary(diagnostics: Sequence[Diagnostic], checked: Sequence[str]) -> str:
    """One closing line: how many errors and warnings in which stacks."""
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    warnings = len(diagnostics) - errors
    files = ", ".join(checked)
    if not diagnostics:
        return f"{files}: valid"
    parts = [f"{errors} error{'s' * (errors != 1)}"] if errors else []
    if warnings:
        parts.append(f"{warnings} warning{'s' * (warnings != 1)}")
    state = "invalid" if errors else "valid"
    return f"{files}: {state} ({', '.join(parts)})"


def as_json(diagnostics: Sequence[Diagnostic]) -> str:
    """A JSON list of {file, line, column, path, code, severity, message, hint}."""
    return json.dumps([d.as_dict() for d in diagnostics], indent=2, ensure_ascii=False)


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(diagnostics: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands: `::error file=F,line=L,col=C,title=T::message`."""
    lines = []
    for d in diagnostics:
        title = _escape_property(f"{d.code} {d.dotted_path}" if d.path else d.code)
        body = _message(d) + (f"\nhint: {d.hint}" if d.hint else "")
        lines.append(f"::{d.severity.value} file={_escape_property(d.file)},line={d.line},"
                     f"col={d.column},title={title}::{_escape_data(body)}")
    return "\n".join(lines)
