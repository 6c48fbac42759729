"""Fixtures shared by the whole suite."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from supportctl.cli import main
from supportctl.config.model.stack import StackBase
from supportctl.store import SQLiteStore
from supportctl.validation import validate_stack

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def repo() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture
def fixtures() -> Path:
    """tests/fixtures."""
    return FIXTURES


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """Run `supportctl ARGS` in-process and capture exit code, stdout and stderr."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)

    def run(*args: str | Path, cwd: Path | None = None) -> CliResult:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        argv: Sequence[str] = [str(a) for a in args]
        code = main(argv)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def valid_stack(path: Path) -> StackBase:
    """The model of a stack that must check without errors (no environment variables set)."""
    result = validate_stack(path, env={})
    assert result.stack is not None and not result.diagnostics.errors, result.diagnostics.errors
    return result.stack


T = TypeVar("T")


def with_store(path: Path, body: Callable[[SQLiteStore], Awaitable[T]]) -> T:
    """Open the SQLite store at `path`, run `body` on it, close it."""
    async def main() -> T:
        store = await SQLiteStore.open(path)
        try:
            return await body(store)
        finally:
            await store.close()
    return asyncio.run(main())
