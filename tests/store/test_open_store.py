"""`open_store`: which database a URL names, and whether one that does not exist is made."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from supportctl.store import DatabaseMissing, open_store
from supportctl.store.migrations import MIGRATIONS


def _version(url: str, *, create: bool) -> int:
    async def body() -> int:
        store = await open_store(url, create=create)
        try:
            return await store.schema_version()
        finally:
            await store.close()
    return asyncio.run(body())


def test_a_missing_database_is_made_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    url = f"sqlite:///{path}"
    with pytest.raises(DatabaseMissing) as missing:
        _version(url, create=False)
    assert missing.value.path == path
    assert str(missing.value) == f"no database at {path} ({url})"
    assert not path.exists()
    assert _version(url, create=True) == MIGRATIONS[-1].version
    assert _version(url, create=False) == MIGRATIONS[-1].version  # now it exists


def test_the_missing_path_is_shown_absolute(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shown = re.escape(f"no database at {tmp_path / 'here.db'} ")
    with pytest.raises(DatabaseMissing, match=f"^{shown}"):
        _version("sqlite:///./here.db", create=False)
