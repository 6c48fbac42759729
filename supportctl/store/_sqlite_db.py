"""The SQLite connection: one dedicated thread, WAL, migrations, transactions, group commits.

Writes that arrive while a transaction is running wait and then run together in the next one,
each in its own savepoint: one failing write is rolled back alone, and one commit (and one hop to
the database thread) serves many concurrent webhooks. A write's caller hears of its result only
after that commit.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from supportctl.store.ids import to_micros
from supportctl.store.interface import StoreError, Unavailable
from supportctl.store.migrations import MIGRATIONS

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], object]
# writes per group commit: enough to amortise the commit, few enough to keep latency low
MAX_BATCH = 256


class Database:
    """A sqlite3 connection used only from its own thread, so the event loop never blocks."""

    def __init__(self, path: Path, busy_timeout: float) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="supportctl-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self.migrated_from = 0  # the schema version found on open, before migrating
        self._pending: list[tuple[Work, asyncio.Future[object]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.commits = 0  # group commits so far, and the writes they carried (for benchmarks)
        self.writes = 0

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
        """Run `work` in a write transaction (taken at once: no upgrade deadlocks), perhaps
        together with other writes (each in its own savepoint); returns once committed."""
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()
        self._pending.append((work, future))
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush())
        result = await future
        return result  # type: ignore[return-value]  # the future holds what `work` returned

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    outcomes = await loop.run_in_executor(
                        self._executor, self._group, [work for work, _ in batch])
                except BaseException as exc:  # the executor is gone (closing)
                    outcomes = [(False, StoreError(f"{self.path}: {exc!r}"))] * len(batch)
                for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue  # its caller was cancelled
                    if ok:
                        future.set_result(value)
                    else:
                        assert isinstance(value, BaseException)
                        future.set_exception(value)
        finally:
            self._flusher = None

    def _group(self, works: Sequence[Work]) -> list[tuple[bool, object]]:
        """Run writes in one transaction, each in a savepoint; commit once."""
        conn = self._conn
        if conn is None:
            return [(False, StoreError(f"{self.path}: the store is closed"))] * len(works)
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:  # locked past the busy timeout, I/O error
            return [(False, Unavailable(f"{self.path}: {exc}"))] * len(works)
        outcomes: list[tuple[bool, object]] = []
        alone = len(works) == 1  # no other write to shield: the transaction is its savepoint
        try:
            for work in works:
                if not alone:
                    conn.execute("SAVEPOINT work")
                try:
                    outcomes.append((True, work(conn)))
                except Exception as exc:
                    conn.execute("ROLLBACK" if alone else "ROLLBACK TO work")
                    outcomes.append((False, _store_error(self.path, exc)))
                    if alone:
                        return outcomes
                if not alone:
                    conn.execute("RELEASE work")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:  # the transaction itself failed: nothing was written
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return [(False, Unavailable(f"{self.path}: {exc}"))] * len(works)
        self.commits += 1
        self.writes += len(works)
        return outcomes

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
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        # queued behind any work already submitted, which still sees an open connection
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close_connection)
        self._executor.shutdown(wait=True)

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _store_error(path: Path, exc: Exception) -> Exception:
    """What a failed write raises to its caller: the store's own errors as they are."""
    if isinstance(exc, sqlite3.OperationalError):  # locked, I/O error, disk full: transient
        return Unavailable(f"{path}: {exc}")
    if isinstance(exc, sqlite3.Error):  # a constraint the store's own checks did not foresee
        return StoreError(f"{path}: {exc}")
    return exc


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
