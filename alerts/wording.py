"""What an incident message says, as plain text, for the Slack and console alerters alike.

It must stay right for the whole life of the incident: the headline gives the peak and the level
now, "why it opened" keeps the opening evidence while a separate line says what it is now, and
every time is in the topic's time zone. Both alerters build their messages from these pieces, so
both say the same things.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from alerts.formatting import (
    count_text,
    format_clock,
    format_day,
    format_duration,
    parse_at,
    percent,
    severity_label,
    truncate,
    zone_of,
)
from detectors.severity import MAX_SEVERITY, SEVERITY_LABELS

# One line that makes the 0–6 scale readable where it is used (README: "How it decides").
SCALE_TEXT: Final = (
    "Severity 0–6: "
    + " · ".join(f"{i} {SEVERITY_LABELS[i]}" for i in range(1, MAX_SEVERITY + 1))
    + ". A level needs both a high ratio to the usual negative volume and enough extra posts."
)

FEEDBACK_LABELS: Final[Mapping[str, str]] = {
    "not_a_shitstorm": "Not a shitstorm",
    "expected_campaign": "Expected (campaign)",
    "confirmed_storm": "Confirmed storm",
}

# A topic name may be long; the header must still show the levels after it.
MAX_TOPIC_IN_HEADER: Final = 40


def incident_of(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The payload's ``incident`` table ({} when it has none)."""
    incident = payload.get("incident")
    return incident if isinstance(incident, Mapping) else {}


def mapping_of(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """The table under ``key`` ({} when it is missing or not a table)."""
    value = payload.get(key)
    return value if isinstance(value, Mapping) else {}


def int_of(value: Any, default: int = 0) -> int:
    """``value`` when it is a whole number (not a boolean), else ``default``."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def levels(payload: Mapping[str, Any]) -> tuple[int, int]:
    """The storm's peak and its level now (the last quarter hour sized on its own; see
    ``alerts.report``), falling back to the incident's own severity."""
    incident = incident_of(payload)
    severity = int_of(incident.get("severity"))
    now = int_of(mapping_of(payload, "recent").get("severity"), severity)
    peak = max(int_of(incident.get("peak_severity"), severity), now)
    return peak, now


def headline(payload: Mapping[str, Any]) -> str:
    """One line saying what is happening, used as header, fallback and console title:
    ``"Shitstorm on acme — peaked 4/6 storm · now 1/6 unusual chatter, easing"``."""
    incident = incident_of(payload)
    topic = truncate(str(payload.get("topic") or "?"), MAX_TOPIC_IN_HEADER)
    peak, now = levels(payload)
    if incident.get("status") == "resolved":
        return f"Resolved: {topic} — peaked {severity_label(peak)}"
    prefix = "Reopened: Shitstorm" if incident.get("reopened") else "Shitstorm"
    rising = payload.get("trend") == "rising"
    if now >= peak:
        return f"{prefix} on {topic} — {severity_label(now)}{', rising' if rising else ''}"
    if now == 0:
        return f"{prefix} on {topic} — peaked {severity_label(peak)} · now back to usual"
    phase = "rising again" if rising else "easing"
    return (
        f"{prefix} on {topic} — peaked {severity_label(peak)} · now {severity_label(now)}, {phase}"
    )


