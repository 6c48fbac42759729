"""The SQLite connection: one dedicated thread, WAL, migrations, transactions."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from supportctl.store.ids import to_micros
from supportctl.store.interface import StoreError, Unavailable
from supportctl.store.migrations import MIGRATIONS

T = TypeVar("T")


class Database:
    """A sqlite3 connection used only from its own thread, so the event loop never blocks."""

    def __init__(self, path: Path, busy_timeout: float) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="supportctl-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self.migrated_from = 0  # the schema version found on open, before migrating

    async def connect(self) -> int:
        """Open the file, set it up, apply pending migrations; the schema version reached."""
        try:
            return await self.call(self._connect)
        except BaseException:
            await self.close()
            raise

    def _connect(self) -> int:
        try:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the database: {exc}") from exc
        conn.row_factory = sqlite3.Row
        self._conn = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable across process crashes in WAL mode; only power loss may undo
            # the last commits
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self.migrated_from, reached = migrate(conn)
            return reached
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"{self.path}: cannot use the database: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a usable SQLite database: {exc}") from exc

    async def call(self, work: Callable[[], T]) -> T:
        """Run blocking work on the database thread."""
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one write transaction (taken at once: no upgrade deadlocks)."""
        return await self.call(lambda: self._in_transaction(work, "BEGIN IMMEDIATE"))

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one read transaction (a consistent snapshot)."""
        return await self.call(lambda: self._in_transaction(work, "BEGIN"))

    def _in_transaction(self, work: Callable[[sqlite3.Connection], T], begin: str) -> T:
        if self._conn is None:
            raise StoreError(f"{self.path}: the store is closed")
        try:
            with transaction(self._conn, begin):
                return work(self._conn)
        except sqlite3.OperationalError as exc:  # locked, I/O error, disk full: transient
            raise Unavailable(f"{self.path}: {exc}") from exc
        except sqlite3.Error as exc:  # a constraint the store's own checks did not foresee
            raise StoreError(f"{self.path}: {exc}") from exc

    async def close(self) -> None:
        """Let queued work finish, close the connection and stop the thread; safe to repeat."""
        if self._closed:
            return
        self._closed = True
        # queued behind any work already submitted, which still sees an open connection
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close_connection)
        self._executor.shutdown(wait=True)

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@contextmanager
def transaction(conn: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE"
                ) -> Iterator[sqlite3.Connection]:
    """Commit when the block ends, roll back when it raises."""
    conn.execute(begin)
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # also when COMMIT itself failed: never leave it open
            conn.execute("ROLLBACK")
        raise


def migrate(conn: sqlite3.Connection) -> tuple[int, int]:
    """Apply every migration newer than the database, each in its own transaction; the
    versions before and after."""
    with transaction(conn):
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
                     " name TEXT NOT NULL, applied_at BIGINT NOT NULL)")
    before: int | None = None
    for migration in MIGRATIONS:
        with transaction(conn):
            # read inside the write transaction: two processes opening at once apply it once
            current = current_version(conn)
            if before is None:
                before = current  # under the write lock: what this call found, not a racer
            if migration.version <= current:
                continue
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                         (migration.version, migration.name, now_micros()))
            current = migration.version
    current = current_version(conn)
    newest = MIGRATIONS[-1].version
    if current > newest:
        raise StoreError(f"the database is at schema version {current}, newer than this "
                         f"supportctl knows ({newest}): upgrade supportctl")
    return (current if before is None else before), current


def current_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def now_micros() -> int:
    return to_micros(datetime.now(UTC))
