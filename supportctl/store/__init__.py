"""Storage: one interface (`Store`) and its SQLite implementation; see docs/storage.md."""

from __future__ import annotations

from supportctl.store.interface import NotFound, Store, StoreError, Unavailable
from supportctl.store.sqlite import SQLiteStore
from supportctl.store.url import DEFAULT_URL, DatabaseMissing, InvalidDatabaseURL, parse_url


async def open_store(url: str = DEFAULT_URL, *, create: bool = True,
                     busy_timeout: float = 5.0) -> Store:
    """Open the database a URL names, applying pending migrations. With `create=False` a
    database that does not exist yet raises DatabaseMissing instead of being made empty: for
    commands that only make sense on the database a server already uses. `busy_timeout`:
    seconds a write waits for a lock another process holds before it is `Unavailable`."""
    parsed = parse_url(url)
    if not create and not parsed.path.exists():
        raise DatabaseMissing(url, parsed.path)
    return await SQLiteStore.open(parsed.path, busy_timeout=busy_timeout)


async def upgrade(url: str = DEFAULT_URL) -> tuple[int, int]:
    """Bring the database a URL names to the newest schema: the versions before and after."""
    store = await SQLiteStore.open(parse_url(url).path)
    try:
        return store.migrated_from, await store.schema_version()
    finally:
        await store.close()


__all__ = ["DEFAULT_URL", "DatabaseMissing", "InvalidDatabaseURL", "NotFound", "SQLiteStore",
           "Store", "StoreError", "Unavailable", "open_store", "parse_url", "upgrade"]
