"""The incident state machine: open → acknowledged → resolved, as pure functions of time.

Each function takes the current incident and an event (a judged bucket, a button press, the
clock passing a deadline) and returns the new incident plus the notifications it calls for.
Nothing here stores or sends anything: the pipeline saves the result and writes the outbox,
which is what lets ``replay`` and ``backtest`` run the very same rules on a simulated clock.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from monitor.models import Bucket, Incident, IncidentStatus, NotificationKind

# Feedback that says the incident was not a real storm; a new spike soon after such an
# incident is a new question, not the same storm coming back.
DISMISSING_FEEDBACK = frozenset({"not_a_shitstorm", "expected_campaign"})

# The events the backtest counts as an alert: the ones that page somebody.
ALERTING = frozenset(
    {NotificationKind.OPENED, NotificationKind.REOPENED, NotificationKind.SEVERITY_UP}
)


class Verdict(Protocol):
    """What the incident machine needs from a detector's decision on one bucket."""

    @property
    def anomalous(self) -> bool: ...

    @property
    def severity(self) -> int: ...


@dataclass(frozen=True)
class IncidentPolicy:
    # Storms come in waves hours apart (another time zone wakes up, a second post goes viral):
    # an incident resolves only after this much calm, so one storm stays one incident.
    resolve_after: timedelta = timedelta(hours=3)
    reopen_within: timedelta = timedelta(hours=2)
    escalate_after: timedelta = timedelta(minutes=15)
    max_escalations: int = 3


@dataclass(frozen=True)
class Transition:
    """The incident after an event (None when there is none) and what to tell about it."""

    incident: Incident | None
    events: list[NotificationKind] = field(default_factory=list)

    @property
    def alerts(self) -> bool:
        return any(event in ALERTING for event in self.events)


def advance(
    incident: Incident | None,
    decision: Verdict,
    bucket: Bucket,
    policy: IncidentPolicy,
    last_resolved: Incident | None = None,
) -> Transition:
    """Move the topic's incident on by one judged bucket; the bucket's end is "now".

    ``incident`` is the topic's active incident, if any; ``last_resolved`` its most recent
    resolved one, which a new anomaly shortly after reopens instead of opening a second
    incident (one storm, one Slack message).
    """
    now = bucket.end_at
    if incident is None or not incident.is_active:
        if not decision.anomalous:
            return Transition(None)
        if _reopens(last_resolved, now, policy):
            assert last_resolved is not None
            reopened = dataclasses.replace(
                last_resolved,
                status=IncidentStatus.OPEN,
                severity=decision.severity,
                peak_severity=max(last_resolved.peak_severity, decision.severity),
                updated_at=now,
                last_anomaly_at=now,
                resolved_at=None,
                resolved_by=None,
                acknowledged_at=None,
                acknowledged_by=None,
                escalations=0,
                last_escalated_at=None,
                triggered_at=now,
                reopened=last_resolved.reopened + 1,
            )
            return Transition(reopened, [NotificationKind.REOPENED])
        opened = Incident(
            id=0,
            topic=bucket.topic,
            status=IncidentStatus.OPEN,
            severity=decision.severity,
            opened_at=bucket.start_at,
            updated_at=now,
            last_anomaly_at=now,
            peak_severity=decision.severity,
            triggered_at=now,
        )
        return Transition(opened, [NotificationKind.OPENED])

    if decision.anomalous:
        climbed = decision.severity > incident.peak_severity
        updated = dataclasses.replace(
            incident,
            severity=decision.severity,
            peak_severity=max(incident.peak_severity, decision.severity),
            updated_at=now,
            last_anomaly_at=now,
        )
        kind = NotificationKind.SEVERITY_UP if climbed else NotificationKind.UPDATED
        return Transition(updated, [kind])

    # A calm bucket. Only complete buckets count towards the quiet period: while a source
    # is down we cannot tell a calm from a blind spot, so the incident stays open.
    if bucket.complete and now - incident.last_anomaly_at >= policy.resolve_after:
        return resolve(incident, "auto", now)
    updated = dataclasses.replace(incident, severity=decision.severity, updated_at=now)
    return Transition(updated, [NotificationKind.UPDATED])


def acknowledge(incident: Incident, actor: str, now: datetime) -> Transition:
    """Somebody took the incident. Idempotent: a second click changes nothing."""
    if incident.status is not IncidentStatus.OPEN:
        return Transition(incident)
    acked = dataclasses.replace(
        incident,
        status=IncidentStatus.ACKNOWLEDGED,
        acknowledged_at=now,
        acknowledged_by=actor,
        updated_at=now,
    )
    return Transition(acked, [NotificationKind.ACKNOWLEDGED])


def resolve(incident: Incident, actor: str, now: datetime) -> Transition:
    """The storm is over (``actor`` "auto" after the quiet period). Idempotent."""
    if not incident.is_active:
        return Transition(incident)
    resolved = dataclasses.replace(
        incident,
        status=IncidentStatus.RESOLVED,
        resolved_at=now,
        resolved_by=actor,
        updated_at=now,
    )
    return Transition(resolved, [NotificationKind.RESOLVED])


def give_feedback(incident: Incident, feedback: str, actor: str, now: datetime) -> Transition:
    """A human judged the alert: "not a shitstorm" and "expected campaign" also resolve it,
    "confirmed storm" only records that it was real.

    Idempotent: the same feedback twice changes nothing.
    """
    if incident.feedback == feedback:
        return Transition(incident)
    judged = dataclasses.replace(incident, feedback=feedback, updated_at=now)
    # Confirming a real storm leaves it open: somebody still has to deal with it.
    if judged.is_active and feedback in DISMISSING_FEEDBACK:
        transition = resolve(judged, actor, now)
        return Transition(transition.incident, [NotificationKind.FEEDBACK, *transition.events])
    return Transition(judged, [NotificationKind.FEEDBACK])


def escalate_if_due(incident: Incident, policy: IncidentPolicy, now: datetime) -> Transition:
    """Nobody acknowledged within ``escalate_after``: page again, up to ``max_escalations``."""
    if incident.status is not IncidentStatus.OPEN or incident.escalations >= policy.max_escalations:
        return Transition(incident)
    since = incident.last_escalated_at or incident.triggered_at or incident.opened_at
    if now - since < policy.escalate_after:
        return Transition(incident)
    escalated = dataclasses.replace(
        incident, escalations=incident.escalations + 1, last_escalated_at=now
    )
    return Transition(escalated, [NotificationKind.ESCALATED])


def _reopens(last_resolved: Incident | None, now: datetime, policy: IncidentPolicy) -> bool:
    if last_resolved is None or last_resolved.resolved_at is None:
        return False
    if last_resolved.feedback in DISMISSING_FEEDBACK:
        return False
    return now - last_resolved.resolved_at <= policy.reopen_within
