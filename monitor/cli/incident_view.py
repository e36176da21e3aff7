"""``shitstorm incidents show ID``: what the Slack message says, on a terminal, plus the timeline.

The text is the console alerter's rendering of the same payload a notification would carry
(:func:`alerts.report.incident_payload`), so the CLI and Slack cannot drift apart; the
timeline adds every recorded event with who caused it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alerts.console import render
from alerts.formatting import severity_label
from alerts.report import incident_payload
from monitor.models import Incident, Notification, NotificationKind
from monitor.pipeline.notify import silence_at
from monitor.settings import Settings
from monitor.store import Store


def incident_snapshot(
    store: Store, settings: Settings, incident: Incident, now: datetime
) -> dict[str, Any]:
    """The payload the next notification of ``incident`` would carry, with its silence."""
    topic = settings.topic(incident.topic)
    payload = incident_payload(store, settings, topic, incident, now)
    silence = silence_at(store, topic, now) if incident.is_active else None
    if silence is not None:
        payload["silenced"] = {"until": silence[0].isoformat(), "reason": silence[1]}
    return payload


def render_incident(store: Store, settings: Settings, incident: Incident, now: datetime) -> str:
    payload = incident_snapshot(store, settings, incident, now)
    notification = Notification(
        id=0,
        alerter="console",
        kind=NotificationKind.UPDATED,
        topic=incident.topic,
        incident_id=incident.id,
        created_at=now,
        payload=payload,
    )
    # The console block's first line announces a notification; a summary line replaces it.
    body = render(notification).split("\n")[1:]
    # The level now is in the body's first line ("peaked … · now …"), as in Slack.
    header = (
        f"incident #{incident.id} · {incident.topic} · {incident.status.value} · "
        f"peak {severity_label(incident.peak_severity)}"
    )
    zone = settings.zone(settings.topic(incident.topic))
    lines = [header, *body, "", "timeline:"]
    for at, kind, actor in store.incident_events(incident.id):
        local = at.astimezone(zone)
        lines.append(
            f"  {local:%Y-%m-%d %H:%M %Z}  {kind.replace('_', ' ')}"
            + (f" by {actor}" if actor else "")
        )
    return "\n".join(lines)
