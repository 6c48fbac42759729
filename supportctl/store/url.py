"""Database URLs: which backend and where."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from supportctl.store.interface import StoreError

DEFAULT_URL = "sqlite:///./supportctl.db"


class InvalidDatabaseURL(StoreError):
    """A database URL this build cannot open."""


class DatabaseMissing(StoreError):
    """The database a URL names does not exist, and the caller asked not to create it."""

    def __init__(self, url: str, path: Path) -> None:
        # absolute: a relative default (./supportctl.db) is only wrong in the wrong folder
        super().__init__(f"no database at {path.absolute()} ({_shown(url)})")
        self.path = path


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    scheme: str
    path: Path  # the SQLite file


def parse_url(url: str) -> DatabaseURL:
    """Read `sqlite:///relative/path` or `sqlite:////absolute/path`; refuse anything else."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        raise InvalidDatabaseURL(f"{_shown(url)}: the PostgreSQL backend is not available yet; "
                                 f"use a sqlite:/// URL")
    if parts.scheme != "sqlite":
        raise InvalidDatabaseURL(f"{_shown(url)}: unknown database scheme "
                                 f"{parts.scheme or '(none)'!r}; expected sqlite:///PATH")
    if parts.netloc or not parts.path.startswith("/") or parts.query or parts.fragment:
        raise InvalidDatabaseURL(f"{_shown(url)}: expected sqlite:///relative/path or "
                                 f"sqlite:////absolute/path")
    raw = unquote(parts.path[1:])  # sqlite:///x.db -> x.db, sqlite:////tmp/x.db -> /tmp/x.db
    if raw in ("", ":memory:") or raw.endswith("/"):
        raise InvalidDatabaseURL(f"{_shown(url)}: needs a file path (several workers and "
                                 f"restarts share the database, so no in-memory database)")
    return DatabaseURL("sqlite", Path(raw))


def _shown(url: str) -> str:
    """The URL without a password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()
