"""Old databases upgrade in place: to the schema a new one starts with, without losing a row.

The scripts below are the schema as releases wrote it (the SQL of migrations 1–5 before the
store created its tables through sqlite-utils), frozen here: a database on disk was made by
them, so the migrations of today must take it from there.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from monitor.models import IncidentStatus, Label, Mention, NotificationKind, Readings, Sentiment
from monitor.store import MIGRATIONS, Store, iso
from tests.support import at

RELEASED_SQL = [
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
    """
    CREATE INDEX notifications_by_incident ON notifications (incident_id, alerter, status);
    CREATE INDEX silences_by_topic ON silences (topic, end_at);
    """,
    """
    CREATE TABLE checks (
        name TEXT PRIMARY KEY, ok INTEGER NOT NULL, detail TEXT NOT NULL,
        checked_at TEXT NOT NULL, failing_since TEXT
    );
    """,
    """
    ALTER TABLE mentions ADD COLUMN deleted_at TEXT;
    ALTER TABLE mentions ADD COLUMN reply_to TEXT;
    """,
    """
    CREATE TABLE rate_limits (
        alerter TEXT PRIMARY KEY, until_at TEXT NOT NULL, reason TEXT
    );
    """,
]

T = iso(at(12))
T5 = iso(at(12, 5))
# One row in every table of version 1, as that release wrote them.
VERSION_1_ROWS: dict[str, list[tuple[Any, ...]]] = {
    "mentions": [
        (
            "acme",
            "rss",
            "p1",
            T,
            T5,
            "Acme ruined my week",
            "en",
            "lena",
            "https://x.test/1",
            '{"likes": 3}',
            -0.75,
            "negative",
        ),
        (
            "acme",
            "hackernews",
            "p2",
            T5,
            T5,
            "Acme is fine",
            None,
            None,
            None,
            None,
            0.1,
            "neutral",
        ),
    ],
    "cursors": [("acme", "rss", "etag-7", T5)],
    "polls": [
        ("acme", "rss", T, 1, 2, 2, None, 0.25),
        ("acme", "hackernews", T5, 0, 0, 0, "HTTP 503 from hn.algolia.com", 1.5),
    ],
    "source_state": [("acme", "hackernews", T, T5, "HTTP 503 from hn.algolia.com", T5, None, 1)],
    "buckets": [
        ("acme", T, T5, 2, 1, 0, 1, 4.5, 1, 2, 0.4, 1.9, 0.2, "1 negative vs 0.4 expected"),
    ],
    "incidents": [
        (1, "acme", "acknowledged", 2, 3, T, T5, T5, T5, "U123", None, None, None, T, 1, T5, 0),
    ],
    "incident_events": [(1, 1, T, "opened", None), (2, 1, T5, "acknowledged", "U123")],
    "notifications": [
        (1, "slack", "opened", "acme", 1, T, '{"topic": "acme"}', "sent", 1, T, None, T),
        (
            2,
            "slack",
            "acknowledged",
            "acme",
            1,
            T5,
            '{"topic": "acme"}',
            "pending",
            0,
            T5,
            None,
            None,
        ),
    ],
    "messages": [(1, "slack", "1700000000.000100")],
    "detector_state": [("acme", "fp-1", T5, b"\x80\x04pickled")],
    "silences": [(1, "acme", T, T5, "planned maintenance", "U123")],
}


def released(path: Path, version: int) -> None:
    """A database as release ``version`` left it (empty, or with the version 1 rows)."""
    conn = sqlite3.connect(path)
    for script in RELEASED_SQL[:version]:
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


def write_rows(path: Path, tables: dict[str, list[tuple[Any, ...]]] = VERSION_1_ROWS) -> None:
    """Write ``tables`` (the version 1 rows unless given) as the release that made them did."""
    conn = sqlite3.connect(path)
    for table, rows in tables.items():
        marks = ", ".join("?" for _ in rows[0])
        conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    conn.commit()
    conn.close()


def assert_rows_kept(store: Store, tables: dict[str, list[tuple[Any, ...]]]) -> None:
    """Every row of ``tables`` is still there, column for column; columns added later are
    empty."""
    for table, rows in tables.items():
        stored = store.conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
        width = len(rows[0])
        assert [row[:width] for row in stored] == rows, table
        assert all(value is None for row in stored for value in row[width:]), table


def shape(path: Path) -> dict[str, Any]:
    """Every table's columns (name, type, not null, default, key) and indexes (name, columns)."""
    db = sqlite_utils.Database(path)
    tables: dict[str, Any] = {}
    for name in db.table_names():
        table = db.table(name)
        columns = db.execute(f"PRAGMA table_info({name})").fetchall()
        indexes = sorted((i.name, tuple(i.columns), i.unique) for i in table.indexes)
        tables[name] = (columns, indexes)
    db.close()
    return tables


