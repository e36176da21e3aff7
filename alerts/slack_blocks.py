"""Render a notification payload as a Slack message: Block Kit blocks plus a plain-text fallback.

One incident is one message, re-rendered in full from the latest payload snapshot each time it
changes (which is what lets the outbox coalesce updates). It must stay right for the whole life
of the incident: the header gives the peak and the level now, "why it opened" keeps the opening
evidence while a separate line says what it is now, and every time is in the topic's time zone.

Every piece of user text is escaped and truncated so that any payload stays within Slack's
Block Kit limits: at most 50 blocks, header ≤ 150 characters, section text ≤ 3,000, ≤ 10
fields of ≤ 2,000, ≤ 10 context elements, button text ≤ 75 and value ≤ 2,000.

The pieces that say something (headline, "why", the numbers, what acknowledging does) are
plain-text functions shared with the console alerter, so both say the same things.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from detectors.severity import MAX_SEVERITY, SEVERITY_LABELS
from monitor.models import NotificationKind

Block = dict[str, Any]

# One line that makes the 0–6 scale readable where it is used (README: "How it decides").
SCALE_TEXT: Final = (
    "Severity 0–6: " + " · ".join(f"{i} {SEVERITY_LABELS[i]}" for i in range(1, MAX_SEVERITY + 1))
    + ". A level needs both a high ratio to the usual negative volume and enough extra posts."
)

# Stable action ids: interactions.parse_action maps them back; the Slack app keys on them.
ACTION_IDS: Final[Mapping[str, str]] = {
    "acknowledge": "shitstorm_acknowledge",
    "resolve": "shitstorm_resolve",
    "not_a_shitstorm": "shitstorm_not_a_shitstorm",
    "expected_campaign": "shitstorm_expected_campaign",
}
ACTIONS_BLOCK_ID: Final = "shitstorm_incident_actions"
METADATA_EVENT_TYPE: Final = "shitstorm_incident"
FEEDBACK_LABELS: Final[Mapping[str, str]] = {
    "not_a_shitstorm": "Not a shitstorm",
    "expected_campaign": "Expected (campaign)",
    "confirmed_storm": "Confirmed storm",
}

MAX_BLOCKS: Final = 50
MAX_SECTION_TEXT: Final = 3000
MAX_HEADER_TEXT: Final = 150
MAX_FIELD_TEXT: Final = 2000
MAX_CONTEXT_ELEMENTS: Final = 10
MAX_FALLBACK_TEXT: Final = 3000  # far below Slack's 40,000: it is a notification preview
MAX_POSTS: Final = 5
MAX_EXCERPT: Final = 280
MAX_DRIVERS: Final = 8
# A topic name may be long; the header must still show the levels after it.
MAX_TOPIC_IN_HEADER: Final = 40

TREND_ARROWS: Final[Mapping[str, str]] = {"rising": "↗ rising", "steady": "→ steady",
                                          "falling": "↘ falling"}


# -- small formatting helpers (shared with the console alerter) -------------------------------


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
    icons = {"likes": "♥", "favourites": "♥", "reposts": "🔁", "reblogs": "🔁", "replies": "💬",
             "comments": "💬", "points": "▲", "score": "▲", "followers": "👥"}
    parts = [f"{icons.get(key, key)} {value}" for key, value in engagement.items()
             if isinstance(value, int) and value > 0]
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
    ranked = sorted(((str(k), int(v)) for k, v in counts.items() if isinstance(v, int | float)),
                    key=lambda kv: -kv[1])
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


# -- what the message says, as plain text (Slack and console alike) ---------------------------


def _incident(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    incident = payload.get("incident")
    return incident if isinstance(incident, Mapping) else {}


def _mapping(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload.get(key)
    return value if isinstance(value, Mapping) else {}


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def levels(payload: Mapping[str, Any]) -> tuple[int, int]:
    """The storm's peak and its level now (the last quarter hour sized on its own; see
    ``alerts.report``), falling back to the incident's own severity."""
    incident = _incident(payload)
    severity = _int(incident.get("severity"))
    now = _int(_mapping(payload, "recent").get("severity"), severity)
    peak = max(_int(incident.get("peak_severity"), severity), now)
    return peak, now


