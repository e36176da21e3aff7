"""Storms of four shapes, made of posts the sentiment scorer reads as it reads real ones.

A storm is sized against the usual negative volume for that hour of the week (a trimmed mean of
the history's buckets at the same hour and weekday) and made of negative *posts*, which the
scorer reads as it reads real ones: some of them neutral, a few positive
(``monitor.offline.reading``). :func:`plan_storms` places them at random times of day and night,
:func:`inject` adds their posts to a history of buckets. ``monitor.offline.calibrate`` replays
the result through the detector.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

from monitor.models import Bucket
from monitor.offline.reading import PostReader, readings_with
from monitor.offline.synthetic import poisson

LABEL_READER = PostReader()


@dataclass(frozen=True)
class StormShape:
    """How a storm grows: the negative volume as a multiple of usual, minute by minute.

    ``full_after`` is when it reaches full strength (and the deadline for catching it);
    ``campaign`` multiplies the usual *positive* volume from the start (a campaign that
    backfires brings its own happy posts, which dilute the tone).
    """

    name: str
    full_after: timedelta
    growth: Callable[[float], float]  # minutes since the first extra post -> multiple of usual
    campaign: float = 1.0
    hold: timedelta = timedelta(hours=1)

    def factor(self, elapsed: timedelta) -> float:
        """Multiple of the usual negative volume ``elapsed`` after the storm's start."""
        if elapsed < timedelta(0) or elapsed >= self.full_after + self.hold:
            return 1.0
        return self.growth(elapsed.total_seconds() / 60.0)

    @property
    def duration(self) -> timedelta:
        return self.full_after + self.hold


def _viral(minutes: float) -> float:
    return float(min(2.0 ** (minutes / 10.0), 16.0))


def _ramp(minutes: float) -> float:
    return 1.0 + 4.0 * min(minutes / 90.0, 1.0)


def _slow_burn(minutes: float) -> float:
    return 1.0 + 2.0 * min(minutes / 240.0, 1.0)


def _backfire(minutes: float) -> float:
    return 1.0 + 4.0 * min(minutes / 60.0, 1.0)


SHAPES: tuple[StormShape, ...] = (
    # Doubles every 10 minutes up to 16x: full strength after 40 min, caught by 45.
    StormShape("viral", timedelta(minutes=45), _viral),
    # Grows steadily to 5x over 90 minutes.
    StormShape("ramp", timedelta(minutes=90), _ramp),
    # Grows to 3x over 4 hours.
    StormShape("slow burn", timedelta(hours=4), _slow_burn),
    # A campaign of 4x the usual positive posts turns: 5x negative inside it within an hour.
    StormShape("backfire", timedelta(minutes=60), _backfire, campaign=4.0),
)


@dataclass(frozen=True)
class PlannedStorm:
    shape: StormShape
    start_at: datetime


# -- the usual volume of a history ----------------------------------------------------------


def usual_counts(buckets: Sequence[Bucket], timezone: tzinfo) -> tuple[list[float], list[float]]:
    """Per bucket, the usual negative and positive counts of the history at the same local
    hour and weekday: what "the usual volume for that time of the week" means here.

    The usual count is the slot's mean with its highest and lowest tenth left out, so one
    burst in the history does not make every storm at that hour look bigger.
    """
    negative: dict[tuple[int, int], list[int]] = {}
    positive: dict[tuple[int, int], list[int]] = {}
    slots = []
    for bucket in buckets:
        local = bucket.start_at.astimezone(timezone)
        slot = (local.weekday(), local.hour)
        slots.append(slot)
        if bucket.complete:
            negative.setdefault(slot, []).append(bucket.negative)
            positive.setdefault(slot, []).append(bucket.positive)
    neg = {slot: _trimmed_mean(v) for slot, v in negative.items()}
    pos = {slot: _trimmed_mean(v) for slot, v in positive.items()}
    return [neg.get(s, 0.0) for s in slots], [pos.get(s, 0.0) for s in slots]


def _trimmed_mean(values: list[int], cut: float = 0.1) -> float:
    ordered = sorted(values)
    drop = int(len(ordered) * cut)
    kept = ordered[drop : len(ordered) - drop] or ordered
    return statistics.fmean(kept)


# -- injecting storms -----------------------------------------------------------------------


def plan_storms(
    buckets: Sequence[Bucket],
    rng: random.Random,
    *,
    shapes: Sequence[StormShape] = SHAPES,
    skip: timedelta = timedelta(days=7),
    spacing: timedelta = timedelta(days=2),
    avoid: Sequence[tuple[datetime, datetime]] = (),
) -> list[PlannedStorm]:
    """Storms at random times of day and night, one per ``spacing`` after the first ``skip``
    (the detector's time to learn the week), shapes in turn, none overlapping ``avoid``
    (labelled real events) or a stretch of incomplete buckets."""
    if not buckets:
        return []
    width = buckets[0].width
    first, last = buckets[0].start_at + skip, buckets[-1].end_at
    incomplete = [b.start_at for b in buckets if not b.complete]
    order = list(shapes)
    storms: list[PlannedStorm] = []
    slot_start = first
    while True:
        shape = order[len(storms) % len(order)]
        room = spacing - shape.duration - timedelta(hours=6)
        if room <= timedelta(0) or slot_start + spacing > last:
            break
        offset = timedelta(seconds=rng.uniform(0, room.total_seconds()))
        start_at = _align(slot_start + offset, buckets[0].start_at, width)
        end_at = start_at + shape.duration
        slot_start += spacing
        near = timedelta(hours=12)
        if any(s - near < end_at and start_at < e + near for s, e in avoid):
            continue
        if any(start_at - near <= at < end_at for at in incomplete):
            continue
        storms.append(PlannedStorm(shape, start_at))
        if len(storms) % len(order) == 0:
            rng.shuffle(order)
    return storms


def _align(at: datetime, origin: datetime, width: timedelta) -> datetime:
    return origin + width * math.floor((at - origin) / width)


def inject(
    buckets: Sequence[Bucket],
    storms: Sequence[PlannedStorm],
    timezone: tzinfo,
    rng: random.Random,
    reader: PostReader = LABEL_READER,
) -> list[Bucket]:
    """The history with the storms' extra posts added, each read by ``reader``."""
    usual_negative, usual_positive = usual_counts(buckets, timezone)
    out = list(buckets)
    index = {b.start_at: i for i, b in enumerate(buckets)}
    width = buckets[0].width if buckets else timedelta(0)
    for storm in storms:
        at = storm.start_at
        while at < storm.start_at + storm.shape.duration:
            i = index.get(at)
            at += width
            if i is None or not out[i].complete:
                continue
            middle = out[i].start_at + width / 2 - storm.start_at
            extra_negative = poisson(rng, (storm.shape.factor(middle) - 1.0) * usual_negative[i])
            extra_positive = poisson(rng, (storm.shape.campaign - 1.0) * usual_positive[i])
            # Posts read as neutral add to the volume only.
            storm_posts = reader.read(rng, extra_negative, "negative")
            campaign_posts = reader.read(rng, extra_positive, "positive")
            b = out[i]
            out[i] = replace(
                b,
                volume=b.volume + extra_negative + extra_positive,
                negative=b.negative + storm_posts.negative + campaign_posts.negative,
                positive=b.positive + storm_posts.positive + campaign_posts.positive,
                readings=readings_with(b, (storm_posts, campaign_posts)),
            )
    return out
