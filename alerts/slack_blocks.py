"""Render a notification payload as a Slack message: Block Kit blocks plus a plain-text fallback.

One incident is one message, re-rendered in full from the latest payload snapshot each time it
changes (which is what lets the outbox coalesce updates). Every piece of user text is escaped
and truncated so that any payload stays within Slack's limits: at most 50 blocks, section text
≤ 3,000 characters, header ≤ 150, field ≤ 2,000, button text ≤ 75.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from monitor.models import NotificationKind

Block = dict[str, Any]

# The 0–6 "Shitstorm-Skala" of Graf & Schwede (2012), whose levels are named after wind forces.
SEVERITY_NAMES: Final[tuple[str, ...]] = (
    "calm",
    "light breeze",
    "fresh breeze",
    "strong wind",
    "storm",
    "violent storm",
    "hurricane",
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

TREND_ARROWS: Final[Mapping[str, str]] = {"rising": "↗ rising", "steady": "→ steady",
                                          "falling": "↘ falling"}


# -- small formatting helpers (shared with the console alerter) -------------------------------


def severity_label(severity: int) -> str:
    """``"5/6 violent storm"``: the number and its name on the 0–6 scale."""
    clamped = max(0, min(6, severity))
    return f"{clamped}/6 {SEVERITY_NAMES[clamped]}"


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
        return datetime.fromisoformat(value)
    except ValueError:
        return None


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


def format_clock(at: datetime | None) -> str:
    return at.strftime("%H:%M UTC") if at else "?"


def percent(share: Any) -> str:
    return f"{float(share) * 100:.0f}%" if isinstance(share, int | float) else "?"


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


def slack_date(at: datetime | None, fmt: str = "{time}") -> str:
    """A ``<!date>`` token: Slack shows it in the reader's own time zone, with a UTC fallback."""
    if at is None:
        return "?"
    return f"<!date^{int(at.timestamp())}^{fmt}|{format_clock(at)}>"


def engagement_text(engagement: Any) -> str:
    if not isinstance(engagement, Mapping):
        return ""
    icons = {"likes": "♥", "favourites": "♥", "reposts": "🔁", "reblogs": "🔁", "replies": "💬",
             "comments": "💬", "points": "▲", "score": "▲", "followers": "👥"}
    parts = [f"{icons.get(key, key)} {value}" for key, value in engagement.items()
             if isinstance(value, int) and value > 0]
    return " ".join(parts[:5])


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


