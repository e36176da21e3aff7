"""The channel messages saying a source stopped or resumed answering, with Slack markup and
without (the console, and Slack's plain-text fallback)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alerts.formatting import escape, format_clock, format_day, parse_at, truncate, zone_of
from monitor.models import NotificationKind


def source_status_text(kind: NotificationKind, payload: Mapping[str, Any]) -> str:
    """A plain channel message saying a source stopped or resumed answering."""
    topic = escape(str(payload.get("topic") or "?"))
    source = escape(str(payload.get("source") or "?"))
    since = format_day(parse_at(payload.get("since")), zone_of(payload))
    if kind is NotificationKind.SOURCE_DOWN:
        error = escape(truncate(str(payload.get("error") or "no answer"), 500))
        return (
            f"⚠️ Source *{source}* for topic *{topic}* is failing since {since}: {error}. "
            "The monitor is blind there and will not alert on it until it recovers."
        )
    return f"🟢 Source *{source}* for topic *{topic}* is back (it had failed since {since})."


def plain_source_status_text(kind: NotificationKind, payload: Mapping[str, Any]) -> str:
    """The same as :func:`source_status_text`, without Slack markup."""
    topic, source = payload.get("topic") or "?", payload.get("source") or "?"
    since = format_clock(parse_at(payload.get("since")), zone_of(payload))
    if kind is NotificationKind.SOURCE_DOWN:
        return (
            f"Source {source} for topic {topic} is failing since {since}: "
            f"{truncate(str(payload.get('error') or 'no answer'), 500)}"
        )
    return f"Source {source} for topic {topic} is back (failing since {since})"
