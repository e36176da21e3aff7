"""The only module that writes SQL: mentions, polls, buckets, incidents and the outbox.

One :class:`Store` wraps one SQLite connection (sqlite-utils); each thread opens its own. WAL
mode lets the HTTP server and the CLI read while the daemon writes. Instants are stored as ISO
8601 UTC text in one fixed format, so they sort and compare as strings.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from monitor.models import (
    Bucket,
    Incident,
    IncidentStatus,
    Label,
    Mention,
    Notification,
    NotificationKind,
    Sentiment,
)


def iso(instant: datetime) -> str:
    """The stored form of an instant: UTC, microseconds, offset — sortable as text."""
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant!r}: pass aware UTC instants")
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# Each step upgrades the schema by one version; a database records the last one it ran in
# PRAGMA user_version, so an older file is upgraded in place on start.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE mentions (
        topic TEXT NOT NULL, source TEXT NOT NULL, id TEXT NOT NULL,
        created_at TEXT NOT NULL, fetched_at TEXT NOT NULL,
        text TEXT NOT NULL, lang TEXT, author TEXT, url TEXT, engagement TEXT,
        sentiment REAL NOT NULL, label TEXT NOT NULL,
        PRIMARY KEY (topic, source, id)
    );
    CREATE INDEX mentions_by_time ON mentions (topic, created_at);
    CREATE TABLE cursors (
        topic TEXT NOT NULL, source TEXT NOT NULL, cursor TEXT, updated_at TEXT NOT NULL,
        PRIMARY KEY (topic, source)
    );
    CREATE TABLE polls (
        topic TEXT NOT NULL, source TEXT NOT NULL, at TEXT NOT NULL, ok INTEGER NOT NULL,
        fetched INTEGER NOT NULL DEFAULT 0, new INTEGER NOT NULL DEFAULT 0,
        error TEXT, duration REAL
    );
    CREATE INDEX polls_by_time ON polls (topic, source, at);
    CREATE TABLE source_state (
        topic TEXT NOT NULL, source TEXT NOT NULL,
        last_success_at TEXT, last_error_at TEXT, last_error TEXT,
        failing_since TEXT, retry_at TEXT, blind_notified INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (topic, source)
    );
    CREATE TABLE buckets (
        topic TEXT NOT NULL, start_at TEXT NOT NULL, end_at TEXT NOT NULL,
        volume INTEGER NOT NULL, negative INTEGER NOT NULL, positive INTEGER NOT NULL,
        complete INTEGER NOT NULL, score REAL, anomalous INTEGER NOT NULL DEFAULT 0,
        severity INTEGER NOT NULL DEFAULT 0, expected_negative REAL, expected_high REAL,
        expected_share REAL, reason TEXT,
        PRIMARY KEY (topic, start_at)
    );
    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY, topic TEXT NOT NULL, status TEXT NOT NULL,
        severity INTEGER NOT NULL, peak_severity INTEGER NOT NULL,
        opened_at TEXT NOT NULL, updated_at TEXT NOT NULL, last_anomaly_at TEXT NOT NULL,
        acknowledged_at TEXT, acknowledged_by TEXT, resolved_at TEXT, resolved_by TEXT,
        feedback TEXT, triggered_at TEXT, escalations INTEGER NOT NULL DEFAULT 0,
        last_escalated_at TEXT, reopened INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX incidents_by_topic ON incidents (topic, status);
    CREATE TABLE incident_events (
        id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL, at TEXT NOT NULL,
        kind TEXT NOT NULL, actor TEXT
    );
    CREATE TABLE notifications (
        id INTEGER PRIMARY KEY, alerter TEXT NOT NULL, kind TEXT NOT NULL,
        topic TEXT NOT NULL, incident_id INTEGER, created_at TEXT NOT NULL,
        payload TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL,
        last_error TEXT, sent_at TEXT
    );
    CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
    CREATE TABLE messages (
        incident_id INTEGER NOT NULL, alerter TEXT NOT NULL, ref TEXT NOT NULL,
        PRIMARY KEY (incident_id, alerter)
    );
    CREATE TABLE detector_state (
        topic TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, last_end_at TEXT NOT NULL,
        state BLOB NOT NULL
    );
    CREATE TABLE silences (
        id INTEGER PRIMARY KEY, topic TEXT NOT NULL, start_at TEXT NOT NULL,
        end_at TEXT NOT NULL, reason TEXT, created_by TEXT
    );
    """,
    # 2: coalescing looks up an incident's later notifications; silences are looked up by topic.
    """
    CREATE INDEX notifications_by_incident ON notifications (incident_id, alerter, status);
    CREATE INDEX silences_by_topic ON silences (topic, end_at);
    """,
    # 3: the daemon's start-up checks (the Slack token), for `status` and /healthz.
    """
    CREATE TABLE checks (
        name TEXT PRIMARY KEY, ok INTEGER NOT NULL, detail TEXT NOT NULL,
        checked_at TEXT NOT NULL, failing_since TEXT
    );
    """,
    # 4: a post its author deleted keeps counting where it counted, but loses its text
    # (deleted_at); replies name the post they answer (reply_to).
    """
    ALTER TABLE mentions ADD COLUMN deleted_at TEXT;
    ALTER TABLE mentions ADD COLUMN reply_to TEXT;
    """,
]


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
class StoredMention:
    topic: str
    mention: Mention
    sentiment: float
    label: Label


