"""Detector and alert policy: settings, warm-up, what is learnt, severity, warm start, widths."""

from __future__ import annotations

import pickle
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from detectors import (
    DETECTORS,
    Decision,
    DetectionSettings,
    TopicDetector,
    build_detector,
)
from detectors.config import DETECTOR_NAMES, SENSITIVITIES
from monitor.models import Bucket
from monitor.offline.synthetic import StreamShape, generate, poisson

START = datetime(2026, 3, 2, tzinfo=UTC)
WIDTH = timedelta(minutes=5)
SHAPE = StreamShape(mentions_per_hour=2400.0)


def stream(days: float, *, seed: int = 1, start: datetime = START) -> Iterator[Bucket]:
    return generate(start, timedelta(days=days), WIDTH, timezone=UTC, shape=SHAPE, seed=seed)


def warmed(days: float = 3.0, settings: DetectionSettings | None = None) -> TopicDetector:
    detector = build_detector(settings or DetectionSettings(), UTC)
    for bucket in stream(days):
        detector.observe(bucket)
    return detector


def after(negative: int, *, complete: bool = True) -> Bucket:
    """The bucket right after :func:`warmed`'s three days (midnight, ~14 negative expected),
    with the usual positive and neutral mentions of that hour (21 and 35)."""
    at = START + timedelta(days=3)
    return Bucket("acme", at, at + WIDTH, negative + 56, negative, 21, complete)


# -- settings ------------------------------------------------------------------------------------


def test_defaults_have_no_problems_and_every_registered_detector_is_named() -> None:
    assert DetectionSettings().problems() == []
    assert tuple(DETECTORS) == DETECTOR_NAMES


def test_an_unknown_detector_is_named_with_the_choices() -> None:
    problems = DetectionSettings(detector="prophet").problems()
    assert problems == [("detector", "unknown detector 'prophet'; choose one of: seasonal, level")]
    with pytest.raises(ValueError, match=r"detection\.detector"):
        build_detector(DetectionSettings(detector="prophet"), UTC)


def test_inconsistent_thresholds_are_problems() -> None:
    settings = DetectionSettings(threshold=4.0, hold_threshold=5.0, min_negative=0)
    keys = [key for key, _ in settings.problems()]
    assert keys == ["min_negative", "hold_threshold"]
    unknown = DetectionSettings(sensitivity="paranoid").problems()
    assert unknown == [
        ("sensitivity", "unknown sensitivity 'paranoid'; choose one of: fewer, balanced, more")
    ]


def test_sensitivity_sets_the_bar_from_a_false_alarm_budget() -> None:
    bars = {name: DetectionSettings(sensitivity=name).opening_threshold() for name in SENSITIVITIES}
    assert bars["more"] < bars["balanced"] < bars["fewer"]
    assert DetectionSettings(sensitivity="more", threshold=6.0).opening_threshold() == 6.0
    # The same budget judged on hourly buckets needs a lower bar: fewer tests a week.
    hourly = DetectionSettings().opening_threshold(timedelta(hours=1))
    assert hourly < bars["balanced"]


# -- warm-up -------------------------------------------------------------------------------------


def test_no_alert_while_warming_up_even_on_a_huge_spike() -> None:
    detector = build_detector(DetectionSettings(warmup=timedelta(hours=6)), UTC)
    buckets = list(stream(0.5))
    decisions = [detector.observe(b) for b in buckets[:60]]  # 5 hours
    spike = replace(buckets[60], negative=500, volume=600)
    decision = detector.observe(spike)
    assert all(d.warming_up for d in [*decisions, decision])
    assert not any(d.anomalous for d in [*decisions, decision])
    assert decision.reason.startswith("warming up")
    for bucket in buckets[61:]:
        detector.observe(bucket)
    assert not detector.warming_up


def test_the_same_spike_after_warm_up_is_a_storm() -> None:
    detector = warmed()
    decision = detector.observe(after(400))
    assert decision.anomalous and not decision.warming_up
    assert decision.score > detector.threshold
    assert decision.severity >= 4


# -- what is learnt ------------------------------------------------------------------------------


