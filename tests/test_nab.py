"""The NAB scorer on cases small enough to compute by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from monitor.offline import nab

STANDARD, LOW_FP, LOW_FN = nab.PROFILES
SIGMA_1 = 2.0 / (1.0 + math.exp(-5.0)) - 1.0  # σ(-1), the weight of a window's first row


def test_profiles_are_nabs() -> None:
    assert [(p.name, p.a_tp, p.a_fp, p.a_fn) for p in nab.PROFILES] == [
        ("standard", 1.0, 0.11, 1.0),
        ("reward_low_FP", 1.0, 0.22, 1.0),
        ("reward_low_FN", 1.0, 0.11, 2.0),
    ]


def test_sigmoid_is_scaled_and_clamped() -> None:
    assert nab.scaled_sigmoid(0.0) == 0.0
    assert nab.scaled_sigmoid(-1.0) == pytest.approx(SIGMA_1)
    assert nab.scaled_sigmoid(3.0) == pytest.approx(2.0 / (1.0 + math.exp(15.0)) - 1.0)
    assert nab.scaled_sigmoid(3.01) == -1.0


def test_probation_is_fifteen_percent_capped_at_750() -> None:
    assert nab.probation_rows(100) == 15
    assert nab.probation_rows(15_900) == 750


def test_first_row_of_window_earns_a_tp_and_later_rows_less() -> None:
    # 40 rows: probation 6; one window over rows 20..29 (width 10).
    alerts = [False] * 40
    alerts[20] = True
    assert nab.score_file(alerts, [(20, 29)], STANDARD).score == pytest.approx(1.0)
    alerts = [False] * 40
    alerts[25] = True  # x = -(29 - 25 + 1) / 10 = -0.5
    expected = (2.0 / (1.0 + math.exp(-2.5)) - 1.0) / SIGMA_1
    assert nab.score_file(alerts, [(20, 29)], STANDARD).score == pytest.approx(expected)


def test_only_the_best_detection_in_a_window_counts() -> None:
    alerts = [False] * 40
    alerts[20] = alerts[21] = alerts[29] = True
    score = nab.score_file(alerts, [(20, 29)], STANDARD)
    assert score.score == pytest.approx(1.0)
    assert (score.detected, score.false_alarms, score.delays) == (1, 0, (0,))


def test_false_alarms_before_and_after_windows() -> None:
    alerts = [False] * 40
    alerts[10] = True  # before the first window: -A_FP
    assert nab.score_file(alerts, [(20, 29)], LOW_FP).score == pytest.approx(-0.22 - 1.0)
    alerts = [False] * 40
    alerts[32] = True  # 3 rows after a window of width 10: σ(3 / 9) · A_FP
    after = (2.0 / (1.0 + math.exp(5.0 / 3.0)) - 1.0) * 0.11
    assert nab.score_file(alerts, [(20, 29)], STANDARD).score == pytest.approx(after - 1.0)


def test_probation_rows_and_windows_are_not_scored() -> None:
    alerts = [True] * 3 + [False] * 37  # rows 0..2 fall in the 6-row probation
    score = nab.score_file(alerts, [(1, 4), (4, 8), (20, 29)], LOW_FN)
    # (1, 4) lies inside probation and is dropped; (4, 8) reaches past it and is kept, but
    # the alerts inside probation do not count, so it is missed like (20, 29).
    assert (score.windows, score.detected, score.false_alarms) == (2, 0, 0)
    assert score.score == pytest.approx(-4.0)


def test_normalised_maps_null_to_0_and_perfect_to_100() -> None:
    missed = nab.score_file([False] * 40, [(20, 29)], STANDARD)
    perfect = nab.score_file([i == 20 for i in range(40)], [(20, 29)], STANDARD)
    assert nab.normalised([missed], STANDARD) == pytest.approx(0.0)
    assert nab.normalised([perfect], STANDARD) == pytest.approx(100.0)
    assert nab.normalised([missed, perfect], STANDARD) == pytest.approx(50.0)


def test_window_rows_maps_inclusive_time_spans_to_rows() -> None:
    start = datetime(2015, 3, 1, tzinfo=UTC)
    times = [start + timedelta(minutes=5 * i) for i in range(10)]
    windows = [
        (times[2], times[4]),
        (start + timedelta(minutes=31), start + timedelta(minutes=44)),
        (start + timedelta(days=2), start + timedelta(days=3)),  # beyond the data: dropped
    ]
    assert nab.window_rows(times, windows) == [(2, 4), (7, 8)]
