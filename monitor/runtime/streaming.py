"""The streaming ingest step: what a long-lived connection reads, scored and stored.

Polled sources are scheduler jobs; a streaming source (``STREAM_TYPES``) is one thread per
connection, shared by every topic that configures it. Its batches arrive at :class:`StoreSink`,
which scores the matches and stores them with each topic's cursor in one transaction, marks
deleted posts, and records the stream's progress as successful polls at *stream time*: a bucket
counts as read past its end once the stream has passed it. A connection that cannot be opened
or stalls is recorded as a failed poll, so its buckets are incomplete and ``blind_after`` applies
exactly as for a polled source.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from monitor import metrics
from monitor.models import Mention, Sentiment
from monitor.pipeline.context import Context
from monitor.pipeline.ingest import check_blind, screen, source_recovered
from monitor.sentiment import Scorer
from monitor.settings import Settings, TopicSettings
from monitor.sources import STREAM_TYPES, stream_class
from monitor.sources.base import Stream, StreamBatch, Subscription, TopicTerms
from monitor.store import SourceState, Store

log = logging.getLogger("monitor.runtime.streaming")


def subscriptions_by_connection(
    topics: Sequence[TopicSettings], cursor: Callable[[str, str], str | None] | None = None
) -> dict[tuple[str, tuple[str, ...]], list[Subscription]]:
    """Every topic's streaming sources, grouped by the connection they share.

    ``cursor(topic, source)`` gives each subscription its stored cursor (none when omitted).
    """
    groups: dict[tuple[str, tuple[str, ...]], list[Subscription]] = {}
    for topic in topics:
        terms = TopicTerms(topic.name, tuple(topic.terms), tuple(topic.languages))
        for source in topic.sources:
            if source.type not in STREAM_TYPES:
                continue
            key = (source.type, stream_class(source.type).connection_key(source))
            stored = cursor(topic.name, source.source_name) if cursor else None
            groups.setdefault(key, []).append(Subscription(terms, source, stored))
    return groups


def build_streams(
    topics: Sequence[TopicSettings],
    clock: Callable[[], datetime],
    cursor: Callable[[str, str], str | None] | None = None,
    *,
    resume: bool = True,
) -> list[tuple[Stream, list[Subscription]]]:
    """One stream per shared connection, with the subscriptions it serves."""
    return [
        (stream_class(kind)(group, clock, resume=resume), group)
        for (kind, _), group in subscriptions_by_connection(topics, cursor).items()
    ]


class StoreSink:
    """Stores one stream's batches for its subscriptions, one transaction per batch.

    ``context()`` is asked for each batch: the stream thread's store connection and the
    settings and alerters in force now (a reload may have changed them).
    """

    def __init__(
        self,
        name: str,
        subscriptions: Sequence[Subscription],
        context: Callable[[], Context],
        scorer: Callable[[TopicSettings], Scorer],
        clock: Callable[[], datetime],
    ) -> None:
        self.name = name
        self.subscriptions = list(subscriptions)
        self._context = context
        self._scorer = scorer
        self._clock = clock
        # Stream time of each subscription's last recorded progress; absent after a (re)connect,
        # so the first batch of a connection always records it (and clears a failure).
        self._progress_at: dict[int, datetime] = {}
        self._connections = 0

    def connected(self, url: str) -> None:
        if self._connections:
            metrics.STREAM_RECONNECTS.labels(self.name).inc()
        self._connections += 1
        self._progress_at.clear()
        metrics.STREAM_CONNECTED.labels(self.name).set(1)

    def save(self, batch: StreamBatch) -> None:
        now = self._clock()
        context = self._context()
        store, settings = context.store, context.settings
        position_at = min(batch.position_at, now)
        due = [
            i
            for i, subscription in enumerate(self.subscriptions)
            if i not in self._progress_at
            or position_at - self._progress_at[i] >= subscription.settings.interval
        ]
        before = {i: self._state(store, i) for i in due}
        # The same screening as polled mentions: believable times only, texts capped.
        screened = {i: screen(found, now) for i, found in batch.mentions.items()}
        misdated = sum(dropped for _, dropped in screened.values())
        if misdated:
            log.warning("%s: skipped %d posts dated beyond belief", self.name, misdated)
        scored = {i: self._score(settings, i, kept) for i, (kept, _) in screened.items()}
        new: dict[int, int] = {}
        with store.transaction():
            for i, subscription in enumerate(self.subscriptions):
                new[i] = store.save_stream_batch(
                    subscription.topic.name,
                    subscription.source_name,
                    now,
                    position_at,
                    scored.get(i, []),
                    batch.cursor,
                    record_progress=i in before,
                )
            if batch.deleted:
                store.mark_deleted(
                    (
                        (subscription.topic.name, subscription.source_name, post)
                        for subscription in self.subscriptions
                        for post in batch.deleted
                    ),
                    now,
                )
        metrics.STREAM_EVENTS.labels(self.name).inc(batch.events)
        metrics.STREAM_SKIPPED.labels(self.name).inc(batch.skipped)
        metrics.STREAM_LAG.labels(self.name).set(max((now - batch.position_at).total_seconds(), 0))
        for i, state in before.items():
            self._progress_at[i] = position_at
            subscription = self.subscriptions[i]
            topic, source = subscription.topic.name, subscription.source_name
            metrics.LAST_SUCCESS.labels(topic, source).set(position_at.timestamp())
            source_recovered(context, settings.topic(topic), source, state, now)
        for i, count in new.items():
            if not count:
                continue
            subscription = self.subscriptions[i]
            topic, source = subscription.topic.name, subscription.source_name
            metrics.MENTIONS_INGESTED.labels(topic, source).inc(count)
            log.info("%s/%s: %d new mention(s) from the stream", topic, source, count)

    def failed(self, error: str) -> None:
        now = self._clock()
        context = self._context()
        store, settings = context.store, context.settings
        metrics.STREAM_CONNECTED.labels(self.name).set(0)
        self._progress_at.clear()
        for subscription in self.subscriptions:
            topic, source = subscription.topic.name, subscription.source_name
            metrics.POLL_ERRORS.labels(topic, source).inc()
            store.save_failure(topic, source, now, error)
            check_blind(context, settings.topic(topic), source, now)

    def _state(self, store: Store, index: int) -> SourceState | None:
        subscription = self.subscriptions[index]
        return store.source_state(subscription.topic.name, subscription.source_name)

    def _score(
        self, settings: Settings, index: int, found: Sequence[Mention]
    ) -> list[tuple[Mention, Sentiment]]:
        scorer = self._scorer(settings.topic(self.subscriptions[index].topic.name))
        scored = []
        for mention in found:
            sentiment = scorer.score(mention.text, mention.lang)
            metrics.SENTIMENT_TEXTS.labels(sentiment.lang).inc()
            scored.append((mention, sentiment))
        return scored


class StreamThreads:
    """The daemon's streams, each read on its own thread until :meth:`stop`."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, streams: Sequence[tuple[Stream, StoreSink]]) -> None:
        for stream, sink in streams:
            thread = threading.Thread(
                target=stream.run, args=(sink, self._stop), name=f"stream {stream.name}"
            )
            # A daemon thread: a connection stuck closing cannot keep the process alive.
            thread.daemon = True
            thread.start()
            self._threads.append(thread)
            log.info("stream %s: reading for %d topic(s)", stream.name, len(sink.subscriptions))

    def signal_stop(self) -> None:
        self._stop.set()

    def join(self, deadline: float) -> bool:
        """Wait for every stream to store its last batch and close; False if one did not."""
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        return not any(thread.is_alive() for thread in self._threads)
