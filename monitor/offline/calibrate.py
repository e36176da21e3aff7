"""Storm injection: what the detector would have caught on a topic's own history.

Real labelled shitstorms are rare and private, but a topic's own calm history is at hand. This
module adds storms of four shapes to a history of buckets at many random times, replays it
through the daemon's detector and incident machine, and counts how many storms paged somebody,
how soon, and how many false pages the same history raised without storms. ``shitstorm
calibrate`` runs it on a stored topic, ``shitstorm backtest --inject`` on a count CSV, and the
detection benchmark on the development series.

A storm is sized against the usual negative volume for that hour of the week (the median of the
history's buckets at the same hour and weekday) and made of negative *posts*, which the
sentiment scorer reads as it reads real ones: some of them neutral, a few positive
(:data:`DEFAULT_CONFUSION`). A storm is *caught* when an incident opens (or an open one climbs)
by the time the storm reaches full strength.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from typing import TextIO

from alerts.incidents import ALERTING, IncidentPolicy, advance
from detectors import SENSITIVITIES, DetectionSettings, build_detector
from monitor.models import Bucket, Incident, NotificationKind
from monitor.offline.synthetic import poisson

OPENING = frozenset({NotificationKind.OPENED, NotificationKind.REOPENED})
LABELS = ("negative", "neutral", "positive")

# How the sentiment scorer reads posts of each true label: the share it calls negative,
# neutral and positive. Measured with the default scorer on the development sets
# (``python benchmarks/storm_bench.py --confusion``, all four dev files pooled); a storm's
# negative posts are not all seen as negative, and that is part of what the detector faces.
DEFAULT_CONFUSION: Mapping[str, tuple[float, float, float]] = {
    "negative": (0.57, 0.33, 0.10),
    "neutral": (0.16, 0.71, 0.14),
    "positive": (0.13, 0.29, 0.58),
}


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


@dataclass(frozen=True)
class StormResult:
    storm: PlannedStorm
    # From the storm's first extra post to the end of the bucket that paged (None: never).
    delay: timedelta | None
    # The usual negative mentions per hour where the storm struck: how big the topic is then.
    usual_per_hour: float = 0.0

    @property
    def caught(self) -> bool:
        return self.delay is not None and self.delay <= self.storm.shape.full_after


@dataclass
class CalibrationReport:
    """Storms caught per shape and false pages per topic-week, for one configuration."""

    results: list[StormResult] = field(default_factory=list)
    false_alarms: int = 0
    quiet_weeks: float = 0.0

    def extend(self, other: CalibrationReport) -> None:
        self.results.extend(other.results)
        self.false_alarms += other.false_alarms
        self.quiet_weeks += other.quiet_weeks

    def of_shape(self, name: str) -> list[StormResult]:
        return [r for r in self.results if r.storm.shape.name == name]

    @property
    def false_alarms_per_week(self) -> float:
        return self.false_alarms / self.quiet_weeks if self.quiet_weeks else 0.0


# -- the usual volume of a history ----------------------------------------------------------


def usual_counts(
    buckets: Sequence[Bucket], timezone: tzinfo
) -> tuple[list[float], list[float]]:
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
    confusion: Mapping[str, tuple[float, float, float]] = DEFAULT_CONFUSION,
) -> list[Bucket]:
    """The history with the storms' extra posts added, each read through ``confusion``."""
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
            storm_negative, _, storm_positive = _read(rng, extra_negative, confusion["negative"])
            misread_negative, _, campaign_positive = _read(
                rng, extra_positive, confusion["positive"]
            )
            b = out[i]
            out[i] = replace(
                b,
                volume=b.volume + extra_negative + extra_positive,
                negative=b.negative + storm_negative + misread_negative,
                positive=b.positive + storm_positive + campaign_positive,
            )
    return out


def _read(
    rng: random.Random, posts: int, row: tuple[float, float, float]
) -> tuple[int, int, int]:
    """How the scorer labels ``posts`` posts of one true label: (negative, neutral, positive)."""
    negative = _binomial(rng, posts, row[0])
    rest = posts - negative
    positive = _binomial(rng, rest, row[2] / (row[1] + row[2])) if rest else 0
    return negative, rest - positive, positive


def _binomial(rng: random.Random, n: int, p: float) -> int:
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    if n > 100:
        mean, sd = n * p, math.sqrt(n * p * (1 - p))
        return min(max(round(rng.gauss(mean, sd)), 0), n)
    return sum(rng.random() < p for _ in range(n))


