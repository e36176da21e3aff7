"""The incident lifecycle on a simulated clock: open, update, escalate, resolve, reopen."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from alerts.incidents import (
    IncidentPolicy,
    Transition,
    acknowledge,
    advance,
    escalate_if_due,
    give_feedback,
    resolve,
)
from monitor.models import Bucket, Incident, IncidentStatus, NotificationKind
from tests.support import at, open_incident_at_noon

K = NotificationKind
POLICY = IncidentPolicy(
    resolve_after=timedelta(minutes=30),
    reopen_within=timedelta(hours=1),
    escalate_after=timedelta(minutes=15),
    max_escalations=2,
)


@dataclass(frozen=True)
class Verdict:
    anomalous: bool
    severity: int = 0


def bucket(end: datetime, complete: bool = True) -> Bucket:
    return Bucket("acme", end - timedelta(minutes=5), end, 10, 5, 1, complete)


def run(verdicts: list[tuple[datetime, Verdict, bool]]) -> list[Transition]:
    """Feed (bucket end, verdict, complete) through advance like the pipeline does."""
    incident: Incident | None = None
    last_resolved: Incident | None = None
    seen = []
    for end, verdict, complete in verdicts:
        t = advance(incident, verdict, bucket(end, complete), POLICY, last_resolved)
        seen.append(t)
        if t.incident is not None and t.incident.id == 0:
            t = Transition(_with_id(t.incident), t.events)
        if t.incident is not None and t.incident.status is IncidentStatus.RESOLVED:
            last_resolved, incident = t.incident, None
        else:
            incident = t.incident
    return seen


def _with_id(incident: Incident) -> Incident:
    return replace(incident, id=1)


def test_open_update_severity_up_then_auto_resolve_after_quiet_period() -> None:
    seen = run(
        [
            (at(12, 5), Verdict(True, 2), True),
            (at(12, 10), Verdict(True, 2), True),
            (at(12, 15), Verdict(True, 4), True),
            (at(12, 20), Verdict(False), True),
            (at(12, 45), Verdict(False), True),
        ]
    )
    assert [t.events for t in seen] == [
        [K.OPENED],
        [K.UPDATED],
        [K.SEVERITY_UP],
        [K.UPDATED],
        [K.RESOLVED],
    ]
    resolved = seen[-1].incident
    assert resolved is not None and resolved.resolved_by == "auto"
    assert resolved.peak_severity == 4 and resolved.opened_at == at(12)


def test_a_blind_spot_does_not_resolve_an_incident() -> None:
    seen = run(
        [
            (at(12, 5), Verdict(True, 3), True),
            (at(12, 40), Verdict(False), False),  # a source is down: no calm, no resolution
            (at(12, 45), Verdict(False), True),
        ]
    )
    assert seen[1].events == [K.UPDATED] and seen[2].events == [K.RESOLVED]


def test_a_new_storm_shortly_after_resolution_reopens_the_same_incident() -> None:
    seen = run(
        [
            (at(12, 5), Verdict(True, 3), True),
            (at(12, 40), Verdict(False), True),
            (at(13, 10), Verdict(True, 2), True),
        ]
    )
    assert seen[-1].events == [K.REOPENED]
    reopened = seen[-1].incident
    assert reopened is not None and reopened.id == 1 and reopened.status is IncidentStatus.OPEN
    assert reopened.reopened == 1 and reopened.peak_severity == 3
    late = run(
        [
            (at(12, 5), Verdict(True, 3), True),
            (at(12, 40), Verdict(False), True),
            (at(14, 0), Verdict(True, 2), True),
        ]
    )
    assert late[-1].events == [K.OPENED] and late[-1].incident is not None
    assert late[-1].incident.id == 0


def opened() -> Incident:
    return replace(open_incident_at_noon(), id=1)


def test_escalation_repeats_every_interval_up_to_the_limit() -> None:
    incident = opened()
    assert escalate_if_due(incident, POLICY, at(12, 19)).events == []
    kinds = []
    for minute in (20, 25, 35, 50, 59):
        t = escalate_if_due(incident, POLICY, at(12, minute))
        kinds.append((minute, t.events))
        assert t.incident is not None
        incident = t.incident
    assert kinds == [(20, [K.ESCALATED]), (25, []), (35, [K.ESCALATED]), (50, []), (59, [])]
    assert incident.escalations == 2


def test_an_acknowledged_incident_is_not_escalated_but_severity_up_still_notifies() -> None:
    acked = acknowledge(opened(), "U1|lena", at(12, 7))
    assert acked.events == [K.ACKNOWLEDGED] and acked.incident is not None
    assert escalate_if_due(acked.incident, POLICY, at(13)).events == []
    climbed = advance(acked.incident, Verdict(True, 5), bucket(at(12, 10)), POLICY)
    assert climbed.events == [K.SEVERITY_UP]
    assert climbed.incident is not None
    assert climbed.incident.status is IncidentStatus.ACKNOWLEDGED


def test_actions_are_idempotent() -> None:
    acked = acknowledge(opened(), "U1|lena", at(12, 7)).incident
    assert acked is not None
    assert acknowledge(acked, "U2|tom", at(12, 8)).events == []
    done = resolve(acked, "U2|tom", at(12, 9)).incident
    assert done is not None and done.resolved_by == "U2|tom"
    assert resolve(done, "U1|lena", at(12, 10)).events == []
    assert acknowledge(done, "U1|lena", at(12, 10)).events == []


def test_feedback_resolves_and_a_dismissed_incident_is_not_reopened() -> None:
    judged = give_feedback(opened(), "expected_campaign", "U1|lena", at(12, 8))
    assert judged.events == [K.FEEDBACK, K.RESOLVED]
    assert judged.incident is not None
    again = advance(None, Verdict(True, 2), bucket(at(12, 20)), POLICY, judged.incident)
    assert again.events == [K.OPENED]
    assert give_feedback(judged.incident, "expected_campaign", "U1|lena", at(12, 9)).events == []
