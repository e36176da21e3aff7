"""What the detector promises, each in a case a social media team would recognise.

A warmed-up topic (three weeks of a seeded stream with a daily and weekly rhythm, about 1,200
mentions an hour, a fifth of them read as negative) is pickled once; each case restores it and
continues the same stream with something happening in it: a viral storm at 3 a.m., a slow burn,
a burst of attention with the usual tone, a campaign that backfires, a topic whose history holds
one giant burst. Storms are made by :mod:`monitor.offline.storms`, as ``shitstorm calibrate``
makes them: negative posts read by the scorer as it reads real ones.
"""

from __future__ import annotations

import pickle
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alerts.incidents import IncidentPolicy, advance
from detectors import DetectionSettings, TopicDetector, build_detector
from monitor.models import Bucket, Incident
from monitor.offline import calibrate, storms
from monitor.offline.synthetic import StreamShape, generate

BERLIN = ZoneInfo("Europe/Berlin")
WIDTH = timedelta(minutes=5)
START = datetime(2026, 3, 2, tzinfo=BERLIN).astimezone(UTC)  # a Monday, local midnight
WARMUP = timedelta(days=21)
SHAPE = StreamShape(mentions_per_hour=1200.0, negative_share=0.2, positive_share=0.3)
SHAPES = {shape.name: shape for shape in storms.SHAPES}


def local(day: int, hour: int) -> datetime:
    return datetime(2026, 3, 2 + day, hour, tzinfo=BERLIN).astimezone(UTC)


@pytest.fixture(scope="module")
def history() -> list[Bucket]:
    """Four weeks of the topic; the first three are the warm-up."""
    return list(generate(START, WARMUP + timedelta(days=7), WIDTH, timezone=BERLIN,
                         shape=SHAPE, seed=11))  # fmt: skip


@pytest.fixture(scope="module")
def warmed(history: list[Bucket]) -> bytes:
    detector = build_detector(DetectionSettings(), BERLIN)
    for bucket in history:
        if bucket.start_at >= START + WARMUP:
            break
        detector.observe(bucket)
    assert not detector.warming_up
    return pickle.dumps(detector)


def after_warmup(buckets: Sequence[Bucket]) -> list[Bucket]:
    return [b for b in buckets if b.start_at >= START + WARMUP]


def pages(detector: TopicDetector, buckets: Sequence[Bucket]) -> list[datetime]:
    """End of every bucket whose verdict paged somebody (opened, reopened, severity up)."""
    policy = IncidentPolicy()
    incident: Incident | None = None
    last: Incident | None = None
    found = []
    for bucket in buckets:
        transition = advance(incident, detector.observe(bucket), bucket, policy, last)
        incident = transition.incident
        if incident is not None and not incident.is_active:
            last, incident = incident, None
        if transition.alerts:
            found.append(bucket.end_at)
    return found


def with_storm(history: list[Bucket], shape: str, at: datetime, seed: int = 3) -> list[Bucket]:
    storm = storms.PlannedStorm(SHAPES[shape], at)
    return storms.inject(history, [storm], BERLIN, random.Random(seed))


def first_page_after(found: list[datetime], at: datetime) -> timedelta:
    later = [page - at for page in found if page > at]
    assert later, "never paged"
    assert all(page > at for page in found), f"a false page before the storm: {found}"
    return later[0]


def test_a_viral_storm_at_3_am_pages_before_it_reaches_full_strength(
    warmed: bytes, history: list[Bucket]
) -> None:
    at = local(22, 3)  # Tuesday, 3 a.m. in Berlin: ~4 negative posts per 5 minutes
    found = pages(pickle.loads(warmed), after_warmup(with_storm(history, "viral", at)))
    assert first_page_after(found, at) <= SHAPES["viral"].full_after


def test_a_slow_burn_pages_before_it_reaches_full_strength(
    warmed: bytes, history: list[Bucket]
) -> None:
    at = local(23, 13)  # Wednesday afternoon: 3x over four hours
    found = pages(pickle.loads(warmed), after_warmup(with_storm(history, "slow burn", at)))
    assert first_page_after(found, at) <= SHAPES["slow burn"].full_after


