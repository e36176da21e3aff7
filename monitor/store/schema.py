"""The schema and its history: each migration upgrades a database by one version.

A database records the last migration it ran in ``PRAGMA user_version``, so an older file is
upgraded in place on start. Tables are created and altered through sqlite-utils, which names
every column with its SQLite type: ``sqlite-utils tables --columns`` and Datasette show them as
they are meant (instants are ``TEXT`` in ISO 8601 UTC, flags are ``INTEGER`` 0/1).

A change ``ALTER TABLE`` cannot make (a column's type, a key, a dropped column) is a
``table.transform(...)`` step: sqlite-utils rebuilds the table, indexes included, inside the
migration's transaction.

A migration, once released, is never edited: an old database must end up where a new one
starts. ``tests/test_store_migrations.py`` builds databases as earlier versions wrote them and
checks that they upgrade to the same schema without losing a row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]


def _v1_tables(db: sqlite_utils.Database) -> None:
    """Mentions and what polled them, buckets, incidents, the outbox, detector state, silences."""
    db.table("mentions").create(
        {
            "topic": str,
            "source": str,
            "id": str,
            "created_at": str,
            "fetched_at": str,
            "text": str,
            "lang": str,
            "author": str,
            "url": str,
            "engagement": str,
            "sentiment": float,
            "label": str,
        },
        pk=("topic", "source", "id"),
        not_null={
            "topic",
            "source",
            "id",
            "created_at",
            "fetched_at",
            "text",
            "sentiment",
            "label",
        },
    )
    db.table("mentions").create_index(["topic", "created_at"], index_name="mentions_by_time")
    db.table("cursors").create(
        {"topic": str, "source": str, "cursor": str, "updated_at": str},
        pk=("topic", "source"),
        not_null={"topic", "source", "updated_at"},
    )
    # No primary key: a poll is a log line, and SQLite's rowid orders them.
    db.table("polls").create(
        {
            "topic": str,
            "source": str,
            "at": str,
            "ok": int,
            "fetched": int,
            "new": int,
            "error": str,
            "duration": float,
        },
        pk=None,
        not_null={"topic", "source", "at", "ok", "fetched", "new"},
        defaults={"fetched": 0, "new": 0},
    )
    db.table("polls").create_index(["topic", "source", "at"], index_name="polls_by_time")
    db.table("source_state").create(
        {
            "topic": str,
            "source": str,
            "last_success_at": str,
            "last_error_at": str,
            "last_error": str,
            "failing_since": str,
            "retry_at": str,
            "blind_notified": int,
        },
        pk=("topic", "source"),
        not_null={"topic", "source", "blind_notified"},
        defaults={"blind_notified": 0},
    )
    db.table("buckets").create(
        {
            "topic": str,
            "start_at": str,
            "end_at": str,
            "volume": int,
            "negative": int,
            "positive": int,
            "complete": int,
            "score": float,
            "anomalous": int,
            "severity": int,
            "expected_negative": float,
            "expected_high": float,
            "expected_share": float,
            "reason": str,
        },
        pk=("topic", "start_at"),
        not_null={
            "topic",
            "start_at",
            "end_at",
            "volume",
            "negative",
            "positive",
            "complete",
            "anomalous",
            "severity",
        },
        defaults={"anomalous": 0, "severity": 0},
    )
    db.table("incidents").create(
        {
            "id": int,
            "topic": str,
            "status": str,
            "severity": int,
            "peak_severity": int,
            "opened_at": str,
            "updated_at": str,
            "last_anomaly_at": str,
            "acknowledged_at": str,
            "acknowledged_by": str,
            "resolved_at": str,
            "resolved_by": str,
            "feedback": str,
            "triggered_at": str,
            "escalations": int,
            "last_escalated_at": str,
            "reopened": int,
        },
        pk="id",
        not_null={
            "topic",
            "status",
            "severity",
            "peak_severity",
            "opened_at",
            "updated_at",
            "last_anomaly_at",
            "escalations",
            "reopened",
        },
        defaults={"escalations": 0, "reopened": 0},
    )
    db.table("incidents").create_index(["topic", "status"], index_name="incidents_by_topic")
    db.table("incident_events").create(
        {"id": int, "incident_id": int, "at": str, "kind": str, "actor": str},
        pk="id",
        not_null={"incident_id", "at", "kind"},
    )
    db.table("notifications").create(
        {
            "id": int,
            "alerter": str,
            "kind": str,
            "topic": str,
            "incident_id": int,
            "created_at": str,
            "payload": str,
            "status": str,
            "attempts": int,
            "next_attempt_at": str,
            "last_error": str,
            "sent_at": str,
        },
        pk="id",
        not_null={
            "alerter",
            "kind",
            "topic",
            "created_at",
            "payload",
            "status",
            "attempts",
            "next_attempt_at",
        },
        defaults={"status": "pending", "attempts": 0},
    )
    db.table("notifications").create_index(
        ["status", "next_attempt_at"], index_name="notifications_due"
    )
    db.table("messages").create(
        {"incident_id": int, "alerter": str, "ref": str},
        pk=("incident_id", "alerter"),
        not_null={"incident_id", "alerter", "ref"},
    )
    db.table("detector_state").create(
        {"topic": str, "fingerprint": str, "last_end_at": str, "state": bytes},
        pk="topic",
        not_null={"fingerprint", "last_end_at", "state"},
    )
    db.table("silences").create(
        {"id": int, "topic": str, "start_at": str, "end_at": str, "reason": str, "created_by": str},
        pk="id",
        not_null={"topic", "start_at", "end_at"},
    )


def _v2_lookup_indexes(db: sqlite_utils.Database) -> None:
    """Coalescing looks up an incident's later notifications; silences are looked up by topic."""
    db.table("notifications").create_index(
        ["incident_id", "alerter", "status"], index_name="notifications_by_incident"
    )
    db.table("silences").create_index(["topic", "end_at"], index_name="silences_by_topic")


