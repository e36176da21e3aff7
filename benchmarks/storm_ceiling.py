"""The storm benchmark's ceiling: what best-case detectors catch at the same false-page budget.

Two best cases, each given what no real detector has (the tone generator's own figures):

- *knows the calm rate*: each bucket's exact calm rate of negative mentions, day-to-day wander
  included. Only the posts' Poisson noise is left: the evidence is as strong as the data allows.
- *knows the tone*: each bucket's exact calm ratio of negative to neutral reads, but reads the
  attention off the bucket's neutral mentions, as the real detector must (a real topic's
  attention jumps tenfold in minutes, so no calendar can say it). It pays the neutral count's
  noise and the storm's own posts read as neutral; what separates the real detector from it
  is estimating the tone.

Each tests every span of 1 to 48 buckets ending at each bucket (at least ``min_negative``
negatives, as the real detector), pages when the strongest crosses its bar, and re-arms once
all fall a point below it. The bar is the lowest whose false pages on the same storm-free
series stay within the sensitivity's budget. A storm the first one misses has too few posts to
tell from chance at that budget, by anyone: the honest limit for the real detector's figures.

Run through ``python benchmarks/storm_bench.py --ceiling`` (and as part of its default run).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from detectors.counts import count_z
from monitor.models import Bucket
from monitor.offline import backtest, calibrate, storms, toned
from monitor.offline.reading import PostReader

LONGEST_SPAN = 48
BARS = tuple(2.0 + 0.125 * i for i in range(25))  # 2.0 … 5.0
# The real detector's first week is for learning; the best case is scored over the same weeks.
SKIP = timedelta(days=7)


@dataclass(frozen=True)
class Replayed:
    """One toned series with storms: a best case's score per bucket, with and without."""

    buckets: list[Bucket]
    planned: list[storms.PlannedStorm]
    calm_scores: list[float]
    storm_scores: list[float]
    counted: list[bool]  # the bucket counts for false pages (after SKIP, outside labels)


# Expected negatives per bucket, and the variance of that expectation.
Expectation = Callable[
    [Sequence[Bucket], Sequence[toned.CalmRate]], tuple[list[float], list[float]]
]


def knows_rate(
    buckets: Sequence[Bucket], rates: Sequence[toned.CalmRate]
) -> tuple[list[float], list[float]]:
    """Expected negatives: the exact calm rate, known without error."""
    return [rate.negative for rate in rates], [0.0] * len(rates)


def knows_tone(
    buckets: Sequence[Bucket], rates: Sequence[toned.CalmRate]
) -> tuple[list[float], list[float]]:
    """Expected negatives: the exact calm ratio times the bucket's neutral reads, with that
    count's Poisson noise as the expectation's variance."""
    expected, variance = [], []
    for bucket, rate in zip(buckets, rates, strict=True):
        ratio = rate.negative / rate.neutral if rate.neutral > 0 else 0.0
        neutral = bucket.volume - bucket.negative - bucket.positive
        expected.append(ratio * neutral)
        variance.append(ratio * ratio * neutral)
    return expected, variance


BEST_CASES: dict[str, Expectation] = {
    "knows the calm rate": knows_rate,
    "knows the tone, reads attention off the bucket": knows_tone,
}


def best_scores(
    negatives: Sequence[int],
    expected: Sequence[float],
    variance: Sequence[float],
    minimum: int,
) -> list[float]:
    """Per bucket, the strongest evidence over the spans ending there: Poisson noise plus the
    expectation's own variance."""
    scores = []
    for end in range(len(negatives)):
        best = float("-inf")
        observed = mean = spread = 0.0
        for start in range(end, max(end - LONGEST_SPAN, -1), -1):
            observed += negatives[start]
            mean += expected[start]
            spread += variance[start]
            if observed >= minimum and mean > 0:
                best = max(best, count_z(observed, mean, spread / (mean * mean)))
        scores.append(best)
    return scores


def pages(scores: Sequence[float], bar: float) -> list[int]:
    """Buckets where the best case pages: a crossing of ``bar`` after falling a point below."""
    found = []
    armed = True
    for i, score in enumerate(scores):
        if armed and score >= bar:
            found.append(i)
            armed = False
        elif not armed and score < bar - 1.0:
            armed = True
    return found


def toned_file(
    path: Path, labels: Path, seed: int, reader: PostReader
) -> tuple[list[Bucket], list[toned.CalmRate], list[tuple[datetime, datetime]]]:
    """One NAB file as the storm benchmark replays it for ``seed``: its toned buckets, their
    calm rates, and its labelled windows (real events, where no storm goes)."""
    series = backtest.read_series(path)
    width = backtest.bucket_width([at for at, _ in series])
    rng = random.Random(f"{path.stem}-{seed}")
    buckets, rates = toned.toned_series(series, width, rng, topic=path.stem, reader=reader)
    return buckets, rates, backtest.read_windows(labels, path)


def replay(
    files: Sequence[Path],
    labels: Path,
    reader: PostReader,
    seeds: Sequence[int],
    minimum: int,
    expectation: Expectation,
) -> list[Replayed]:
    """The storm benchmark's series and storms (same seeds, same generator), scored by the
    best case that expects negatives by ``expectation``."""
    out = []
    for seed in seeds:
        for path in files:
            buckets, rates, windows = toned_file(path, labels, seed, reader)
            rng = random.Random(seed)
            planned = storms.plan_storms(buckets, rng, avoid=windows)
            stormy = storms.inject(buckets, planned, UTC, rng, reader)
            start = buckets[0].start_at + SKIP
            counted = [
                b.complete and b.start_at >= start and not _inside(b.start_at, windows)
                for b in buckets
            ]
            scores = [
                best_scores([b.negative for b in history], *expectation(history, rates), minimum)
                for history in (buckets, stormy)
            ]
            out.append(Replayed(buckets, planned, scores[0], scores[1], counted))
    return out


def _inside(at: datetime, windows: Sequence[tuple[datetime, datetime]]) -> bool:
    return any(start <= at < end for start, end in windows)


def false_pages_per_week(runs: Sequence[Replayed], bar: float) -> float:
    found = sum(sum(run.counted[i] for i in pages(run.calm_scores, bar)) for run in runs)
    counted = sum((sum(run.counted) * run.buckets[0].width for run in runs), timedelta(0))
    weeks = counted / timedelta(weeks=1)
    return found / weeks if weeks else 0.0


def report_lines(runs: Sequence[Replayed], budget: float, name: str) -> list[str]:
    """Per storm shape and topic size, what the best case catches at the lowest bar whose
    false pages stay within ``budget`` per topic-week (read as ``shitstorm calibrate`` reads
    the real detector's pages)."""
    bar = next((b for b in BARS if false_pages_per_week(runs, b) <= budget), BARS[-1])
    report = calibrate.CalibrationReport()
    for run in runs:
        scored = zip(run.buckets, run.storm_scores, strict=True)
        pages = [bucket.end_at for bucket, score in scored if score >= bar]
        report.results.extend(calibrate.storm_results(run.buckets, run.planned, pages, UTC))
    header = (
        f"best case that {name}, bar {bar:.2f}: "
        f"{false_pages_per_week(runs, bar):.2f} false pages per topic-week (budget {budget:.2f})"
    )
    # The last summary line counts false pages the way the real detector's are counted; the
    # best case's are in the header.
    return [header, *calibrate.summary_lines(report)[:-1]]