# -- tone for a bare count series ----------------------------------------------------------


def with_tone(
    series: Iterable[tuple[datetime, float]],
    width: timedelta,
    rng: random.Random,
    *,
    topic: str = "backtest",
    negative_share: float = 0.15,
    positive_share: float = 0.25,
    wander: float = 0.35,
    confusion: Mapping[str, tuple[float, float, float]] = DEFAULT_CONFUSION,
) -> list[Bucket]:
    """Buckets of a bare mention-count series with a tone as real topics have one.

    Each day's true negative share wanders around ``negative_share`` (a random walk of
    ``wander`` on the log-odds scale, pulled back towards the mean), the positive share
    likewise, and each post is read by the scorer through ``confusion``.
    """
    buckets: list[Bucket] = []
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
        true_negative = _binomial(rng, total, shares[0])
        true_positive = _binomial(rng, total - true_negative, shares[1] / (1 - shares[0]))
        true_neutral = total - true_negative - true_positive
        negative = positive = 0
        for count, label in (
            (true_negative, "negative"),
            (true_neutral, "neutral"),
            (true_positive, "positive"),
        ):
            n, _, p = _read(rng, count, confusion[label])
            negative += n
            positive += p
        buckets.append(Bucket(topic, start_at, start_at + width, total, negative, positive))
    return buckets


def _shifted(share: float, walk: float) -> float:
    logit = math.log(share / (1.0 - share)) + walk
    return 1.0 / (1.0 + math.exp(-logit))


# -- replaying and scoring ------------------------------------------------------------------


def alerts_of(
    buckets: Sequence[Bucket],
    settings: DetectionSettings,
    timezone: tzinfo,
    policy: IncidentPolicy | None = None,
) -> list[tuple[Bucket, frozenset[NotificationKind]]]:
    """Replay ``buckets`` through a fresh detector and the incident machine, as the daemon
    would; the paging events of each bucket."""
    policy = policy or IncidentPolicy()
    detector = build_detector(settings, timezone)
    incident: Incident | None = None
    last_resolved: Incident | None = None
    out: list[tuple[Bucket, frozenset[NotificationKind]]] = []
    for bucket in buckets:
        decision = detector.observe(bucket)
        transition = advance(incident, decision, bucket, policy, last_resolved)
        incident = transition.incident
        if incident is not None and not incident.is_active:
            last_resolved, incident = incident, None
        out.append((bucket, frozenset(transition.events)))
    return out


def calibrate(
    buckets: Sequence[Bucket],
    settings: DetectionSettings,
    timezone: tzinfo,
    *,
    seed: int = 0,
    avoid: Sequence[tuple[datetime, datetime]] = (),
    policy: IncidentPolicy | None = None,
    confusion: Mapping[str, tuple[float, float, float]] = DEFAULT_CONFUSION,
    skip: timedelta = timedelta(days=7),
    spacing: timedelta = timedelta(days=2),
    false_pages: bool = True,
) -> CalibrationReport:
    """Storms injected into ``buckets`` and what the detector made of them, plus the false
    pages of the same history without storms (outside ``avoid``, the labelled real events).
    ``false_pages=False`` leaves that replay out: it does not depend on ``seed``, so a second
    seed over the same history would only count the same pages again."""
    rng = random.Random(seed)
    storms = plan_storms(buckets, rng, skip=skip, spacing=spacing, avoid=avoid)
    report = CalibrationReport()
    if false_pages:
        report.false_alarms, report.quiet_weeks = false_alarms(
            alerts_of(buckets, settings, timezone, policy), skip, avoid
        )
    if not storms:
        return report
    stormy = inject(buckets, storms, timezone, rng, confusion)
    pages = [
        b.end_at for b, events in alerts_of(stormy, settings, timezone, policy) if events & ALERTING
    ]
    usual, _ = usual_counts(buckets, timezone)
    index = {b.start_at: i for i, b in enumerate(buckets)}
    per_hour = timedelta(hours=1) / buckets[0].width
    for storm in storms:
        end = storm.start_at + storm.shape.duration
        first = next((at for at in pages if storm.start_at < at <= end), None)
        i = index[storm.start_at]
        length = max(int(storm.shape.full_after / buckets[0].width), 1)
        size = statistics.fmean(usual[i : i + length])
        report.results.append(
            StormResult(storm, first - storm.start_at if first else None, size * per_hour)
        )
    return report


