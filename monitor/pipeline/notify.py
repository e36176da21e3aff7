"""Which alerters hear of which event, when nobody is paged (silences), and escalation.

Nothing here sends anything: notifications are rows in the outbox, one per alerter, that
:mod:`.outbox` delivers later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from alerts.incidents import IncidentPolicy, Transition, escalate_if_due
from alerts.report import incident_payload, source_payload
from monitor.models import Incident, NotificationKind
from monitor.pipeline.context import Context
from monitor.settings import Settings, TopicSettings
from monitor.store import Store


def incident_policy(settings: Settings) -> IncidentPolicy:
    alerts = settings.alerts
    return IncidentPolicy(
        resolve_after=alerts.resolve_after,
        reopen_within=alerts.reopen_within,
        escalate_after=alerts.escalate_after,
        max_escalations=alerts.max_escalations,
    )


@dataclass(frozen=True)
class SourceNotice:
    """A source that went blind (``SOURCE_DOWN``, with its error) or came back (``SOURCE_UP``)."""

    kind: NotificationKind
    source: str
    error: str | None
    since: datetime | None


def notify_source(ctx: Context, topic: TopicSettings, notice: SourceNotice, now: datetime) -> None:
    """Put the notice in the outbox for every alerter."""
    payload = source_payload(ctx.settings, topic, notice.source, notice.error, notice.since, now)
    for alerter in ctx.alerter_names:
        ctx.store.add_notification(alerter, notice.kind, topic.name, None, now, payload)


def write_events(
    ctx: Context,
    topic: TopicSettings,
    incident: Incident,
    events: Sequence[NotificationKind],
    now: datetime,
    *,
    actor: str | None,
) -> None:
    """Record the incident's events and put one notification per alerter in the outbox."""
    if not events:
        return
    store = ctx.store
    silence = silence_at(store, topic, now)
    payload = incident_payload(store, ctx.settings, topic, incident, now, actor=actor)
    if silence is not None:
        payload["silenced"] = {"until": silence[0].isoformat(), "reason": silence[1]}
    for kind in events:
        if kind is not NotificationKind.UPDATED:
            store.add_incident_event(incident.id, now, kind.value, actor)
        for alerter in ctx.alerter_names:
            if alerter == "console" and kind is NotificationKind.UPDATED:
                continue  # the console cannot edit what it printed; updates would be noise
            store.add_notification(alerter, kind, topic.name, incident.id, now, payload)


def silence_at(
    store: Store, topic: TopicSettings, now: datetime
) -> tuple[datetime, str | None] | None:
    """The end and reason of a silence or planned campaign covering ``now``, if any.

    During a silence incidents are still recorded and posted, so a campaign that backfires
    is still seen in the channel, but nobody is paged: escalations wait until it ends.
    """
    for campaign in topic.campaigns:
        if campaign.start <= now < campaign.end:
            return campaign.end, f"planned campaign: {campaign.name}"
    return store.silence_at(topic.name, now)


def escalate(ctx: Context, topic: TopicSettings, now: datetime) -> None:
    """Page again for an incident nobody acknowledged in time (not during a silence)."""
    store = ctx.store
    incident = store.active_incident(topic.name)
    if incident is None or silence_at(store, topic, now) is not None:
        return
    transition = escalate_if_due(incident, incident_policy(ctx.settings), now)
    if transition.events and transition.incident is not None:
        with store.transaction():
            store.save_incident(transition.incident)
            write_events(ctx, topic, transition.incident, transition.events, now, actor=None)


def apply(ctx: Context, transition: Transition, now: datetime, actor: str) -> Incident | None:
    """Store a human's action on an incident (from Slack or the CLI) and notify about it."""
    incident = transition.incident
    if incident is None or not transition.events:
        return incident
    topic = ctx.settings.topic(incident.topic)
    with ctx.store.transaction():
        ctx.store.save_incident(incident)
        write_events(ctx, topic, incident, transition.events, now, actor=actor)
    return incident