def test_a_long_storm_does_not_become_the_baseline() -> None:
    detector = warmed()
    start = START + timedelta(days=3)
    calm = list(stream(1, start=start, seed=2))
    decisions = []
    for bucket in calm[:96]:  # eight hours at five times the negative volume
        extra = 4 * bucket.negative
        stormy = replace(bucket, negative=bucket.negative + extra, volume=bucket.volume + extra)
        decisions.append(detector.observe(stormy))
    assert all(d.anomalous for d in decisions[2:])
    # A day later the expectation is the usual one again, not the storm's.
    reference = warmed()
    for bucket in calm[:96]:
        reference.observe(bucket)
    probe = calm[96]
    assert detector.observe(probe).expected_negative == pytest.approx(
        reference.observe(probe).expected_negative, rel=0.1
    )


def test_a_storm_on_a_young_topic_does_not_explain_itself_away() -> None:
    # Two and a half hours of history at 1-minute buckets: the noise model has seen little, and
    # must not take the storm's own buckets as evidence that the topic is just noisy.
    detector = build_detector(DetectionSettings(warmup=timedelta(hours=1)), UTC)
    width = timedelta(minutes=1)
    shape = StreamShape(mentions_per_hour=180.0)
    calm = list(generate(START, timedelta(minutes=150), width, timezone=UTC, shape=shape, seed=8))
    assert not any(detector.observe(b).anomalous for b in calm)
    storm_at = START + timedelta(minutes=150)
    storm = [
        Bucket("acme", storm_at + i * width, storm_at + (i + 1) * width, 15, 12, 1)
        for i in range(15)
    ]
    decisions = [detector.observe(b) for b in storm]
    assert decisions[1].anomalous
    assert all(d.anomalous for d in decisions[1:])


def test_incomplete_buckets_are_neither_judged_nor_learnt() -> None:
    detector = warmed()
    reference = pickle.loads(pickle.dumps(detector))
    gap = after(900, complete=False)
    decision = detector.observe(gap)
    assert (decision.anomalous, decision.severity, decision.score) == (False, 0, 0.0)
    assert "incomplete" in decision.reason
    following = replace(gap, start_at=gap.end_at, end_at=gap.end_at + WIDTH, complete=True)
    assert detector.observe(following).expected_negative == pytest.approx(
        reference.observe(following).expected_negative
    )


def test_a_lasting_change_is_accepted_after_relearn_after() -> None:
    settings = DetectionSettings(relearn_after=timedelta(hours=6))
    detector = warmed(7, settings=settings)
    flagged = []
    for bucket in stream(3, start=START + timedelta(days=7), seed=3):
        step = replace(
            bucket, negative=bucket.negative * 4, volume=bucket.volume + bucket.negative * 3
        )
        flagged.append(detector.observe(step).anomalous)
    assert all(flagged[3:36]), "the step up is a storm at first"
    assert not any(flagged[-96:]), "but after a day of it, it is the new normal"


# -- severity ------------------------------------------------------------------------------------


def test_severity_and_score_grow_with_the_deviation() -> None:
    state = pickle.dumps(warmed())
    decisions = [pickle.loads(state).observe(after(n)) for n in (20, 60, 120, 250, 500, 900)]
    severities = [d.severity for d in decisions]
    scores = [d.score for d in decisions]
    assert severities == sorted(severities) and scores == sorted(scores)
    assert severities[0] == 0 and severities[-1] >= 5
    assert [d.anomalous for d in decisions] == [s > 0 for s in severities]


def test_a_storm_is_sized_on_opening_so_its_echo_does_not_page_again() -> None:
    # A small bursty topic (gamma-Poisson, about 3 per bucket, φ ≈ 1): 16 then 55 opens a storm.
    # The 15-minute sum is elevated at once but below the opening bar; sized only on the spans
    # that opened it, the storm "climbed" a bucket later when that sum passed the hold bar,
    # and paged a second time for the same burst.
    rng = random.Random(1)
    detector = build_detector(DetectionSettings(), UTC)
    at = START

    def bucket(negative: int) -> Bucket:
        nonlocal at
        at += WIDTH
        return Bucket("bursty", at - WIDTH, at, negative, negative, 0)

    for _ in range(3 * 288):
        detector.observe(bucket(poisson(rng, 3.0 * rng.gammavariate(1.0, 1.0))))
    decisions = [detector.observe(bucket(n)) for n in (16, 55, 4, 3)]
    opening = decisions[1]
    assert not decisions[0].anomalous and opening.anomalous
    assert all(d.severity <= opening.severity for d in decisions[2:])


