"""Ingest: one poll's result → stored mentions and cursor, or a recorded failure.

A source failing for ``blind_after`` is reported once ("source down") and its recovery once
("source up"); streaming sources (``monitor/runtime/streaming.py``) share those checks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import httpx

from monitor import metrics
from monitor.models import Mention, NotificationKind
from monitor.pipeline.context import Context
from monitor.pipeline.notify import SourceNotice, notify_source
from monitor.sentiment import Scorer
from monitor.settings import TopicSettings
from monitor.sources.base import (
    EARLIEST_PLAUSIBLE,
    MAX_CLOCK_SKEW,
    Source,
    SourceError,
    SourceSettings,
    plausible,
)
from monitor.store import SourceState

log = logging.getLogger("monitor.pipeline")

# Texts longer than this are cut before scoring and storing (see :func:`cap_text`). The
# English scorer's time grows with the square of a text's length: 5,000 characters take
# ~40 ms, 51,000 take 5 s (``benchmarks/source_limits_bench.py``).
MAX_TEXT_CHARS = 5_000


@dataclass(frozen=True)
class Feed:
    """One polled source of one topic: what an ingest job polls, built once per schedule."""

    topic: TopicSettings
    settings: SourceSettings
    source: Source
    client: httpx.Client

    @property
    def name(self) -> str:
        return self.settings.source_name


@dataclass(frozen=True)
class PollOutcome:
    ok: bool
    fetched: int = 0
    new: int = 0
    error: str | None = None
    skipped_backoff: bool = False
    rate_limit: str | None = None
    newest: Mention | None = None
    # Items not stored: malformed, or dated where no remote clock can be believed.
    skipped: int = 0


@dataclass(frozen=True)
class PollFailure:
    """A poll that failed, as it is recorded against its source."""

    error: str
    retry_at: datetime | None
    seconds: float  # how long the failed poll took


def ingest(ctx: Context, feed: Feed, scorer: Scorer, now: datetime) -> PollOutcome:
    """Poll one source once: score what it found and store mentions and cursor together.

    A failure of any kind is recorded against the source (its buckets become incomplete) and
    logged with its name; it never propagates, so one broken source cannot stop the daemon.
    """
    store, topic, name = ctx.store, feed.topic, feed.name
    state = store.source_state(topic.name, name)
    if state and state.retry_at and now < state.retry_at:
        log.debug("%s/%s: backing off until %s", topic.name, name, state.retry_at.isoformat())
        return PollOutcome(ok=False, skipped_backoff=True, error=state.last_error)
    started = time.perf_counter()
    try:
        result = feed.source.poll(feed.client, store.cursor(topic.name, name), now)
        mentions, misdated = screen(result.mentions, now)
        scored = [(m, scorer.score(m.text, m.lang)) for m in mentions]
        new = store.save_poll(
            topic.name, name, now, scored, result.cursor, time.perf_counter() - started
        )
    except SourceError as exc:
        retry_at = now + exc.retry_after if exc.retry_after else None
        failure = PollFailure(exc.message, retry_at, time.perf_counter() - started)
        _record_failure(ctx, feed, failure, now)
        return PollOutcome(ok=False, error=exc.message)
    except Exception as exc:  # a bug or an unexpected payload must not stop the daemon
        log.exception("%s/%s: poll crashed", topic.name, name)
        message = f"internal error: {exc.__class__.__name__}: {exc}"
        _record_failure(ctx, feed, PollFailure(message, None, time.perf_counter() - started), now)
        return PollOutcome(ok=False, error=message)
    elapsed = time.perf_counter() - started
    for _, sentiment in scored:
        metrics.SENTIMENT_TEXTS.labels(sentiment.lang).inc()
    metrics.POLL_DURATION.labels(topic.name, name).observe(elapsed)
    metrics.MENTIONS_INGESTED.labels(topic.name, name).inc(new)
    metrics.LAST_SUCCESS.labels(topic.name, name).set(now.timestamp())
    if result.skipped:
        log.warning("%s/%s: skipped %d malformed items", topic.name, name, result.skipped)
    if misdated:
        log.warning(
            "%s/%s: skipped %d items dated after now + %s or before %s (remote clock not trusted)",
            topic.name,
            name,
            misdated,
            MAX_CLOCK_SKEW,
            EARLIEST_PLAUSIBLE.date(),
        )
    log.info(
        "%s/%s: polled %d mentions, %d new%s",
        topic.name,
        name,
        len(result.mentions),
        new,
        " (page limit reached)" if result.truncated else "",
    )
    source_recovered(ctx, topic, name, state, now)
    newest = max(mentions, key=lambda m: m.created_at, default=None)
    return PollOutcome(
        ok=True,
        fetched=len(result.mentions),
        new=new,
        rate_limit=result.rate_limit,
        newest=newest,
        skipped=result.skipped + misdated,
    )


def screen(mentions: Sequence[Mention], now: datetime) -> tuple[list[Mention], int]:
    """What a source delivered, fit to score and store, and how many items were dropped.

    Items whose created time the remote clock got absurdly wrong are dropped (a bucket cannot
    hold them, see :func:`monitor.sources.base.plausible`), and texts are capped.
    """
    kept = [cap_text(m) for m in mentions if plausible(m.created_at, now)]
    return kept, len(mentions) - len(kept)


def cap_text(mention: Mention) -> Mention:
    """The mention with its text cut to ``MAX_TEXT_CHARS``, marked as cut, when it is longer.

    A 2 MiB comment would take hours to score and says nothing its first pages do not. The
    marker avoids words a sentiment lexicon knows ("cut" is negative in VADER).
    """
    if len(mention.text) <= MAX_TEXT_CHARS:
        return mention
    marker = f" […shortened, {len(mention.text):,} characters in all]"
    return replace(mention, text=mention.text[:MAX_TEXT_CHARS] + marker)


def _record_failure(ctx: Context, feed: Feed, failure: PollFailure, now: datetime) -> None:
    topic, name = feed.topic, feed.name
    log.warning("%s/%s: poll failed: %s", topic.name, name, failure.error)
    metrics.POLL_ERRORS.labels(topic.name, name).inc()
    ctx.store.save_failure(topic.name, name, now, failure.error, failure.retry_at, failure.seconds)
    check_blind(ctx, topic, name, now)


def source_recovered(
    ctx: Context, topic: TopicSettings, source: str, state: SourceState | None, now: datetime
) -> None:
    """Give the all-clear once for a source that was reported blind (``state`` from before)."""
    if state is None or not state.blind_notified:
        return
    with ctx.store.transaction():
        ctx.store.set_blind_notified(topic.name, source, False)
        notice = SourceNotice(NotificationKind.SOURCE_UP, source, None, state.failing_since)
        notify_source(ctx, topic, notice, now)


def check_blind(ctx: Context, topic: TopicSettings, source: str, now: datetime) -> None:
    """Say once that the monitor is blind when a source has failed for ``blind_after``."""
    state = ctx.store.source_state(topic.name, source)
    if state is None or state.failing_since is None or state.blind_notified:
        return
    if now - state.failing_since < ctx.settings.alerts.blind_after:
        return
    with ctx.store.transaction():
        ctx.store.set_blind_notified(topic.name, source, True)
        notice = SourceNotice(
            NotificationKind.SOURCE_DOWN, source, state.last_error, state.failing_since
        )
        notify_source(ctx, topic, notice, now)
