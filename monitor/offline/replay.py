"""Run the daemon's pipeline over a recorded stream of mentions on a simulated clock.

The clock jumps from bucket to bucket. Every source is taken to have been polled right after
each bucket ended (so it delivered that bucket's mentions), except during the outages the file
records, when its polls fail — exactly what ingest would have stored live. Then the same
evaluate and deliver steps run as in the daemon, with the same scorer, detectors, incident
rules, outbox and alerters.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from alerts.base import Alerter
from monitor.models import Mention, Sentiment
from monitor.pipeline.buckets import PollSchedule, evaluate, floor_time
from monitor.pipeline.context import Context
from monitor.pipeline.detector_state import Detectors
from monitor.pipeline.notify import escalate
from monitor.pipeline.outbox import deliver
from monitor.sentiment import Scorer, build_scorer
from monitor.settings import Settings, TopicSettings
from monitor.sources import PUSH_TYPES
from monitor.sources.items import parse_instant
from monitor.sources.webhook_payload import PayloadError, parse_mention_with_topic
from monitor.store import Store

log = logging.getLogger("monitor.offline.replay")


class ReplayError(Exception):
    """The recording cannot be replayed; the message names the line."""


@dataclass(frozen=True)
class Outage:
    source: str
    start_at: datetime
    end_at: datetime


@dataclass
class Recording:
    """A replay file split by topic: mentions in time order, source outages, and what was wrong.

    ``bad_lines`` holds one reason per line that could not be used ("line 7: ..."), the way the
    webhook answers a bad item; ``unconfigured`` counts mentions per ``(topic, source)`` from
    sources the topic does not configure, with the first line each was seen on.
    """

    mentions: dict[str, list[Mention]] = field(default_factory=lambda: defaultdict(list))
    outages: dict[str, list[Outage]] = field(default_factory=lambda: defaultdict(list))
    bad_lines: list[str] = field(default_factory=list)
    unconfigured: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    def sources(self, topic: str) -> set[str]:
        return {m.source for m in self.mentions[topic]} | {o.source for o in self.outages[topic]}


def read_recording(lines: Iterable[str], settings: Settings, *, strict: bool = False) -> Recording:
    """Parse JSONL lines; a line without ``topic`` belongs to the only configured topic.

    A bad line is recorded in ``bad_lines`` and skipped, so one typo does not void a day's
    recording; with ``strict`` the first one raises :class:`ReplayError` instead.
    """
    recording = Recording()
    expected = {t.name: _expected_sources(t) for t in settings.topics}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            _read_line(recording, line, f"line {number}", settings, expected, number)
        except ReplayError as exc:
            if strict:
                raise
            recording.bad_lines.append(str(exc))
    for mentions in recording.mentions.values():
        mentions.sort(key=lambda m: m.created_at)
    return recording


def _read_line(
    recording: Recording,
    line: str,
    where: str,
    settings: Settings,
    expected: Mapping[str, set[str] | None],
    number: int,
) -> None:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ReplayError(f"{where}: not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise ReplayError(f"{where}: expected a mention or outage object, got {_kind(obj)}")
    topic = obj.get("topic")
    if topic is None:
        if len(settings.topics) != 1:
            raise ReplayError(f"{where}: name a `topic` (settings configure several)")
        topic = settings.topics[0].name
    if not isinstance(topic, str):
        raise ReplayError(f"{where}: 'topic' must be a topic name, got {_kind(topic)}")
    if topic not in expected:
        known = ", ".join(sorted(expected))
        raise ReplayError(f"{where}: unknown topic {topic!r} (configured: {known})")
    if obj.get("kind") == "outage":
        recording.outages[topic].append(_outage(obj, where))
        return
    try:
        mention, _ = parse_mention_with_topic(obj, where)
    except PayloadError as exc:
        raise ReplayError(str(exc)) from None
    recording.mentions[topic].append(mention)
    sources = expected[topic]
    if sources is not None and mention.source not in sources:
        first, count = recording.unconfigured.get((topic, mention.source), (number, 0))
        recording.unconfigured[(topic, mention.source)] = (first, count + 1)


def _expected_sources(topic: TopicSettings) -> set[str] | None:
    """The source names a topic's mentions may carry; None when a webhook accepts any name."""
    if any(s.type in PUSH_TYPES for s in topic.sources):
        return None
    return {s.source_name for s in topic.sources}


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return f"a boolean ({json.dumps(value)})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    return "a string" if isinstance(value, str) else type(value).__name__


