"""The benchmark scripts still run: each measurement on a tiny input, so they cannot rot.

These check that the figures are produced and mean what they claim (every mention stored,
every bucket judged, the storm alerted); the speed and memory targets are ``make bench``'s job.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from benchmarks.common import current_rss_bytes, machine, peak_rss_bytes
from benchmarks.load_bench import (
    BUCKETS_PER_DAY,
    Volume,
    measure_ingest_throughput,
    measure_steady_memory,
    social_text,
)
from benchmarks.run_all import Section, run_sections

# The kernel's RSS counters are cached per thread and synced lazily, so the current reading and
# the peak, taken a moment apart, can disagree by a few pages.
RSS_SLACK = 4 * 1024 * 1024


def test_throughput_stores_every_polled_mention(tmp_path: Path) -> None:
    result = measure_ingest_throughput(tmp_path, 250, hits_per_page=40, pages_per_poll=3)

    assert result.polls == 3  # 120 + 120 + 10 hits, the last poll one short page
    assert result.mentions == result.stored == 250
    assert result.per_second > 0 and result.cpu_seconds > 0


def test_memory_replay_continues_day_after_day_and_alerts_on_the_storm(tmp_path: Path) -> None:
    days: list[int] = []
    result = measure_steady_memory(
        tmp_path, 1, 2, volume=Volume(max_peak=1.0, storms=1), on_day=lambda s: days.append(s.day)
    )

    assert days == [1, 2]
    assert result.buckets == 2 * BUCKETS_PER_DAY and result.incomplete_buckets == 0
    assert result.incidents == 1 and result.notifications_sent >= 1
    last = result.samples[-1]
    assert last.max_rss_bytes + RSS_SLACK >= (last.rss_bytes or 0) > 0


def test_texts_are_mostly_distinct_and_in_both_languages() -> None:
    rng = random.Random(3)
    posts = [social_text(rng) for _ in range(2000)]

    assert len({text for text, _ in posts}) >= 0.9 * len(posts)
    assert {lang for _, lang in posts} == {"en", "de"}
    assert all(20 <= len(text) <= 300 for text, _ in posts)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_memory_readings_and_machine_name() -> None:
    current = current_rss_bytes() or 0
    assert 0 < current <= peak_rss_bytes() + RSS_SLACK
    assert "Python" in machine()


def test_run_all_reports_crashed_benchmarks_and_skips_missing_ones(tmp_path: Path) -> None:
    skips = tmp_path / "skips.py"
    skips.write_text("print('skipped: no data')\n", encoding="utf-8")
    crashes = tmp_path / "crashes.py"
    crashes.write_text("raise SystemExit(3)\n", encoding="utf-8")
    sections = [
        Section("skips", "Skips", skips),
        Section("crashes", "Crashes", crashes),
        Section("missing", "Missing", tmp_path / "missing.py"),
    ]

    assert run_sections(sections) == ["crashes"]


def test_best_case_sees_a_storm_in_poisson_noise_and_pages_once_per_crossing() -> None:
    from benchmarks.storm_ceiling import best_scores, pages

    rates = [2.0] * 30
    calm = [2] * 30
    storm = [2] * 20 + [12] * 10

    assert max(best_scores(calm, rates, [0.0] * 30, minimum=8)) < 1.0
    scores = best_scores(storm, rates, [0.0] * 30, minimum=8)
    assert max(scores[:20]) < 1.0 < 5.0 < scores[-1]
    # One page for the storm; a second only after the score fell a point below the bar.
    assert pages(scores, 4.0) == [next(i for i, s in enumerate(scores) if s >= 4.0)]
    assert pages([4.5, 3.6, 4.5, 2.9, 4.5], 4.0) == [0, 4]


def test_toned_series_knows_the_calm_rate_its_buckets_average() -> None:
    from datetime import UTC, datetime, timedelta

    from monitor.offline.toned import toned_series

    start, width = datetime(2026, 3, 2, tzinfo=UTC), timedelta(minutes=5)
    series = [(start + i * width, 200.0) for i in range(288)]  # one day, one tone
    buckets, rates = toned_series(series, width, random.Random(1))

    mean_negative = sum(b.negative for b in buckets) / len(buckets)
    mean_neutral = sum(b.volume - b.negative - b.positive for b in buckets) / len(buckets)
    assert len(rates) == len(buckets) and len(set(rates)) == 1
    assert abs(mean_negative - rates[0].negative) < 0.05 * rates[0].negative
    assert abs(mean_neutral - rates[0].neutral) < 0.05 * rates[0].neutral


def test_evidence_per_post_credits_a_sure_scorer_and_probabilities_that_move_together() -> None:
    from benchmarks.post_evidence import as_label, as_probabilities, evidence_per_post

    sure = {
        "negative": [(0.9, 0.05, 0.05)],
        "neutral": [(0.05, 0.9, 0.05)],
        "positive": [(0.05, 0.05, 0.9)],
    }
    # A scorer that reads a storm post as negative only half the time carries less evidence.
    confused = {
        "negative": [(0.9, 0.05, 0.05), (0.05, 0.9, 0.05)],
        "neutral": [(0.05, 0.9, 0.05)],
        "positive": [(0.05, 0.05, 0.9)],
    }
    assert evidence_per_post(confused, as_label) < 0.8 * evidence_per_post(sure, as_label)
    # Unsure posts: a label throws away how unsure; summed probabilities keep it, and the
    # negative and neutral weight of one post move together, so their noise partly cancels.
    unsure = {
        "negative": [(0.6, 0.3, 0.1), (0.45, 0.5, 0.05)],
        "neutral": [(0.3, 0.6, 0.1), (0.2, 0.7, 0.1)],
        "positive": [(0.1, 0.3, 0.6), (0.2, 0.2, 0.6)],
    }
    assert evidence_per_post(unsure, as_probabilities) > evidence_per_post(unsure, as_label)


def test_best_case_night_storm_chance_grows_with_the_topic() -> None:
    from benchmarks.detect_bench import best_case_within

    tiny = best_case_within(0.5, 3.0, 4.0, buckets=5, trials=2000)
    small = best_case_within(2.5, 3.0, 4.0, buckets=5, trials=2000)
    large = best_case_within(15.0, 3.0, 4.0, buckets=5, trials=2000)
    assert tiny < 0.2 < small < 0.99 <= large
    assert best_case_within(2.5, 1.0, 4.0, buckets=5, trials=2000) < 0.01  # no storm, no page
