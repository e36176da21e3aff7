"""Every public Bluesky post as it is written: Jetstream, matched against the topics' terms.

Jetstream (github.com/bluesky-social/jetstream) serves the whole network's events as JSON over a
WebSocket, no account needed. We subscribe to posts only (``wantedCollections=app.bsky.feed.post``),
match each post's text against the terms of every topic that shares the connection (one
:class:`~monitor.sources.matching.TermMatcher` for all of them), and hand matches and deletes to
the sink in batches about twice a second.

The cursor is the ``time_us`` (unix microseconds) of the last event handled. Jetstream replays
from a cursor, inclusively, up to about 36 hours back, so a reconnect or a restart resumes where
the last stored batch ended; what is read twice the store deduplicates. A connection that cannot
be opened, or that goes quiet (the network never does), is a failed poll: its buckets are
incomplete and ``blind_after`` applies. A dropped connection that reconnects at once loses
nothing and is no failure.

What a post event becomes (its mention, id and times) is :mod:`monitor.sources.jetstream_posts`.

Frames are read as plain JSON. Jetstream's zstd compression needs its custom dictionary and a
zstd binding to save about half of a posts-only stream's few dozen kB/s: not worth a dependency.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

from monitor.models import Mention
from monitor.sources.base import USER_AGENT, SourceSettings, StreamBatch, StreamSink, Subscription
from monitor.sources.jetstream_posts import (
    POST_COLLECTION,
    from_micros,
    languages_of,
    micros,
    post_mention,
    post_uri,
)
from monitor.sources.matching import TermMatcher

log = logging.getLogger("monitor.sources.jetstream")

# Bluesky's public instances; the second takes over when the first cannot be reached. Cursors
# are time-based, so one cursor works on both.
DEFAULT_URLS = (
    "wss://jetstream2.us-east.bsky.network/subscribe",
    "wss://jetstream1.us-east.bsky.network/subscribe",
)
# How far back Jetstream replays; an older cursor starts at the oldest event it still has.
REPLAY_WINDOW = timedelta(hours=36)
# Each connection starts this far before the cursor: instances stamp ``time_us`` on their own,
# so after a failover an event we never saw can carry a slightly earlier time (Jetstream's
# README advises the same). The store drops what was read twice.
REWIND = timedelta(seconds=5)
# A batch is handed to the sink this often (seconds) or at this many events, whichever first:
# often enough to keep the lag far below 2 s, rarely enough that commits stay cheap.
FLUSH_SECONDS = 0.5
FLUSH_EVENTS = 5000
# Connections lost this soon (seconds) after the previous loss wait before reconnecting.
DROP_SPACING = 10.0
# The hard cap the WebSocket library enforces, as a multiple of ``max_frame``: frames between
# the two are skipped and logged; a frame beyond it closes the connection (memory stays bounded).
HARD_CAP_FACTOR = 4


@dataclass(frozen=True, kw_only=True)
class JetstreamSettings(SourceSettings):
    """Keys of a Jetstream source in settings.toml."""

    # One URL, or several tried in turn: when one cannot be reached the next takes over.
    url: str | list[str] = field(default_factory=lambda: list(DEFAULT_URLS))
    # Keep only posts tagged with one of these languages ("de", "en"; a post's tags are its
    # author's choice). Posts without a language tag are kept. Empty: every language.
    languages: list[str] = field(default_factory=list)
    # How often (in stream time) progress is recorded; a bucket waits at most lateness + this
    # for the stream to pass its end before it counts as a gap.
    interval: timedelta = timedelta(seconds=30)
    # The first connection of a new topic replays this far back (at most 36h).
    lookback: timedelta = timedelta(minutes=10)
    # No frame for this long means the connection is dead, whatever TCP says: reconnect.
    idle_timeout: timedelta = timedelta(seconds=30)
    # Frames larger than this many bytes are skipped (Jetstream is asked not to send them).
    max_frame: int = 65536
    # The longest wait between reconnection attempts (doubling from 1 s, with jitter).
    max_backoff: timedelta = timedelta(seconds=60)

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url,) if isinstance(self.url, str) else tuple(self.url)

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if not self.urls:
            found.append(("url", "name at least one Jetstream URL"))
        for url in self.urls:
            if urlsplit(url).scheme not in ("ws", "wss") or not urlsplit(url).netloc:
                found.append(("url", f"{url!r} is not a WebSocket URL (wss://host/subscribe)"))
        if self.base_url:
            found.append(("base_url", "not used by jetstream; set url"))
        if not timedelta(0) <= self.lookback <= REPLAY_WINDOW:
            found.append(("lookback", "must be between 0s and 36h (Jetstream's replay window)"))
        if self.interval < timedelta(seconds=1):
            found.append(("interval", "must be at least 1s"))
        if self.idle_timeout < timedelta(seconds=1):
            found.append(("idle_timeout", "must be at least 1s"))
        if self.max_frame < 1024:
            found.append(("max_frame", "must be at least 1024 bytes"))
        if self.max_backoff < timedelta(seconds=1):
            found.append(("max_backoff", "must be at least 1s"))
        if any(not lang.strip() for lang in self.languages):
            found.append(("languages", "language codes must not be empty"))
        return found


class StreamClosed(Exception):
    """The connection ended or could not be opened; ``message`` says why, naming the host."""

    def __init__(self, message: str, *, read_any: bool) -> None:
        super().__init__(message)
        self.message = message
        self.read_any = read_any


class JetstreamStream:
    """One Jetstream connection for every topic that configures the same URLs."""

    settings_class: ClassVar[type[SourceSettings]] = JetstreamSettings

    # The batch being read: matches by subscription index, deleted post URIs, frame counts.
    _mentions: dict[int, list[Mention]]
    _deleted: list[str]
    _events: int
    _skipped: int
    _skip_reason: str | None
    _flushed_at: float

    @staticmethod
    def connection_key(settings: JetstreamSettings) -> tuple[str, ...]:
        return settings.urls

    def __init__(
        self,
        subscriptions: Sequence[Subscription],
        clock: Callable[[], datetime],
        *,
        resume: bool = True,
    ) -> None:
        if not subscriptions:
            raise ValueError("a stream needs at least one subscription")
        first = subscriptions[0].settings
        assert isinstance(first, JetstreamSettings)
        # Connection-level keys (URLs, timeouts) are those of the first topic that uses it.
        self.settings = first
        self.subscriptions = list(subscriptions)
        self.name = "+".join(sorted({s.source_name for s in subscriptions}))
        self.matcher = TermMatcher({str(i): s.topic.terms for i, s in enumerate(subscriptions)})
        self._languages = [
            frozenset(lang.strip().split("-")[0].lower() for lang in _languages(s))
            for s in subscriptions
        ]
        now_us = micros(clock())
        starts = [self._start_us(s, now_us) if resume else None for s in subscriptions]
        rewind = int(REWIND.total_seconds() * 1_000_000)
        # Events before a subscription's own start were handled for it already: skip them.
        self._from_us = [0 if start is None else start - rewind for start in starts]
        known = [start for start in starts if start is not None]
        # Where the next connection starts (before the rewind); None reads live.
        self.resume_us: int | None = min(known) if len(known) == len(starts) else None
        self._rewind_us = rewind
        self._url_index = 0
        self._random = random.Random()
        # The newest event handled (stored or pending), and whether this connection read any.
        self._position_us: int | None = None
        self._read_since = False
        self._reset_batch()

    @staticmethod
    def _start_us(subscription: Subscription, now_us: int) -> int:
        settings = subscription.settings
        oldest = now_us - int(REPLAY_WINDOW.total_seconds() * 1_000_000)
        cursor = subscription.cursor
        if cursor is not None and cursor.isdigit():
            return max(int(cursor), oldest)
        return now_us - int(settings.lookback.total_seconds() * 1_000_000)

    # -- the connection loop -------------------------------------------------------------------

    def run(self, sink: StreamSink, stop: threading.Event) -> None:
        """Read until ``stop`` is set: connect, read, reconnect with backoff, fail over."""
        attempt = 0
        drops = 0  # connections lost in a row, each soon after the one before
        dropped_at = -DROP_SPACING
        while not stop.is_set():
            url = self.settings.urls[self._url_index]
            try:
                self._session(url, sink, stop)
                return  # stopped
            except StreamClosed as closed:
                if stop.is_set():
                    return
                if closed.read_any:
                    # Lost after reading: reconnect at once, the replay fills what we missed;
                    # only a server that keeps dropping us is given time (but no failure).
                    attempt = 0
                    drops = drops + 1 if time.monotonic() - dropped_at < DROP_SPACING else 0
                    dropped_at = time.monotonic()
                    wait = self._backoff(drops - 1) if drops else 0.0
                    log.warning("%s: %s; reconnecting in %.1fs", self.name, closed.message, wait)
                    stop.wait(wait)
                    continue
                error = closed.message
            except Exception as exc:  # a bug must not end the stream for good
                log.exception("%s: stream crashed", self.name)
                error = f"internal error: {exc.__class__.__name__}: {exc}"
            wait = self._backoff(attempt)
            attempt += 1
            if len(self.settings.urls) > 1:
                self._url_index = (self._url_index + 1) % len(self.settings.urls)
            log.warning("%s: %s; retrying in %.1fs", self.name, error, wait)
            try:
                sink.failed(error)
            except Exception:
                log.exception("%s: recording the failure failed", self.name)
            stop.wait(wait)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.settings.max_backoff.total_seconds(), 2.0**attempt)
        return self._random.uniform(ceiling / 2, ceiling)

    def subscribe_url(self, url: str) -> str:
        params = [
            ("wantedCollections", POST_COLLECTION),
            ("maxMessageSizeBytes", str(self.settings.max_frame)),
        ]
        if self.resume_us is not None:
            params.append(("cursor", str(max(self.resume_us - self._rewind_us, 0))))
        return url + ("&" if "?" in url else "?") + urlencode(params)

    def _session(self, url: str, sink: StreamSink, stop: threading.Event) -> None:
        """One connection, read until ``stop`` (returns) or until it ends (StreamClosed)."""
        from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
        from websockets.sync.client import connect

        host = urlsplit(url).netloc
        settings = self.settings
        try:
            socket = connect(
                self.subscribe_url(url),
                open_timeout=min(settings.timeout.total_seconds(), 10.0),
                close_timeout=2.0,
                max_size=HARD_CAP_FACTOR * settings.max_frame,
                max_queue=256,
                user_agent_header=USER_AGENT,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise StreamClosed(
                f"{host} refused the connection (HTTP {status})", read_any=False
            ) from None
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise StreamClosed(
                f"cannot connect to {host}: {_describe(exc)}", read_any=False
            ) from None
        log.info(
            "%s: connected to %s (%s)",
            self.name,
            host,
            "live" if self.resume_us is None else f"from {from_micros(self.resume_us):%H:%M:%S}",
        )
        sink.connected(url)
        self._read_since = False
        with socket:
            try:
                self._read(socket, host, sink, stop)
            except ConnectionClosed as exc:
                self._flush(sink)
                raise StreamClosed(
                    f"connection to {host} lost ({_describe(exc)})", read_any=self._read_since
                ) from None
            except (OSError, WebSocketException) as exc:
                self._flush(sink)
                raise StreamClosed(
                    f"connection to {host} failed: {_describe(exc)}", read_any=self._read_since
                ) from None

    def _read(self, socket: Any, host: str, sink: StreamSink, stop: threading.Event) -> None:
        idle = self.settings.idle_timeout.total_seconds()
        last_frame = time.monotonic()
        while not stop.is_set():
            try:
                frame = socket.recv(timeout=FLUSH_SECONDS / 2, decode=False)
            except TimeoutError:
                self._flush_if_due(sink)
                if time.monotonic() - last_frame > idle:
                    self._flush(sink)
                    # A stall is a failure even after events: the network never goes quiet.
                    raise StreamClosed(
                        f"no event from {host} for {idle:.0f}s (idle_timeout)", read_any=False
                    ) from None
                continue
            last_frame = time.monotonic()
            self.handle(frame)
            self._flush_if_due(sink)
        self._flush(sink)

    # -- frames ----------------------------------------------------------------------------------

    def handle(self, frame: bytes | str) -> None:
        """Read one frame: a post is matched, a delete noted, anything else only moves the cursor.

        A malformed frame is counted as skipped (and logged with the batch), never raised.
        """
        self._events += 1
        if len(frame) > self.settings.max_frame:
            self._skip(f"a frame of {len(frame)} bytes (max_frame {self.settings.max_frame})")
            return
        try:
            event = json.loads(frame)
            time_us = event["time_us"]
            if not isinstance(time_us, int) or isinstance(time_us, bool) or time_us <= 0:
                raise ValueError(f"time_us {time_us!r}")
            if event.get("kind") == "commit":
                self._commit(event, time_us)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self._skip(f"a malformed event ({exc.__class__.__name__}: {exc})", frame)
            return
        if self._position_us is None or time_us > self._position_us:
            self._position_us = time_us
        self._read_since = True

    def _commit(self, event: Mapping[str, Any], time_us: int) -> None:
        commit = event["commit"]
        if commit.get("collection") != POST_COLLECTION:
            return
        operation = commit["operation"]
        did, rkey = event["did"], commit["rkey"]
        if not isinstance(did, str) or not isinstance(rkey, str) or not did or not rkey:
            raise ValueError("commit without did or rkey")
        if operation == "delete":
            self._deleted.append(post_uri(did, rkey))
            return
        if operation not in ("create", "update"):
            return
        record = commit["record"]
        text = record["text"]
        if not isinstance(text, str):
            raise ValueError("post without text")
        if not text:
            return
        keys = self.matcher.match(text)
        if not keys:
            return
        langs: list[str] | None = None
        for key in keys:
            index = int(key)
            if time_us < self._from_us[index]:
                continue
            wanted = self._languages[index]
            if wanted:
                langs = languages_of(record) if langs is None else langs
                if langs and wanted.isdisjoint(langs):
                    continue
            source = self.subscriptions[index].source_name
            self._mentions.setdefault(index, []).append(
                post_mention(source, did, rkey, record, time_us)
            )

    def _skip(self, reason: str, frame: bytes | str = b"") -> None:
        self._skipped += 1
        if self._skip_reason is None:
            sample = frame[:80] if frame else ""
            self._skip_reason = f"{reason}{f': {sample!r}' if sample else ''}"

    # -- batches ---------------------------------------------------------------------------------

    def _reset_batch(self) -> None:
        self._mentions = {}
        self._deleted = []
        self._events = 0
        self._skipped = 0
        self._skip_reason = None
        self._flushed_at = time.monotonic()

    def _flush_if_due(self, sink: StreamSink) -> None:
        if self._events >= FLUSH_EVENTS or (
            self._events and time.monotonic() - self._flushed_at >= FLUSH_SECONDS
        ):
            self._flush(sink)

    def _flush(self, sink: StreamSink) -> None:
        """Hand the batch to the sink; when it cannot store it, resume from the last stored one."""
        if not self._events:
            return
        if self._skipped:
            log.warning(
                "%s: skipped %d of %d frames; first: %s",
                self.name,
                self._skipped,
                self._events,
                self._skip_reason,
            )
        position = self._position_us
        if position is None:  # nothing readable in the batch: no progress to store
            self._reset_batch()
            return
        batch = StreamBatch(
            mentions=self._mentions,
            deleted=self._deleted,
            cursor=str(position),
            position_at=from_micros(position),
            events=self._events,
            skipped=self._skipped,
        )
        try:
            sink.save(batch)
        except Exception as exc:
            log.exception("%s: storing a batch failed; resuming from the last one", self.name)
            self._position_us = self.resume_us
            self._reset_batch()
            raise StreamClosed(
                f"cannot store what the stream read: {exc.__class__.__name__}: {exc}",
                read_any=False,
            ) from None
        self.resume_us = position
        self._reset_batch()


def _languages(subscription: Subscription) -> list[str]:
    settings = subscription.settings
    return list(settings.languages) if isinstance(settings, JetstreamSettings) else []


def _describe(exc: BaseException) -> str:
    """An exception as a short phrase: its class, and its text when it has one."""
    text = str(exc).strip()
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__
