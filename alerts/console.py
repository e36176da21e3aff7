"""Print notifications as compact, readable text blocks (``make run``, ``shitstorm demo``)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from typing import Any, TextIO

from alerts.formatting import (
    actor_name,
    copies_text,
    drivers_text,
    engagement_text,
    format_clock,
    format_day,
    format_duration,
    parse_at,
    split_text,
    truncate,
    zone_of,
)
from alerts.source_status import plain_source_status_text
from alerts.wording import (
    FEEDBACK_LABELS,
    SCALE_TEXT,
    headline,
    paging_text,
    silence_text,
    summary_lines,
    top_posts,
    why_lines,
)
from monitor.models import Notification, NotificationKind

WIDTH = 88
MAX_POSTS = 3
# The notifications that page somebody explain the severity scale; the others do not repeat it.
_PAGING = frozenset(
    {NotificationKind.OPENED, NotificationKind.REOPENED, NotificationKind.SEVERITY_UP}
)

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
    """The text block for one notification, ending without a newline.

    It says what the Slack message says, in the same words (the pieces come from
    :mod:`alerts.wording` and :mod:`alerts.formatting`), laid out for a terminal.
    """
    payload = notification.payload
    zone = zone_of(payload)
    stamp = format_day(notification.created_at, zone)
    if notification.kind in (NotificationKind.SOURCE_DOWN, NotificationKind.SOURCE_UP):
        mark = "!!" if notification.kind is NotificationKind.SOURCE_DOWN else "ok"
        return f"[{stamp}] {mark} {plain_source_status_text(notification.kind, payload)}"

    incident = payload.get("incident")
    incident = incident if isinstance(incident, Mapping) else {}
    what = _WHAT.get(notification.kind, str(notification.kind))
    if notification.kind is NotificationKind.OPENED and incident.get("reopened"):
        what = "REOPENED"
    lines = [
        f"━━ [{stamp}] {what} · incident #{incident.get('id', notification.incident_id)}",
        f"   {headline(payload)}",
    ]
    resolved = incident.get("status") == "resolved"
    if resolved:
        lines.extend(_wrap(f"summary:  {'; '.join(summary_lines(payload))}", indent=13))
    for label, text in why_lines(payload):
        lines.extend(_wrap(f"{label}: {text}", indent=6))
    if not resolved:
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
    if not resolved:
        lines.extend(_posts(payload))
    if notification.kind in _PAGING:
        lines.extend(_wrap(f"({SCALE_TEXT})", indent=4))
    return "\n".join(lines)


def _numbers(payload: Mapping[str, Any], incident: Mapping[str, Any]) -> list[str]:
    zone = zone_of(payload)
    lines = []
    opened_at = parse_at(incident.get("opened_at"))
    updated_at = parse_at(incident.get("updated_at"))
    since = ""
    if opened_at:
        since = f"since {format_day(opened_at, zone)}"
        if updated_at:
            since += f" ({format_duration(updated_at - opened_at)})"
    trend = payload.get("trend")
    if since or isinstance(trend, str):
        lines.append("   " + " · ".join(t for t in (since, f"trend {trend}" if trend else "") if t))
    return lines


def _people(
    payload: Mapping[str, Any], incident: Mapping[str, Any], kind: NotificationKind
) -> list[str]:
    zone = zone_of(payload)
    parts = []
    if incident.get("acknowledged_by"):
        parts.append(
            f"acknowledged by {actor_name(incident['acknowledged_by'])} at "
            f"{format_clock(parse_at(incident.get('acknowledged_at')), zone)}"
        )
    elif incident.get("status") != "resolved":
        parts.append("not acknowledged yet")
    if incident.get("status") == "resolved":
        who = actor_name(incident["resolved_by"]) if incident.get("resolved_by") else "auto"
        parts.append(
            f"resolved by {who} at {format_clock(parse_at(incident.get('resolved_at')), zone)}"
        )
    feedback = incident.get("feedback")
    if isinstance(feedback, str) and feedback:
        parts.append(f"feedback: {FEEDBACK_LABELS.get(feedback, feedback)}")
    escalation = payload.get("escalation")
    escalation = escalation if isinstance(escalation, Mapping) else {}
    oncall = plain_mentions(str(escalation.get("mention") or ""))
    if kind is NotificationKind.ESCALATED:
        parts.append(f"paging {oncall or 'on-call'}")
    lines = _wrap(" · ".join(parts), indent=3) if parts else []
    # Where there is no button, say which command does what the button does.
    incident_id = incident.get("id")
    how = f" (shitstorm incidents ack {incident_id} --by NAME)" if incident_id is not None else ""
    paging = paging_text(payload, oncall or "on-call", how=how)
    if paging:
        lines.extend(_wrap(f"→ {paging}", indent=5))
    return lines


def plain_mentions(text: str) -> str:
    """Slack mention markup as a terminal reader expects it: ``<@U1>`` → ``@U1``."""
    text = re.sub(r"<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>", lambda m: f"@{m[2] or m[1]}", text)
    return re.sub(r"<[@#!]([A-Za-z0-9^]+)(?:\|([^>]*))?>", lambda m: f"@{m[2] or m[1]}", text)


def _posts(payload: Mapping[str, Any]) -> list[str]:
    posts = top_posts(payload)
    if not posts:
        return []
    zone = zone_of(payload)
    lines = ["   top posts:"]
    for post in posts[:MAX_POSTS]:
        text = truncate(" ".join(str(post.get("text") or "").split()), 140)
        meta = [copies_text(post)] + [str(post[k]) for k in ("author", "source") if post.get(k)]
        created_at = parse_at(post.get("created_at"))
        if created_at:
            meta.append(format_clock(created_at, zone))
        meta.append(engagement_text(post.get("engagement")))
        meta.append(str(post.get("url") or ""))
        lines.extend(_wrap(f"   • “{text}”", indent=6))
        shown = " · ".join(m for m in meta if m)
        if shown:
            lines.extend(_wrap(f"      {shown}", indent=6))
    return lines


def _wrap(text: str, *, indent: int) -> list[str]:
    prefix = " " * indent
    first = text if text.startswith(" ") else "   " + text
    return textwrap.wrap(
        first, width=WIDTH, subsequent_indent=prefix, drop_whitespace=True, replace_whitespace=True
    ) or [first]
