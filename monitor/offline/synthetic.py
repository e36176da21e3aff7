"""Synthetic mention streams with known storms, campaigns and outages, for tests and demos.

Real labelled shitstorms are rare and private; a generator whose truth we know is how the
detector's promises are checked: a storm of 3× the usual negative volume is caught within two
buckets by day and by night, a campaign of happy posts is not a storm, an outage is not a storm.

The stream has an hour-of-day rhythm (quiet at night, busy in the afternoon and evening), a
quieter weekend and Poisson noise, and is fully determined by its seed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Literal

from monitor.models import Bucket

# Relative volume by local hour: a night trough about a fifth of the evening peak.
HOURLY_PROFILE = (
    0.35, 0.25, 0.2, 0.18, 0.2, 0.3, 0.5, 0.8, 1.1, 1.3, 1.4, 1.45,
    1.5, 1.5, 1.45, 1.4, 1.4, 1.45, 1.55, 1.6, 1.5, 1.2, 0.8, 0.5,
)  # fmt: skip
WEEKEND_FACTOR = 0.7

EventKind = Literal["storm", "campaign", "outage", "silent_outage"]


@dataclass(frozen=True)
class Event:
    """Something that happens to the stream for ``duration`` from ``start_at``.

    ``storm`` multiplies the negative volume by ``factor``; ``campaign`` multiplies the positive
    volume, and some of the extra posts are misread, as neutral and as negative (sentiment
    scorers err; the default shares are about those measured on the dev sets);
    ``outage`` makes buckets incomplete (a source failed); ``silent_outage`` delivers nothing
    while the buckets still look complete (a source that answers but returns no posts).
    """

    kind: EventKind
    start_at: datetime
    duration: timedelta
    factor: float = 3.0

    def covers(self, at: datetime) -> bool:
        return self.start_at <= at < self.start_at + self.duration


@dataclass(frozen=True)
class StreamShape:
    """The usual traffic of a topic: mentions per hour on average and their sentiment mix."""

    mentions_per_hour: float = 1200.0
    negative_share: float = 0.2
    positive_share: float = 0.3
    # Share of a campaign's extra positive posts that the scorer reads as negative.
    misread_share: float = 0.1
    # Share of a campaign's extra positive posts that the scorer reads as neutral.
    misread_neutral_share: float = 0.2


def expected_counts(at: datetime, timezone: tzinfo, shape: StreamShape, hours: float) -> float:
    """Expected total mentions in a bucket of ``hours`` starting at ``at`` (no events)."""
    local = at.astimezone(timezone)
    weekday = WEEKEND_FACTOR if local.weekday() >= 5 else 1.0
    # Profile values average ~1.0 over the day, so the mean rate is mentions_per_hour.
    return shape.mentions_per_hour * HOURLY_PROFILE[local.hour] * weekday * hours


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw; exact (Knuth) for small means, normal-approximated for large ones."""
    if mean <= 0:
        return 0
    if mean > 60:
        return max(round(rng.gauss(mean, math.sqrt(mean))), 0)
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def generate(
    start_at: datetime,
    duration: timedelta,
    width: timedelta,
    *,
    timezone: tzinfo,
    shape: StreamShape = StreamShape(),
    events: Sequence[Event] = (),
    seed: int = 0,
    topic: str = "acme",
) -> Iterator[Bucket]:
    """Buckets of a synthetic topic from ``start_at`` for ``duration``, in order.

    Examples
    --------
    >>> from datetime import UTC, datetime, timedelta
    >>> from monitor.offline.synthetic import Event, generate
    >>> start = datetime(2026, 3, 2, tzinfo=UTC)
    >>> storm = Event("storm", start + timedelta(hours=14), timedelta(hours=1))
    >>> buckets = list(generate(start, timedelta(days=1), timedelta(minutes=5),
    ...                         timezone=UTC, events=[storm], seed=1))
    >>> len(buckets)
    288
    >>> calm = sum(b.negative for b in buckets[156:168])  # 13:00-14:00
    >>> stormy = sum(b.negative for b in buckets[168:180])  # 14:00-15:00
    >>> 2.0 < stormy / calm < 4.5
    True

    """
    rng = random.Random(seed)
    hours = width.total_seconds() / 3600.0
    neutral_share = 1.0 - shape.negative_share - shape.positive_share
    at = start_at
    end_at = start_at + duration
    while at < end_at:
        total = expected_counts(at, timezone, shape, hours)
        negative_mean = total * shape.negative_share
        positive_mean = total * shape.positive_share
        complete = True
        silent = False
        neutral_extra = 0.0
        for event in events:
            if not event.covers(at):
                continue
            if event.kind == "storm":
                negative_mean *= event.factor
            elif event.kind == "campaign":
                extra = positive_mean * (event.factor - 1.0)
                positive_mean += extra * (1.0 - shape.misread_share - shape.misread_neutral_share)
                negative_mean += extra * shape.misread_share
                neutral_extra += extra * shape.misread_neutral_share
            elif event.kind == "outage":
                complete = False
            else:
                silent = True
        negative = poisson(rng, negative_mean)
        positive = poisson(rng, positive_mean)
        neutral = poisson(rng, total * neutral_share + neutral_extra)
        if silent or not complete:
            negative = positive = neutral = 0
        yield Bucket(
            topic, at, at + width, negative + positive + neutral, negative, positive, complete
        )
        at += width
