"""A tone for a bare mention-count series: how a real topic's posts would be read.

Series such as NAB's hold only a count per bucket. `toned_series` gives them a negative and
positive share that wander from day to day, as real topics' do, and reads each post through the
scorer's confusion, so storms can be injected into them and judged with the tone test.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.models import Bucket
from monitor.offline.storms import DEFAULT_CONFUSION, LABELS, binomial, read_posts


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
    confusion: Mapping[str, tuple[float, float, float]] = DEFAULT_CONFUSION,
) -> tuple[list[Bucket], list[CalmRate]]:
    """Buckets of a bare mention-count series with a tone as real topics have one, and per
    bucket its exact calm rates of negative and neutral reads (what only the generator knows).

    Each day's true negative share wanders around ``negative_share`` (a random walk of
    ``wander`` on the log-odds scale, pulled back towards the mean), the positive share
    likewise, and each post is read by the scorer through ``confusion``.
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
        negative = positive = 0
        for count, label in (
            (true_negative, "negative"),
            (true_neutral, "neutral"),
            (true_positive, "positive"),
        ):
            n, _, p = read_posts(rng, count, confusion[label])
            negative += n
            positive += p
        buckets.append(Bucket(topic, start_at, start_at + width, total, negative, positive))
        mix = (shares[0], 1.0 - shares[0] - shares[1], shares[1])
        read = [
            sum(share * confusion[label][column] for share, label in zip(mix, LABELS, strict=True))
            for column in (0, 1)
        ]
        rates.append(CalmRate(total * read[0], total * read[1]))
    return buckets, rates


def _shifted(share: float, walk: float) -> float:
    logit = math.log(share / (1.0 - share)) + walk
    return 1.0 / (1.0 + math.exp(-logit))
