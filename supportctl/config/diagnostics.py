"""One issue type for every problem found in a stack, and a collector that keeps them in order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

YamlPath = tuple[str | int, ...]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Location:
    """Where in which file a node starts (1-based line and column)."""

    file: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem in a stack: where it is, a stable code, what is wrong and how to fix it."""

    file: str
    line: int
    column: int
    path: YamlPath
    code: str
    severity: Severity
    message: str
    hint: str = ""

    @property
    def dotted_path(self) -> str:
        return format_path(self.path)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.dotted_path,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
        }

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.code)


def format_path(path: Iterable[str | int]) -> str:
    """Render a YAML path the way users write it: `teams.general.shifts[0].agents`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out or "(root)"


@dataclass(frozen=True, slots=True)
class Finding:
    """A diagnostic before it has a position: checks produce these, the collector places them."""

    path: YamlPath
    code: str
    message: str
    hint: str = ""
    severity: Severity | None = None
    at_key: bool = False


@dataclass
class Diagnostics:
    """An ordered, de-duplicated collection of diagnostics from one run."""

    items: list[Diagnostic] = field(default_factory=list)
    _seen: set[tuple[Any, ...]] = field(default_factory=set, repr=False)

    def add(self, diagnostic: Diagnostic) -> None:
        key = (diagnostic.file, diagnostic.line, diagnostic.column, diagnostic.code,
               diagnostic.message)
        if key not in self._seen:
            self._seen.add(key)
            self.items.append(diagnostic)

    def extend(self, diagnostics: Iterable[Diagnostic]) -> None:
        for diagnostic in diagnostics:
            self.add(diagnostic)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity is Severity.WARNING]

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=Diagnostic.sort_key)
