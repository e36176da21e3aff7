"""The only package that writes SQL: one :class:`Store` over one SQLite file.

The store is split by table family — :mod:`~monitor.store.mentions`,
:mod:`~monitor.store.sources` (polls, cursors, source health, checks),
:mod:`~monitor.store.buckets`, :mod:`~monitor.store.detector_state`,
:mod:`~monitor.store.incidents` (with silences) and :mod:`~monitor.store.outbox` — and
:class:`Store` joins them, so callers hold one object and one transaction. The schema and its
migrations are in :mod:`~monitor.store.schema`.

sqlite-utils creates and migrates the schema and writes the rare upserts, which keeps the file
friendly to ``sqlite-utils`` and Datasette for anyone who wants to look inside. What runs per
mention, per bucket or per delivery run is raw ``sqlite3`` on the same connection, for speed;
each module says which is which.
"""

from __future__ import annotations

from monitor.store.base import iso
from monitor.store.buckets import BucketTables, JudgedBucket
from monitor.store.detector_state import DetectorStateTables
from monitor.store.incidents import IncidentEvent, IncidentTables, Silence
from monitor.store.mentions import Counts, StoredMention
from monitor.store.outbox import OutboxTables
from monitor.store.schema import MIGRATIONS, schema_version, upgrade
from monitor.store.sources import Check, Poll, SourceState, SourceTables

__all__ = [
    "MIGRATIONS",
    "Check",
    "Counts",
    "IncidentEvent",
    "JudgedBucket",
    "Poll",
    "Silence",
    "SourceState",
    "Store",
    "StoredMention",
    "iso",
]


class Store(SourceTables, BucketTables, DetectorStateTables, IncidentTables, OutboxTables):
    """Every table of one database on one connection; each thread opens its own."""

    @property
    def schema_version(self) -> int:
        return schema_version(self.db)

    def migrate(self) -> int:
        """Bring the schema up to date; returns how many migrations ran."""
        with self.transaction():
            return upgrade(self.db)
