"""Render an incident's notification payload as a Slack message: Block Kit blocks plus a
plain-text fallback, and the short replies in its thread.

One incident is one message, re-rendered in full from the latest payload snapshot each time it
changes (which is what lets the outbox coalesce updates). What it says comes from
:mod:`alerts.wording`, shared with the console alerter; this module lays it out.

Every piece of user text is escaped and truncated so that any payload stays within Slack's
Block Kit limits: at most 50 blocks, header ≤ 150 characters, section text ≤ 3,000, ≤ 10
fields of ≤ 2,000, ≤ 10 context elements, button text ≤ 75 and value ≤ 2,000.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any, Final

from alerts.formatting import (
    actor_mention,
    actor_name,
    copies_text,
    drivers_text,
    engagement_text,
    escape,
    format_clock,
    format_day,
    format_duration,
    parse_at,
    severity_emoji,
    severity_label,
    split_text,
    truncate,
    zone_of,
)
from alerts.wording import (
    FEEDBACK_LABELS,
    SCALE_TEXT,
    headline,
    incident_of,
    levels,
    mapping_of,
    paging_text,
    silence_text,
    summary_lines,
    top_posts,
    why_lines,
)
from monitor.models import NotificationKind

Block = dict[str, Any]

# Stable action ids: interactions.parse_action maps them back; the Slack app keys on them.
ACTION_IDS: Final[Mapping[str, str]] = {
    "acknowledge": "shitstorm_acknowledge",
    "resolve": "shitstorm_resolve",
    "not_a_shitstorm": "shitstorm_not_a_shitstorm",
    "expected_campaign": "shitstorm_expected_campaign",
}
ACTIONS_BLOCK_ID: Final = "shitstorm_incident_actions"
METADATA_EVENT_TYPE: Final = "shitstorm_incident"

MAX_BLOCKS: Final = 50
MAX_SECTION_TEXT: Final = 3000
MAX_HEADER_TEXT: Final = 150
MAX_FIELD_TEXT: Final = 2000
MAX_CONTEXT_ELEMENTS: Final = 10
MAX_FALLBACK_TEXT: Final = 3000  # far below Slack's 40,000: it is a notification preview
MAX_POSTS: Final = 5
MAX_EXCERPT: Final = 280

TREND_ARROWS: Final[Mapping[str, str]] = {
    "rising": "↗ rising",
    "steady": "→ steady",
    "falling": "↘ falling",
}


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
    incident = incident_of(payload)
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
    incident = incident_of(payload)
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
    incident = incident_of(payload)
    incident_id = incident.get("id")
    status = incident.get("status")
    if incident_id is None:
        return None
    value = truncate(str(incident_id), 2000)
    buttons: list[Block] = []

    def button(action: str, label: str, style: str | None = None) -> Block:
        element: Block = {
            "type": "button",
            "action_id": ACTION_IDS[action],
            "text": _plain(label, 75),
            "value": value,
        }
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


def incident_blocks(payload: Mapping[str, Any]) -> list[Block]:
    """The whole incident message for the latest payload snapshot, within Slack's limits."""
    incident = incident_of(payload)
    status = str(incident.get("status") or "open")
    peak, _ = levels(payload)
    zone = zone_of(payload)
    emoji = severity_emoji(peak, status)
    blocks: list[Block] = [
        {"type": "header", "text": _plain(f"{emoji} {headline(payload)}", MAX_HEADER_TEXT)},
    ]
    if status == "resolved":
        blocks.append(
            _section(
                "\n".join(
                    f"*{line}*" if i == 0 else line for i, line in enumerate(summary_lines(payload))
                )
            )
        )
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
        blocks.append(
            _context(
                *(
                    t
                    for t in (
                        f"*Sources:* {escape(by_source)}" if by_source else "",
                        f"*Languages:* {escape(by_lang)}" if by_lang else "",
                    )
                    if t
                )
            )
        )

    posts = top_posts(payload)
    shown = posts[: 3 if status == "resolved" else MAX_POSTS]
    if shown:
        blocks.append({"type": "divider"})
        blocks.append(
            _section(
                f"*Top negative posts* ({len(shown)} of {len(posts)})"
                if len(posts) > len(shown)
                else "*Top negative posts*"
            )
        )
        blocks.extend(_post_block(p, zone) for p in shown)

    incident_id = incident.get("id")
    blocks.append(
        _context(
            f"Incident #{escape(truncate(str(incident_id), 20))} · "
            f"topic `{escape(truncate(str(payload.get('topic') or '?'), 80))}` · "
            f"updated {format_clock(parse_at(incident.get('updated_at')), zone)}",
            SCALE_TEXT,
        )
    )
    # The structure above has at most ~17 blocks; the cap is a guard, not a layout tool.
    return blocks[:MAX_BLOCKS]


def incident_text(payload: Mapping[str, Any]) -> str:
    """The plain-text fallback: what notifications on phones and screen readers show."""
    parts = [headline(payload)]
    why = why_lines(payload)
    if why:
        parts.append(why[-1][1])
    incident = incident_of(payload)
    if incident.get("acknowledged_by") and incident.get("status") != "resolved":
        parts.append(f"acknowledged by {actor_name(incident['acknowledged_by'])}")
    return truncate(" — ".join(parts), MAX_FALLBACK_TEXT)


# -- thread replies ---------------------------------------------------------------------------


def thread_reply_text(kind: NotificationKind, payload: Mapping[str, Any]) -> str | None:
    """The short thread note for what deserves attention, or None for quiet updates."""
    text = _thread_reply_text(kind, payload)
    return None if text is None else truncate(text, MAX_SECTION_TEXT)


def _thread_reply_text(kind: NotificationKind, payload: Mapping[str, Any]) -> str | None:
    incident = incident_of(payload)
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
        escalation = mapping_of(payload, "escalation")
        mention = str(escalation.get("mention") or "").strip()
        count = escalation.get("count")
        nth = f" (escalation {count})" if isinstance(count, int) else ""
        who = f"{mention} " if mention else ""
        level = (
            severity_label(now)
            if now >= peak
            else f"{severity_label(now)} (peaked {severity_label(peak)})"
        )
        return (
            f"📣 {who}*Still not acknowledged*{nth}: severity {level}. Please take a look."
            f"{reason_text}\n_{paging_text(payload, mention or None)}_"
        )
    if kind is NotificationKind.ACKNOWLEDGED:
        return f"👀 {actor} is on it."
    if kind is NotificationKind.RESOLVED:
        opened_at = parse_at(incident.get("opened_at"))
        resolved_at = parse_at(incident.get("resolved_at") or incident.get("updated_at"))
        lasted = (
            f" after {format_duration(resolved_at - opened_at)}"
            if opened_at and resolved_at
            else ""
        )
        who = f" by {actor}" if payload.get("actor") else ""
        feedback = incident.get("feedback")
        label = (
            f" Marked *{escape(FEEDBACK_LABELS.get(str(feedback), str(feedback)))}*."
            if feedback
            else ""
        )
        return f"✅ *Resolved*{who}{lasted}. Peak {severity_label(peak)}.{label}"
    return None
