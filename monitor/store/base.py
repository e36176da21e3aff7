"""The connection every table family shares, and how instants are stored.

Instants are stored as ISO 8601 UTC text in one fixed format, so they sort and compare as
strings (and read as dates in Datasette).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils


def iso(instant: datetime) -> str:
    """The stored form of an instant: UTC, microseconds, offset — sortable as text."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant!r}: pass aware UTC instants")
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def instant(text: str) -> datetime:
    """A stored instant of a ``NOT NULL`` column."""
    return datetime.fromisoformat(text)


class Connection:
    """One SQLite connection: ``conn`` (raw ``sqlite3``) and ``db`` (sqlite-utils) share it.

    Each thread opens its own. WAL mode lets the HTTP server and the CLI read while the daemon
    writes. The connection is in autocommit mode; :meth:`transaction` groups statements.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        self.db = sqlite_utils.Database(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        self.conn = conn

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit of work; nested calls join the outer transaction.

        ``BEGIN IMMEDIATE`` takes the write lock up front, so two writers wait for each other
        (``timeout``) instead of failing halfway when one upgrades its read lock.
        """
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def backup(self, target: Path) -> None:
        """A consistent copy of the live database through SQLite's online backup API."""
        target.parent.mkdir(parents=True, exist_ok=True)
        destination = sqlite3.connect(str(target))
        try:
            self.conn.backup(destination)
        finally:
            destination.close()