@dataclass(frozen=True)
class JudgedBucket:
    """A stored bucket with the detector's verdict on it (for charts and warm starts)."""

    bucket: Bucket
    score: float | None
    anomalous: bool
    severity: int
    expected_negative: float | None
    expected_high: float | None
    # The detector's sentence on it ("… vs … expected; …"), for people asking why.
    reason: str | None = None


@dataclass(frozen=True)
class Silence:
    id: int
    topic: str
    start_at: datetime
    end_at: datetime
    reason: str | None
    created_by: str | None


@dataclass(frozen=True)
class Check:
    """The latest result of one of the daemon's checks (``"slack"``: the bot token)."""

    name: str
    ok: bool
    detail: str
    checked_at: datetime
    failing_since: datetime | None


class Store:
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

    # -- schema ------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> int:
        """Bring the schema up to date; returns how many migrations ran."""
        ran = 0
        with self.transaction():
            version = self.schema_version
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number}")
                ran += 1
        return ran

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit of work; nested calls join the outer transaction."""
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

    # -- ingest ------------------------------------------------------------------------------

    def save_mentions(
        self, topic: str, scored: Sequence[tuple[Mention, Sentiment]], at: datetime
    ) -> int:
        """Store scored mentions; returns how many were new (stored ones are left as they were)."""
        fetched_at = iso(at)
        rows = [
            (
                topic,
                mention.source,
                mention.id,
                iso(mention.created_at),
                fetched_at,
                mention.text,
                sentiment.lang,
                mention.author,
                mention.url,
                json.dumps(dict(mention.engagement)) if mention.engagement else None,
                sentiment.score,
                sentiment.label.value,
                mention.reply_to,
            )
            for mention, sentiment in scored
        ]
        if not rows:
            return 0
        with self.transaction():
            before = self.conn.total_changes
            # The hot path of ingest: one prepared statement for the whole batch.
            self.conn.executemany(
                "INSERT OR IGNORE INTO mentions (topic, source, id, created_at, fetched_at, "
                "text, lang, author, url, engagement, sentiment, label, reply_to) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            return self.conn.total_changes - before

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

    def mark_deleted(self, keys: Iterable[tuple[str, str, str]], at: datetime) -> int:
        """Mark stored mentions, by ``(topic, source, id)``, deleted by their authors.

        They keep counting in the buckets they counted in (they were said), but their text is
        erased: alerts and the CLI must no longer quote what its author took back. Returns how
        many stored mentions this marked; unknown or already deleted ones are left alone.
        """
        with self.transaction():
            before = self.conn.total_changes
            self.conn.executemany(
                "UPDATE mentions SET deleted_at = ?, text = '' "
                "WHERE topic = ? AND source = ? AND id = ? AND deleted_at IS NULL",
                [(iso(at), topic, source, mention_id) for topic, source, mention_id in keys],
            )
            return self.conn.total_changes - before

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

    def _upsert_source_state(self, topic: str, source: str, **values: Any) -> None:
        columns = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{c} = excluded.{c}" for c in values)
        self.conn.execute(
            f"INSERT INTO source_state (topic, source, {columns}) VALUES (?, ?, {marks}) "
            f"ON CONFLICT (topic, source) DO UPDATE SET {updates}",
            (topic, source, *values.values()),
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
            "SELECT topic, source, last_success_at, last_error_at, last_error, failing_since, "
            "retry_at, blind_notified FROM source_state WHERE topic = ? AND source = ?",
            (topic, source),
        ).fetchone()
        return None if row is None else _source_state(row)

    def source_states(self) -> list[SourceState]:
        rows = self.conn.execute(
            "SELECT topic, source, last_success_at, last_error_at, last_error, failing_since, "
            "retry_at, blind_notified FROM source_state ORDER BY topic, source"
        ).fetchall()
        return [_source_state(row) for row in rows]

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

    def mention_count(self, topic: str | None = None) -> int:
        if topic is None:
            return int(self.conn.execute("SELECT count(*) FROM mentions").fetchone()[0])
        row = self.conn.execute("SELECT count(*) FROM mentions WHERE topic = ?", (topic,))
        return int(row.fetchone()[0])

    # -- buckets -----------------------------------------------------------------------------

    def count(self, topic: str, start: datetime, end: datetime) -> tuple[int, int, int]:
        """Volume, negative and positive mentions created in ``[start, end)``."""
        row = self.conn.execute(
            "SELECT count(*), coalesce(sum(label = 'negative'), 0), "
            "coalesce(sum(label = 'positive'), 0) FROM mentions "
            "WHERE topic = ? AND created_at >= ? AND created_at < ?",
            (topic, iso(start), iso(end)),
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def first_mention_at(self, topic: str) -> datetime | None:
        row = self.conn.execute(
            "SELECT min(created_at) FROM mentions WHERE topic = ?", (topic,)
        ).fetchone()
        return from_iso(row[0])

    def last_mention_at(self, topic: str) -> datetime | None:
        row = self.conn.execute(
            "SELECT max(created_at) FROM mentions WHERE topic = ?", (topic,)
        ).fetchone()
        return from_iso(row[0])

    def last_bucket_end(self, topic: str) -> datetime | None:
        # Buckets are contiguous, so the latest start has the latest end (and uses the index).
        row = self.conn.execute(
            "SELECT end_at FROM buckets WHERE topic = ? ORDER BY start_at DESC LIMIT 1", (topic,)
        ).fetchone()
        return None if row is None else from_iso(row[0])

    def save_bucket(
        self,
        bucket: Bucket,
        *,
        score: float | None,
        anomalous: bool,
        severity: int,
        expected_negative: float | None,
        expected_high: float | None,
        expected_share: float | None,
        reason: str | None,
    ) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO buckets (topic, start_at, end_at, volume, negative, positive, "
            "complete, score, anomalous, severity, expected_negative, expected_high, "
            "expected_share, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                bucket.topic,
                iso(bucket.start_at),
                iso(bucket.end_at),
                bucket.volume,
                bucket.negative,
                bucket.positive,
                int(bucket.complete),
                score,
                int(anomalous),
                severity,
                expected_negative,
                expected_high,
                expected_share,
                reason,
            ),
        )

    def buckets(self, topic: str, since: datetime | None = None) -> list[JudgedBucket]:
        """The topic's stored buckets in time order, from ``since`` on."""
        rows = self.conn.execute(
            "SELECT topic, start_at, end_at, volume, negative, positive, complete, score, "
            "anomalous, severity, expected_negative, expected_high, reason FROM buckets "
            "WHERE topic = ? AND start_at >= ? ORDER BY start_at",
            (topic, iso(since) if since else ""),
        ).fetchall()
        return [
            JudgedBucket(
                Bucket(r[0], _at(r[1]), _at(r[2]), r[3], r[4], r[5], bool(r[6])),
                r[7],
                bool(r[8]),
                r[9],
                r[10],
                r[11],
                r[12],
            )
            for r in rows
        ]

    def mentions(
        self,
        topic: str,
        start: datetime,
        end: datetime,
        *,
        label: Label | None = None,
        limit: int | None = None,
        order: str = "created_at",
        include_deleted: bool = True,
    ) -> list[StoredMention]:
        """Mentions created in ``[start, end)``; ``order`` is "created_at" or "most_negative".

        ``include_deleted=False`` leaves out posts their authors deleted (for quoting).
        """
        sql = (
            "SELECT topic, source, id, created_at, text, lang, author, url, engagement, "
            "sentiment, label, reply_to FROM mentions "
            "WHERE topic = ? AND created_at >= ? AND created_at < ?"
        )
        params: list[Any] = [topic, iso(start), iso(end)]
        if not include_deleted:
            sql += " AND deleted_at IS NULL"
        if label is not None:
            sql += " AND label = ?"
            params.append(label.value)
        sql += (
            " ORDER BY sentiment, created_at"
            if order == "most_negative"
            else " ORDER BY created_at"
        )
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            StoredMention(
                r[0],
                Mention(
                    source=r[1],
                    id=r[2],
                    created_at=_at(r[3]),
                    text=r[4],
                    lang=r[5],
                    author=r[6],
                    url=r[7],
                    engagement=json.loads(r[8]) if r[8] else {},
                    reply_to=r[11],
                ),
                r[9],
                Label(r[10]),
            )
            for r in self.conn.execute(sql, params)
        ]

    def texts(self, topic: str, start: datetime, end: datetime, limit: int) -> list[str]:
        """The texts of the latest ``limit`` mentions created in ``[start, end)``."""
        rows = self.conn.execute(
            "SELECT text FROM mentions WHERE topic = ? AND created_at >= ? AND created_at < ? "
            "ORDER BY created_at DESC LIMIT ?",
            (topic, iso(start), iso(end), limit),
        )
        return [r[0] for r in rows]

    def split(self, topic: str, start: datetime, end: datetime, column: str) -> dict[str, int]:
        """Negative mentions in ``[start, end)`` counted by ``column`` ("source" or "lang")."""
        if column not in ("source", "lang"):
            raise ValueError(column)
        rows = self.conn.execute(
            f"SELECT coalesce({column}, 'und'), count(*) FROM mentions WHERE topic = ? "
            "AND created_at >= ? AND created_at < ? AND label = 'negative' "
            f"GROUP BY 1 ORDER BY 2 DESC",
            (topic, iso(start), iso(end)),
        ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    # -- detector state ----------------------------------------------------------------------

    def save_detector_state(
        self, topic: str, fingerprint: str, last_end_at: datetime, state: bytes
    ) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO detector_state (topic, fingerprint, last_end_at, state) "
            "VALUES (?, ?, ?, ?)",
            (topic, fingerprint, iso(last_end_at), state),
        )

    def detector_state(self, topic: str) -> tuple[str, datetime, bytes] | None:
        row = self.conn.execute(
            "SELECT fingerprint, last_end_at, state FROM detector_state WHERE topic = ?", (topic,)
        ).fetchone()
        return None if row is None else (row[0], _at(row[1]), bytes(row[2]))

    # -- incidents ---------------------------------------------------------------------------

    _INCIDENT_COLUMNS = (
        "id, topic, status, severity, opened_at, updated_at, last_anomaly_at, peak_severity, "
        "acknowledged_at, acknowledged_by, resolved_at, resolved_by, feedback, triggered_at, "
        "escalations, last_escalated_at, reopened"
    )

    def save_incident(self, incident: Incident) -> Incident:
        """Insert a new incident (``id`` 0) or update a stored one; returns it with its id."""
        values = _incident_row(incident)
        if incident.id == 0:
            del values["id"]
            cursor = self.conn.execute(
                f"INSERT INTO incidents ({', '.join(values)}) "
                f"VALUES ({', '.join('?' for _ in values)})",
                tuple(values.values()),
            )
            assert cursor.lastrowid is not None
            return self.incident(cursor.lastrowid)
        assignments = ", ".join(f"{k} = ?" for k in values if k != "id")
        self.conn.execute(
            f"UPDATE incidents SET {assignments} WHERE id = ?",
            (*(v for k, v in values.items() if k != "id"), incident.id),
        )
        return incident

    def incident(self, incident_id: int) -> Incident:
        row = self.conn.execute(
            f"SELECT {self._INCIDENT_COLUMNS} FROM incidents WHERE id = ?", (incident_id,)
        ).fetchone()
        if row is None:
            raise KeyError(incident_id)
        return _incident(row)

    def active_incident(self, topic: str) -> Incident | None:
        row = self.conn.execute(
            f"SELECT {self._INCIDENT_COLUMNS} FROM incidents WHERE topic = ? "
            "AND status != 'resolved' ORDER BY id DESC LIMIT 1",
            (topic,),
        ).fetchone()
        return None if row is None else _incident(row)

    def active_incidents(self) -> list[Incident]:
        rows = self.conn.execute(
            f"SELECT {self._INCIDENT_COLUMNS} FROM incidents WHERE status != 'resolved' ORDER BY id"
        ).fetchall()
        return [_incident(r) for r in rows]

    def last_resolved_incident(self, topic: str) -> Incident | None:
        row = self.conn.execute(
            f"SELECT {self._INCIDENT_COLUMNS} FROM incidents WHERE topic = ? "
            "AND status = 'resolved' ORDER BY resolved_at DESC LIMIT 1",
            (topic,),
        ).fetchone()
        return None if row is None else _incident(row)

    def incidents(self, topic: str | None = None, limit: int | None = None) -> list[Incident]:
        sql = f"SELECT {self._INCIDENT_COLUMNS} FROM incidents"
        params: list[Any] = []
        if topic is not None:
            sql += " WHERE topic = ?"
            params.append(topic)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_incident(r) for r in self.conn.execute(sql, params)]

    def add_incident_event(
        self, incident_id: int, at: datetime, kind: str, actor: str | None
    ) -> None:
        self.conn.execute(
            "INSERT INTO incident_events (incident_id, at, kind, actor) VALUES (?, ?, ?, ?)",
            (incident_id, iso(at), kind, actor),
        )

    def incident_events(self, incident_id: int) -> list[tuple[datetime, str, str | None]]:
        rows = self.conn.execute(
            "SELECT at, kind, actor FROM incident_events WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        ).fetchall()
        return [(_at(r[0]), r[1], r[2]) for r in rows]

    # -- outbox ------------------------------------------------------------------------------

    def add_notification(
        self,
        alerter: str,
        kind: NotificationKind,
        topic: str,
        incident_id: int | None,
        at: datetime,
        payload: Mapping[str, Any],
    ) -> int:
        cursor = self.conn.execute(
            "INSERT INTO notifications (alerter, kind, topic, incident_id, created_at, payload, "
            "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (alerter, kind.value, topic, incident_id, iso(at), json.dumps(payload), iso(at)),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def due_notifications(self, now: datetime, limit: int = 100) -> list[Notification]:
        """Pending notifications whose time has come, oldest first."""
        rows = self.conn.execute(
            "SELECT id, alerter, kind, topic, incident_id, created_at, payload, attempts "
            "FROM notifications WHERE status = 'pending' AND next_attempt_at <= ? "
            "ORDER BY id LIMIT ?",
            (iso(now), limit),
        ).fetchall()
        return [_notification(r) for r in rows]

    def pending_after(self, notification: Notification) -> list[Notification]:
        """Later pending notifications of the same incident and alerter (for coalescing)."""
        rows = self.conn.execute(
            "SELECT id, alerter, kind, topic, incident_id, created_at, payload, attempts "
            "FROM notifications WHERE status = 'pending' AND alerter = ? AND incident_id = ? "
            "AND id > ? ORDER BY id",
            (notification.alerter, notification.incident_id, notification.id),
        ).fetchall()
        return [_notification(r) for r in rows]

    def begin_attempt(self, notification_id: int) -> None:
        """Count an attempt *before* sending, so a crash mid-send is known on restart."""
        self.conn.execute(
            "UPDATE notifications SET attempts = attempts + 1 WHERE id = ?", (notification_id,)
        )

    def mark_sent(self, notification_id: int, at: datetime) -> None:
        self.conn.execute(
            "UPDATE notifications SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
            (iso(at), notification_id),
        )

    def mark_superseded(self, notification_id: int, at: datetime) -> None:
        self.conn.execute(
            "UPDATE notifications SET status = 'superseded', sent_at = ? WHERE id = ?",
            (iso(at), notification_id),
        )

    def mark_retry(self, notification_id: int, error: str, next_attempt_at: datetime) -> None:
        self.conn.execute(
            "UPDATE notifications SET last_error = ?, next_attempt_at = ? WHERE id = ?",
            (error, iso(next_attempt_at), notification_id),
        )

    def mark_failed(self, notification_id: int, error: str) -> None:
        self.conn.execute(
            "UPDATE notifications SET status = 'failed', last_error = ? WHERE id = ?",
            (error, notification_id),
        )

    def notification_counts(self) -> dict[tuple[str, str], int]:
        """Outbox rows by (alerter, status)."""
        rows = self.conn.execute(
            "SELECT alerter, status, count(*) FROM notifications GROUP BY alerter, status"
        ).fetchall()
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def notifications(self, incident_id: int | None = None) -> list[tuple[Notification, str]]:
        sql = (
            "SELECT id, alerter, kind, topic, incident_id, created_at, payload, attempts, status "
            "FROM notifications"
        )
        params: tuple[Any, ...] = ()
        if incident_id is not None:
            sql += " WHERE incident_id = ?"
            params = (incident_id,)
        rows = self.conn.execute(sql + " ORDER BY id", params).fetchall()
        return [(_notification(r[:8]), r[8]) for r in rows]

    def message_ref(self, incident_id: int, alerter: str) -> str | None:
        row = self.conn.execute(
            "SELECT ref FROM messages WHERE incident_id = ? AND alerter = ?",
            (incident_id, alerter),
        ).fetchone()
        return None if row is None else str(row[0])

    def set_message_ref(self, incident_id: int, alerter: str, ref: str) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO messages (incident_id, alerter, ref) VALUES (?, ?, ?)",
            (incident_id, alerter, ref),
        )

    # -- silences ----------------------------------------------------------------------------

    def add_silence(
        self, topic: str, start: datetime, end: datetime, reason: str | None, by: str | None
    ) -> int:
        cursor = self.conn.execute(
            "INSERT INTO silences (topic, start_at, end_at, reason, created_by) "
            "VALUES (?, ?, ?, ?, ?)",
            (topic, iso(start), iso(end), reason, by),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def silence_at(self, topic: str, at: datetime) -> tuple[datetime, str | None] | None:
        """The end and reason of a silence covering ``at``, if any."""
        row = self.conn.execute(
            "SELECT end_at, reason FROM silences WHERE topic = ? AND start_at <= ? AND end_at > ? "
            "ORDER BY end_at DESC LIMIT 1",
            (topic, iso(at), iso(at)),
        ).fetchone()
        return None if row is None else (_at(row[0]), row[1])

    def silences(self, active_at: datetime | None = None) -> list[Silence]:
        """All silences, newest first; with ``active_at``, only those covering that instant."""
        sql = "SELECT id, topic, start_at, end_at, reason, created_by FROM silences"
        params: tuple[Any, ...] = ()
        if active_at is not None:
            sql += " WHERE start_at <= ? AND end_at > ?"
            params = (iso(active_at), iso(active_at))
        rows = self.conn.execute(sql + " ORDER BY id DESC", params).fetchall()
        return [Silence(r[0], r[1], _at(r[2]), _at(r[3]), r[4], r[5]) for r in rows]

    def end_silence(self, silence_id: int, at: datetime) -> None:
        """End a silence at ``at`` (kept as a record of who silenced what, and for how long)."""
        self.conn.execute(
            "UPDATE silences SET end_at = ? WHERE id = ?", (iso(at), silence_id)
        )

    # -- checks ------------------------------------------------------------------------------

    def save_check(self, name: str, ok: bool, detail: str, at: datetime) -> None:
        """Record a check's latest result; ``failing_since`` keeps when it started failing."""
        with self.transaction():
            row = self.conn.execute(
                "SELECT ok, failing_since FROM checks WHERE name = ?", (name,)
            ).fetchone()
            since = None if ok else (row[1] if row and not row[0] and row[1] else iso(at))
            self.conn.execute(
                "INSERT OR REPLACE INTO checks (name, ok, detail, checked_at, failing_since) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, int(ok), detail, iso(at), since),
            )

    def check(self, name: str) -> Check | None:
        row = self.conn.execute(
            "SELECT name, ok, detail, checked_at, failing_since FROM checks WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        return Check(row[0], bool(row[1]), row[2], _at(row[3]), from_iso(row[4]))

    # -- retention ---------------------------------------------------------------------------

    def prune(self, mentions_before: datetime, polls_before: datetime) -> int:
        """Delete old mentions and poll records; buckets and incidents are kept."""
        with self.transaction():
            before = self.conn.total_changes
            self.conn.execute("DELETE FROM mentions WHERE created_at < ?", (iso(mentions_before),))
            self.conn.execute("DELETE FROM polls WHERE at < ?", (iso(polls_before),))
            return self.conn.total_changes - before

    def each(self, sql: str, params: Iterable[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Read-only query for reports (status screen); never used to write."""
        yield from self.conn.execute(sql, tuple(params))


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


def _incident_row(incident: Incident) -> dict[str, Any]:
    def opt(value: datetime | None) -> str | None:
        return None if value is None else iso(value)

    return {
        "id": incident.id,
        "topic": incident.topic,
        "status": incident.status.value,
        "severity": incident.severity,
        "opened_at": iso(incident.opened_at),
        "updated_at": iso(incident.updated_at),
        "last_anomaly_at": iso(incident.last_anomaly_at),
        "peak_severity": incident.peak_severity,
        "acknowledged_at": opt(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": opt(incident.resolved_at),
        "resolved_by": incident.resolved_by,
        "feedback": incident.feedback,
        "triggered_at": opt(incident.triggered_at),
        "escalations": incident.escalations,
        "last_escalated_at": opt(incident.last_escalated_at),
        "reopened": incident.reopened,
    }


def _incident(row: tuple[Any, ...]) -> Incident:
    return Incident(
        id=row[0],
        topic=row[1],
        status=IncidentStatus(row[2]),
        severity=row[3],
        opened_at=_at(row[4]),
        updated_at=_at(row[5]),
        last_anomaly_at=_at(row[6]),
        peak_severity=row[7],
        acknowledged_at=from_iso(row[8]),
        acknowledged_by=row[9],
        resolved_at=from_iso(row[10]),
        resolved_by=row[11],
        feedback=row[12],
        triggered_at=from_iso(row[13]),
        escalations=row[14],
        last_escalated_at=from_iso(row[15]),
        reopened=row[16],
    )


def _notification(row: tuple[Any, ...]) -> Notification:
    return Notification(
        id=row[0],
        alerter=row[1],
        kind=NotificationKind(row[2]),
        topic=row[3],
        incident_id=row[4],
        created_at=_at(row[5]),
        payload=json.loads(row[6]),
        attempts=row[7],
    )
