"""One contract for every river-style estimator in ``detectors/`` (as river runs one suite over
all of its estimators): the API, determinism, no learning while scoring, pickling, cloning."""

from __future__ import annotations

import functools
import pickle
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from river import base

from detectors import DETECTORS, ToneBaseline
from monitor.offline.synthetic import poisson

START = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)

Sample = dict[Any, Any]


def count_samples(seed: int = 1, days: int = 10) -> Iterator[Sample]:
    """Hourly counts with a daily rhythm, in the feature dict the count detectors read."""
    rng = random.Random(seed)
    for i in range(days * 24):
        at = START + i * HOUR
        mean = 30.0 if 8 <= at.hour < 20 else 6.0
        yield {"start_at": at, "hours": 1.0, "count": poisson(rng, mean)}


def tone_samples(seed: int = 1, days: int = 10) -> Iterator[Sample]:
    """Hourly neutral mentions and about two negative ones for every five neutral."""
    rng = random.Random(seed)
    for _ in range(days * 24):
        neutral = poisson(rng, 25.0)
        yield {"negative": poisson(rng, neutral * 0.4), "neutral": neutral, "hours": 1.0}


# Every estimator with its samples and a way to make a sample more anomalous than another.
ESTIMATORS: dict[str, tuple[Callable[[], base.AnomalyDetector], Callable[[], Iterator[Sample]]]] = {
    **{
        name: (functools.partial(cls, timezone=ZoneInfo("Europe/Berlin")), count_samples)
        for name, cls in DETECTORS.items()
    },
    "tone": (ToneBaseline, tone_samples),
}


def more_anomalous(sample: Sample) -> Sample:
    if "count" in sample:
        return {**sample, "count": sample["count"] * 4 + 20}
    return {**sample, "negative": sample["neutral"] * 2 + 20}


@pytest.fixture(params=sorted(ESTIMATORS))
def trained(request: pytest.FixtureRequest) -> tuple[base.AnomalyDetector, list[Sample]]:
    make, samples = ESTIMATORS[request.param]
    estimator = make()
    history = list(samples())
    for sample in history[:-24]:
        assert estimator.learn_one(sample) is None
    return estimator, history[-24:]


def test_is_a_river_anomaly_detector(trained: tuple[base.AnomalyDetector, list[Sample]]) -> None:
    estimator, _ = trained
    assert isinstance(estimator, base.AnomalyDetector)


def test_scores_are_finite_floats_and_scoring_learns_nothing(
    trained: tuple[base.AnomalyDetector, list[Sample]],
) -> None:
    estimator, held_out = trained
    scores = [estimator.score_one(sample) for sample in held_out]
    assert all(isinstance(score, float) and abs(score) < 1e6 for score in scores)
    for sample in held_out:
        estimator.score_one(more_anomalous(more_anomalous(sample)))
    assert [estimator.score_one(sample) for sample in held_out] == scores


def test_a_more_anomalous_sample_scores_higher(
    trained: tuple[base.AnomalyDetector, list[Sample]],
) -> None:
    estimator, held_out = trained
    for sample in held_out:
        assert estimator.score_one(more_anomalous(sample)) > estimator.score_one(sample)


def test_a_pickled_estimator_continues_exactly(
    trained: tuple[base.AnomalyDetector, list[Sample]],
) -> None:
    estimator, held_out = trained
    copy = pickle.loads(pickle.dumps(estimator))
    for sample in held_out:
        assert copy.score_one(sample) == estimator.score_one(sample)
        copy.learn_one(sample)
        estimator.learn_one(sample)


def test_a_clone_has_the_same_parameters_and_no_memory(
    trained: tuple[base.AnomalyDetector, list[Sample]],
) -> None:
    estimator, _ = trained
    clone = estimator.clone()
    assert type(clone) is type(estimator)
    assert clone._get_params() == estimator._get_params()
    fresh = type(estimator)(**estimator._get_params())
    assert pickle.dumps(clone) == pickle.dumps(fresh)


def test_buckets_without_width_are_ignored(
    trained: tuple[base.AnomalyDetector, list[Sample]],
) -> None:
    estimator, held_out = trained
    scores = [estimator.score_one(sample) for sample in held_out]
    estimator.learn_one({**more_anomalous(held_out[0]), "hours": 0.0})
    assert [estimator.score_one(sample) for sample in held_out] == scores
