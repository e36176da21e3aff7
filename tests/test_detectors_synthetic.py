"""The detector's promises on synthetic mention streams with injected storms.

One warmed-up detector (three weeks of a seeded stream with a daily and weekly rhythm and
Poisson noise) is pickled once; each scenario restores it, continues the same stream with one
event injected and runs the daemon's incident machine over the decisions.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alerts.incidents import IncidentPolicy, advance
from detectors import DetectionSettings, TopicDetector, build_detector
from monitor.models import Bucket, Incident, NotificationKind
from monitor.offline.synthetic import Event, StreamShape, generate

BERLIN = ZoneInfo("Europe/Berlin")
WIDTH = timedelta(minutes=5)
START = datetime(2026, 3, 2, tzinfo=BERLIN).astimezone(UTC)  # a Monday, local midnight
WARMUP = timedelta(days=21)
# A brand with about 6,000 mentions an hour at its evening peak... and 20 negative posts per
# 5-minute bucket on average, 8 at 3 a.m. on a weekday, 6 on a Saturday night. Below roughly
# this volume a 3x storm is within Poisson noise for the first few buckets at night, and no
# detector can call it that early without crying wolf by day.
SHAPE = StreamShape(mentions_per_hour=4800.0)
SEED = 7
OPENING = {NotificationKind.OPENED, NotificationKind.REOPENED}


def local(day: int, hour: int) -> datetime:
    """``hour`` o'clock Berlin time on the ``day``-th day after the start."""
    return datetime(2026, 3, 2 + day, hour, tzinfo=BERLIN).astimezone(UTC)


@pytest.fixture(scope="module")
def warmed() -> bytes:
    detector = build_detector(DetectionSettings(), BERLIN)
    for bucket in generate(START, WARMUP, WIDTH, timezone=BERLIN, shape=SHAPE, seed=SEED):
        detector.observe(bucket)
    assert not detector.warming_up
    return pickle.dumps(detector)


def continue_stream(warmed: bytes, events: Sequence[Event], until: datetime) -> list[Bucket]:
    """The stream after the warm-up, with ``events``; identical to the warm-up before them."""
    buckets = generate(
        START, until - START, WIDTH, timezone=BERLIN, shape=SHAPE, events=events, seed=SEED
    )
    return [bucket for bucket in buckets if bucket.start_at >= START + WARMUP]


def incident_events(
    detector: TopicDetector, buckets: Sequence[Bucket]
) -> list[tuple[datetime, NotificationKind]]:
    """Run detector and incident machine; return (bucket start, event) for every event."""
    policy = IncidentPolicy()
    incident: Incident | None = None
    last_resolved: Incident | None = None
    found: list[tuple[datetime, NotificationKind]] = []
    for bucket in buckets:
        transition = advance(incident, detector.observe(bucket), bucket, policy, last_resolved)
        incident = transition.incident
        if incident is not None and not incident.is_active:
            last_resolved, incident = incident, None
        found.extend((bucket.start_at, kind) for kind in transition.events)
    return found


def openings(found: list[tuple[datetime, NotificationKind]]) -> list[datetime]:
    return [at for at, kind in found if kind in OPENING]


@pytest.mark.parametrize(
    ("day", "hour"),
    [(21, 3), (21, 15), (26, 3), (26, 15)],
    ids=["weekday-3am", "weekday-3pm", "saturday-3am", "saturday-3pm"],
)
def test_a_3x_storm_is_alerted_within_two_buckets_by_day_and_by_night(
    warmed: bytes, day: int, hour: int
) -> None:
    storm_at = local(day, hour)
    storm = Event("storm", storm_at, timedelta(hours=1), factor=3.0)
    buckets = continue_stream(warmed, [storm], storm_at + timedelta(hours=3))
    opened = openings(incident_events(pickle.loads(warmed), buckets))
    assert opened, "the storm was never alerted"
    assert opened[0] >= storm_at, f"false alarm before the storm at {opened[0]}"
    assert opened[0] - storm_at <= 2 * WIDTH
    assert len(opened) == 1, "one storm, one incident"


@pytest.mark.parametrize("factor", [3.0, 10.0])
@pytest.mark.parametrize("hour", [3, 15])
def test_a_campaign_of_positive_posts_opens_no_incident(
    warmed: bytes, factor: float, hour: int
) -> None:
    # At 10x, the 10% of happy posts the scorer misreads more than double the negative volume;
    # only the falling negative share tells it from a storm.
    campaign_at = local(22, hour)
    campaign = Event("campaign", campaign_at, timedelta(hours=1), factor=factor)
    buckets = continue_stream(warmed, [campaign], campaign_at + timedelta(hours=3))
    if factor == 10.0:
        during = [b for b in buckets if campaign.covers(b.start_at)]
        before = [b for b in buckets if b.start_at < campaign_at][-12:]
        assert sum(b.negative for b in during) > 2 * sum(b.negative for b in before)
    assert openings(incident_events(pickle.loads(warmed), buckets)) == []


@pytest.mark.parametrize("kind", ["outage", "silent_outage"])
def test_a_six_hour_outage_followed_by_normal_volume_opens_no_incident(
    warmed: bytes, kind: str
) -> None:
    outage_at = local(22, 8)  # a Tuesday morning, into the busy hours
    outage = Event(kind, outage_at, timedelta(hours=6))  # type: ignore[arg-type]
    buckets = continue_stream(warmed, [outage], outage_at + timedelta(hours=18))
    assert openings(incident_events(pickle.loads(warmed), buckets)) == []


def test_a_quiet_week_opens_no_incident(warmed: bytes) -> None:
    buckets = continue_stream(warmed, [], START + WARMUP + timedelta(days=7))
    assert openings(incident_events(pickle.loads(warmed), buckets)) == []
