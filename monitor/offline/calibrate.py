"""Storm injection: what the detector would have caught on a topic's own history.

Real labelled shitstorms are rare and private, but a topic's own calm history is at hand. This
module adds storms of four shapes (``monitor.offline.storms``) to a history of buckets at many
random times, replays it through the daemon's detector and incident machine, and counts how
many storms paged somebody, how soon, and how many false pages the same history raised without
storms. ``shitstorm calibrate`` runs it on a stored topic, ``shitstorm backtest --inject`` on a
count CSV, and the detection benchmark on the development series. A storm is *caught* when an
incident opens (or an open one climbs) by the time the storm reaches full strength.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from typing import TextIO

from alerts.incidents import ALERTING, IncidentPolicy, advance
from detectors import SENSITIVITIES, DetectionSettings, build_detector
from monitor.models import Bucket, Incident, NotificationKind
from monitor.offline.reading import PostReader, shipped_reader
from monitor.offline.storms import (
    LABEL_READER,
    SHAPES,
    PlannedStorm,
    StormShape,
    inject,
    plan_storms,
    usual_counts,
)

OPENING = frozenset({NotificationKind.OPENED, NotificationKind.REOPENED})


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
    reader: PostReader | None = None,
    skip: timedelta = timedelta(days=7),
    spacing: timedelta = timedelta(days=2),
    false_pages: bool = True,
) -> CalibrationReport:
    """Storms injected into ``buckets`` and what the detector made of them, plus the false
    pages of the same history without storms (outside ``avoid``, the labelled real events).
    ``false_pages=False`` leaves that replay out: it does not depend on ``seed``, so a second
    seed over the same history would only count the same pages again.

    The storms' posts are read by ``reader``; by default as the history's own were: with
    probabilities where its buckets carry readings, by label where they do not."""
    rng = random.Random(seed)
    storms = plan_storms(buckets, rng, skip=skip, spacing=spacing, avoid=avoid)
    report = CalibrationReport()
    if false_pages:
        report.false_alarms, report.quiet_weeks = false_alarms(
            alerts_of(buckets, settings, timezone, policy), skip, avoid
        )
    if not storms:
        return report
    stormy = inject(buckets, storms, timezone, rng, reader or reader_for(buckets))
    pages = [
        b.end_at for b, events in alerts_of(stormy, settings, timezone, policy) if events & ALERTING
    ]
    report.results.extend(storm_results(buckets, storms, pages, timezone))
    return report


def reader_for(buckets: Sequence[Bucket]) -> PostReader:
    """How to read a storm's posts so they look like this history's: with the shipped readings
    of the dev posts when its buckets carry readings, else by label."""
    if any(b.readings is not None for b in buckets):
        return shipped_reader()
    return LABEL_READER


def storm_results(
    buckets: Sequence[Bucket],
    storms: Sequence[PlannedStorm],
    pages: Sequence[datetime],
    timezone: tzinfo,
) -> list[StormResult]:
    """Each storm injected into ``buckets`` (the history without them) and how soon one of
    ``pages`` (ends of the buckets that paged, in order) came after it began."""
    usual, _ = usual_counts(buckets, timezone)
    index = {b.start_at: i for i, b in enumerate(buckets)}
    per_hour = timedelta(hours=1) / buckets[0].width
    results = []
    for storm in storms:
        end = storm.start_at + storm.shape.duration
        first = next((at for at in pages if storm.start_at < at <= end), None)
        i = index[storm.start_at]
        length = max(int(storm.shape.full_after / buckets[0].width), 1)
        size = statistics.fmean(usual[i : i + length])
        results.append(
            StormResult(storm, first - storm.start_at if first else None, size * per_hour)
        )
    return results


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
    reader = reader_for(buckets)  # the same posts for every sensitivity and seed
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
                reader=reader,
                skip=skip,
                false_pages=seed == 0,
            )
            report.extend(found)
        chosen = " (configured)" if name == settings.sensitivity else ""
        print(f"\nsensitivity = {name!r}{chosen}:", file=stdout)
        for line in summary_lines(report):
            print(f"  {line}", file=stdout)
    return 0
