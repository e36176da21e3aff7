"""Buckets: each topic's counts per time bucket, with the detector's verdict on them.

Raw ``sqlite3``: a bucket is written and read once per bucket and topic (864,000 times in a
month of 100 topics), too often to pay for sqlite-utils' table introspection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.models import Bucket, Readings
from monitor.store.base import Connection, from_iso, instant, iso


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
    # The negative share the detector expected of it.
    expected_share: float | None = None


class BucketTables(Connection):
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
            "expected_share, reason, p_negative, p_neutral, p_negative_sq, p_neutral_sq, "
            "p_cross) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                *_stored_readings(bucket.readings),
            ),
        )

    def buckets(self, topic: str, since: datetime | None = None) -> list[JudgedBucket]:
        """The topic's stored buckets in time order, from ``since`` on."""
        rows = self.conn.execute(
            "SELECT topic, start_at, end_at, volume, negative, positive, complete, score, "
            "anomalous, severity, expected_negative, expected_high, reason, expected_share, "
            "p_negative, p_neutral, p_negative_sq, p_neutral_sq, p_cross "
            "FROM buckets WHERE topic = ? AND start_at >= ? ORDER BY start_at",
            (topic, iso(since) if since else ""),
        ).fetchall()
        return [_judged(r) for r in rows]

    def bucket_count(self, topic: str | None = None, *, complete: bool | None = None) -> int:
        """Stored buckets (of ``topic``, or all); ``complete``: only complete ones, or gaps."""
        clauses: list[str] = []
        params: list[Any] = []
        if topic is not None:
            clauses.append("topic = ?")
            params.append(topic)
        if complete is not None:
            clauses.append("complete = ?")
            params.append(int(complete))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        return int(self.conn.execute(f"SELECT count(*) FROM buckets{where}", params).fetchone()[0])


_NO_READINGS = (None,) * 5


def _stored_readings(readings: Readings | None) -> tuple[float | None, ...]:
    if readings is None:
        return _NO_READINGS
    return (
        readings.negative,
        readings.neutral,
        readings.negative_sq,
        readings.neutral_sq,
        readings.cross,
    )


def _judged(row: tuple[Any, ...]) -> JudgedBucket:
    # A bucket stored before the readings were (schema 6) has none: it reads as its labels.
    readings = None if row[14] is None else Readings(*row[14:19])
    return JudgedBucket(
        Bucket(
            row[0],
            instant(row[1]),
            instant(row[2]),
            row[3],
            row[4],
            row[5],
            bool(row[6]),
            readings,
        ),
        score=row[7],
        anomalous=bool(row[8]),
        severity=row[9],
        expected_negative=row[10],
        expected_high=row[11],
        reason=row[12],
        expected_share=row[13],
    )