def test_a_campaign_that_backfires_pages_within_the_hour(
    warmed: bytes, history: list[Bucket]
) -> None:
    at = local(24, 11)  # 4x happy posts, and within the hour 5x negative ones
    found = pages(pickle.loads(warmed), after_warmup(with_storm(history, "backfire", at)))
    assert first_page_after(found, at) <= SHAPES["backfire"].full_after


def test_a_burst_of_attention_with_the_usual_tone_pages_nobody(
    warmed: bytes, history: list[Bucket]
) -> None:
    # A news item or a retweet cascade: six times the mentions for an hour at 3 a.m., of every
    # tone alike. Six times the negative volume of that hour, and no shitstorm.
    at = local(22, 3)
    burst = [
        replace(b, volume=b.volume * 6, negative=b.negative * 6, positive=b.positive * 6)
        if at <= b.start_at < at + timedelta(hours=1)
        else b
        for b in history
    ]
    during = [b for b in burst if at <= b.start_at < at + timedelta(hours=1)]
    assert (
        sum(b.negative for b in during)
        > 5 * sum(b.negative for b in history if at - timedelta(hours=1) <= b.start_at < at) / 1.5
    )
    assert pages(pickle.loads(warmed), after_warmup(burst)) == []


def test_one_giant_burst_in_the_history_does_not_deafen_the_topic(
    warmed: bytes, history: list[Bucket]
) -> None:
    # Half an hour at forty times the negative volume (paged, as it should be), then two days
    # later a ramp to five times: caught as soon as on the same topic without the giant burst.
    giant_at, storm_at = local(21, 14), local(23, 10)
    giant = [
        replace(b, negative=b.negative * 40, volume=b.volume + b.negative * 39)
        if giant_at <= b.start_at < giant_at + timedelta(minutes=30)
        else b
        for b in history
    ]
    plain = pages(pickle.loads(warmed), after_warmup(with_storm(history, "ramp", storm_at)))
    bursty = pages(pickle.loads(warmed), after_warmup(with_storm(giant, "ramp", storm_at)))
    assert bursty[0] <= giant_at + timedelta(minutes=10), "the giant burst itself pages"
    delay_plain = first_page_after(plain, storm_at)
    delay_bursty = min(page - storm_at for page in bursty if page > storm_at)
    assert delay_bursty <= delay_plain + WIDTH
    assert delay_bursty <= SHAPES["ramp"].full_after


def test_a_quiet_week_pages_nobody(warmed: bytes, history: list[Bucket]) -> None:
    assert pages(pickle.loads(warmed), after_warmup(history)) == []


def test_calibrate_reports_every_shape_and_the_false_pages(history: list[Bucket]) -> None:
    report = calibrate.calibrate(history, DetectionSettings(), BERLIN, seed=1,
                                 skip=timedelta(days=7), spacing=timedelta(days=2))  # fmt: skip
    assert {r.storm.shape.name for r in report.results} == set(SHAPES)
    assert report.quiet_weeks == pytest.approx(3.0, abs=0.1)
    assert sum(r.caught for r in report.results) >= len(report.results) - 2
    lines = calibrate.summary_lines(report)
    assert lines[0].startswith("viral") and "false pages without storms" in lines[-1]


def test_a_small_topics_night_storm_is_paged() -> None:
    # About 3 mentions per 5 minutes, one negative post an hour at night; at 3 a.m. a dozen
    # negative posts in 45 minutes (the case a user found never paged before).
    shape = StreamShape(mentions_per_hour=36.0, negative_share=0.15, positive_share=0.3)
    quiet = list(generate(START, timedelta(days=28), WIDTH, timezone=BERLIN, shape=shape,
                          seed=5))  # fmt: skip
    at = local(23, 3)
    storm = [
        replace(b, negative=b.negative + 1 + (i % 3 == 0), volume=b.volume + 1 + (i % 3 == 0))
        if at <= b.start_at < at + timedelta(minutes=45)
        else b
        for i, b in enumerate(quiet)
    ]
    assert sum(s.negative - b.negative for s, b in zip(storm, quiet, strict=True)) == 12
    found = pages(build_detector(DetectionSettings(), BERLIN), storm)
    assert first_page_after(found, at) <= timedelta(minutes=45)
