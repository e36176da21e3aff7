"""Mentions count as sure as the scorer is: the detector reads summed probabilities.

A topic whose posts the trained scorer reads with calibrated probabilities is replayed twice:
its buckets as the pipeline makes them (with :class:`~monitor.models.Readings`) and the same
posts counted by label only. Posts are drawn from the dev posts' readings shipped with the
package (``monitor/data/reading_profile.json``), as ``shitstorm calibrate`` draws them.
"""

from __future__ import annotations

import functools
import pickle
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from detectors import DetectionSettings, build_detector
from detectors.readings import MAX_SCALE, MIN_NEUTRAL, ReadingNoise
from monitor.models import Bucket, Readings
from monitor.offline import calibrate, storms, toned
from monitor.offline.reading import (
    DEFAULT_CONFUSION,
    LABELS,
    PostReader,
    read_posts,
    shipped_reader,
)

START = datetime(2026, 3, 2, tzinfo=UTC)
WIDTH = timedelta(minutes=5)
DAYS = 12


def labels_only(buckets: list[Bucket]) -> list[Bucket]:
    return [replace(b, readings=None) for b in buckets]


def topic(seed: int, per_bucket: float = 40.0) -> list[Bucket]:
    """Days of a topic whose attention swings by the hour, read with probabilities."""
    rng = random.Random(seed)
    series = [
        (
            START + i * WIDTH,
            per_bucket * (0.4 + 1.2 * ((i // 12) % 24 >= 8)) * rng.uniform(0.8, 1.2),
        )
        for i in range(DAYS * 288)
    ]
    buckets, _ = toned.toned_series(series, WIDTH, random.Random(seed), reader=shipped_reader())
    return buckets


def scores(buckets: list[Bucket]) -> list[float]:
    detector = build_detector(DetectionSettings(), UTC)
    return [detector.observe(b).score for b in buckets]


def test_label_counts_given_as_readings_change_nothing() -> None:
    buckets = labels_only(topic(1))[: 3 * 288]
    as_readings = [
        replace(b, readings=Readings.of_labels(b.negative, b.volume - b.negative - b.positive))
        for b in buckets
    ]
    plain, given = (
        build_detector(DetectionSettings(), UTC),
        build_detector(DetectionSettings(), UTC),
    )
    for a, b in zip(buckets, as_readings, strict=True):
        assert plain.observe(a) == given.observe(b)


STORM_AT = START + timedelta(days=DAYS - 2, hours=14)


@functools.cache
def warmed(seed: int) -> tuple[list[Bucket], dict[str, bytes]]:
    """A ~15-posts-a-bucket topic, and detectors warmed on it until the storm, one reading its
    probabilities and one its labels only."""
    history = topic(seed, per_bucket=15.0)
    states = {}
    for name, buckets in (("probabilities", history), ("labels", labels_only(history))):
        detector = build_detector(DetectionSettings(), UTC)
        for b in buckets:
            if b.start_at >= STORM_AT:
                break
            detector.observe(b)
        states[name] = pickle.dumps(detector)
    return history, states


@pytest.mark.parametrize("shape", ["viral", "ramp"])
def test_a_storm_read_with_probabilities_opens_sooner_than_the_same_posts_counted_by_label(
    shape: str,
) -> None:
    # By day ~15 posts per 5 minutes: Poisson noise dominates, where weighing each post by how
    # sure the scorer is counts most (storm_bench --confusion: 1.38x the posts' worth).
    bar = DetectionSettings().opening_threshold()
    delays: dict[str, list[int]] = {"probabilities": [], "labels": []}
    for seed in range(6):
        history, states = warmed(seed)
        planned = storms.PlannedStorm(next(s for s in storms.SHAPES if s.name == shape), STORM_AT)
        stormy = storms.inject(history, [planned], UTC, random.Random(seed), shipped_reader())
        inside = [b for b in stormy if STORM_AT <= b.start_at < STORM_AT + planned.shape.full_after]
        for name, buckets in (("probabilities", inside), ("labels", labels_only(inside))):
            detector = pickle.loads(states[name])
            found = [detector.observe(b).score for b in buckets]
            # Buckets until the score reaches the bar (all of them: not by full strength).
            crossed = (k for k, score in enumerate(found) if score >= bar)
            delays[name].append(next(crossed, len(found)))
    assert sum(delays["probabilities"]) < sum(delays["labels"]), delays


def test_the_calm_topic_pages_nobody_either_way() -> None:
    history = topic(7)
    for buckets in (history, labels_only(history)):
        detector = build_detector(DetectionSettings(), UTC)
        decisions = [detector.observe(b) for b in buckets]
        assert not any(d.anomalous for d in decisions[7 * 288 :])


def test_what_people_read_is_told_in_labels() -> None:
    history = topic(3)
    detector = build_detector(DetectionSettings(), UTC)
    for b in history:
        decision = detector.observe(b)
    assert detector.readings.scale(detector.tone.ratio) > 2.0  # probabilities are being weighed
    recent = history[-288:]
    labelled = sum(b.negative for b in recent) / len(recent)
    # Summed probabilities would overstate the negative mentions: every neutral post adds some.
    assert sum(b.sums.negative for b in recent) / len(recent) > 1.2 * labelled
    assert 0.7 * labelled < decision.expected_negative < 1.4 * labelled
    # "N negative mentions in the last M min": N counts the labels of those M minutes.
    words = decision.reason.split()
    count, minutes = int(words[0]), int(words[words.index("last") + 1])
    assert words[words.index("last") + 2].startswith("min")
    assert count == sum(b.negative for b in history[-(minutes // 5) :])


def test_reading_noise_scale() -> None:
    early = ReadingNoise(half_life_hours=24.0)
    early.learn(Readings(3.0, MIN_NEUTRAL - 1, 1.2, 9.0, 2.4), hours=1.0)
    assert early.scale(0.25) == 1.0  # too few neutral readings behind it yet: as labels
    labels, unsure, flat = (ReadingNoise(half_life_hours=24.0) for _ in range(3))
    for _ in range(48):
        labels.learn(Readings.of_labels(3, 12), hours=1.0)
        unsure.learn(Readings(3.0, 12.0, 1.2, 9.0, 2.4), hours=1.0)
        # Every post read 0.2 negative and 0.8 neutral: p_neg - 0.25 p_neu is always 0.
        flat.learn(Readings(2.0, 8.0, 0.4, 6.4, 1.6), hours=1.0)
    assert labels.scale(0.25) == 1.0
    assert unsure.scale(0.25) == pytest.approx(6.67, abs=0.01)
    assert unsure.scale(0.0) == 1.0  # no tone, no test to scale
    assert flat.scale(0.25) == MAX_SCALE


def test_a_label_reader_reads_as_the_confusion_matrix_says() -> None:
    reader = PostReader()
    for label in LABELS:
        a, b = random.Random(4), random.Random(4)
        read = reader.read(a, 50, label)
        assert (read.negative, read.neutral, read.positive) == read_posts(
            b, 50, reader.confusion[label]
        )
        assert read.readings is None


def test_a_probability_reader_counts_the_most_probable_class_and_sums_the_rest() -> None:
    reader = PostReader.of_probabilities(
        {
            "negative": [(0.7, 0.2, 0.1)],
            "neutral": [(0.2, 0.5, 0.3)],
            "positive": [(0.1, 0.3, 0.6)],
        }
    )
    read = reader.read(random.Random(1), 10, "neutral")
    assert (read.negative, read.neutral, read.positive) == (0, 10, 0)
    assert read.readings is not None
    sums = read.readings
    assert (sums.negative, sums.neutral, sums.negative_sq, sums.neutral_sq, sums.cross) == (
        pytest.approx((2.0, 5.0, 0.4, 2.5, 1.0))
    )
    assert reader.confusion["negative"] == (1.0, 0.0, 0.0)
    assert replace(reader, labels_only=True).read(random.Random(1), 10, "neutral").readings is None


def test_the_shipped_readings_read_as_the_measured_confusion() -> None:
    # The same scorer on the same posts; the confusion weighs the four dev files equally, the
    # shipped readings pool their posts (GermEval's many neutral news posts weigh more there).
    reader = shipped_reader()
    for label, row in DEFAULT_CONFUSION.items():
        assert reader.confusion[label] == pytest.approx(row, abs=0.06)


def test_calibrate_reads_storm_posts_as_the_history_was_read() -> None:
    history = topic(5)[: 10 * 288]
    report = calibrate.calibrate(history, DetectionSettings(), UTC, seed=2, false_pages=False)
    assert report.results
    assert calibrate.reader_for(history).gives_probabilities
    assert not calibrate.reader_for(labels_only(history)).gives_probabilities
    stormy = storms.inject(history, [r.storm for r in report.results], UTC, random.Random(2),
                           calibrate.reader_for(history))  # fmt: skip
    extra = sum(s.sums.negative - b.sums.negative for s, b in zip(stormy, history, strict=True))
    added = sum(s.negative - b.negative for s, b in zip(stormy, history, strict=True))
    # Storm posts add to the readings as to the counts: most are read negative, not all.
    assert 0.6 * added < extra < 1.3 * added


@pytest.mark.parametrize("upgrade", [True, False], ids=["labels then probabilities", "back"])
def test_a_scorer_that_starts_or_stops_giving_probabilities_pages_nobody(upgrade: bool) -> None:
    # An upgrade from stored label-only buckets, or a switch of backend: the usual tone in one
    # reading would make the other look like a storm (or hide one). Seed 1 paged 434 buckets.
    history = topic(1)
    switch = 8 * 288
    if upgrade:
        buckets = labels_only(history[:switch]) + history[switch:]
    else:
        buckets = history[:switch] + labels_only(history[switch:])
    detector = build_detector(DetectionSettings(), UTC)
    decisions = [detector.observe(b) for b in buckets]
    assert not any(d.anomalous for d in decisions[switch:])
    # And a storm a day after the switch still pages.
    at = START + timedelta(days=9, hours=14)
    viral = next(s for s in storms.SHAPES if s.name == "viral")
    stormy = storms.inject(buckets, [storms.PlannedStorm(viral, at)], UTC, random.Random(1),
                           shipped_reader() if upgrade else PostReader())  # fmt: skip
    detector = build_detector(DetectionSettings(), UTC)
    opened = [b.start_at for b in stormy if detector.observe(b).anomalous]
    assert opened and at <= opened[0] <= at + viral.full_after