def headline(payload: Mapping[str, Any]) -> str:
    """One line saying what is happening, used as header, fallback and console title:
    ``"Shitstorm on acme — peaked 4/6 storm · now 1/6 unusual chatter, easing"``."""
    incident = _incident(payload)
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
    return (f"{prefix} on {topic} — peaked {severity_label(peak)} · "
            f"now {severity_label(now)}, {phase}")


def why_lines(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``[("Why it opened (14:10 CET)", evidence then), ("Now (15:00 CET)", numbers now)]``.

    The opening evidence stays for the whole incident; "now" is left out while it is the same
    moment, and once the incident is resolved (the summary says how it ended).
    """
    zone = zone_of(payload)
    opening = _mapping(payload, "opening")
    current = _mapping(payload, "current")
    reason = payload.get("reason")
    reason_now = reason if isinstance(reason, str) else ""
    then = str(opening.get("reason") or "")
    lines = []
    if then:
        when = format_clock(parse_at(opening.get("end_at")), zone)
        lines.append((f"Why it opened ({when})", then))
    if _incident(payload).get("status") == "resolved":
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
    recent = _mapping(payload, "recent")
    start_at, end_at = parse_at(recent.get("start_at")), parse_at(recent.get("end_at"))
    negative, expected = recent.get("negative"), recent.get("expected")
    if not (start_at and end_at and isinstance(negative, int)
            and isinstance(expected, int | float)):
        return ""
    minutes = int((end_at - start_at).total_seconds() // 60)
    span = f"{minutes} min" if minutes < 60 else format_duration(end_at - start_at)
    ratio = f" ({negative / expected:.1f}×)" if expected > 0 else ""
    text = (f"{negative} negative post{'s' if negative != 1 else ''} in the last {span} "
            f"vs {count_text(expected)} expected{ratio}")
    usual_share = _mapping(payload, "expected").get("share")
    if isinstance(usual_share, int | float):
        text += f"; {percent(recent.get('share'))} negative vs {percent(usual_share)} usual"
    if _int(recent.get("severity"), -1) == 0:
        text += "; back within the usual range"
    return text


def paging_text(payload: Mapping[str, Any], mention: str | None = None, *,
                how: str = "") -> str:
    """What acknowledging does, and who is paged next and when, for the incident's state.

    ``mention`` is how to name on-call (Slack markup by default; the console passes plain);
    ``how`` says how to acknowledge where there is no button (the console's CLI command).
    """
    incident = _incident(payload)
    status = incident.get("status") or "open"
    zone = zone_of(payload)
    escalation = _mapping(payload, "escalation")
    who = mention if mention is not None else str(escalation.get("mention") or "").strip()
    who = who or "the channel"
    auto = _mapping(payload, "auto_resolve")
    auto_at = parse_at(auto.get("at"))
    after = _int(auto.get("after_s"))
    resolves = (f" It resolves itself after {format_duration(timedelta(seconds=after))} "
                f"without a new spike ({format_clock(auto_at, zone)} at the earliest)."
                if auto_at and after else "")
    if status == "resolved":
        return ""
    if status == "acknowledged":
        return ("Acknowledged: nobody is paged for it any more. Resolve it when it is over, "
                f"or mark it if it was no shitstorm.{resolves}")
    if _mapping(payload, "silenced"):
        return (f"Acknowledge{how} to show you are on it; nobody is paged while the topic is "
                "silenced.")
    count, most = _int(escalation.get("count")), _int(escalation.get("max"), -1)
    next_at = parse_at(escalation.get("next_at"))
    if next_at is not None:
        nth = f" (escalation {count + 1} of {most})" if most > 0 else ""
        return (f"Acknowledge{how} to stop the paging: until someone does, {who} is paged "
                f"again at {format_clock(next_at, zone)}{nth}.")
    if most >= 0 and count >= most:
        sent = f"{who} was paged {count}×" if count else "nobody is paged for this topic"
        return f"Acknowledge{how} to show you are on it: {sent}, and no more pages will be sent."
    return f"Acknowledge{how} to show you are on it and stop the paging."


def silence_text(payload: Mapping[str, Any]) -> str:
    """"Silenced until …" while a silence or planned campaign covers the topic, else ""."""
    silenced = _mapping(payload, "silenced")
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
    incident, totals = _incident(payload), _mapping(payload, "totals")
    zone = zone_of(payload)
    opened_at = parse_at(incident.get("opened_at"))
    resolved_at = parse_at(incident.get("resolved_at") or incident.get("updated_at"))
    lines = []
    if opened_at and resolved_at:
        lines.append(f"Lasted {format_duration(resolved_at - opened_at)}, "
                     f"{format_day(opened_at, zone)} – {format_clock(resolved_at, zone)}")
    peak, _ = levels(payload)
    peak_line = f"Peak {severity_label(peak)}"
    if isinstance(totals.get("peak_negative"), int):
        peak_line += f", {totals['peak_negative']} negative posts in one bucket"
        peak_at = parse_at(totals.get("peak_at"))
        if peak_at:
            peak_line += f" at {format_clock(peak_at, zone)}"
    lines.append(peak_line)
    if totals.get("volume") is not None:
        lines.append(f"Totals: {totals.get('negative', '?')} negative of "
                     f"{totals['volume']} posts")
    return lines


# -- the incident message ---------------------------------------------------------------------


def _mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, str]:
    return {"type": "mrkdwn", "text": truncate(text, limit) or " "}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit) or " ", "emoji": True}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(*texts: str) -> Block:
    elements = [_mrkdwn(t) for t in texts if t][:MAX_CONTEXT_ELEMENTS]
    return {"type": "context", "elements": elements or [_mrkdwn(" ")]}


def _facts(payload: Mapping[str, Any]) -> list[dict[str, str]]:
    incident = _incident(payload)
    zone = zone_of(payload)
    fields = []
    opened_at = parse_at(incident.get("opened_at"))
    updated_at = parse_at(incident.get("updated_at"))
    if opened_at:
        lasted = f" · for {format_duration(updated_at - opened_at)}" if updated_at else ""
        fields.append(f"*Since*\n{format_day(opened_at, zone)}{lasted}")
    trend = payload.get("trend")
    if isinstance(trend, str):
        fields.append(f"*Trend*\n{TREND_ARROWS.get(trend, escape(trend))}")
    return [_mrkdwn(f, MAX_FIELD_TEXT) for f in fields]


def _status_line(payload: Mapping[str, Any]) -> str:
    incident = _incident(payload)
    zone = zone_of(payload)
    parts = []
    if incident.get("acknowledged_by"):
        when = format_clock(parse_at(incident.get("acknowledged_at")), zone)
        parts.append(f"👀 Acknowledged by {actor_mention(incident['acknowledged_by'])} at {when}")
    elif incident.get("status") != "resolved":
        parts.append("⏳ Not acknowledged yet")
    if incident.get("resolved_by") or incident.get("status") == "resolved":
        when = format_clock(parse_at(incident.get("resolved_at")), zone)
        who = actor_mention(incident.get("resolved_by")) if incident.get("resolved_by") else "auto"
        parts.append(f"✅ Resolved by {who} at {when}")
    feedback = incident.get("feedback")
    if isinstance(feedback, str) and feedback:
        parts.append(f"🏷 Feedback: {escape(FEEDBACK_LABELS.get(feedback, feedback))}")
    escalations = incident.get("escalations")
    if isinstance(escalations, int) and escalations > 0:
        parts.append(f"📣 Escalated {escalations}×")
    return " · ".join(parts)


def _post_block(post: Mapping[str, Any], zone: tzinfo) -> Block:
    excerpt = escape(truncate(str(post.get("text") or ""), MAX_EXCERPT))
    quoted = "\n".join(f"> {line}" for line in excerpt.splitlines() or [""])
    meta = []
    copies = copies_text(post)
    if copies:
        meta.append(f"*{copies}*")
    if post.get("author"):
        meta.append(escape(truncate(str(post["author"]), 60)))
    if post.get("source"):
        meta.append(escape(truncate(str(post["source"]), 40)))
    if post.get("lang"):
        meta.append(escape(str(post["lang"])[:8]))
    created_at = parse_at(post.get("created_at"))
    if created_at:
        meta.append(format_clock(created_at, zone))
    engagement = engagement_text(post.get("engagement"))
    if engagement:
        meta.append(engagement)
    url = post.get("url")
    if isinstance(url, str) and url.startswith(("https://", "http://")) and len(url) < 1000:
        meta.append(f"<{url.replace('|', '%7C').replace('>', '%3E')}|open>")
    return _section(f"{quoted}\n— {' · '.join(meta)}" if meta else quoted)


def _action_buttons(payload: Mapping[str, Any]) -> Block | None:
    incident = _incident(payload)
    incident_id = incident.get("id")
    status = incident.get("status")
    if incident_id is None:
        return None
    value = truncate(str(incident_id), 2000)
    buttons: list[Block] = []

    def button(action: str, label: str, style: str | None = None) -> Block:
        element: Block = {"type": "button", "action_id": ACTION_IDS[action],
                          "text": _plain(label, 75), "value": value}
        if style:
            element["style"] = style
        return element

    if status == "open":
        buttons.append(button("acknowledge", "👀 Acknowledge", "primary"))
    if status in ("open", "acknowledged"):
        resolve = button("resolve", "✅ Resolve")
        resolve["confirm"] = {
            "title": _plain("Resolve this incident?", 100),
            "text": _plain("The message turns into a summary. New spikes reopen it.", 300),
            "confirm": _plain("Resolve", 30),
            "deny": _plain("Cancel", 30),
        }
        buttons.append(resolve)
    if not incident.get("feedback"):
        buttons.append(button("not_a_shitstorm", "🙅 Not a shitstorm"))
        buttons.append(button("expected_campaign", "📢 Expected (campaign)"))
    if not buttons:
        return None
    return {"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": buttons}


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


def incident_blocks(payload: Mapping[str, Any]) -> list[Block]:
    """The whole incident message for the latest payload snapshot, within Slack's limits."""
    incident = _incident(payload)
    status = str(incident.get("status") or "open")
    peak, _ = levels(payload)
    zone = zone_of(payload)
    emoji = severity_emoji(peak, status)
    blocks: list[Block] = [
        {"type": "header", "text": _plain(f"{emoji} {headline(payload)}", MAX_HEADER_TEXT)},
    ]
    if status == "resolved":
        blocks.append(_section("\n".join(f"*{line}*" if i == 0 else line
                                         for i, line in enumerate(summary_lines(payload)))))
    why = why_lines(payload)
    if why:
        blocks.append(_section("\n".join(f"*{label}:* {escape(text)}" for label, text in why)))
    if status != "resolved":
        facts = _facts(payload)
        if facts:
            blocks.append({"type": "section", "fields": facts})
    status_line = _status_line(payload)
    paging = paging_text(payload)
    if status_line or paging:
        blocks.append(_context(*(t for t in (status_line, paging) if t)))
    silenced = silence_text(payload)
    if silenced:
        blocks.append(_context(f"🔕 {escape(silenced)}"))
    # Buttons come before the details, so on-call can act without scrolling on a phone.
    actions = _action_buttons(payload)
    if actions is not None:
        blocks.append(actions)

    drivers = drivers_text(payload.get("drivers"))
    if drivers:
        blocks.append(_section(f"*What is driving it:* {drivers}"))
    split = payload.get("split")
    by_source, by_lang = split_text(split, "source"), split_text(split, "lang")
    if by_source or by_lang:
        blocks.append(_context(*(t for t in (
            f"*Sources:* {escape(by_source)}" if by_source else "",
            f"*Languages:* {escape(by_lang)}" if by_lang else "") if t)))

    posts = top_posts(payload)
    shown = posts[: 3 if status == "resolved" else MAX_POSTS]
    if shown:
        blocks.append({"type": "divider"})
        blocks.append(_section(f"*Top negative posts* ({len(shown)} of {len(posts)})"
                               if len(posts) > len(shown) else "*Top negative posts*"))
        blocks.extend(_post_block(p, zone) for p in shown)

    incident_id = incident.get("id")
    blocks.append(_context(
        f"Incident #{escape(truncate(str(incident_id), 20))} · "
        f"topic `{escape(truncate(str(payload.get('topic') or '?'), 80))}` · "
        f"updated {format_clock(parse_at(incident.get('updated_at')), zone)}",
        SCALE_TEXT,
    ))
    # The structure above has at most ~17 blocks; the cap is a guard, not a layout tool.
    return blocks[:MAX_BLOCKS]


def incident_text(payload: Mapping[str, Any]) -> str:
    """The plain-text fallback: what notifications on phones and screen readers show."""
    parts = [headline(payload)]
    why = why_lines(payload)
    if why:
        parts.append(why[-1][1])
    incident = _incident(payload)
    if incident.get("acknowledged_by") and incident.get("status") != "resolved":
        parts.append(f"acknowledged by {actor_name(incident['acknowledged_by'])}")
    return truncate(" — ".join(parts), MAX_FALLBACK_TEXT)


# -- thread replies and plain channel messages ------------------------------------------------


def thread_reply_text(kind: NotificationKind, payload: Mapping[str, Any]) -> str | None:
    """The short thread note for what deserves attention, or None for quiet updates."""
    text = _thread_reply_text(kind, payload)
    return None if text is None else truncate(text, MAX_SECTION_TEXT)


def _thread_reply_text(kind: NotificationKind, payload: Mapping[str, Any]) -> str | None:
    incident = _incident(payload)
    peak, now = levels(payload)
    actor = actor_mention(payload.get("actor"))
    reason = payload.get("reason")
    reason_text = f"\n{escape(str(reason))}" if isinstance(reason, str) and reason else ""
    if kind is NotificationKind.REOPENED or (
        kind is NotificationKind.OPENED and incident.get("reopened")
    ):
        return f"🔁 *Reopened* at severity {severity_label(now)}.{reason_text}"
    if kind is NotificationKind.SEVERITY_UP:
        return f"⬆️ *Severity up* to {severity_label(peak)}.{reason_text}"
    if kind is NotificationKind.ESCALATED:
        escalation = _mapping(payload, "escalation")
        mention = str(escalation.get("mention") or "").strip()
        count = escalation.get("count")
        nth = f" (escalation {count})" if isinstance(count, int) else ""
        who = f"{mention} " if mention else ""
        level = (severity_label(now) if now >= peak
                 else f"{severity_label(now)} (peaked {severity_label(peak)})")
        return (f"📣 {who}*Still not acknowledged*{nth}: severity {level}. Please take a look."
                f"{reason_text}\n_{paging_text(payload, mention or None)}_")
    if kind is NotificationKind.ACKNOWLEDGED:
        return f"👀 {actor} is on it."
    if kind is NotificationKind.RESOLVED:
        opened_at = parse_at(incident.get("opened_at"))
        resolved_at = parse_at(incident.get("resolved_at") or incident.get("updated_at"))
        lasted = (f" after {format_duration(resolved_at - opened_at)}"
                  if opened_at and resolved_at else "")
        who = f" by {actor}" if payload.get("actor") else ""
        feedback = incident.get("feedback")
        label = (f" Marked *{escape(FEEDBACK_LABELS.get(str(feedback), str(feedback)))}*."
                 if feedback else "")
        return f"✅ *Resolved*{who}{lasted}. Peak {severity_label(peak)}.{label}"
    return None


def source_status_text(kind: NotificationKind, payload: Mapping[str, Any]) -> str:
    """A plain channel message saying a source stopped or resumed answering."""
    topic = escape(str(payload.get("topic") or "?"))
    source = escape(str(payload.get("source") or "?"))
    since = format_day(parse_at(payload.get("since")), zone_of(payload))
    if kind is NotificationKind.SOURCE_DOWN:
        error = escape(truncate(str(payload.get("error") or "no answer"), 500))
        return (f"⚠️ Source *{source}* for topic *{topic}* is failing since {since}: {error}. "
                "The monitor is blind there and will not alert on it until it recovers.")
    return f"🟢 Source *{source}* for topic *{topic}* is back (it had failed since {since})."


def plain_source_status_text(kind: NotificationKind, payload: Mapping[str, Any]) -> str:
    """The same as :func:`source_status_text`, without Slack markup."""
    topic, source = payload.get("topic") or "?", payload.get("source") or "?"
    since = format_clock(parse_at(payload.get("since")), zone_of(payload))
    if kind is NotificationKind.SOURCE_DOWN:
        return (f"Source {source} for topic {topic} is failing since {since}: "
                f"{truncate(str(payload.get('error') or 'no answer'), 500)}")
    return f"Source {source} for topic {topic} is back (failing since {since})"
