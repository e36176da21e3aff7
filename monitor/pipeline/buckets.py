"""Closing buckets: when a topic's next bucket is due, and whether it was watched well enough.

A bucket closes ``lateness`` after its end, or later while a source has not yet polled after
it ended (it may still bring the bucket's mentions). It is incomplete — a gap, not a calm —
when a source failed in its span or did not poll within ``lateness`` + its interval after its
end, unless every such source has been failing for ``blind_after`` and another one watched:
then the bucket is judged without them (:func:`monitor.pipeline.judge.judge_closed`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from monitor import metrics
from monitor.models import Bucket
from monitor.pipeline.context import Context
from monitor.pipeline.detector_state import Detectors
from monitor.pipeline.judge import Judged, judge_closed
from monitor.settings import TopicSettings
from monitor.sources import PUSH_TYPES


def floor_time(instant: datetime, width: timedelta) -> datetime:
    """The start of the bucket of ``width`` that holds ``instant`` (buckets align to the epoch)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    step = int(width.total_seconds() * 1_000_000)
    offset = int((instant - epoch).total_seconds() * 1_000_000)
    return epoch + timedelta(microseconds=offset - offset % step)


@dataclass(frozen=True)
class PollSchedule:
    """The sources a topic's buckets wait for, each with its interval, and where buckets begin.

    The daemon's comes from the settings (:meth:`configured`): the polled sources, and the
    first bucket is that of the first poll. Replay builds its own, since it polls every source
    in its recording at each bucket's end, from the first mention's bucket on.
    """

    sources: tuple[tuple[str, timedelta], ...]
    # The first bucket's start while the topic has none judged; None: the first poll's bucket.
    starts_at: datetime | None = None

    @classmethod
    def configured(cls, topic: TopicSettings) -> PollSchedule:
        """Every source the topic polls; pushed ones (webhooks) are never waited for."""
        polled = [s for s in topic.sources if s.type not in PUSH_TYPES]
        return cls(tuple((s.source_name, s.interval) for s in polled))


class Watch(Enum):
    """How one source watched one bucket."""

    POLLED = "polled"  # polled after the bucket ended, no failure in its span
    PENDING = "pending"  # not polled after the end yet, but may still be: the bucket waits
    GAP = "gap"  # failed in its span, or did not poll within lateness + interval after its end
    WRITTEN_OFF = "written off"  # a gap from a source failing for ``blind_after`` by the end


@dataclass(frozen=True)
class Coverage:
    """How each source watched a bucket, and the rule that follows for judging it."""

    by_source: Mapping[str, Watch]

    @property
    def pending(self) -> bool:
        """A source may still bring the bucket's mentions: it does not close yet."""
        return Watch.PENDING in self.by_source.values()

    @property
    def complete(self) -> bool:
        """No gap, and a written-off source is only passed over while another one watched."""
        watches = set(self.by_source.values())
        return Watch.GAP not in watches and (
            Watch.WRITTEN_OFF not in watches or Watch.POLLED in watches
        )

    @property
    def judged_without(self) -> list[str]:
        """The written-off sources a complete bucket is judged without (often none)."""
        if not self.complete:
            return []
        return [name for name, watch in self.by_source.items() if watch is Watch.WRITTEN_OFF]


def evaluate(
    ctx: Context,
    topic: TopicSettings,
    detectors: Detectors,
    now: datetime,
    schedule: PollSchedule | None = None,
) -> list[Judged]:
    """Close every bucket of ``topic`` that is due, judge it, and move the incident on.

    ``schedule`` is the topic's configured one unless given (replay gives its own).
    """
    store = ctx.store
    width, lateness = ctx.settings.monitor.bucket, ctx.settings.monitor.lateness
    if schedule is None:
        schedule = PollSchedule.configured(topic)
    start = (
        store.last_bucket_end(topic.name)
        or schedule.starts_at
        or _first_bucket(ctx, topic, schedule.sources, width)
    )
    if start is None:
        return []
    detectors.get(store, topic)  # a warm start is not evaluation time
    judged: list[Judged] = []
    started = time.perf_counter()
    while start + width + lateness <= now:
        end = start + width
        coverage = watched(ctx, topic, schedule, start, now)
        if coverage.pending:
            break
        counts = store.count(topic.name, start, end)
        bucket = Bucket(
            topic.name,
            start,
            end,
            counts.volume,
            counts.negative,
            counts.positive,
            coverage.complete,
            counts.readings,
        )
        judged.append(judge_closed(ctx, topic, detectors, bucket, coverage.judged_without))
        start = end
    if judged:
        with store.transaction():
            detectors.save(store, topic, judged[-1].bucket.end_at)
        metrics.EVALUATION_SECONDS.observe(time.perf_counter() - started)
    metrics.OPEN_INCIDENTS.labels(topic.name).set(
        int(store.active_incident(topic.name) is not None)
    )
    return judged


def watched(
    ctx: Context, topic: TopicSettings, schedule: PollSchedule, start: datetime, now: datetime
) -> Coverage:
    """How each source of ``schedule`` watched the bucket that starts at ``start``, at ``now``."""
    store = ctx.store
    end = start + ctx.settings.monitor.bucket
    lateness = ctx.settings.monitor.lateness
    by_source: dict[str, Watch] = {}
    for name, interval in schedule.sources:
        grace = end + lateness + interval
        if store.poll_count(topic.name, name, start, end, ok=False):
            by_source[name] = Watch.GAP
        elif store.poll_count(topic.name, name, end, grace, ok=True):
            by_source[name] = Watch.POLLED
        else:
            by_source[name] = Watch.PENDING if now < grace else Watch.GAP
    if Watch.PENDING in by_source.values():
        return Coverage(by_source)  # asking whether the gaps are written off can wait
    for name, interval in schedule.sources:
        grace = end + lateness + interval
        if by_source[name] is Watch.GAP and _written_off(ctx, topic, name, end, grace):
            by_source[name] = Watch.WRITTEN_OFF
    return Coverage(by_source)


def _first_bucket(
    ctx: Context, topic: TopicSettings, sources: Sequence[tuple[str, timedelta]], width: timedelta
) -> datetime | None:
    firsts = [ctx.store.first_poll_at(topic.name, name) for name, _ in sources]
    known = [f for f in firsts if f is not None]
    if not known:
        first_mention = ctx.store.first_mention_at(topic.name)
        return None if first_mention is None else floor_time(first_mention, width)
    return floor_time(min(known), width)


def _written_off(
    ctx: Context, topic: TopicSettings, source: str, end: datetime, grace: datetime
) -> bool:
    """Whether ``source`` had been failing for ``blind_after`` when the bucket ended.

    Such a source no longer holds its topic hostage: its gap is no calm, but the other
    sources' evidence is judged (see :func:`monitor.pipeline.judge.judge_closed`) rather than
    ignored until it is back. A shorter outage still makes the bucket incomplete.
    """
    store = ctx.store
    since = end - ctx.settings.alerts.blind_after
    if store.poll_count(topic.name, source, since, grace, ok=True):
        return False
    if store.poll_count(topic.name, source, since, grace, ok=False):
        return True
    state = store.source_state(topic.name, source)  # failing, and backing off since
    return bool(state and state.failing_since and state.failing_since <= since)
