"""docs/storage.md lists every migration of `MIGRATIONS`, and its examples reach the newest."""

from __future__ import annotations

import re

from conftest import REPO

from supportctl.store.migrations import MIGRATIONS

STORAGE = REPO / "docs" / "storage.md"


def _table_after(text: str, heading: str) -> list[list[str]]:
    """The cells of the Markdown table that follows `heading`, header and rule left out."""
    start = text.index(heading)
    rows = []
    for line in text[start:].splitlines()[1:]:
        if not line.startswith("|"):
            if rows:
                break
            continue
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    assert rows[0][:2] == ["version", "name"], rows[0]
    return rows[2:]


def test_the_migrations_table_lists_every_migration_by_version_and_name() -> None:
    rows = _table_after(STORAGE.read_text(encoding="utf-8"), "The migrations so far")
    assert [(int(row[0]), row[1]) for row in rows] == [(m.version, m.name) for m in MIGRATIONS]
    assert all(row[2] for row in rows), "every migration says what it does"


def test_the_db_upgrade_example_reaches_the_newest_version() -> None:
    text = STORAGE.read_text(encoding="utf-8")
    newest = MIGRATIONS[-1].version
    assert re.findall(r"schema upgraded from version 0 to (\d+)", text) == [str(newest)]
    assert re.findall(r"schema version (\d+), up to date", text) == [str(newest)]
