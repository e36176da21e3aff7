"""A tone for a bare mention-count series: how a real topic's posts would be read.

Series such as NAB's hold only a count per bucket. `toned_series` gives them a negative and
positive share that wander from day to day, as real topics' do, and reads each post through the
scorer's confusion, so storms can be injected into them and judged with the tone test.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.models import Bucket
from monitor.offline.reading import LABELS, PostReader, binomial, read_readings, total_readings
from monitor.offline.storms import LABEL_READER


@dataclass(frozen=True, slots=True)
class CalmRate:
    """The mentions a bucket holds on average, as the scorer reads them: what only the
    generator knows (and a best-case detector is given)."""

    negative: float
    neutral: float


def toned_series(
    series: Iterable[tuple[datetime, float]],
    width: timedelta,
    rng: random.Random,
    *,
    topic: str = "backtest",
    negative_share: float = 0.15,
    positive_share: float = 0.25,
    wander: float = 0.35,
    reader: PostReader = LABEL_READER,
) -> tuple[list[Bucket], list[CalmRate]]:
    """Buckets of a bare mention-count series with a tone as real topics have one, and per
    bucket its exact calm rates of negative and neutral reads (what only the generator knows).

    Each day's true negative share wanders around ``negative_share`` (a random walk of
    ``wander`` on the log-odds scale, pulled back towards the mean), the positive share
    likewise, and each post is read by ``reader`` (by label, or with probabilities: then the
    buckets carry their readings, as the live pipeline's do).
    """
    buckets: list[Bucket] = []
    rates: list[CalmRate] = []
    day: datetime | None = None
    walk_neg = walk_pos = 0.0
    shares = (negative_share, positive_share)
    for start_at, value in series:
        if day is None or start_at - day >= timedelta(days=1):
            day = start_at
            walk_neg = 0.6 * walk_neg + rng.gauss(0.0, wander)
            walk_pos = 0.6 * walk_pos + rng.gauss(0.0, wander)
            shares = (_shifted(negative_share, walk_neg), _shifted(positive_share, walk_pos))
        total = round(value)
        true_negative = binomial(rng, total, shares[0])
        true_positive = binomial(rng, total - true_negative, shares[1] / (1 - shares[0]))
        true_neutral = total - true_negative - true_positive
        reads = [
            reader.read(rng, count, label)
            for count, label in zip(
                (true_negative, true_neutral, true_positive), LABELS, strict=True
            )
        ]
        negative = sum(read.negative for read in reads)
        positive = sum(read.positive for read in reads)
        readings = (
            total_readings([read_readings(read) for read in reads])
            if reader.gives_probabilities
            else None
        )
        buckets.append(
            Bucket(topic, start_at, start_at + width, total, negative, positive, readings=readings)
        )
        mix = (shares[0], 1.0 - shares[0] - shares[1], shares[1])
        read = [
            sum(
                share * reader.confusion[label][column]
                for share, label in zip(mix, LABELS, strict=True)
            )
            for column in (0, 1)
        ]
        rates.append(CalmRate(total * read[0], total * read[1]))
    return buckets, rates


def _shifted(share: float, walk: float) -> float:
    logit = math.log(share / (1.0 - share)) + walk
    return 1.0 / (1.0 + math.exp(-logit))