def test_a_handful_of_mentions_is_never_a_storm() -> None:
    # A quiet topic: 0-1 negative mentions per bucket. Three in one bucket is improbable but
    # below min_negative, whatever the score.
    shape = StreamShape(mentions_per_hour=24.0)
    detector = build_detector(DetectionSettings(), UTC)
    for bucket in generate(START, timedelta(days=3), WIDTH, timezone=UTC, shape=shape, seed=4):
        assert not detector.observe(bucket).anomalous
    at = START + timedelta(days=3)
    decision = detector.observe(Bucket("quiet", at, at + WIDTH, 4, 3, 0))
    assert not decision.anomalous


# -- decisions read well -------------------------------------------------------------------------


def test_decision_carries_expectations_and_a_sentence() -> None:
    detector = warmed()
    decision = detector.observe(after(120))
    assert isinstance(decision, Decision)
    assert 0 < decision.expected_negative < decision.expected_negative_high < 120
    assert decision.expected_share == pytest.approx(SHAPE.negative_share, abs=0.02)
    assert "negative mentions in the last" in decision.reason
    assert "usual" in decision.reason


# -- warm start ----------------------------------------------------------------------------------


def test_a_pickled_detector_continues_exactly_like_one_rebuilt_from_buckets() -> None:
    history = list(stream(3))
    future = list(stream(1, start=START + timedelta(days=3), seed=5))
    future[30:42] = [replace(b, negative=b.negative * 4) for b in future[30:42]]

    running = build_detector(DetectionSettings(), UTC)
    for bucket in history:
        running.observe(bucket)
    restored: TopicDetector = pickle.loads(pickle.dumps(running))
    rebuilt = build_detector(DetectionSettings(), UTC)
    for bucket in history:
        rebuilt.observe(bucket)

    expected = [running.observe(b) for b in future]
    assert [restored.observe(b) for b in future] == expected
    assert [rebuilt.observe(b) for b in future] == expected
    assert any(d.anomalous for d in expected)


# -- bucket widths -------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [timedelta(seconds=10), timedelta(hours=1)])
def test_any_bucket_width_works(width: timedelta) -> None:
    # Same traffic per hour, so a 10-second bucket holds ~1.7 negative mentions.
    settings = DetectionSettings(warmup=width * 200)
    detector = build_detector(settings, UTC)
    buckets = list(
        generate(START, width * 400, width, timezone=UTC, shape=SHAPE, seed=6, topic="w")
    )
    assert not any(detector.observe(b).anomalous for b in buckets[:300])
    storm = [replace(b, negative=b.negative * 6 + 10) for b in buckets[300:310]]
    assert any(detector.observe(b).anomalous for b in storm[:3])


def test_the_level_detector_is_a_working_alternative() -> None:
    detector = warmed(settings=DetectionSettings(detector="level"))
    assert detector.observe(after(400)).anomalous


def test_evidence_windows_keep_each_spans_sums_exact_over_a_long_run() -> None:
    # The sums are kept up to date bucket by bucket, not re-summed: after thousands of buckets,
    # a burst and a gap they must still be the sums of the last buckets of each span.
    from detectors.evidence import EvidenceWindows

    rng = random.Random(3)
    evidence = EvidenceWindows(longest=36, half_life_hours=24.0)
    pushed: list[tuple[float, float, float]] = []
    for i in range(5000):
        if i == 4000:  # a gap
            evidence.clear()
            pushed.clear()
        burst = 1000.0 if 2000 <= i < 2010 else 1.0
        count, expected = float(poisson(rng, 3.0 * burst)), rng.uniform(0.1, 5.0) * burst
        evidence.push(count, expected, count + 10.0, expected / 7.0)
        pushed.append((count, expected, count + 10.0))
        if i % 97 == 0 or i in (2010, 2020, 4001, 4030):
            for window in evidence.windows():
                last = pushed[-window.buckets :]
                assert len(last) == window.buckets
                assert window.observed == sum(c for c, _, _ in last)
                assert window.expected == pytest.approx(sum(e for _, e, _ in last), rel=1e-9)
                assert window.volume == sum(v for _, _, v in last)
