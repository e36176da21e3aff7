"""Small formatting helpers shared by the Slack and console alerters: severity labels, times in
the topic's zone, counts, actors, posts' engagement and copies, and escaping and truncation that
keep user text within what Slack accepts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from detectors.severity import MAX_SEVERITY, SEVERITY_LABELS

# The most terms "what is driving it" names in one line.
MAX_DRIVERS: Final = 8


def severity_label(severity: int) -> str:
    """``"4/6 storm"``: the number and its name on the 0–6 scale."""
    clamped = max(0, min(MAX_SEVERITY, severity))
    return f"{clamped}/{MAX_SEVERITY} {SEVERITY_LABELS[clamped]}"


def severity_emoji(severity: int, status: str = "open") -> str:
    if status == "resolved":
        return "✅"
    if severity >= 5:
        return "🔴"
    if severity >= 3:
        return "🟠"
    return "🟡"


def parse_at(value: Any) -> datetime | None:
    """An ISO instant from the payload, or None when it is missing or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def zone_of(payload: Mapping[str, Any]) -> tzinfo:
    """The topic's time zone named in the payload (``[monitor] timezone`` or the topic's own)."""
    name = payload.get("timezone")
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


def format_duration(span: timedelta) -> str:
    """``"2h 05m"``, ``"35m"``, ``"1d 3h"``: short enough for a glance on a phone."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins:02d}m"
    return f"{mins}m"


def format_clock(at: datetime | None, zone: tzinfo = UTC) -> str:
    """``"14:10 CET"``: a time of day in ``zone``, with its abbreviation."""
    if at is None:
        return "?"
    local = at.astimezone(zone)
    return f"{local:%H:%M} {local.tzname() or 'UTC'}"


def format_day(at: datetime | None, zone: tzinfo = UTC) -> str:
    """``"Tue 10 Nov 14:10 CET"``: for instants that may lie on another day."""
    if at is None:
        return "?"
    local = at.astimezone(zone)
    return f"{local:%a %d %b} {format_clock(at, zone)}"


def percent(share: Any) -> str:
    return f"{float(share) * 100:.0f}%" if isinstance(share, int | float) else "?"


def count_text(value: Any) -> str:
    """An expected count as people read it: ``"0.4"``, ``"9"``, ``"1,250"``."""
    if not isinstance(value, int | float):
        return "?"
    if 0 < value < 9.95:
        return f"{value:.1f}".removesuffix(".0")
    return f"{value:,.0f}"


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in an ellipsis when it was cut."""
    text = " ".join(text.split()) if "\n" not in text else text
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def actor_mention(actor: Any) -> str:
    """``"U123|Name"`` → ``<@U123>`` for Slack users; a plain (escaped) name otherwise."""
    if not isinstance(actor, str) or not actor:
        return "someone"
    user_id, _, name = actor.partition("|")
    if user_id[:1] in {"U", "W"} and user_id[1:].isalnum() and user_id.isupper():
        return f"<@{user_id}>"
    return escape(name or user_id)


def actor_name(actor: Any) -> str:
    """The human-readable half of ``"U123|Name"`` (for plain text such as the console)."""
    if not isinstance(actor, str) or not actor:
        return "someone"
    user_id, _, name = actor.partition("|")
    return name or user_id


def engagement_text(engagement: Any) -> str:
    if not isinstance(engagement, Mapping):
        return ""
    icons = {
        "likes": "♥",
        "favourites": "♥",
        "reposts": "🔁",
        "reblogs": "🔁",
        "replies": "💬",
        "comments": "💬",
        "points": "▲",
        "score": "▲",
        "followers": "👥",
    }
    parts = [
        f"{icons.get(key, key)} {value}"
        for key, value in engagement.items()
        if isinstance(value, int) and value > 0
    ]
    return " ".join(parts[:5])


def copies_text(post: Mapping[str, Any]) -> str:
    """``"× 12 by 9 authors"`` for a text posted more than once, else ``""``."""
    count, authors = post.get("count"), post.get("authors")
    if not isinstance(count, int) or count < 2:
        return ""
    if isinstance(authors, int) and 1 < authors < count:
        return f"× {count} by {authors} authors"
    return f"× {count}"


def split_text(split: Any, key: str, limit: int = 6) -> str:
    counts = split.get(key) if isinstance(split, Mapping) else None
    if not isinstance(counts, Mapping) or not counts:
        return ""
    ranked = sorted(
        ((str(k), int(v)) for k, v in counts.items() if isinstance(v, int | float)),
        key=lambda kv: -kv[1],
    )
    shown = [f"{name} {count}" for name, count in ranked[:limit]]
    if len(ranked) > limit:
        shown.append(f"+{len(ranked) - limit} more")
    return " · ".join(shown)


def drivers_text(drivers: Any, limit: int = MAX_DRIVERS, *, code: bool = True) -> str:
    if not isinstance(drivers, Sequence):
        return ""
    parts = []
    for driver in list(drivers)[:limit]:
        if not isinstance(driver, Mapping) or not driver.get("term"):
            continue
        term = truncate(str(driver["term"]), 40)
        shown = "`" + escape(term).replace("`", "'") + "`" if code else term
        lift = driver.get("lift")
        count = driver.get("count")
        detail = []
        if isinstance(count, int):
            detail.append(f"{count} post{'s' if count != 1 else ''}")
        if driver.get("new"):
            detail.append("new")  # absent from the baseline: a ratio would be meaningless
        elif isinstance(lift, int | float):
            detail.append(f"{lift:.0f}× usual" if lift >= 10 else f"{lift:.1f}× usual")
        parts.append(f"{shown} ({', '.join(detail)})" if detail else shown)
    return ", ".join(parts)