def _v3_checks(db: sqlite_utils.Database) -> None:
    """The daemon's start-up checks (the Slack token), for ``status`` and ``/healthz``."""
    db.table("checks").create(
        {"name": str, "ok": int, "detail": str, "checked_at": str, "failing_since": str},
        pk="name",
        not_null={"ok", "detail", "checked_at"},
    )


def _v4_deleted_posts_and_replies(db: sqlite_utils.Database) -> None:
    """A post its author deleted keeps counting where it counted, but loses its text
    (``deleted_at``); replies name the post they answer (``reply_to``)."""
    db.table("mentions").add_column("deleted_at", str)
    db.table("mentions").add_column("reply_to", str)


def _v5_rate_limits(db: sqlite_utils.Database) -> None:
    """A rate limit (429 + Retry-After) holds back every notification of that alerter, across
    deliver runs and restarts."""
    db.table("rate_limits").create(
        {"alerter": str, "until_at": str, "reason": str},
        pk="alerter",
        not_null={"until_at"},
    )


def _v6_probabilities(db: sqlite_utils.Database) -> None:
    """A mention keeps the scorer's calibrated P(negative) and P(neutral) (NULL: the scorer
    gave none, it is sure of its label), and a bucket what they add up to: their sums, sums
    of squares and the sum of their products, which tell the detector how noisy the sums are
    (NULL: a bucket stored before them)."""
    mentions = db.table("mentions")
    mentions.add_column("p_negative", float)
    mentions.add_column("p_neutral", float)
    buckets = db.table("buckets")
    for column in ("p_negative", "p_neutral", "p_negative_sq", "p_neutral_sq", "p_cross"):
        buckets.add_column(column, float)


MIGRATIONS: list[Migration] = [
    _v1_tables,
    _v2_lookup_indexes,
    _v3_checks,
    _v4_deleted_posts_and_replies,
    _v5_rate_limits,
    _v6_probabilities,
]


class NewerSchema(sqlite3.DatabaseError):
    """The file was migrated by a newer release: this one would misread its tables."""


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def upgrade(db: sqlite_utils.Database) -> int:
    """Run the migrations ``db`` has not run yet; returns how many ran.

    The caller holds the transaction: a failing step leaves the file at its old version.
    """
    version = schema_version(db)
    if version > len(MIGRATIONS):
        raise NewerSchema(
            f"its schema is at version {version}, newer than this release knows "
            f"({len(MIGRATIONS)}): it was written by a newer shitstorm; upgrade, or restore a "
            "backup this release made"
        )
    for number, step in enumerate(MIGRATIONS[version:], start=version + 1):
        step(db)
        db.execute(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS) - min(version, len(MIGRATIONS))