def false_alarms(
    judged: Sequence[tuple[Bucket, frozenset[NotificationKind]]],
    skip: timedelta,
    avoid: Sequence[tuple[datetime, datetime]],
) -> tuple[int, float]:
    """Pages that opened an incident, outside labelled events, and the weeks they were
    counted over (complete buckets after ``skip``, outside labelled events)."""
    if not judged:
        return 0, 0.0
    start = judged[0][0].start_at + skip
    count = 0
    quiet = timedelta(0)
    for bucket, events in judged:
        if bucket.start_at < start or not bucket.complete:
            continue
        if any(s <= bucket.start_at < e for s, e in avoid):
            continue
        quiet += bucket.width
        count += bool(events & OPENING)
    return count, quiet / timedelta(weeks=1)


def summary_lines(report: CalibrationReport, shapes: Sequence[StormShape] = SHAPES) -> list[str]:
    """One line per storm shape and one for false pages, as people read them."""
    lines = []
    for shape in shapes:
        results = report.of_shape(shape.name)
        if not results:
            continue
        caught = [r for r in results if r.caught]
        delays = [r.delay.total_seconds() / 60 for r in caught if r.delay is not None]
        median = f"{statistics.median(delays):.0f} min" if delays else "-"
        ever = sum(r.delay is not None for r in results)
        lines.append(
            f"{shape.name:10} caught {len(caught):3}/{len(results):<3} "
            f"({len(caught) / len(results):4.0%}) within {_minutes(shape.full_after)}, "
            f"median {median}; paged at all {ever}/{len(results)}"
        )
    sizes = [("small", 0.0, 12.0), ("medium", 12.0, 60.0), ("large", 60.0, math.inf)]
    parts = []
    for name, low, high in sizes:
        found = [r for r in report.results if low <= r.usual_per_hour < high]
        if found:
            parts.append(f"{name} {sum(r.caught for r in found)}/{len(found)}")
    if parts:
        lines.append(
            "caught by topic size (usual negatives per hour: small < 12 <= medium < 60 <= large): "
            + ", ".join(parts)
        )
    lines.append(
        f"false pages without storms: {report.false_alarms} in {report.quiet_weeks:.1f} "
        f"topic-weeks ({report.false_alarms_per_week:.2f} per week)"
    )
    return lines


def _minutes(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:.0f} min"


# -- the commands ----------------------------------------------------------------------------

# Less history than this leaves no room for storms after the days the detector learns first.
MIN_HISTORY = timedelta(days=4)
# Storms are placed after the first week of history, or its first half when it is shorter.
LEARN_FIRST = timedelta(days=7)


def print_calibration(
    buckets: Sequence[Bucket],
    settings: DetectionSettings,
    timezone: tzinfo,
    stdout: TextIO,
    *,
    seeds: int = 3,
    avoid: Sequence[tuple[datetime, datetime]] = (),
) -> int:
    """What each sensitivity would have done on ``buckets``: ``shitstorm calibrate`` and
    ``backtest --inject``. Exit status 2 when the history is too short to say."""
    span = buckets[-1].end_at - buckets[0].start_at if buckets else timedelta(0)
    if span < MIN_HISTORY:
        days = span / timedelta(days=1)
        print(
            f"error: {days:.1f} days of history; calibration needs at least "
            f"{MIN_HISTORY.days} (days to learn, then room for storms)",
            file=stdout,
        )
        return 2
    complete = sum(b.complete for b in buckets)
    skip = min(LEARN_FIRST, span / 2)
    print(
        f"{len(buckets)} buckets from {buckets[0].start_at:%Y-%m-%d} to "
        f"{buckets[-1].end_at:%Y-%m-%d} ({complete / len(buckets):.0%} complete); storms of "
        f"{len(SHAPES)} shapes every 2 days after the first {skip / timedelta(days=1):.1f} days, "
        f"{seeds} seed(s); a storm is caught when it pages by the time it reaches full strength",
        file=stdout,
    )
    for name in SENSITIVITIES:
        report = CalibrationReport()
        for seed in range(seeds):
            chosen_settings = replace(settings, sensitivity=name)
            found = calibrate(
                buckets,
                chosen_settings,
                timezone,
                seed=seed,
                avoid=avoid,
                skip=skip,
                false_pages=seed == 0,
            )
            report.extend(found)
        chosen = " (configured)" if name == settings.sensitivity else ""
        print(f"\nsensitivity = {name!r}{chosen}:", file=stdout)
        for line in summary_lines(report):
            print(f"  {line}", file=stdout)
    return 0