def why_lines(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``[("Why it opened (14:10 CET)", evidence then), ("Now (15:00 CET)", numbers now)]``.

    The opening evidence stays for the whole incident; "now" is left out while it is the same
    moment, and once the incident is resolved (the summary says how it ended).
    """
    zone = zone_of(payload)
    opening = mapping_of(payload, "opening")
    current = mapping_of(payload, "current")
    reason = payload.get("reason")
    reason_now = reason if isinstance(reason, str) else ""
    then = str(opening.get("reason") or "")
    lines = []
    if then:
        when = format_clock(parse_at(opening.get("end_at")), zone)
        lines.append((f"Why it opened ({when})", then))
    if incident_of(payload).get("status") == "resolved":
        return lines or ([("Why it opened", reason_now)] if reason_now else [])
    if opening and opening.get("start_at") == current.get("start_at"):
        return lines
    now = now_text(payload) or reason_now
    if now:
        when = format_clock(parse_at(current.get("end_at")), zone)
        lines.append((f"Now ({when})" if then else "What is happening", now))
    return lines


def now_text(payload: Mapping[str, Any]) -> str:
    """``"37 negative posts in the last 15 min vs 3 expected (12×); 50% negative vs 6% usual"``:
    the last quarter hour against the same expectations the detector uses."""
    recent = mapping_of(payload, "recent")
    start_at, end_at = parse_at(recent.get("start_at")), parse_at(recent.get("end_at"))
    negative, expected = recent.get("negative"), recent.get("expected")
    if not (
        start_at and end_at and isinstance(negative, int) and isinstance(expected, int | float)
    ):
        return ""
    minutes = int((end_at - start_at).total_seconds() // 60)
    span = f"{minutes} min" if minutes < 60 else format_duration(end_at - start_at)
    ratio = f" ({negative / expected:.1f}×)" if expected > 0 else ""
    text = (
        f"{negative} negative post{'s' if negative != 1 else ''} in the last {span} "
        f"vs {count_text(expected)} expected{ratio}"
    )
    usual_share = mapping_of(payload, "expected").get("share")
    if isinstance(usual_share, int | float):
        text += f"; {percent(recent.get('share'))} negative vs {percent(usual_share)} usual"
    if int_of(recent.get("severity"), -1) == 0:
        text += "; back within the usual range"
    return text


def paging_text(payload: Mapping[str, Any], mention: str | None = None, *, how: str = "") -> str:
    """What acknowledging does, and who is paged next and when, for the incident's state.

    ``mention`` is how to name on-call (Slack markup by default; the console passes plain);
    ``how`` says how to acknowledge where there is no button (the console's CLI command).
    """
    incident = incident_of(payload)
    status = incident.get("status") or "open"
    zone = zone_of(payload)
    escalation = mapping_of(payload, "escalation")
    who = mention if mention is not None else str(escalation.get("mention") or "").strip()
    who = who or "the channel"
    auto = mapping_of(payload, "auto_resolve")
    auto_at = parse_at(auto.get("at"))
    after = int_of(auto.get("after_s"))
    resolves = (
        f" It resolves itself after {format_duration(timedelta(seconds=after))} "
        f"without a new spike ({format_clock(auto_at, zone)} at the earliest)."
        if auto_at and after
        else ""
    )
    if status == "resolved":
        return ""
    if status == "acknowledged":
        return (
            "Acknowledged: nobody is paged for it any more. Resolve it when it is over, "
            f"or mark it if it was no shitstorm.{resolves}"
        )
    if mapping_of(payload, "silenced"):
        return (
            f"Acknowledge{how} to show you are on it; nobody is paged while the topic is silenced."
        )
    count, most = int_of(escalation.get("count")), int_of(escalation.get("max"), -1)
    next_at = parse_at(escalation.get("next_at"))
    if next_at is not None:
        nth = f" (escalation {count + 1} of {most})" if most > 0 else ""
        return (
            f"Acknowledge{how} to stop the paging: until someone does, {who} is paged "
            f"again at {format_clock(next_at, zone)}{nth}."
        )
    if most >= 0 and count >= most:
        sent = f"{who} was paged {count}×" if count else "nobody is paged for this topic"
        return f"Acknowledge{how} to show you are on it: {sent}, and no more pages will be sent."
    return f"Acknowledge{how} to show you are on it and stop the paging."


def silence_text(payload: Mapping[str, Any]) -> str:
    """ "Silenced until …" while a silence or planned campaign covers the topic, else ""."""
    silenced = mapping_of(payload, "silenced")
    if not silenced:
        return ""
    until = parse_at(silenced.get("until"))
    reason = silenced.get("reason")
    text = f"Silenced until {format_day(until, zone_of(payload))}" if until else "Silenced"
    if isinstance(reason, str) and reason:
        text += f" ({reason})"
    return text + ": nobody is paged until then."


def summary_lines(payload: Mapping[str, Any]) -> list[str]:
    """How a resolved incident went: how long, how bad at its peak, how many posts."""
    incident, totals = incident_of(payload), mapping_of(payload, "totals")
    zone = zone_of(payload)
    opened_at = parse_at(incident.get("opened_at"))
    resolved_at = parse_at(incident.get("resolved_at") or incident.get("updated_at"))
    lines = []
    if opened_at and resolved_at:
        lines.append(
            f"Lasted {format_duration(resolved_at - opened_at)}, "
            f"{format_day(opened_at, zone)} – {format_clock(resolved_at, zone)}"
        )
    peak, _ = levels(payload)
    peak_line = f"Peak {severity_label(peak)}"
    if isinstance(totals.get("peak_negative"), int):
        peak_line += f", {totals['peak_negative']} negative posts in one bucket"
        peak_at = parse_at(totals.get("peak_at"))
        if peak_at:
            peak_line += f" at {format_clock(peak_at, zone)}"
    lines.append(peak_line)
    if totals.get("volume") is not None:
        lines.append(f"Totals: {totals.get('negative', '?')} negative of {totals['volume']} posts")
    return lines


def top_posts(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The payload's top posts, each text once (older payloads may repeat one)."""
    seen: set[str] = set()
    posts = []
    for post in payload.get("top_posts") or []:
        if not isinstance(post, Mapping):
            continue
        key = " ".join(str(post.get("text") or "").split()).casefold()
        if key not in seen:
            seen.add(key)
            posts.append(post)
    return posts
