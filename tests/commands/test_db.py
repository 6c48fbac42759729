"""`supportctl db upgrade`: creates the schema, is safe to repeat, refuses bad URLs."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult

from supportctl.commands import EXIT_OK, EXIT_USAGE
from supportctl.store.migrations import MIGRATIONS

Run = Callable[..., CliResult]
NEWEST = MIGRATIONS[-1].version


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_upgrade_creates_the_schema_on_a_fresh_path_and_repeats_safely(run_cli: Run,
                                                                     tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    result = run_cli("db", "upgrade", "--database", f"sqlite:///{path}")
    assert result.code == EXIT_OK, result.err
    assert f"from version 0 to {NEWEST}" in result.err
    assert {"schema_version", "conversations", "jobs", "instances", "messages"} <= _tables(
        path)
    again = run_cli("db", "upgrade", "--database", f"sqlite:///{path}")
    assert again.code == EXIT_OK
    assert f"schema version {NEWEST}, up to date" in again.err


def test_the_default_url_comes_from_the_settings(run_cli: Run, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTCTL_DATABASE_URL", "sqlite:///./from-env.db")
    assert run_cli("db", "upgrade", cwd=tmp_path).code == EXIT_OK
    assert "conversations" in _tables(tmp_path / "from-env.db")


def test_without_settings_the_database_is_supportctl_db_here(run_cli: Run, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.delenv("SUPPORTCTL_DATABASE_URL", raising=False)
    assert run_cli("db", "upgrade", cwd=tmp_path).code == EXIT_OK
    assert (tmp_path / "supportctl.db").is_file()


@pytest.mark.parametrize("url", ["mysql://user:hunter2@host/db", "sqlite://relative.db",
                                 "sqlite:///", "postgresql://user:hunter2@host/db"])
def test_a_bad_url_is_a_usage_error_that_hides_the_password(run_cli: Run, url: str) -> None:
    result = run_cli("db", "upgrade", "--database", url)
    assert result.code == EXIT_USAGE
    assert "hunter2" not in result.err + result.out
    assert result.err.startswith("supportctl db upgrade: ")


def test_an_unopenable_path_is_a_usage_error(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", "--database", f"sqlite:///{tmp_path}/missing/dir/x.db")
    assert result.code == EXIT_USAGE
    assert "cannot open the database" in result.err


def test_db_needs_an_action(run_cli: Run) -> None:
    result = run_cli("db")
    assert result.code == EXIT_USAGE
    assert "ACTION" in result.err
