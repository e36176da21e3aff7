"""What an incident notification says: a full snapshot of the storm, built from the store.

Every notification carries the whole picture (numbers now vs expected, trend, top posts, what
drives it, the split by source and language, the chart series), so an alerter can render it
from that row alone and a late update can replace any earlier one.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from alerts.drivers import find_drivers
from monitor.models import Incident, Label
from monitor.settings import Settings, TopicSettings
from monitor.store import JudgedBucket, Store, StoredMention, iso

TOP_POSTS = 10
CHART_SPAN = timedelta(hours=24)
# Buckets before the storm that form the "usual" vocabulary for the drivers.
BASELINE_SPAN = timedelta(days=7)
BASELINE_GAP = timedelta(hours=1)
TEXT_LIMIT = 2000
# Enough posts to rank terms reliably while keeping a notification cheap to build.
STORM_SAMPLE = 300
BASELINE_SAMPLE = 1500


def incident_payload(
    store: Store,
    settings: Settings,
    topic: TopicSettings,
    incident: Incident,
    now: datetime,
    *,
    actor: str | None = None,
) -> dict[str, Any]:
    storm_start = incident.triggered_at or incident.opened_at
    storm_start = min(storm_start, incident.opened_at)
    storm_end = incident.resolved_at or now
    series = store.buckets(topic.name, min(now - CHART_SPAN, storm_start - timedelta(hours=2)))
    storm = [j for j in series if incident.opened_at <= j.bucket.start_at < storm_end]
    current = storm[-1] if storm else (series[-1] if series else None)
    negatives = store.mentions(
        topic.name,
        incident.opened_at,
        storm_end,
        label=Label.NEGATIVE,
        order="most_negative",
        limit=STORM_SAMPLE,
        include_deleted=False,
    )
    # The baseline ends a while before the first flagged bucket: a storm builds up before the
    # detector is sure, and its first posts must not count as "usual".
    baseline_end = incident.opened_at - BASELINE_GAP
    baseline = store.texts(topic.name, baseline_end - BASELINE_SPAN, baseline_end, BASELINE_SAMPLE)
    return {
        "topic": topic.name,
        "channel": topic.channel,
        "incident": _incident(incident),
        "reason": _reason(store, topic.name, current),
        "current": _current(current),
        "expected": _expected(store, topic.name, current),
        "trend": _trend(storm or series),
        "totals": _totals(storm),
        "top_posts": [_post(s) for s in _top(negatives)],
        "drivers": [
            driver.as_dict()
            for driver in find_drivers(
                [s.mention.text for s in negatives],
                baseline,
                # The topic's own names are in every post; they drive nothing.
                exclude=topic.terms,
            )
        ],
        "split": {
            "source": store.split(topic.name, incident.opened_at, storm_end, "source"),
            "lang": store.split(topic.name, incident.opened_at, storm_end, "lang"),
        },
        "series": [_point(j) for j in series],
        "escalation": {
            "mention": " ".join(_mention(o) for o in settings.slack.oncall)
            if settings.slack
            else "",
            "count": incident.escalations,
        },
        "actor": actor,
    }


def source_payload(
    settings: Settings,
    topic: TopicSettings,
    source: str,
    error: str | None,
    since: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "topic": topic.name,
        "source": source,
        "error": error,
        "since": iso(since) if since else None,
        "at": iso(now),
        "channel": topic.channel,
    }


def _incident(incident: Incident) -> dict[str, Any]:
    def opt(value: datetime | None) -> str | None:
        return iso(value) if value else None

    return {
        "id": incident.id,
        "status": incident.status.value,
        "severity": incident.severity,
        "peak_severity": incident.peak_severity,
        "opened_at": iso(incident.opened_at),
        "updated_at": iso(incident.updated_at),
        "acknowledged_at": opt(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": opt(incident.resolved_at),
        "resolved_by": incident.resolved_by,
        "feedback": incident.feedback,
        "reopened": incident.reopened > 0,
        "escalations": incident.escalations,
    }


def _reason(store: Store, topic: str, current: JudgedBucket | None) -> str:
    if current is None:
        return ""
    row = next(
        store.each(
            "SELECT reason FROM buckets WHERE topic = ? AND start_at = ?",
            (topic, iso(current.bucket.start_at)),
        ),
        None,
    )
    return str(row[0]) if row and row[0] else ""


def _current(current: JudgedBucket | None) -> dict[str, Any] | None:
    if current is None:
        return None
    bucket = current.bucket
    return {
        "start_at": iso(bucket.start_at),
        "end_at": iso(bucket.end_at),
        "volume": bucket.volume,
        "negative": bucket.negative,
        "share": round(bucket.negative_share, 3),
    }


def _expected(store: Store, topic: str, current: JudgedBucket | None) -> dict[str, Any] | None:
    if current is None:
        return None
    row = next(
        store.each(
            "SELECT expected_share FROM buckets WHERE topic = ? AND start_at = ?",
            (topic, iso(current.bucket.start_at)),
        ),
        None,
    )
    return {
        "negative": current.expected_negative,
        "negative_high": current.expected_high,
        "share": row[0] if row else None,
    }


def _trend(series: list[JudgedBucket]) -> str:
    """Compare the last three buckets' negative volume with the three before them."""
    recent = [j.bucket.negative for j in series[-3:]]
    before = [j.bucket.negative for j in series[-6:-3]]
    if not recent or not before:
        return "steady"
    now, then = sum(recent) / len(recent), sum(before) / len(before)
    if now > then * 1.25 + 1:
        return "rising"
    if now < then * 0.8 - 1:
        return "falling"
    return "steady"


def _totals(storm: list[JudgedBucket]) -> dict[str, Any]:
    if not storm:
        return {"volume": 0, "negative": 0, "peak_negative": 0, "peak_at": None}
    peak = max(storm, key=lambda j: j.bucket.negative)
    return {
        "volume": sum(j.bucket.volume for j in storm),
        "negative": sum(j.bucket.negative for j in storm),
        "peak_negative": peak.bucket.negative,
        "peak_at": iso(peak.bucket.start_at),
    }


def _top(negatives: list[StoredMention]) -> list[StoredMention]:
    """The most telling negative posts: strongly negative first, reach breaking ties."""

    def weight(stored: StoredMention) -> float:
        engagement = sum(stored.mention.engagement.values())
        return stored.sentiment - 0.1 * math.sqrt(min(engagement, 1000))

    return sorted(negatives, key=weight)[:TOP_POSTS]


def _post(stored: StoredMention) -> dict[str, Any]:
    mention = stored.mention
    return {
        "text": mention.text[:TEXT_LIMIT],
        "author": mention.author,
        "source": mention.source,
        "url": mention.url,
        "created_at": iso(mention.created_at),
        "lang": mention.lang,
        "sentiment": round(stored.sentiment, 3),
        "engagement": dict(mention.engagement),
        "reply_to": mention.reply_to,
    }


def _point(judged: JudgedBucket) -> dict[str, Any]:
    bucket = judged.bucket
    return {
        "start_at": iso(bucket.start_at),
        "volume": bucket.volume,
        "negative": bucket.negative,
        "expected": judged.expected_negative,
        "expected_high": judged.expected_high,
        "anomalous": judged.anomalous,
        "complete": bucket.complete,
    }


def _mention(oncall: str) -> str:
    """Slack mention syntax for a user ("U…"/"W…") or a user group ("S…")."""
    if oncall.startswith("<"):
        return oncall
    if oncall.startswith("S"):
        return f"<!subteam^{oncall}>"
    return f"<@{oncall}>"
