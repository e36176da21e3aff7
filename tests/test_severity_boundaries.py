"""The severity scale's boundaries: each level starts exactly at its ratio and excess steps."""

from __future__ import annotations

import pytest

from detectors.severity import MAX_SEVERITY, SEVERITY_LABELS, severity

MIN_NEGATIVE = 8
STEPS = [2.0, 4.0, 8.0, 16.0, 32.0]  # for levels 2..6, as the scale documents them


def test_the_scale_has_seven_named_levels() -> None:
    assert MAX_SEVERITY == 6
    assert SEVERITY_LABELS[0] == "calm" and SEVERITY_LABELS[6] == "nationwide outrage"


@pytest.mark.parametrize(("level", "step"), list(enumerate(STEPS, start=2)))
def test_each_ratio_step_starts_its_level(level: int, step: float) -> None:
    expected = 1000.0  # so many that the excess never binds
    assert severity(step * expected, expected, MIN_NEGATIVE) == level
    assert severity(step * expected - 0.001, expected, MIN_NEGATIVE) == level - 1


@pytest.mark.parametrize(("level", "step"), list(enumerate(STEPS, start=2)))
def test_each_excess_step_starts_its_level(level: int, step: float) -> None:
    expected = 0.5  # so few that the ratio never binds
    extra = step * MIN_NEGATIVE
    assert severity(expected + extra, expected, MIN_NEGATIVE) == level
    assert severity(expected + extra - 0.001, expected, MIN_NEGATIVE) == level - 1


def test_the_level_is_the_lower_of_ratio_and_excess() -> None:
    # 64x the usual (level 6 by ratio), but 63 extra posts where level 4 needs 64: level 3.
    assert severity(65, 1, MIN_NEGATIVE) == 4
    assert severity(64, 1, MIN_NEGATIVE) == 3
    # 40 extra posts (level 4 by excess), but only 1.4x the usual: level 1.
    assert severity(140, 100, MIN_NEGATIVE) == 1


@pytest.mark.parametrize(("observed", "expected"), [(0, 0), (5, 10), (8, 0), (1e9, 0)])
def test_every_storm_is_at_least_level_1_and_at_most_6(observed: float, expected: float) -> None:
    assert 1 <= severity(observed, expected, MIN_NEGATIVE) <= MAX_SEVERITY


def test_nothing_expected_is_an_infinite_ratio_so_the_excess_decides() -> None:
    assert severity(16, 0, MIN_NEGATIVE) == 2
    assert severity(256, 0, MIN_NEGATIVE) == 6
    assert severity(255, 0, MIN_NEGATIVE) == 5


def test_more_observed_never_lowers_the_level() -> None:
    for expected in (0.0, 0.3, 4.0, 50.0, 2000.0):
        levels = [severity(n / 4, expected, MIN_NEGATIVE) for n in range(0, 40_000, 7)]
        assert levels == sorted(levels)