def fresh(path: Path) -> Path:
    store = Store(path)
    store.migrate()
    store.close()
    return path


@pytest.mark.parametrize("version", range(1, len(RELEASED_SQL) + 1))
def test_each_released_version_upgrades_to_the_schema_a_new_database_starts_with(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / f"v{version}.db"
    released(path, version)
    store = Store(path)
    assert store.migrate() == len(MIGRATIONS) - version
    assert store.schema_version == len(MIGRATIONS)
    assert store.migrate() == 0  # idempotent
    store.close()
    assert shape(path) == shape(fresh(tmp_path / "new.db"))


def test_a_version_1_database_migrates_without_losing_a_row(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    released(path, 1)
    write_rows(path)
    store = Store(path)
    store.migrate()

    assert_rows_kept(store, VERSION_1_ROWS)

    # ... and reads back through the store as what it was.
    mentions = store.mentions("acme", at(11), at(13))
    assert [(m.mention.id, m.label, m.deleted_at) for m in mentions] == [
        ("p1", Label.NEGATIVE, None),
        ("p2", Label.NEUTRAL, None),
    ]
    assert mentions[0].mention.engagement == {"likes": 3}
    assert store.cursor("acme", "rss") == "etag-7"
    assert [p.ok for p in store.polls("acme", "hackernews")] == [False]
    state = store.source_state("acme", "hackernews")
    assert state is not None and state.failing_since == at(12, 5) and state.blind_notified
    (bucket,) = store.buckets("acme")
    assert bucket.reason == "1 negative vs 0.4 expected" and bucket.expected_share == 0.2
    incident = store.incident(1)
    assert incident.status is IncidentStatus.ACKNOWLEDGED and incident.acknowledged_by == "U123"
    assert [e.kind for e in store.incident_events(1)] == ["opened", "acknowledged"]
    (due,) = store.due_notifications(at(13))
    assert due.kind is NotificationKind.ACKNOWLEDGED and due.payload == {"topic": "acme"}
    assert store.message_ref(1, "slack") == "1700000000.000100"
    assert store.detector_state("acme") == ("fp-1", at(12, 5), b"\x80\x04pickled")
    assert [s.reason for s in store.silences()] == ["planned maintenance"]

    # The upgraded file takes what later versions write: deletions, replies, checks, limits.
    assert store.mark_deleted([("acme", "rss", "p1")], at(13)) == 1
    reply = Mention("rss", "p3", at(12, 6), "@lena same here", reply_to="p1")
    scored = [(reply, Sentiment(Label.NEGATIVE, -0.4, "en"))]
    assert store.save_poll("acme", "rss", at(12, 7), scored, None, 0.1) == 1
    store.save_check("slack", True, "connected as @monitor", at(13))
    store.set_rate_limit("slack", at(13) + timedelta(seconds=30), "HTTP 429")
    assert store.rate_limits(at(13)) == {"slack": at(13, 0, 30)}
    later = store.mentions("acme", at(11), at(13))
    assert [(m.mention.id, m.mention.text, m.mention.reply_to) for m in later] == [
        ("p1", "", None),
        ("p2", "Acme is fine", None),
        ("p3", "@lena same here", "p1"),
    ]
    # A deleted post still counts where it counted.
    assert store.count("acme", at(12), at(12, 10))[:3] == (3, 2, 0)
    store.close()


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    released(path, 3)
    write_rows(path)
    conn = sqlite3.connect(path)
    # A column migration 4 is about to add, already there (a hand-made change): it must fail
    # as a whole, not leave the file half upgraded.
    conn.execute("ALTER TABLE mentions ADD COLUMN reply_to TEXT")
    conn.commit()
    conn.close()
    before = shape(path)

    store = Store(path)
    with pytest.raises(sqlite3.OperationalError, match="reply_to"):
        store.migrate()
    assert store.schema_version == 3
    assert store.mention_count() == 2
    store.close()
    assert shape(path) == before


def test_every_column_has_a_type_sqlite_utils_and_datasette_can_show(tmp_path: Path) -> None:
    db = sqlite_utils.Database(fresh(tmp_path / "new.db"))
    for table in db.tables:
        assert {column.type for column in table.columns} <= {"TEXT", "INTEGER", "REAL", "BLOB"}
        # Rows are addressable: a primary key everywhere, except the poll log (rowid order).
        assert table.pks != ["rowid"] or table.name == "polls", table.name


def test_a_database_from_a_newer_release_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 2}")
    store = Store(path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="newer than this release knows"):
            store.migrate()
        assert store.schema_version == len(MIGRATIONS) + 2
    finally:
        store.close()


def test_the_command_names_the_database_a_newer_release_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.cli import main

    path = tmp_path / "newer.db"
    Store(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")

    config = Path(__file__).resolve().parents[1] / "settings.toml"  # the example settings
    assert main(["--config", str(config), "--database", str(path), "incidents", "list"]) == 2
    err = capsys.readouterr().err
    assert f"monitor.database: cannot use {path}" in err and "newer shitstorm" in err


# The rows of version 1, the columns versions 4 and 5 added filled in, and their new tables.
VERSION_5_ROWS: dict[str, list[tuple[Any, ...]]] = {
    **VERSION_1_ROWS,
    "mentions": [
        (*VERSION_1_ROWS["mentions"][0], None, None),
        (*VERSION_1_ROWS["mentions"][1], T5, "p1"),
    ],
    "checks": [("slack", 1, "connected as @monitor", T5, None)],
    "rate_limits": [("slack", T5, "HTTP 429")],
}


def test_a_version_5_database_keeps_every_row_and_reads_old_rows_as_their_labels(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v5.db"
    released(path, 5)
    write_rows(path, VERSION_5_ROWS)
    store = Store(path)
    assert store.migrate() == len(MIGRATIONS) - 5

    assert_rows_kept(store, VERSION_5_ROWS)

    # Mentions scored before the probabilities were stored count as their labels ...
    old = store.mentions("acme", at(11), at(13))
    assert [(m.label, m.p_negative, m.p_neutral) for m in old] == [
        (Label.NEGATIVE, None, None),
        (Label.NEUTRAL, None, None),
    ]
    volume, negative, positive, readings = store.count("acme", at(12), at(12, 10))
    assert (volume, negative, positive) == (2, 1, 0)
    assert readings == Readings.of_labels(1, 1)
    # ... and a bucket stored before them has no readings: the detector reads its labels.
    (judged,) = store.buckets("acme")
    assert judged.bucket.readings is None and judged.bucket.sums == Readings.of_labels(1, 1)

    # New mentions bring their probabilities, and the span sums both kinds.
    later = Mention("rss", "p3", at(12, 6), "@lena same here", reply_to="p1")
    sure = Sentiment(Label.NEGATIVE, -0.4, "en", (0.7, 0.2, 0.1))
    assert store.save_poll("acme", "rss", at(12, 7), [(later, sure)], None, 0.1) == 1
    readings = store.count("acme", at(12), at(12, 10)).readings
    assert readings.negative == pytest.approx(1.7) and readings.neutral == pytest.approx(1.2)
    assert readings.negative_sq == pytest.approx(1.49)
    assert readings.neutral_sq == pytest.approx(1.04)
    assert readings.cross == pytest.approx(0.14)
    store.close()
