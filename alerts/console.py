"""Print notifications as compact, readable text blocks (``make run``, ``shitstorm demo``)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from alerts.slack_blocks import (
    FEEDBACK_LABELS,
    actor_name,
    drivers_text,
    engagement_text,
    format_clock,
    format_duration,
    headline,
    parse_at,
    percent,
    plain_source_status_text,
    severity_label,
    silence_text,
    split_text,
    truncate,
)
from monitor.models import Notification, NotificationKind

WIDTH = 88
MAX_POSTS = 3

_WHAT: Mapping[NotificationKind, str] = {
    NotificationKind.OPENED: "NEW INCIDENT",
    NotificationKind.REOPENED: "REOPENED",
    NotificationKind.FEEDBACK: "feedback",
    NotificationKind.UPDATED: "update",
    NotificationKind.SEVERITY_UP: "SEVERITY UP",
    NotificationKind.ACKNOWLEDGED: "acknowledged",
    NotificationKind.ESCALATED: "ESCALATED — not acknowledged",
    NotificationKind.RESOLVED: "resolved",
}


class ConsoleAlerter:
    """Writes one multi-line block per notification to a text stream; keeps no message ref."""

    name = "console"

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def send(
        self, notification: Notification, message_ref: str | None, *, retrying: bool
    ) -> str | None:
        self.stream.write(render(notification) + "\n")
        self.stream.flush()
        return None


def render(notification: Notification) -> str:
    """The text block for one notification, ending without a newline."""
    payload = notification.payload
    stamp = notification.created_at.strftime("%Y-%m-%d %H:%M UTC")
    if notification.kind in (NotificationKind.SOURCE_DOWN, NotificationKind.SOURCE_UP):
        mark = "!!" if notification.kind is NotificationKind.SOURCE_DOWN else "ok"
        return f"[{stamp}] {mark} {plain_source_status_text(notification.kind, payload)}"

    incident = payload.get("incident")
    incident = incident if isinstance(incident, Mapping) else {}
    what = _WHAT.get(notification.kind, str(notification.kind))
    if notification.kind is NotificationKind.OPENED and incident.get("reopened"):
        what = "REOPENED"
    lines = [f"━━ [{stamp}] {what} · incident #{incident.get('id', notification.incident_id)}",
             f"   {headline(payload)}"]
    reason = payload.get("reason")
    if isinstance(reason, str) and reason:
        lines.extend(_wrap(f"why:      {reason}", indent=13))
    lines.extend(_numbers(payload, incident))
    lines.extend(_people(payload, incident, notification.kind))
    silenced = silence_text(payload)
    if silenced:
        lines.extend(_wrap(f"silenced: {silenced}", indent=13))
    drivers = drivers_text(payload.get("drivers"), limit=6, code=False)
    if drivers:
        lines.extend(_wrap(f"driving:  {drivers}", indent=13))
    by_source = split_text(payload.get("split"), "source")
    by_lang = split_text(payload.get("split"), "lang")
    if by_source or by_lang:
        lines.append("   sources:  " + "  |  ".join(t for t in (by_source, by_lang) if t))
    if notification.kind is not NotificationKind.RESOLVED:
        lines.extend(_posts(payload.get("top_posts")))
    return "\n".join(lines)


def _numbers(payload: Mapping[str, Any], incident: Mapping[str, Any]) -> list[str]:
    current, expected = payload.get("current"), payload.get("expected")
    opened_at = parse_at(incident.get("opened_at"))
    updated_at = parse_at(incident.get("updated_at"))
    resolved = incident.get("status") == "resolved"
    if resolved:
        updated_at = parse_at(incident.get("resolved_at")) or updated_at
    lines = []
    if isinstance(current, Mapping) and not resolved:
        exp = expected if isinstance(expected, Mapping) else {}
        exp_neg = exp.get("negative")
        exp_text = f"{exp_neg:.0f}" if isinstance(exp_neg, int | float) else "?"
        lines.append(f"   now:      {current.get('negative', '?')} negative of "
                     f"{current.get('volume', '?')} posts (expected {exp_text}), "
                     f"{percent(current.get('share'))} negative "
                     f"(usual {percent(exp.get('share'))})")
    since = ""
    if opened_at:
        since = f"since {format_clock(opened_at)}"
        if updated_at:
            since += f" ({format_duration(updated_at - opened_at)})"
    trend = payload.get("trend")
    if resolved:
        trend = None
    if since or isinstance(trend, str):
        lines.append("   " + " · ".join(t for t in (since, f"trend {trend}" if trend else "") if t))
    totals = payload.get("totals")
    if resolved and isinstance(totals, Mapping):
        peak = incident.get("peak_severity")
        peak_text = f"peak {severity_label(int(peak))}, " if isinstance(peak, int) else ""
        lines.append(f"   summary:  {peak_text}{totals.get('negative', '?')} negative of "
                     f"{totals.get('volume', '?')} posts in total")
    return lines


def _people(
    payload: Mapping[str, Any], incident: Mapping[str, Any], kind: NotificationKind
) -> list[str]:
    parts = []
    if incident.get("acknowledged_by"):
        parts.append(f"acknowledged by {actor_name(incident['acknowledged_by'])} at "
                     f"{format_clock(parse_at(incident.get('acknowledged_at')))}")
    if incident.get("status") == "resolved":
        who = actor_name(incident["resolved_by"]) if incident.get("resolved_by") else "auto"
        parts.append(f"resolved by {who} at "
                     f"{format_clock(parse_at(incident.get('resolved_at')))}")
    feedback = incident.get("feedback")
    if isinstance(feedback, str) and feedback:
        parts.append(f"feedback: {FEEDBACK_LABELS.get(feedback, feedback)}")
    escalation = payload.get("escalation")
    if kind is NotificationKind.ESCALATED and isinstance(escalation, Mapping):
        parts.append(f"paging {plain_mentions(str(escalation.get('mention') or '')) or 'on-call'}")
    return _wrap(" · ".join(parts), indent=3) if parts else []


def plain_mentions(text: str) -> str:
    """Slack mention markup as a terminal reader expects it: ``<@U1>`` → ``@U1``."""
    text = re.sub(r"<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>", lambda m: f"@{m[2] or m[1]}", text)
    return re.sub(r"<[@#!]([A-Za-z0-9^]+)(?:\|([^>]*))?>", lambda m: f"@{m[2] or m[1]}", text)


def _posts(posts: Any) -> list[str]:
    if not isinstance(posts, Sequence) or not posts:
        return []
    lines = ["   top posts:"]
    for post in [p for p in posts if isinstance(p, Mapping)][:MAX_POSTS]:
        text = truncate(" ".join(str(post.get("text") or "").split()), 140)
        meta = [str(post[k]) for k in ("author", "source") if post.get(k)]
        engagement = engagement_text(post.get("engagement"))
        if engagement:
            meta.append(engagement)
        lines.extend(_wrap(f"   • “{text}”", indent=6))
        if meta or post.get("url"):
            lines.append("      " + " · ".join([*meta, str(post.get("url") or "")]).strip(" ·"))
    return lines


def _wrap(text: str, *, indent: int) -> list[str]:
    prefix = " " * indent
    first = text if text.startswith(" ") else "   " + text
    return textwrap.wrap(first, width=WIDTH, subsequent_indent=prefix,
                         drop_whitespace=True, replace_whitespace=True) or [first]