def _incident(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    incident = payload.get("incident")
    return incident if isinstance(incident, Mapping) else {}


def _mapping(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload.get(key)
    return value if isinstance(value, Mapping) else {}


def headline(payload: Mapping[str, Any]) -> str:
    """One line saying what is happening, used as header, fallback and console title."""
    incident = _incident(payload)
    topic = str(payload.get("topic") or "?")
    status = str(incident.get("status") or "open")
    severity = int(incident.get("severity") or 0)
    if status == "resolved":
        peak = int(incident.get("peak_severity") or severity)
        return f"Resolved: {topic} — peaked at {severity_label(peak)}"
    prefix = "Reopened: " if incident.get("reopened") else ""
    return f"{prefix}Shitstorm on {topic} — severity {severity_label(severity)}"


def _facts(payload: Mapping[str, Any]) -> list[dict[str, str]]:
    incident = _incident(payload)
    current, expected = _mapping(payload, "current"), _mapping(payload, "expected")
    opened_at = parse_at(incident.get("opened_at"))
    updated_at = parse_at(incident.get("updated_at"))
    fields = []
    if current:
        negative, volume = current.get("negative", "?"), current.get("volume", "?")
        exp_neg = expected.get("negative")
        exp_high = expected.get("negative_high")
        exp = f"{exp_neg:.0f}" if isinstance(exp_neg, int | float) else "?"
        if isinstance(exp_high, int | float):
            exp += f", up to {exp_high:.0f}"
        start_at, end_at = parse_at(current.get("start_at")), parse_at(current.get("end_at"))
        window = f"{slack_date(start_at)}–{slack_date(end_at)}" if start_at and end_at else ""
        fields.append(f"*Negative now*\n{negative} of {volume} posts (expected {exp})"
                      + (f"\n{window}" if window else ""))
        fields.append(f"*Negative share*\n{percent(current.get('share'))} "
                      f"(usual {percent(expected.get('share'))})")
    if opened_at:
        lasted = f" · for {format_duration(updated_at - opened_at)}" if updated_at else ""
        fields.append(f"*Since*\n{slack_date(opened_at, '{date_short_pretty} {time}')}{lasted}")
    trend = payload.get("trend")
    if isinstance(trend, str):
        fields.append(f"*Trend*\n{TREND_ARROWS.get(trend, escape(trend))}")
    return [_mrkdwn(f, MAX_FIELD_TEXT) for f in fields]


def _status_line(incident: Mapping[str, Any]) -> str:
    parts = []
    if incident.get("acknowledged_by"):
        when = slack_date(parse_at(incident.get("acknowledged_at")))
        parts.append(f"👀 Acknowledged by {actor_mention(incident['acknowledged_by'])} at {when}")
    elif incident.get("status") != "resolved":
        parts.append("⏳ Not acknowledged yet")
    if incident.get("resolved_by") or incident.get("status") == "resolved":
        when = slack_date(parse_at(incident.get("resolved_at")))
        who = actor_mention(incident.get("resolved_by")) if incident.get("resolved_by") else "auto"
        parts.append(f"✅ Resolved by {who} at {when}")
    feedback = incident.get("feedback")
    if isinstance(feedback, str) and feedback:
        parts.append(f"🏷 Feedback: {escape(FEEDBACK_LABELS.get(feedback, feedback))}")
    escalations = incident.get("escalations")
    if isinstance(escalations, int) and escalations > 0:
        parts.append(f"📣 Escalated {escalations}×")
    return " · ".join(parts)


def silence_text(payload: Mapping[str, Any]) -> str:
    """"Silenced until …" while a silence or planned campaign covers the topic, else ""."""
    silenced = _mapping(payload, "silenced")
    if not silenced:
        return ""
    until = parse_at(silenced.get("until"))
    reason = silenced.get("reason")
    text = f"Silenced until {until:%Y-%m-%d %H:%M} UTC" if until else "Silenced"
    if isinstance(reason, str) and reason:
        text += f" ({reason})"
    return text + ": nobody is paged until then."


def _post_block(post: Mapping[str, Any]) -> Block:
    excerpt = escape(truncate(str(post.get("text") or ""), MAX_EXCERPT))
    quoted = "\n".join(f"> {line}" for line in excerpt.splitlines() or [""])
    meta = []
    if post.get("author"):
        meta.append(escape(truncate(str(post["author"]), 60)))
    if post.get("source"):
        meta.append(escape(truncate(str(post["source"]), 40)))
    if post.get("lang"):
        meta.append(escape(str(post["lang"])[:8]))
    created_at = parse_at(post.get("created_at"))
    if created_at:
        meta.append(slack_date(created_at))
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
    value = str(incident_id)
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


def _summary_section(payload: Mapping[str, Any]) -> str:
    incident, totals = _incident(payload), _mapping(payload, "totals")
    opened_at, resolved_at = parse_at(incident.get("opened_at")), parse_at(
        incident.get("resolved_at") or incident.get("updated_at"))
    lines = []
    if opened_at and resolved_at:
        lines.append(f"*Lasted {format_duration(resolved_at - opened_at)}*, "
                     f"{slack_date(opened_at, '{date_short_pretty} {time}')} – "
                     f"{slack_date(resolved_at)}")
    peak = incident.get("peak_severity")
    if isinstance(peak, int):
        peak_line = f"*Peak* severity {severity_label(peak)}"
        if isinstance(totals.get("peak_negative"), int):
            peak_line += f", {totals['peak_negative']} negative posts in one bucket"
        peak_at = parse_at(totals.get("peak_at"))
        if peak_at:
            peak_line += f" at {slack_date(peak_at)}"
        lines.append(peak_line)
    if totals.get("volume") is not None:
        lines.append(f"*Totals* {totals.get('negative', '?')} negative of "
                     f"{totals['volume']} posts")
    return "\n".join(lines)


def incident_blocks(payload: Mapping[str, Any]) -> list[Block]:
    """The whole incident message for the latest payload snapshot, within Slack's limits."""
    incident = _incident(payload)
    status = str(incident.get("status") or "open")
    severity = int(incident.get("severity") or 0)
    emoji = severity_emoji(severity, status)
    blocks: list[Block] = [
        {"type": "header", "text": _plain(f"{emoji} {headline(payload)}", MAX_HEADER_TEXT)},
    ]
    if status == "resolved":
        summary = _summary_section(payload)
        if summary:
            blocks.append(_section(summary))
    reason = payload.get("reason")
    if isinstance(reason, str) and reason:
        label = "Why it opened" if status == "resolved" else "What is happening"
        blocks.append(_section(f"*{label}:* {escape(reason)}"))
    if status != "resolved":
        facts = _facts(payload)
        if facts:
            blocks.append({"type": "section", "fields": facts})
    status_line = _status_line(incident)
    if status_line:
        blocks.append(_context(status_line))
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

    posts = [p for p in (payload.get("top_posts") or []) if isinstance(p, Mapping)]
    shown = posts[: 3 if status == "resolved" else MAX_POSTS]
    if shown:
        blocks.append({"type": "divider"})
        blocks.append(_section(f"*Top negative posts* ({len(shown)} of {len(posts)})"
                               if len(posts) > len(shown) else "*Top negative posts*"))
        blocks.extend(_post_block(p) for p in shown)

    incident_id = incident.get("id")
    blocks.append(_context(f"Incident #{escape(str(incident_id))} · "
                           f"topic `{escape(truncate(str(payload.get('topic') or '?'), 80))}` · "
                           f"updated {slack_date(parse_at(incident.get('updated_at')))}"))
    # The structure above has at most ~16 blocks; the cap is a guard, not a layout tool.
    return blocks[:MAX_BLOCKS]


def incident_text(payload: Mapping[str, Any]) -> str:
    """The plain-text fallback: what notifications on phones and screen readers show."""
    parts = [headline(payload)]
    reason = payload.get("reason")
    if isinstance(reason, str) and reason:
        parts.append(reason)
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
    severity = int(incident.get("severity") or 0)
    actor = actor_mention(payload.get("actor"))
    reason = payload.get("reason")
    reason_text = f"\n{escape(str(reason))}" if isinstance(reason, str) and reason else ""
    if kind is NotificationKind.REOPENED or (
        kind is NotificationKind.OPENED and incident.get("reopened")
    ):
        return truncate(f"🔁 *Reopened* at severity {severity_label(severity)}.{reason_text}",
                        MAX_SECTION_TEXT)
    if kind is NotificationKind.SEVERITY_UP:
        return truncate(f"⬆️ *Severity up* to {severity_label(severity)}.{reason_text}",
                        MAX_SECTION_TEXT)
    if kind is NotificationKind.ESCALATED:
        escalation = _mapping(payload, "escalation")
        mention = str(escalation.get("mention") or "").strip()
        count = escalation.get("count")
        nth = f" (escalation {count})" if isinstance(count, int) else ""
        who = f"{mention} " if mention else ""
        return truncate(f"📣 {who}*Still not acknowledged*{nth}: severity "
                        f"{severity_label(severity)}. Please take a look.{reason_text}",
                        MAX_SECTION_TEXT)
    if kind is NotificationKind.ACKNOWLEDGED:
        return f"👀 {actor} is on it."
    if kind is NotificationKind.RESOLVED:
        opened_at = parse_at(incident.get("opened_at"))
        resolved_at = parse_at(incident.get("resolved_at") or incident.get("updated_at"))
        lasted = (f" after {format_duration(resolved_at - opened_at)}"
                  if opened_at and resolved_at else "")
        who = f" by {actor}" if payload.get("actor") else ""
        peak = incident.get("peak_severity")
        peak_text = f" Peak {severity_label(int(peak))}." if isinstance(peak, int) else ""
        feedback = incident.get("feedback")
        label = (f" Marked *{escape(FEEDBACK_LABELS.get(str(feedback), str(feedback)))}*."
                 if feedback else "")
        return f"✅ *Resolved*{who}{lasted}.{peak_text}{label}"
    return None


def source_status_text(kind: NotificationKind, payload: Mapping[str, Any]) -> str:
    """A plain channel message saying a source stopped or resumed answering."""
    topic = escape(str(payload.get("topic") or "?"))
    source = escape(str(payload.get("source") or "?"))
    since = parse_at(payload.get("since"))
    if kind is NotificationKind.SOURCE_DOWN:
        error = escape(truncate(str(payload.get("error") or "no answer"), 500))
        return (f"⚠️ Source *{source}* for topic *{topic}* is failing since "
                f"{slack_date(since)}: {error}. The monitor is blind there and will not alert "
                "on it until it recovers.")
    return (f"🟢 Source *{source}* for topic *{topic}* is back (it had failed since "
            f"{slack_date(since)}).")


def plain_source_status_text(kind: NotificationKind, payload: Mapping[str, Any]) -> str:
    """The same as :func:`source_status_text`, without Slack markup."""
    topic, source = payload.get("topic") or "?", payload.get("source") or "?"
    since = format_clock(parse_at(payload.get("since")))
    if kind is NotificationKind.SOURCE_DOWN:
        return (f"Source {source} for topic {topic} is failing since {since}: "
                f"{truncate(str(payload.get('error') or 'no answer'), 500)}")
    return f"Source {source} for topic {topic} is back (failing since {since})"
