"""Storage: one interface (`Store`) and its SQLite implementation; see docs/storage.md."""

from __future__ import annotations

from supportctl.store.interface import NotFound, Store, StoreError, Unavailable
from supportctl.store.sqlite import SQLiteStore
from supportctl.store.url import DEFAULT_URL, InvalidDatabaseURL, parse_url


async def open_store(url: str = DEFAULT_URL) -> Store:
    """Open the database a URL names, applying pending migrations."""
    parsed = parse_url(url)
    return await SQLiteStore.open(parsed.path)


async def upgrade(url: str = DEFAULT_URL) -> tuple[int, int]:
    """Bring the database a URL names to the newest schema: the versions before and after."""
    store = await SQLiteStore.open(parse_url(url).path)
    try:
        return store.migrated_from, await store.schema_version()
    finally:
        await store.close()


__all__ = ["DEFAULT_URL", "InvalidDatabaseURL", "NotFound", "SQLiteStore", "Store", "StoreError",
           "Unavailable", "open_store", "parse_url", "upgrade"]
