"""What an incident notification says: a full snapshot of the storm, built from the store.

Every notification carries the whole picture (numbers now vs expected, trend, top posts, what
drives it, the split by source and language, the chart series), so an alerter can render it
from that row alone and a late update can replace any earlier one.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

from alerts.drivers import find_drivers
from detectors.severity import severity
from monitor.models import Incident, IncidentStatus, Label
from monitor.settings import Settings, TopicSettings
from monitor.store import JudgedBucket, Store, StoredMention, iso

TOP_POSTS = 10
# What "now" means in a message: long enough to smooth a single bucket, short enough to show
# that a storm has eased.
NOW_SPAN = timedelta(minutes=15)
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
    opening = storm[0] if storm else None
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
    trend = _trend(storm or series)
    return {
        "topic": topic.name,
        "channel": topic.channel,
        "timezone": getattr(settings.zone(topic), "key", None) or "UTC",
        "incident": _incident(incident),
        # What the detector said of the bucket that opened the incident ("why it opened"),
        # and of the latest one ("what it is now"); buckets keep their reason for good.
        "opening": _opening(opening),
        "reason": _reason(current),
        "current": _current(current),
        "recent": _recent(series, current, settings.detection.min_negative, incident),
        "expected": _expected(current),
        "trend": trend,
        "totals": _totals(storm),
        "top_posts": [_post(group) for group in _top(negatives)],
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
            "max": settings.alerts.max_escalations,
            "every_s": int(settings.alerts.escalate_after.total_seconds()),
            "next_at": _next_page_at(settings, incident),
        },
        "auto_resolve": {
            "after_s": int(settings.alerts.resolve_after.total_seconds()),
            "at": iso(incident.last_anomaly_at + settings.alerts.resolve_after)
            if incident.is_active
            else None,
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
        "timezone": getattr(settings.zone(topic), "key", None) or "UTC",
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


def _reason(current: JudgedBucket | None) -> str:
    return (current.reason or "") if current else ""


def _opening(opening: JudgedBucket | None) -> dict[str, Any] | None:
    numbers = _current(opening)
    if opening is None or numbers is None:
        return None
    return {**numbers, "reason": opening.reason or "", "severity": opening.severity}


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


def _recent(
    series: list[JudgedBucket],
    current: JudgedBucket | None,
    min_negative: int,
    incident: Incident,
) -> dict[str, Any] | None:
    """The last ``NOW_SPAN`` up to the latest bucket: what the storm is like *now*.

    The detector sizes a storm over its most telling span, up to hours long, so its sentence
    and level stay high long after the posts have slowed down. People on call ask how it is
    now, so the message sizes the last quarter of an hour on its own, on the same scale and
    against the same expectations, and only calls it usual again when it is within the usual
    range.
    """
    if current is None:
        return None
    end_at = current.bucket.end_at
    recent = [
        j for j in series if end_at - NOW_SPAN < j.bucket.end_at <= end_at and j.bucket.complete
    ] or [current]
    negative = sum(j.bucket.negative for j in recent)
    expected = sum(j.expected_negative or 0.0 for j in recent)
    # Each bucket's usual range reaches about two standard deviations above its expectation;
    # the noise of a sum of buckets grows with the root of their squares, not with their sum.
    spread = math.sqrt(
        sum(((j.expected_high or 0.0) - (j.expected_negative or 0.0)) ** 2 for j in recent)
    )
    usual_top = expected + spread
    level = 0 if negative <= usual_top else severity(negative, expected, min_negative)
    volume = sum(j.bucket.volume for j in recent)
    return {
        "start_at": iso(recent[0].bucket.start_at),
        "end_at": iso(end_at),
        "negative": negative,
        "volume": volume,
        "expected": round(expected, 2),
        "expected_high": round(usual_top, 2),
        "share": round(negative / volume, 3) if volume else 0.0,
        # Never above the peak: the peak is the detector's measure over its longer spans.
        "severity": min(level, incident.peak_severity),
    }


def _next_page_at(settings: Settings, incident: Incident) -> str | None:
    """When on-call is paged again if nobody acknowledges (None when no page is due)."""
    if incident.status is not IncidentStatus.OPEN:
        return None
    if incident.escalations >= settings.alerts.max_escalations:
        return None
    since = incident.last_escalated_at or incident.triggered_at or incident.opened_at
    return iso(since + settings.alerts.escalate_after)


def _expected(current: JudgedBucket | None) -> dict[str, Any] | None:
    if current is None:
        return None
    return {
        "negative": current.expected_negative,
        "negative_high": current.expected_high,
        "share": current.expected_share,
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


_LINK = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_RETWEET = re.compile(r"^(?:rt\s+)?(?:@\w+:?\s+)*", re.IGNORECASE)


def same_text(text: str) -> str:
    """What makes two posts the same post: their words, without links, case, spacing or the
    "RT @someone:" of a share.

    >>> same_text("RT @kai: Nie wieder ACME!  https://t.co/x") == same_text("nie wieder acme!")
    True
    """
    words = " ".join(_LINK.sub(" ", text).split()).casefold()
    return _RETWEET.sub("", words).strip(" .!?…")


def _top(negatives: list[StoredMention]) -> list[list[StoredMention]]:
    """The most telling negative posts, each text once with all its copies: strongly negative
    first, reach breaking ties. A text copied by many is shown once, with how often."""

    def weight(stored: StoredMention) -> float:
        engagement = sum(stored.mention.engagement.values())
        return stored.sentiment - 0.1 * math.sqrt(min(engagement, 1000))

    groups: dict[str, list[StoredMention]] = {}
    for stored in sorted(negatives, key=weight):
        groups.setdefault(same_text(stored.mention.text), []).append(stored)
    # Each group's first post is its strongest; the order of the groups is the order of those.
    return list(groups.values())[:TOP_POSTS]


def _post(group: list[StoredMention]) -> dict[str, Any]:
    stored = group[0]
    mention = stored.mention
    return {
        "count": len(group),
        "authors": len({m.mention.author or f"?{i}" for i, m in enumerate(group)}),
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
