"""``shitstorm export``: buckets, mentions or incidents as CSV or JSON for spreadsheets.

Rows are written as they are read (mentions a day at a time), so exporting months of mentions
needs no more memory than one day of them. Times are ISO 8601 in UTC; CSV has a header row and
JSON is one array of objects with the same keys.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, TextIO

from monitor.models import Incident
from monitor.store import Store

Table = Literal["buckets", "mentions", "incidents"]
TABLES: tuple[Table, ...] = ("buckets", "mentions", "incidents")
Row = dict[str, Any]

COLUMNS: dict[Table, tuple[str, ...]] = {
    "buckets": (
        "topic",
        "start_at",
        "end_at",
        "volume",
        "negative",
        "positive",
        "negative_share",
        "complete",
        "score",
        "anomalous",
        "severity",
        "expected_negative",
        "expected_high",
        "reason",
        "p_negative",
        "p_neutral",
    ),
    "mentions": (
        "topic",
        "source",
        "id",
        "created_at",
        "lang",
        "author",
        "url",
        "sentiment",
        "label",
        "p_negative",
        "p_neutral",
        "engagement",
        "text",
    ),
    "incidents": (
        "id",
        "topic",
        "status",
        "severity",
        "current_severity",
        "opened_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "resolved_by",
        "feedback",
        "escalations",
        "reopened",
    ),
}
_MENTION_CHUNK = timedelta(days=1)


def rows(
    store: Store, table: Table, topics: Sequence[str], since: dict[str, datetime | None]
) -> Iterator[Row]:
    """The rows of ``table`` for ``topics``, each topic from its ``since`` on (None: all)."""
    for topic in topics:
        start = since.get(topic)
        if table == "buckets":
            yield from (_bucket_row(store, j) for j in store.buckets(topic, start))
        elif table == "mentions":
            yield from _mention_rows(store, topic, start)
        else:
            for incident in reversed(store.incidents(topic)):
                if start is None or (incident.resolved_at or incident.updated_at) >= start:
                    yield incident_row(incident)


def write(out: TextIO, table: Table, data: Iterable[Row], fmt: Literal["csv", "json"]) -> int:
    """Write ``data`` to ``out``; returns how many rows were written."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS[table], lineterminator="\n")
        writer.writeheader()
        for row in data:
            writer.writerow({k: _csv_value(v) for k, v in row.items()})
            count += 1
        return count
    out.write("[")
    for row in data:
        out.write(("," if count else "") + "\n  " + json.dumps(row, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def _bucket_row(store: Store, judged: Any) -> Row:
    bucket = judged.bucket
    readings = bucket.readings
    return {
        "topic": bucket.topic,
        "start_at": bucket.start_at.isoformat(),
        "end_at": bucket.end_at.isoformat(),
        "volume": bucket.volume,
        "negative": bucket.negative,
        "positive": bucket.positive,
        "negative_share": round(bucket.negative_share, 4),
        "complete": bucket.complete,
        "score": judged.score,
        "anomalous": judged.anomalous,
        "severity": judged.severity,
        "expected_negative": judged.expected_negative,
        "expected_high": judged.expected_high,
        "reason": judged.reason,
        # The expected numbers of negative and neutral mentions (sums of their probabilities);
        # empty for buckets stored before mentions kept them.
        "p_negative": _rounded(readings.negative if readings else None),
        "p_neutral": _rounded(readings.neutral if readings else None),
    }


def _mention_rows(store: Store, topic: str, start: datetime | None) -> Iterator[Row]:
    first = store.first_mention_at(topic)
    if first is None:
        return
    at = max(first, start) if start is not None else first
    last = store.last_mention_at(topic)
    assert last is not None
    while at <= last:
        for stored in store.mentions(topic, at, at + _MENTION_CHUNK):
            m = stored.mention
            yield {
                "topic": stored.topic,
                "source": m.source,
                "id": m.id,
                "created_at": m.created_at.isoformat(),
                "lang": m.lang,
                "author": m.author,
                "url": m.url,
                "sentiment": round(stored.sentiment, 4),
                "label": stored.label.value,
                # The scorer's probabilities; empty where it gave none (sure of its label).
                "p_negative": _rounded(stored.p_negative),
                "p_neutral": _rounded(stored.p_neutral),
                "engagement": dict(m.engagement),
                "text": m.text,
            }
        at += _MENTION_CHUNK


def incident_row(incident: Incident) -> Row:
    """An incident as export and ``incidents list --json`` show it."""

    def opt(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": incident.id,
        "topic": incident.topic,
        "status": incident.status.value,
        # The incident's severity is the worst it reached; the current level rides along.
        "severity": incident.peak_severity,
        "current_severity": incident.severity,
        "opened_at": incident.opened_at.isoformat(),
        "acknowledged_at": opt(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": opt(incident.resolved_at),
        "resolved_by": incident.resolved_by,
        "feedback": incident.feedback,
        "escalations": incident.escalations,
        "reopened": incident.reopened,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _csv_value(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value