def _outage(obj: Mapping[str, object], where: str) -> Outage:
    try:
        source = obj["source"]
        start, end = parse_instant(obj["start"]), parse_instant(obj["end"])
    except KeyError as exc:
        raise ReplayError(
            f"{where}: an outage needs source, start and end ({exc} is missing)"
        ) from None
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise ReplayError(
            f"{where}: an outage needs ISO 8601 start and end times ({exc})"
        ) from None
    if not isinstance(source, str) or not source:
        raise ReplayError(f"{where}: an outage needs a source name")
    if end <= start:
        raise ReplayError(f"{where}: an outage must end after it starts")
    return Outage(source, start, end)


@dataclass(frozen=True)
class ReplaySummary:
    mentions: int
    buckets: int
    incidents_opened: int
    notifications_sent: int


def replay(
    recording: Recording,
    store: Store,
    settings: Settings,
    alerters: Mapping[str, Alerter],
    *,
    scorers: dict[tuple[str, ...], Scorer] | None = None,
) -> ReplaySummary:
    """Feed the recording through ingest → evaluate → deliver, bucket by bucket.

    Notifications are written for ``alerters``, the ones that deliver them.
    """
    scorers = {} if scorers is None else scorers
    context = Context(store, settings, tuple(alerters))
    detectors = Detectors(settings)
    width, lateness = settings.monitor.bucket, settings.monitor.lateness
    mentions = buckets = opened = sent = 0
    for topic in settings.topics:
        topic_mentions = recording.mentions.get(topic.name, [])
        if not topic_mentions:
            continue
        key = (*topic.languages, "|", *topic.terms)
        scorer = scorers.get(key) or scorers.setdefault(
            key, build_scorer(settings.sentiment, topic.languages, topic.terms)
        )
        sources = _sources(topic, recording)
        start = floor_time(topic_mentions[0].created_at, width)
        schedule = _schedule(topic, sources, width, start)
        last = topic_mentions[-1].created_at
        for bucket_start, in_bucket in _by_bucket(topic_mentions, start, width, last):
            bucket_end = bucket_start + width
            polled_at = bucket_end  # "right after the bucket ended"
            _ingest_bucket(
                store,
                topic,
                recording.outages.get(topic.name, []),
                sources,
                in_bucket,
                scorer,
                bucket_start,
                polled_at,
            )
            mentions += len(in_bucket)
            now = bucket_end + lateness
            for judged in evaluate(context, topic, detectors, now, schedule):
                buckets += 1
                opened += int(judged.transition.alerts)
            escalate(context, topic, now)
            sent += deliver(context, alerters, now)
    return ReplaySummary(mentions, buckets, opened, sent)


def _sources(topic: TopicSettings, recording: Recording) -> list[str]:
    configured = [s.source_name for s in topic.sources if s.type not in PUSH_TYPES]
    return configured + sorted(recording.sources(topic.name) - set(configured))


def _schedule(
    topic: TopicSettings, sources: list[str], width: timedelta, start: datetime
) -> PollSchedule:
    """The configured sources at their intervals, the recording's others polled every bucket;
    buckets from the first mention's on (no poll precedes it)."""
    configured = PollSchedule.configured(topic).sources
    known = {name for name, _ in configured}
    others = tuple((name, width) for name in sources if name not in known)
    return PollSchedule(configured + others, starts_at=start)


def _by_bucket(
    mentions: list[Mention], start: datetime, width: timedelta, last: datetime
) -> Iterator[tuple[datetime, list[Mention]]]:
    """Each bucket from ``start`` to the one holding ``last``, with its mentions (maybe none)."""
    index = 0
    bucket_start = start
    while bucket_start <= last:
        bucket_end = bucket_start + width
        taken = []
        while index < len(mentions) and mentions[index].created_at < bucket_end:
            taken.append(mentions[index])
            index += 1
        yield bucket_start, taken
        bucket_start = bucket_end


def _ingest_bucket(
    store: Store,
    topic: TopicSettings,
    outages: list[Outage],
    sources: list[str],
    mentions: list[Mention],
    scorer: Scorer,
    bucket_start: datetime,
    polled_at: datetime,
) -> None:
    by_source: dict[str, list[tuple[Mention, Sentiment]]] = defaultdict(list)
    for mention in mentions:
        by_source[mention.source].append((mention, scorer.score(mention.text, mention.lang)))
    for source in sources:
        down = [
            o
            for o in outages
            if o.source == source and o.start_at < polled_at and o.end_at > bucket_start
        ]
        if down:
            # The source could not be polled: its mentions of this span never arrived.
            at = max(down[0].start_at, bucket_start)
            store.save_failure(topic.name, source, at, "outage (recorded in the replay file)")
            continue
        store.save_poll(topic.name, source, polled_at, by_source.get(source, []), None, 0.0)


def read_file(path: Path, settings: Settings, *, strict: bool = False) -> Recording:
    try:
        with path.open(encoding="utf-8") as lines:
            return read_recording(lines, settings, strict=strict)
    except OSError as exc:
        raise ReplayError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ReplayError(f"{path}: not UTF-8 text") from None
