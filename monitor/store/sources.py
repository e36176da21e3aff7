"""Sources: what each poll brought (mentions, cursor, poll record), each source's health, and
the daemon's own checks.

A poll's writes are raw ``sqlite3`` in the ingest transaction (they run once per poll, beside
the mention insert); the checks, written once a minute at most, go through sqlite-utils.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.models import Mention, Sentiment
from monitor.store.base import from_iso, instant, iso
from monitor.store.mentions import MentionTables


@dataclass(frozen=True)
class SourceState:
    topic: str
    source: str
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    failing_since: datetime | None
    retry_at: datetime | None
    blind_notified: bool


@dataclass(frozen=True)
class Poll:
    """One poll of a source, or a stream's progress recorded as one (``at`` is stream time)."""

    topic: str
    source: str
    at: datetime
    ok: bool
    fetched: int
    new: int
    error: str | None
    duration: float | None


@dataclass(frozen=True)
class Check:
    """The latest result of one of the daemon's checks (``"slack"``: the bot token)."""

    name: str
    ok: bool
    detail: str
    checked_at: datetime
    failing_since: datetime | None


_STATE_COLUMNS = (
    "topic, source, last_success_at, last_error_at, last_error, failing_since, retry_at, "
    "blind_notified"
)


class SourceTables(MentionTables):
    """A successful poll stores mentions too, so this family builds on :class:`MentionTables`."""

    def save_poll(
        self,
        topic: str,
        source: str,
        at: datetime,
        scored: Sequence[tuple[Mention, Sentiment]],
        cursor: str | None,
        duration: float,
    ) -> int:
        """Store a successful poll: its mentions, its cursor and the poll record, atomically.

        Returns how many mentions were new; ones already stored are left as they were.
        """
        with self.transaction():
            new = self.save_mentions(topic, scored, at)
            self._set_cursor(topic, source, cursor, at)
            self._record_success(topic, source, at, len(scored), new, duration)
        return new

    def save_stream_batch(
        self,
        topic: str,
        source: str,
        now: datetime,
        position_at: datetime,
        scored: Sequence[tuple[Mention, Sentiment]],
        cursor: str,
        *,
        record_progress: bool,
    ) -> int:
        """Store what a stream read for one topic: mentions and cursor, atomically.

        With ``record_progress`` the stream's position is also recorded as a successful poll at
        ``position_at`` (stream time, not ``now``): a bucket counts as read past its end once
        the stream has passed it, whenever that happened. Returns how many mentions were new.
        """
        with self.transaction():
            new = self.save_mentions(topic, scored, now)
            self._set_cursor(topic, source, cursor, now)
            if record_progress:
                self._record_success(topic, source, position_at, len(scored), new, None)
        return new

    def save_failure(
        self,
        topic: str,
        source: str,
        at: datetime,
        error: str,
        retry_at: datetime | None = None,
        duration: float | None = None,
    ) -> None:
        """Record a failed poll: the buckets it spans become incomplete."""
        with self.transaction():
            self.conn.execute(
                "INSERT INTO polls (topic, source, at, ok, error, duration) "
                "VALUES (?, ?, ?, 0, ?, ?)",
                (topic, source, iso(at), error, duration),
            )
            state = self.source_state(topic, source)
            failing_since = state.failing_since if state and state.failing_since else at
            self._upsert_source_state(
                topic,
                source,
                last_error_at=iso(at),
                last_error=error,
                failing_since=iso(failing_since),
                retry_at=iso(retry_at) if retry_at else None,
            )

    def set_blind_notified(self, topic: str, source: str, notified: bool) -> None:
        self._upsert_source_state(topic, source, blind_notified=int(notified))

    def cursor(self, topic: str, source: str) -> str | None:
        row = self.conn.execute(
            "SELECT cursor FROM cursors WHERE topic = ? AND source = ?", (topic, source)
        ).fetchone()
        return None if row is None else row[0]

    def source_state(self, topic: str, source: str) -> SourceState | None:
        row = self.conn.execute(
            f"SELECT {_STATE_COLUMNS} FROM source_state WHERE topic = ? AND source = ?",
            (topic, source),
        ).fetchone()
        return None if row is None else _source_state(row)

    def source_states(self) -> list[SourceState]:
        rows = self.conn.execute(
            f"SELECT {_STATE_COLUMNS} FROM source_state ORDER BY topic, source"
        ).fetchall()
        return [_source_state(row) for row in rows]

    def polls(self, topic: str, source: str) -> list[Poll]:
        """The recorded polls of ``source`` for ``topic``, in the order they were recorded."""
        rows = self.conn.execute(
            "SELECT topic, source, at, ok, fetched, new, error, duration FROM polls "
            "WHERE topic = ? AND source = ? ORDER BY rowid",
            (topic, source),
        ).fetchall()
        return [Poll(r[0], r[1], instant(r[2]), bool(r[3]), r[4], r[5], r[6], r[7]) for r in rows]

    def poll_count(
        self, topic: str, source: str, start: datetime, end: datetime, *, ok: bool
    ) -> int:
        """How many polls of ``source`` succeeded (``ok``) or failed in ``[start, end)``."""
        row = self.conn.execute(
            "SELECT count(*) FROM polls WHERE topic = ? AND source = ? AND ok = ? "
            "AND at >= ? AND at < ?",
            (topic, source, int(ok), iso(start), iso(end)),
        ).fetchone()
        return int(row[0])

    def first_poll_at(self, topic: str, source: str) -> datetime | None:
        row = self.conn.execute(
            "SELECT min(at) FROM polls WHERE topic = ? AND source = ?", (topic, source)
        ).fetchone()
        return from_iso(row[0])

    def save_check(self, name: str, ok: bool, detail: str, at: datetime) -> None:
        """Record a check's latest result; ``failing_since`` keeps when it started failing."""
        with self.transaction():
            last = self.check(name)
            since = None if ok else (last.failing_since if last and not last.ok else None) or at
            self.db.table("checks").upsert(
                {
                    "name": name,
                    "ok": int(ok),
                    "detail": detail,
                    "checked_at": iso(at),
                    "failing_since": None if since is None else iso(since),
                },
                pk="name",
            )

    def check(self, name: str) -> Check | None:
        row = self.conn.execute(
            "SELECT name, ok, detail, checked_at, failing_since FROM checks WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        return Check(row[0], bool(row[1]), row[2], instant(row[3]), from_iso(row[4]))

    def _set_cursor(self, topic: str, source: str, cursor: str | None, at: datetime) -> None:
        self.conn.execute(
            "INSERT INTO cursors (topic, source, cursor, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (topic, source) DO UPDATE SET cursor = excluded.cursor, "
            "updated_at = excluded.updated_at",
            (topic, source, cursor, iso(at)),
        )

    def _record_success(
        self, topic: str, source: str, at: datetime, fetched: int, new: int, duration: float | None
    ) -> None:
        self.conn.execute(
            "INSERT INTO polls (topic, source, at, ok, fetched, new, duration) "
            "VALUES (?, ?, ?, 1, ?, ?, ?)",
            (topic, source, iso(at), fetched, new, duration),
        )
        self._upsert_source_state(
            topic, source, last_success_at=iso(at), failing_since=None, retry_at=None
        )

    def _upsert_source_state(self, topic: str, source: str, **values: Any) -> None:
        # Only the named columns change: a success keeps the last error on record.
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values)
        self.conn.execute(
            f"INSERT INTO source_state (topic, source, {columns}) VALUES (?, ?, {marks}) "
            f"ON CONFLICT (topic, source) DO UPDATE SET {updates}",
            (topic, source, *values.values()),
        )


def _source_state(row: tuple[Any, ...]) -> SourceState:
    return SourceState(
        row[0],
        row[1],
        from_iso(row[2]),
        from_iso(row[3]),
        row[4],
        from_iso(row[5]),
        from_iso(row[6]),
        bool(row[7]),
    )
